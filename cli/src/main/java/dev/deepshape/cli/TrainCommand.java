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
import dev.deepshape.nn.Sequential;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import dev.deepshape.train.Trainer;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code deepshape train}: the tutorial's training run, with checkpoints after every epoch and {@code --resume}. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains a model on MNIST (or any dataset in the same IDX layout) as the tutorial does: Adam, "
                + "cross-entropy, the training set shuffled every epoch. Prints 'Epoch [e/E], Loss: ..., Accuracy: ...%%' "
                + "per epoch and the test accuracy at the end; writes model.safetensors and checkpoint.safetensors into "
                + "the run folder after every epoch, the metrics as they happen (metrics_steps.csv, metrics_epochs.csv) and "
                + "report.html at the end (see 'deepshape report').",
                "The model is the built-in one (--model) or a spec (--spec FILE), checked against the images' shape before training; "
                + "the checkpoints record it, so --resume, eval and predict rebuild it without the spec file."})
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

    @Mixin ModelChoice modelChoice;

    @Option(names = "--init", paramLabel = "FILE", description = "Start from the weights of a state dict in safetensors (ours, or PyTorch's saved with "
            + "safetensors.torch.save_file(model.state_dict(), FILE)); every key must fit the model.")
    Path init;

    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue the run in RUN_DIR (or from its checkpoint.safetensors) with its own settings.")
    Path resume;

    @Option(names = "--trace-shapes", description = "Print the shape after every step of the model's forward pass for the first batch, in PyTorch's format.")
    boolean traceShapes;

    @Option(names = "--no-download", description = "Never download missing data files.")
    boolean noDownload;

    @Option(names = "--detect-anomaly", description = "Check every layer's output and every gradient for NaN/Inf at every step and stop at the first, "
            + "naming the step and the layer (slower; without it a non-finite loss or gradient still stops the run and is then located).")
    boolean detectAnomaly;

    @Option(names = "--limit-train", paramLabel = "N", hidden = true, description = "Train on the first N examples only (tests).")
    Integer limitTrain;

    @Option(names = "--limit-test", paramLabel = "N", hidden = true, description = "Evaluate on the first N test examples only (tests).")
    Integer limitTest;

    @Override
    public Integer call() throws Exception {
        PrintStream stdout = System.out;
        PrintStream err = System.err;
        validate();
        Backend selected = CliSupport.selectDevice(spec, device);

        // The settings: the defaults, or a resumed run's own (where only --epochs and --threads may change).
        Trainer.Config config;
        Checkpoint.Contents resumed = null;
        Path runDir;
        ModelChoice.Chosen chosen;
        if (resume != null) {
            Path file = Files.isDirectory(resume) ? resume.resolve(Checkpoint.CHECKPOINT_FILE) : resume;
            CliSupport.existingFile(spec, "--resume", file);
            for (Object[] o : new Object[][] {{"--batch-size", batchSize}, {"--lr", lr}, {"--seed", seed},
                    {"--limit-train", limitTrain}, {"--limit-test", limitTest}}) {
                if (o[1] != null) throw CliSupport.usage(spec, o[0] + " cannot be changed when resuming: the run keeps its own settings (see " + file + ")");
            }
            ModelChoice.Chosen given = modelChoice.given() ? modelChoice.choose(spec.commandLine()) : null;
            resumed = Checkpoint.read(file);
            Trainer.Config saved = Trainer.Config.fromMeta(resumed.meta());
            chosen = ModelChoice.Chosen.of(saved.modelRecord(), file + " (the run's recorded spec)");
            if (given != null) checkSameModel(given, chosen, file);
            config = epochs == null ? saved : saved.withEpochs(epochs);
            int savedThreads = ((Number) resumed.meta().get("threads")).intValue();
            if (threads == null) Parallel.setThreads(savedThreads);
            else if (threads != savedThreads) {
                err.println("deepshape train: note: the run used " + savedThreads + " threads and now uses " + threads
                        + "; the result will not be bit-identical to an uninterrupted run");
            }
            runDir = out != null ? out : file.toAbsolutePath().getParent();
        } else {
            chosen = modelChoice.choose(spec.commandLine());
            Trainer.Config d = Trainer.Config.defaults();
            config = new Trainer.Config(chosen.name(), epochs != null ? epochs : d.epochs(),
                    batchSize != null ? batchSize : d.batchSize(), lr != null ? lr : d.lr(), seed != null ? seed : d.seed(),
                    limitTrain != null ? limitTrain : 0, limitTest != null ? limitTest : 0, chosen.specText());
            runDir = out != null ? out : Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        }

        dev.deepshape.backend.Backends.current().warmUp(); // kernels compiled while MNIST loads
        Path dataDir = Mnist.dataDir(data);
        MnistDownloader downloader = noDownload ? null : new MnistDownloader(err);
        Mnist.Dataset train, test;
        try {
            train = Mnist.load(dataDir, true, downloader);
            test = Mnist.load(dataDir, false, downloader);
        } catch (Mnist.MissingDataException e) {
            throw CliSupport.usage(spec, e.getMessage());
        }

        CliSupport.checkFits(chosen, "training", train.rows(), train.cols(), classes(train));

        Rng.manualSeed(config.seed());
        Module net = chosen.build();
        if (init != null) CliSupport.loadWeights(net, Checkpoint.readStateDict(init), init, chosen.describe());
        Adam adam = new Adam(net.parameters(), config.lr());
        Backend backend = CliSupport.preferWhole(device, selected, net, adam, err, "train");
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

            @Override public void onDevice(String description) {
                err.println("deepshape train: the whole step runs on the device (" + description + ")");
            }

            @Override public void onEpochEnd(Trainer.EpochResult r, Path checkpoint) {
                if (bar != null) bar.clear();
                stdout.println(r.line());
                if (console || backend.usesDevice()) {
                    err.printf(Locale.ROOT, "  %.1f s, %,.0f samples/s; saved %s%n", r.seconds(), r.samples() / r.seconds(), checkpoint);
                }
            }
        };
        Trainer trainer = new Trainer(net, adam, train, test, config, runDir, listener);
        trainer.detectAnomaly(detectAnomaly);
        if (resumed != null) trainer.restore(resumed);
        err.println("deepshape train: " + config.model() + " (" + String.format(Locale.ROOT, "%,d", net.parameterCount()) + " parameters) on "
                + Math.min(train.count(), config.limitTrain() > 0 ? config.limitTrain() : Integer.MAX_VALUE) + " images from " + dataDir
                + ", " + backend.name() + " backend, " + Parallel.threads() + " thread(s), run folder " + runDir
                + (init != null ? ", initial weights from " + init : "")
                + (resumed != null ? ", resuming after epoch " + trainer.epochsDone() : ""));
        if (resumed != null) for (Trainer.EpochResult r : trainer.history()) stdout.println(r.line());
        Trainer.Result result = trainer.run();
        stdout.println(String.format(Locale.ROOT, "Accuracy of the model on the test images: %.2f%%", result.testAccuracy()));
        try {
            err.println("deepshape train: wrote " + ReportCommand.write(runDir, dataDir).html());
        } catch (LinkageError e) {
            // NOTE: a trimmed Java runtime (jlink'd without java.desktop, as bench/gpu.sh carries) cannot draw the
            // plots; the run itself is complete and saved, and `deepshape report` can draw them on another machine
            err.println("deepshape train: no report.html: this Java runtime cannot draw the plots (" + e
                    + "); the run is saved in " + runDir + ", and `deepshape report " + runDir + "` writes it with a full JDK");
        }
        return 0;
    }

    private void validate() {
        if (epochs != null && epochs < 1) throw CliSupport.usage(spec, "--epochs must be at least 1, got " + epochs);
        if (batchSize != null && batchSize < 1) throw CliSupport.usage(spec, "--batch-size must be at least 1, got " + batchSize);
        if (lr != null && !(lr > 0 && Float.isFinite(lr))) throw CliSupport.usage(spec, "--lr must be a positive number, got " + lr);
        if (limitTrain != null && limitTrain < 1) throw CliSupport.usage(spec, "--limit-train must be at least 1, got " + limitTrain);
        if (limitTest != null && limitTest < 1) throw CliSupport.usage(spec, "--limit-test must be at least 1, got " + limitTest);
        if (init != null) {
            if (resume != null) throw CliSupport.usage(spec, "--init cannot be combined with --resume: a resumed run continues from its checkpoint's weights");
            CliSupport.existingFile(spec, "--init", init);
        }
        if (out != null && Files.exists(out) && !Files.isDirectory(out)) throw CliSupport.usage(spec, "--out: " + out + " exists and is not a folder");
        if (resume != null && !Files.exists(resume)) throw CliSupport.usage(spec, "--resume: no such run folder or checkpoint: " + resume);
        CliSupport.setThreads(spec, threads);
    }

    /** On resume, a given {@code --model}/{@code --spec} must be the run's recorded model. */
    private void checkSameModel(ModelChoice.Chosen given, ModelChoice.Chosen recorded, Path file) {
        if (java.util.Objects.equals(given.specText(), recorded.specText()) && (!given.builtin() || given.name().equals(recorded.name()))) return;
        String diff = "";
        if (!given.builtin() && !recorded.builtin()) {
            List<String> a = given.specText().lines().toList(), b = recorded.specText().lines().toList();
            int i = 0;
            while (i < Math.min(a.size(), b.size()) && a.get(i).equals(b.get(i))) i++;
            diff = "; first difference at line " + (i + 1) + ": " + (i < a.size() ? "'" + a.get(i).strip() + "'" : "(end of file)")
                    + " where the run has " + (i < b.size() ? "'" + b.get(i).strip() + "'" : "(end of file)");
        }
        throw CliSupport.usage(spec, (given.builtin() ? "--model " : "--spec ") + given.name() + " differs from the model the run was trained with, "
                + recorded.describe() + " (recorded in " + file + ")" + diff + "; resume without --model/--spec, or start a new run");
    }

    /** The number of classes: one more than the largest label of the (whole) training set. */
    private static int classes(Mnist.Dataset train) {
        int max = 0;
        for (int y : train.labels()) max = Math.max(max, y);
        return max + 1;
    }

    /**
     * The shape trace of the first batch in PyTorch's format: for the built-in model the tutorial's lines
     * ({@code After conv1 and pool: torch.Size([64, 32, 14, 14])}), for a spec one line per layer
     * ({@code After conv1: torch.Size([64, 4, 13, 13])}).
     */
    static void trace(Module net, DataLoader.Batch b, PrintStream out) {
        if (!(net instanceof CombinedModel cm)) {
            out.println("Input shape: " + Shapes.torchSize(b.images().shapeRef()));
            if (!(net instanceof Sequential seq)) return;
            // NOTE: in eval mode, so that a recurrent layer's dropout draws nothing from the global generator and a
            // traced run trains exactly as an untraced one.
            boolean training = seq.isTraining();
            seq.eval();
            try (Autograd.Scope s = Autograd.noGrad()) {
                Tensor x = b.images();
                List<Module> layers = seq.layers();
                List<String> names = seq.layerNames();
                for (int i = 0; i < layers.size(); i++) {
                    x = layers.get(i).forward(x);
                    out.println("After " + names.get(i) + ": " + Shapes.torchSize(x.shapeRef()));
                }
            } finally {
                seq.train(training);
            }
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
