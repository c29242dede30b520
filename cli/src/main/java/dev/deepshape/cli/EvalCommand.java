package dev.deepshape.cli;

import dev.deepshape.backend.Backend;

import dev.deepshape.data.Mnist;
import dev.deepshape.data.MnistDownloader;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.Module;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.train.Evaluation;
import dev.deepshape.train.MetricsLog;
import dev.deepshape.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code deepshape eval}: the test accuracy of a saved model, ours or PyTorch's. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prints 'Accuracy of the model on the test images: zz.zz%%' for a saved model: a run's "
                + "model.safetensors or checkpoint.safetensors, or a PyTorch state dict saved with "
                + "safetensors.torch.save_file(model.state_dict(), FILE).",
                "The model is --model or --spec if given, else the one the file records (deepshape's files record the built-in "
                + "name or the spec's text, so no spec file is needed), else combined."})
final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "The safetensors file with the model's state dict.")
    Path checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "Folder with the test IDX files (default: $DEEPSHAPE_DATA, else ./data).")
    String data;

    @Mixin ModelChoice modelChoice;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "1000", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--threads", paramLabel = "N", description = "Threads the kernels use (default: the number of cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto", description = "Where to compute (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--no-download", description = "Never download missing data files.")
    boolean noDownload;

    @Option(names = "--out", paramLabel = "DIR", description = "Also write the prediction for every test image to DIR/"
            + MetricsLog.PREDICTIONS_FILE + " (" + MetricsLog.PREDICTIONS_HEADER + ").")
    Path out;

    @Option(names = "--limit-test", paramLabel = "N", hidden = true, description = "Evaluate on the first N test examples only (tests).")
    Integer limitTest;

    @Override
    public Integer call() throws Exception {
        if (batchSize < 1) throw CliSupport.usage(spec, "--batch-size must be at least 1, got " + batchSize);
        if (limitTest != null && limitTest < 1) throw CliSupport.usage(spec, "--limit-test must be at least 1, got " + limitTest);
        ModelChoice.Chosen given = modelChoice.given() ? modelChoice.choose(spec.commandLine()) : null;
        if (out != null && Files.exists(out) && !Files.isDirectory(out)) throw CliSupport.usage(spec, "--out: " + out + " exists and is not a folder");
        CliSupport.existingFile(spec, "--checkpoint", checkpoint);
        CliSupport.setThreads(spec, threads);
        Backend selected = CliSupport.selectDevice(spec, device);
        Loaded loaded = loadModel(given, checkpoint);
        CliSupport.preferWhole(device, selected, loaded.net(), null, System.err, "eval");
        Mnist.Dataset test;
        try {
            test = Mnist.load(Mnist.dataDir(data), false, noDownload ? null : new MnistDownloader(System.err));
        } catch (Mnist.MissingDataException e) {
            throw CliSupport.usage(spec, e.getMessage());
        }
        CliSupport.checkFits(loaded.model(), "test", test.rows(), test.cols(), 0);
        Module net = loaded.net();
        if (limitTest != null) test = test.first(limitTest);
        Evaluation e = Evaluation.of(net, test, batchSize);
        int correct = e.correct();
        if (out != null) {
            Files.createDirectories(out);
            MetricsLog.writePredictions(out.resolve(MetricsLog.PREDICTIONS_FILE), e);
            System.err.println("deepshape eval: wrote " + out.resolve(MetricsLog.PREDICTIONS_FILE));
        }
        System.err.println("deepshape eval: " + correct + " of " + test.count() + " test images correct");
        System.out.println(String.format(Locale.ROOT, "Accuracy of the model on the test images: %.2f%%", 100.0 * correct / test.count()));
        return 0;
    }

    /** A model with its weights, in eval mode, and which model it is. */
    record Loaded(ModelChoice.Chosen model, Module net) {}

    /**
     * The model with the weights from a plain state dict or our checkpoint: the {@code given} one if not null, else
     * the one the file records, else the built-in {@code combined}; the keys and shapes must fit exactly.
     */
    static Loaded loadModel(ModelChoice.Chosen given, Path file) throws java.io.IOException {
        Checkpoint.StateDict state = Checkpoint.readModel(file);
        ModelChoice.Chosen chosen = given != null ? given
                : state.model().isRecorded() ? ModelChoice.Chosen.of(state.model(), file + " (the recorded spec)")
                : new ModelChoice.Chosen("combined", null, ModelSpec.builtin("combined"));
        Module net = chosen.build();
        CliSupport.loadWeights(net, state.tensors(), file, chosen.describe());
        net.eval();
        return new Loaded(chosen, net);
    }
}
