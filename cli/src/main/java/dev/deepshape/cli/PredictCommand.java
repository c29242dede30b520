package dev.deepshape.cli;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.nn.Module;
import dev.deepshape.tensor.Tensor;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code deepshape predict}: classifies pictures of digits with a saved model and prints the top three classes. */
@Command(name = "predict", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Classifies PNG or JPEG pictures of digits (any size; converted to 28×28 grey, white on black, "
                + "as MNIST) and prints the three most likely classes with their probabilities, one line per image: "
                + "'digit.png: 7 99.12%%, 1 0.40%%, 2 0.21%%'.",
                "The model is --model or --spec if given, else the one the file records (deepshape's files record the built-in "
                + "name or the spec's text, so no spec file is needed), else combined."})
final class PredictCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "The safetensors file with the model's state dict (ours or PyTorch's).")
    Path checkpoint;

    @Option(names = "--invert", paramLabel = "auto|yes|no", defaultValue = "auto",
            description = "Invert the grey values: 'yes' for dark ink on light paper, 'no' for a light digit on black (as MNIST), "
                    + "'auto' to decide from the border's brightness (default: ${DEFAULT-VALUE}).")
    String invert;

    @Mixin ModelChoice modelChoice;

    @Mixin DeviceOption device;

    @Option(names = "--threads", paramLabel = "N", description = "Threads the kernels use (default: the number of cores).")
    Integer threads;

    @Parameters(arity = "1..*", paramLabel = "IMAGE", description = "PNG or JPEG files.")
    List<Path> images;

    @Override
    public Integer call() throws Exception {
        device.select();
        ImageInput.Invert mode = switch (invert) {
            case "auto" -> ImageInput.Invert.AUTO;
            case "yes" -> ImageInput.Invert.YES;
            case "no" -> ImageInput.Invert.NO;
            default -> throw CliSupport.usage(spec, "Invalid value for option '--invert': '" + invert + "' (expected auto, yes or no)");
        };
        ModelChoice.Chosen given = modelChoice.given() ? modelChoice.choose(spec.commandLine()) : null;
        CliSupport.existingFile(spec, "--checkpoint", checkpoint);
        for (Path p : images) CliSupport.existingFile(spec, "IMAGE", p);
        CliSupport.setThreads(spec, threads);
        EvalCommand.Loaded loaded = EvalCommand.loadModel(given, checkpoint);
        CliSupport.checkFits(loaded.model(), "MNIST-style", ImageInput.SIZE, ImageInput.SIZE, 0);
        Module net = loaded.net();
        for (Path p : images) {
            ImageInput.Prepared img = ImageInput.load(p, mode);
            float[] probs;
            try (Autograd.Scope s = Autograd.noGrad()) {
                probs = net.forward(new Tensor(img.normalised(), 1, 1, ImageInput.SIZE, ImageInput.SIZE)).softmax(1).toArray();
            }
            System.out.println(p + ": " + top3(probs) + (img.inverted() ? " (inverted)" : ""));
        }
        return 0;
    }

    /** {@code 7 99.12%, 1 0.40%, 2 0.21%}: the three most likely classes, most likely first. */
    static String top3(float[] probs) {
        Integer[] idx = new Integer[probs.length];
        for (int i = 0; i < idx.length; i++) idx[i] = i;
        java.util.Arrays.sort(idx, (a, b) -> Float.compare(probs[b], probs[a]));
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < Math.min(3, idx.length); k++) {
            if (k > 0) sb.append(", ");
            sb.append(String.format(Locale.ROOT, "%d %.2f%%", idx[k], 100.0 * probs[idx[k]]));
        }
        return sb.toString();
    }
}
