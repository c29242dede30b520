package dev.deepshape.cli;

import dev.deepshape.data.Mnist;
import dev.deepshape.data.MnistDownloader;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.Module;
import dev.deepshape.train.Trainer;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code deepshape eval}: the test accuracy of a saved model, ours or PyTorch's. */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Prints 'Accuracy of the model on the test images: zz.zz%%' for a saved model: a run's "
                + "model.safetensors or checkpoint.safetensors, or a PyTorch state dict saved with "
                + "safetensors.torch.save_file(model.state_dict(), FILE)."})
final class EvalCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "The safetensors file with the model's state dict.")
    Path checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "Folder with the test IDX files (default: $DEEPSHAPE_DATA, else ./data).")
    String data;

    @Option(names = "--model", paramLabel = "NAME", defaultValue = "combined", description = "The model the state dict belongs to (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "1000", description = "Examples per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--threads", paramLabel = "N", description = "Threads the kernels use (default: the number of cores).")
    Integer threads;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto", description = "Where to compute (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--no-download", description = "Never download missing data files.")
    boolean noDownload;

    @Option(names = "--limit-test", paramLabel = "N", hidden = true, description = "Evaluate on the first N test examples only (tests).")
    Integer limitTest;

    @Override
    public Integer call() throws Exception {
        if (batchSize < 1) throw CliSupport.usage(spec, "--batch-size must be at least 1, got " + batchSize);
        if (limitTest != null && limitTest < 1) throw CliSupport.usage(spec, "--limit-test must be at least 1, got " + limitTest);
        CliSupport.checkModel(spec, model);
        CliSupport.existingFile(spec, "--checkpoint", checkpoint);
        CliSupport.setThreads(spec, threads);
        CliSupport.selectDevice(spec, device);
        Module net = loadModel(spec, model, checkpoint);
        Mnist.Dataset test;
        try {
            test = Mnist.load(Mnist.dataDir(data), false, noDownload ? null : new MnistDownloader(System.err));
        } catch (Mnist.MissingDataException e) {
            throw CliSupport.usage(spec, e.getMessage());
        }
        if (limitTest != null) test = test.first(limitTest);
        int correct = Trainer.evaluate(net, test, batchSize);
        System.err.println("deepshape eval: " + correct + " of " + test.count() + " test images correct");
        System.out.println(String.format(Locale.ROOT, "Accuracy of the model on the test images: %.2f%%", 100.0 * correct / test.count()));
        return 0;
    }

    /** A model of the named kind with the weights from a plain state dict or our checkpoint. */
    static Module loadModel(CommandSpec spec, String model, Path file) throws java.io.IOException {
        Module net = CliSupport.createModel(spec, model);
        try {
            net.loadStateDict(Checkpoint.readStateDict(file), true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage().replace("\n\t", "; "), e);
        }
        net.eval();
        return net;
    }
}
