package dev.deepshape.cli;

import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The model-choosing options every command shares: {@code --model NAME} or {@code --spec FILE} (never both), and
 * what a choice turns into: the parsed spec for the shape rules, and the module to train or run.
 */
class ModelChoice {
    @Option(names = "--model", paramLabel = "NAME", description = "a built-in model: ${COMPLETION-CANDIDATES} (default: combined)",
            completionCandidates = Builtins.class)
    String model;

    @Option(names = "--spec", paramLabel = "FILE", description = "a model spec file: one unit per line in PyTorch's constructor syntax")
    Path spec;

    static final class Builtins extends java.util.ArrayList<String> {
        Builtins() { super(ModelSpec.BUILTIN); }
    }

    /**
     * A chosen model: a built-in one ({@code specText} null) or a spec ({@code name} is the file as given,
     * {@code specText} its text), with the parsed spec either way.
     */
    record Chosen(String name, String specText, ModelSpec spec) {
        boolean builtin() { return specText == null; }

        /** A new module, initialised from the global generator: CombinedModel for {@code combined}, else the spec's Sequential. */
        Module build() {
            return builtin() ? new CombinedModel() : ModelBuilder.build(spec);
        }

        /** For messages: {@code the built-in model 'combined'} or {@code the spec tiny.spec}. */
        String describe() { return builtin() ? "the built-in model '" + name + "'" : "the spec " + name; }

        Checkpoint.ModelRecord record() { return new Checkpoint.ModelRecord(name, specText); }

        /** The model a file records, rebuilt from its name or spec text; {@code where} names the file in spec errors. */
        static Chosen of(Checkpoint.ModelRecord r, String where) {
            if (r.spec() != null) return new Chosen(r.model() != null ? r.model() : "spec", r.spec(), ModelSpec.parse(r.spec(), where));
            if (!ModelSpec.BUILTIN.contains(r.model())) {
                throw new IllegalArgumentException(where + " records the model '" + r.model() + "', which is not built in (built-in models: "
                        + String.join(", ", ModelSpec.BUILTIN) + ") and records no spec; give the model with --model or --spec");
            }
            return new Chosen(r.model(), null, ModelSpec.builtin(r.model()));
        }
    }

    /** Whether {@code --model} or {@code --spec} was given. */
    boolean given() { return model != null || spec != null; }

    /** Reads the chosen model; a bad choice is a parameter error (exit 2), an unreadable or invalid spec exit 1. */
    ModelSpec load(CommandLine cl) { return choose(cl).spec(); }

    /** The chosen model (default: combined) with its spec text; errors as {@link #load}. */
    Chosen choose(CommandLine cl) {
        if (model != null && spec != null) throw new CommandLine.ParameterException(cl, "--model and --spec are mutually exclusive; give one");
        if (spec != null) {
            String text;
            try {
                text = ModelSpec.readText(spec); // at most 1 MiB, UTF-8 checked
            } catch (NoSuchFileException e) {
                throw new IllegalArgumentException("cannot read spec file " + spec + ": no such file");
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read spec file " + spec + ": " + e.getMessage());
            }
            return new Chosen(spec.toString(), text, ModelSpec.parse(text, spec.toString()));
        }
        String name = model == null ? "combined" : model;
        if (!ModelSpec.BUILTIN.contains(name)) {
            throw new CommandLine.ParameterException(cl, "unknown model '" + name + "'; built-in models: " + String.join(", ", ModelSpec.BUILTIN));
        }
        return new Chosen(name, null, ModelSpec.builtin(name));
    }

    /** The class name torchinfo would show for the model's top row. */
    String rootName() { return spec == null ? "CombinedModel" : "Sequential"; }

    /** Whether the built-in model's unnamed layers are functional calls (F.relu, flatten, ...) rather than modules. */
    boolean builtin() { return spec == null; }
}
