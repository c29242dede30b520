package dev.deepshape.cli;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Parallel;
import dev.deepshape.data.DataLoader;
import dev.deepshape.data.Mnist;
import dev.deepshape.data.MnistDownloader;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.train.Trainer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code deepshape train}: the tutorial's training run, with checkpoints after every epoch and {@code --resume}. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains a model on MNIST (or any dataset in the same IDX layout) as the tutorial does: Adam, "
                + "cross-entropy, the training set shuffled every epoch. Prints 'Epoch [e/E], Loss: ..., Accuracy: ...%%' "
                + "per epoch and the test accuracy at the end; writes model.safetensors and checkpoint.safetensors into "
                + "the run folder after every epoch."})
final class TrainCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--epochs", paramLabel = "N", description = "Number of epochs (default: 5; when resuming: the run's own).")
    Integer epochs;

    @Option(names = "--batch-size", paramLabel = "N", description = "Examples per batch (default: 64).")
    Integer batchSize;

    @Option(names = "--lr", paramLabel = "RATE", description = "Adam's learning rate (default: 0.001).")
    Float lr;

    @Option(names = "--seed", paramLabel = "N", description = "Seed for the initial weights and the shuffling (default: 0).")
    Long seed;

    @Option(names = "--threads", paramLabel = "N", description = "Threads the kernels use (default: the number of cores, or DEEPSHAPE_THREADS).")
    Integer threads;

    @Option(names = "--data", paramLabel = "DIR", description = "Folder with the four IDX files, raw or .gz (default: $DEEPSHAPE_DATA, else ./data); missing MNIST files are downloaded there.")
    String data;

    @Option(names = "--out", paramLabel = "DIR", description = "Run folder for the checkpoints (default: runs/<yyyyMMdd-HHmmss>).")
    Path out;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto", description = "Where to compute (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--model", paramLabel = "NAME", description = "Model to train (default: combined).")
    String model;

    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue the run in RUN_DIR (or from its checkpoint.safetensors) with its own settings.")
    Path resume;

    @Option(names = "--trace-shapes", description = "Print the shape after every step of the model's forward pass for the first batch, in PyTorch's format.")
    boolean traceShapes;

    @Option(names = "--no-download", description = "Never download missing data files.")
    boolean noDownload;

    @Option(names = "--limit-train", paramLabel = "N", hidden = true, description = "Train on the first N examples only (tests).")
    Integer limitTrain;

    @Option(names = "--limit-test", paramLabel = "N", hidden = true, description = "Evaluate on the first N test examples only (tests).")
    Integer limitTest;

    @Override
    public Integer call() throws Exception {
        PrintStream stdout = System.out;
        PrintStream err = System.err;
        validate();
        Backend backend = CliSupport.selectDevice(spec, device);

        // The settings: the defaults, or a resumed run's own (where only --epochs and --threads may change).
        Trainer.Config config;
        Checkpoint.Contents resumed = null;
        Path runDir;
        if (resume != null) {
            Path file = Files.isDirectory(resume) ? resume.resolve(Checkpoint.CHECKPOINT_FILE) : resume;
            CliSupport.existingFile(spec, "--resume", file);
            for (Object[] o : new Object[][] {{"--batch-size", batchSize}, {"--lr", lr}, {"--seed", seed}, {"--model", model},
                    {"--limit-train", limitTrain}, {"--limit-test", limitTest}}) {
                if (o[1] != null) throw CliSupport.usage(spec, o[0] + " cannot be changed when resuming: the run keeps its own settings (see " + file + ")");
            }
            resumed = Checkpoint.read(file);
            Trainer.Config saved = Trainer.Config.fromMeta(resumed.meta());
            config = epochs == null ? saved : saved.withEpochs(epochs);
            int savedThreads = ((Number) resumed.meta().get("threads")).intValue();
            if (threads == null) Parallel.setThreads(savedThreads);
            else if (threads != savedThreads) {
                err.println("deepshape train: note: the run used " + savedThreads + " threads and now uses " + threads
                        + "; the result will not be bit-identical to an uninterrupted run");
            }
            runDir = out != null ? out : file.toAbsolutePath().getParent();
        } else {
            Trainer.Config d = Trainer.Config.defaults();
            config = new Trainer.Config(model != null ? model : d.model(), epochs != null ? epochs : d.epochs(),
                    batchSize != null ? batchSize : d.batchSize(), lr != null ? lr : d.lr(), seed != null ? seed : d.seed(),
                    limitTrain != null ? limitTrain : 0, limitTest != null ? limitTest : 0);
            runDir = out != null ? out : Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }
        CliSupport.checkModel(spec, config.model());

        Path dataDir = Mnist.dataDir(data);
        MnistDownloader downloader = noDownload ? null : new MnistDownloader(err);
        Mnist.Dataset train, test;
        try {
            train = Mnist.load(dataDir, true, downloader);
            test = Mnist.load(dataDir, false, downloader);
        } catch (Mnist.MissingDataException e) {
            throw CliSupport.usage(spec, e.getMessage());
        }

        Rng.manualSeed(config.seed());
        Module net = CliSupport.createModel(spec, config.model());
        Adam adam = new Adam(net.parameters(), config.lr());
        // NOTE: since JDK 22 System.console() is non-null even when output is redirected; isTerminal() tells.
        boolean console = System.console() != null && System.console().isTerminal();
        ProgressBar bar = console ? new ProgressBar(err) : null;
        Trainer.Listener listener = new Trainer.Listener() {
            @Override public void onFirstBatch(DataLoader.Batch b) {
                if (traceShapes) trace(net, b, stdout);
            }

            @Override public void onEpochStart(int epoch, int total, int batches, int samples) {
                if (bar != null) bar.start(String.format(Locale.ROOT, "Epoch %d/%d", epoch, total), batches);
            }

            @Override public void onBatch(int epoch, int done, int samples, double loss, double acc) {
                if (bar != null) bar.update(done, samples, loss, acc);
            }

            @Override public void onEpochEnd(Trainer.EpochResult r, Path checkpoint) {
                if (bar != null) bar.clear();
                stdout.println(r.line());
                if (console) err.printf(Locale.ROOT, "  %.1f s, %,.0f samples/s; saved %s%n", r.seconds(), r.samples() / r.seconds(), checkpoint);
            }
        };
        Trainer trainer = new Trainer(net, adam, train, test, config, runDir, listener);
        if (resumed != null) trainer.restore(resumed);
        err.println("deepshape train: " + config.model() + " (" + String.format(Locale.ROOT, "%,d", net.parameterCount()) + " parameters) on "
                + Math.min(train.count(), config.limitTrain() > 0 ? config.limitTrain() : Integer.MAX_VALUE) + " images from " + dataDir
                + ", " + backend.name() + " backend, " + Parallel.threads() + " thread(s), run folder " + runDir
                + (resumed != null ? ", resuming after epoch " + trainer.epochsDone() : ""));
        if (resumed != null) for (Trainer.EpochResult r : trainer.history()) stdout.println(r.line());
        Trainer.Result result = trainer.run();
        stdout.println(String.format(Locale.ROOT, "Accuracy of the model on the test images: %.2f%%", result.testAccuracy()));
        return 0;
    }

    private void validate() {
        if (epochs != null && epochs < 1) throw CliSupport.usage(spec, "--epochs must be at least 1, got " + epochs);
        if (batchSize != null && batchSize < 1) throw CliSupport.usage(spec, "--batch-size must be at least 1, got " + batchSize);
        if (lr != null && !(lr > 0 && Float.isFinite(lr))) throw CliSupport.usage(spec, "--lr must be a positive number, got " + lr);
        if (limitTrain != null && limitTrain < 1) throw CliSupport.usage(spec, "--limit-train must be at least 1, got " + limitTrain);
        if (limitTest != null && limitTest < 1) throw CliSupport.usage(spec, "--limit-test must be at least 1, got " + limitTest);
        if (model != null) CliSupport.checkModel(spec, model);
        if (out != null && Files.exists(out) && !Files.isDirectory(out)) throw CliSupport.usage(spec, "--out: " + out + " exists and is not a folder");
        if (resume != null && !Files.exists(resume)) throw CliSupport.usage(spec, "--resume: no such run folder or checkpoint: " + resume);
        CliSupport.setThreads(spec, threads);
    }

    /** The tutorial's shape trace: one line per step, {@code After conv1 and pool: torch.Size([64, 32, 14, 14])}. */
    static void trace(Module net, DataLoader.Batch b, PrintStream out) {
        if (!(net instanceof CombinedModel cm)) {
            out.println("Input shape: " + Shapes.torchSize(b.images().shapeRef()));
            return;
        }
        try (Autograd.Scope s = Autograd.noGrad()) {
            cm.forwardTrace(b.images(), (label, shape) -> {
                String l = label.endsWith(":") ? label.substring(0, label.length() - 1) : label;
                out.println(l + ": " + Shapes.torchSize(shape));
            });
        }
    }
}
