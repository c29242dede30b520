package dev.deepshape.cli;

import dev.deepshape.shape.ModelSpec;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The model-choosing options of the shape commands: {@code --model NAME} or {@code --spec FILE} ({@link ModelChoice}), and {@code --input}. */
final class ModelOptions extends ModelChoice {
    @Option(names = "--input", paramLabel = "SHAPE", description = "the input shape, e.g. 64,1,28,28 or (N,1,28,28); overrides the spec's 'input:' line")
    String inputText;

    /** The {@code --input} shape, or null; a malformed one is a parameter error (exit 2). */
    int[] input(CommandLine cl) {
        if (inputText == null) return null;
        try {
            return ModelSpec.parseShape(inputText);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--input '" + inputText + "' is not a shape like 64,1,28,28 or (N,1,28,28): " + e.getMessage());
        }
    }
}
