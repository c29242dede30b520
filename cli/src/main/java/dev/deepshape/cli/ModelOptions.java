package dev.deepshape.cli;

import dev.deepshape.shape.ModelSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The model-choosing options shared by the commands: {@code --model NAME} or {@code --spec FILE}, and {@code --input}. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "NAME", description = "a built-in model: ${COMPLETION-CANDIDATES} (default: combined)",
            completionCandidates = Builtins.class)
    String model;

    @Option(names = "--spec", paramLabel = "FILE", description = "a model spec file: one unit per line in PyTorch's constructor syntax")
    Path spec;

    @Option(names = "--input", paramLabel = "SHAPE", description = "the input shape, e.g. 64,1,28,28 or (N,1,28,28); overrides the spec's 'input:' line")
    String inputText;

    static final class Builtins extends java.util.ArrayList<String> {
        Builtins() { super(ModelSpec.BUILTIN); }
    }

    /** The {@code --input} shape, or null; a malformed one is a parameter error (exit 2). */
    int[] input(CommandLine cl) {
        if (inputText == null) return null;
        try {
            return ModelSpec.parseShape(inputText);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--input '" + inputText + "' is not a shape like 64,1,28,28 or (N,1,28,28): " + e.getMessage());
        }
    }

    /** Reads the chosen model; a bad choice is a parameter error (exit 2), an unreadable or invalid spec exit 1. */
    ModelSpec load(CommandLine cl) {
        if (model != null && spec != null) throw new CommandLine.ParameterException(cl, "--model and --spec are mutually exclusive; give one");
        if (spec != null) {
            try {
                return ModelSpec.read(spec); // bounded in size, UTF-8 checked
            } catch (NoSuchFileException e) {
                throw new IllegalArgumentException("cannot read spec file " + spec + ": no such file");
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read spec file " + spec + ": " + e.getMessage());
            }
        }
        String name = model == null ? "combined" : model;
        if (!ModelSpec.BUILTIN.contains(name)) {
            throw new CommandLine.ParameterException(cl, "unknown model '" + name + "'; built-in models: " + String.join(", ", ModelSpec.BUILTIN));
        }
        return ModelSpec.builtin(name);
    }

    /** The class name torchinfo would show for the model's top row. */
    String rootName() { return spec == null ? "CombinedModel" : "Sequential"; }

    /** Whether the built-in model's unnamed layers are functional calls (F.relu, flatten, ...) rather than modules. */
    boolean builtin() { return spec == null; }
}
