package dev.deepshape.train;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.backend.Parallel;
import dev.deepshape.data.DataLoader;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Optimizer;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tutorial's training loop as a library: for each epoch, shuffle, and per batch {@code zero_grad}, forward,
 * cross-entropy on the logits, backward, optimiser step; then the epoch's mean batch loss and training accuracy,
 * and a checkpoint into the run folder ({@link Checkpoint}); at the end, the accuracy on the test set.
 *
 * <p>A run is reproducible bit for bit: the model is initialised from the seeded global generator, the batch order
 * comes from the loader's own generator seeded from the same seed, and a checkpoint holds the weights, the
 * optimiser state and both generator states, so {@link #restore} continues exactly where the epoch ended (given
 * the same thread count: the kernels' summation order depends on it).
 *
 * <pre>{@code
 * Rng.manualSeed(0);
 * CombinedModel model = new CombinedModel();
 * Trainer t = new Trainer(model, new Adam(model.parameters(), 1e-3f), train, test, Trainer.Config.defaults(), runDir, listener);
 * Trainer.Result r = t.run(); // r.testAccuracy() ≈ 98 % after 5 epochs
 * }</pre>
 */
public final class Trainer {
    /**
     * The run's hyper-parameters (the tutorial's defaults: 5 epochs, batch 64, lr 1e-3, seed 0) and its model:
     * {@code model} is a built-in model's name ({@code combined}) or a spec file's name, and {@code spec} the spec's
     * text (null for a built-in model). Both are recorded in every checkpoint, so a run's model can be rebuilt from
     * its checkpoint alone.
     */
    public record Config(String model, int epochs, int batchSize, float lr, long seed, int limitTrain, int limitTest, String spec) {
        public Config {
            if (model == null || model.isEmpty()) throw new IllegalArgumentException("the model needs a name, got " + (model == null ? "null" : "''"));
            if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            if (!(lr > 0) || !Float.isFinite(lr)) throw new IllegalArgumentException("learning rate must be a positive number, got " + lr);
            if (limitTrain < 0 || limitTest < 0) throw new IllegalArgumentException("subset limits must be >= 0 (0 = all), got " + limitTrain + " and " + limitTest);
        }

        /** A run of a built-in model. */
        public Config(String model, int epochs, int batchSize, float lr, long seed, int limitTrain, int limitTest) {
            this(model, epochs, batchSize, lr, seed, limitTrain, limitTest, null);
        }

        public static Config defaults() { return new Config("combined", 5, 64, 1e-3f, 0, 0, 0); }

        public Config withEpochs(int e) { return new Config(model, e, batchSize, lr, seed, limitTrain, limitTest, spec); }

        /** The model as {@link Checkpoint} records it beside a state dict. */
        public Checkpoint.ModelRecord modelRecord() { return new Checkpoint.ModelRecord(model, spec); }

        Map<String, Object> toMeta() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", model);
            if (spec != null) m.put("spec", spec);
            m.put("epochs", epochs);
            m.put("batch_size", batchSize);
            m.put("lr", lr);
            m.put("seed", seed);
            m.put("limit_train", limitTrain);
            m.put("limit_test", limitTest);
            return m;
        }

        /** The configuration stored in a checkpoint's metadata. */
        public static Config fromMeta(Map<String, Object> meta) {
            if (!(meta.get("model") instanceof String model)) throw new IllegalArgumentException("checkpoint metadata: 'model' is missing or not a string: " + meta.get("model"));
            Object spec = meta.get("spec");
            if (spec != null && !(spec instanceof String)) throw new IllegalArgumentException("checkpoint metadata: 'spec' is not a string: " + spec);
            return new Config(model, num(meta, "epochs").intValue(), num(meta, "batch_size").intValue(),
                    num(meta, "lr").floatValue(), num(meta, "seed").longValue(), num(meta, "limit_train").intValue(),
                    num(meta, "limit_test").intValue(), (String) spec);
        }

        /** The settings on one line; a spec shows as its line count, not its text. */
        @Override public String toString() {
            return "Config[model=" + model + (spec == null ? "" : " (spec, " + spec.lines().count() + " lines)") + ", epochs=" + epochs
                    + ", batchSize=" + batchSize + ", lr=" + lr + ", seed=" + seed + ", limitTrain=" + limitTrain + ", limitTest=" + limitTest + "]";
        }
    }

    /** One epoch's numbers: mean of the batch losses, training accuracy in percent, wall time. */
    public record EpochResult(int epoch, int epochs, double loss, double accuracy, double seconds, int samples) {
        /** The tutorial's line: {@code Epoch [1/5], Loss: 0.1805, Accuracy: 94.58%}. */
        public String line() { return String.format(java.util.Locale.ROOT, "Epoch [%d/%d], Loss: %.4f, Accuracy: %.2f%%", epoch, epochs, loss, accuracy); }
    }

    /** The whole run: every epoch (resumed ones included) and the test accuracy. */
    public record Result(List<EpochResult> epochs, int testCorrect, int testCount) {
        public double testAccuracy() { return 100.0 * testCorrect / testCount; }
    }

    /** What a front end (progress bar, log) hears; every method has an empty default. */
    public interface Listener {
        /** Before the first batch of the run (after a resume: of the first remaining epoch). */
        default void onFirstBatch(DataLoader.Batch batch) {}

        default void onEpochStart(int epoch, int epochs, int batches, int samples) {}

        /** After each batch: batches and samples done in this epoch, running mean loss and accuracy (percent). */
        default void onBatch(int epoch, int batchesDone, int samplesDone, double runningLoss, double runningAccuracy) {}

        default void onEpochEnd(EpochResult result, Path checkpoint) {}

        /** When training runs whole on a device: what it is and holds ({@link DeviceModel#describe}). */
        default void onDevice(String description) {}
    }

    private final Module model;
    private final Optimizer optimizer;
    private final CrossEntropyLoss lossFn = new CrossEntropyLoss();
    private final Mnist.Dataset train;
    private final Mnist.Dataset test;
    private final Config config;
    private final Path runDir;
    private final Listener listener;
    private final DataLoader loader;
    private final List<EpochResult> history = new ArrayList<>();
    private int epochsDone;
    private MetricsLog metrics;
    /** The model and optimiser kept on the backend's device during {@link #run} (CUDA), or null: steps run here. */
    private DeviceModel device;

    /**
     * {@code model} must have been initialised from {@code Rng.manualSeed(config.seed())}; {@code train} and
     * {@code test} are cut to the configured limits here. Checkpoints go to {@code runDir} (null: none written).
     */
    public Trainer(Module model, Optimizer optimizer, Mnist.Dataset train, Mnist.Dataset test, Config config, Path runDir, Listener listener) {
        this.model = model;
        this.optimizer = optimizer;
        this.train = config.limitTrain() > 0 ? train.first(config.limitTrain()) : train;
        this.test = test == null ? null : config.limitTest() > 0 ? test.first(config.limitTest()) : test;
        this.config = config;
        this.runDir = runDir;
        this.listener = listener == null ? new Listener() {} : listener;
        // NOTE: the shuffle generator is separate from the global one that initialises the weights, so adding a
        // random draw to a layer's initialisation does not change the batch order.
        this.loader = new DataLoader(this.train, config.batchSize(), true, new Rng(config.seed() ^ 0x5348554646_4C45L));
    }

    public Config config() { return config; }

    public int epochsDone() { return epochsDone; }

    public List<EpochResult> history() { return List.copyOf(history); }

    /**
     * Trains the remaining epochs, checkpointing after each, then evaluates on the test set (if one was given). With
     * a run folder, the metrics go there as they happen ({@link MetricsLog}): every step, every epoch with its test
     * loss and accuracy, and the final model's test predictions.
     */
    public Result run() throws IOException {
        if (runDir != null) checkRunDirWritable();
        boolean first = true;
        Evaluation last = null;
        // NOTE: opened here, not in the constructor, so that it starts from a restored checkpoint's weights; the
        // anomaly detector needs every op on the host, so it keeps training there
        device = detector == null ? dev.deepshape.backend.Backends.current().deviceModel(model, optimizer) : null;
        if (device != null) listener.onDevice(device.describe());
        try (MetricsLog log = runDir == null ? null : MetricsLog.open(runDir, epochsDone, settings())) {
            metrics = log;
            for (int epoch = epochsDone + 1; epoch <= config.epochs(); epoch++) {
                EpochResult r = trainEpoch(epoch, first);
                first = false;
                history.add(r);
                epochsDone = epoch;
                if (device != null) device.syncToHost(); // the checkpoint and the report read the host's copy
                if (log != null) {
                    // NOTE: the epoch's line goes before its checkpoint: a resume drops the lines of unsaved epochs.
                    last = test == null ? null : evaluation(test);
                    log.epoch(r, last);
                }
                Path ckpt = runDir == null ? null : save();
                listener.onEpochEnd(r, ckpt);
            }
            if (test != null && last == null) last = evaluation(test);
        } finally {
            metrics = null;
            Buffers.release(); // the step pool's arrays, kept from step to step, are not needed after training
            if (device != null) device.close();
            device = null;
        }
        if (test == null) return new Result(history(), 0, 0);
        if (runDir != null) MetricsLog.writePredictions(runDir.resolve(MetricsLog.PREDICTIONS_FILE), last);
        return new Result(history(), last.correct(), last.count());
    }

    /** The model's evaluation on {@code data}: on the device when training runs there, else on the host. */
    private Evaluation evaluation(Mnist.Dataset data) {
        return device != null ? Evaluation.ofLogits(device.logits(data), data) : Evaluation.of(model, data, config.batchSize());
    }

    /** What {@value MetricsLog#RUN_FILE} holds: the configuration and what else shapes the run's numbers. */
    private Map<String, Object> settings() {
        Map<String, Object> m = config.toMeta();
        m.put("optimizer", optimizer.getClass().getSimpleName());
        m.put("optimizer_hyper_parameters", optimizer.hyperParameters());
        m.put("parameters", model.parameterCount());
        m.put("backend", dev.deepshape.backend.Backends.current().name());
        m.put("threads", Parallel.threads());
        if (device != null) m.put("device", device.describe());
        m.put("train_count", train.count());
        m.put("test_count", test == null ? 0 : test.count());
        m.put("batches_per_epoch", loader.numBatches());
        m.put("resumed_after_epoch", epochsDone);
        m.put("started", java.time.OffsetDateTime.now().withNano(0).toString());
        return m;
    }

    private EpochResult trainEpoch(int epoch, boolean firstOfRun) {
        if (device != null) return trainEpochOnDevice(epoch, firstOfRun);
        model.train(true);
        long t0 = System.nanoTime();
        double lossSum = 0;
        int correct = 0, seen = 0, batches = 0;
        long tStep = t0;
        listener.onEpochStart(epoch, config.epochs(), loader.numBatches(), train.count());
        try (DataLoader.Epoch it = loader.epoch()) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                if (firstOfRun && batches == 0) listener.onFirstBatch(b);
                optimizer.zeroGrad();
                long step = (long) (epoch - 1) * loader.numBatches() + batches + 1;
                float l;
                int hits;
                // NOTE: the step's activations and intermediate gradients come from a pool reused every step (Buffers):
                // everything the step reports (loss, hits) is read before the scope closes and hands them back.
                try (Buffers.Scope ignored = Buffers.step()) {
                    Tensor logits = model.forward(b.images());
                    Tensor loss = lossFn.forward(logits, b.labels());
                    if (detector != null) {
                        guard(() -> detector.checkForward(loss, step), epoch, batches + 1);
                        guard(() -> detector.backward(loss, step), epoch, batches + 1);
                    } else {
                        loss.backward();
                    }
                    l = loss.item();
                    // NOTE: checked before the step, so a fault never reaches the weights (nor, then, a checkpoint).
                    if (!Float.isFinite(l) || !gradientsFinite()) throw locateFault(b, epoch, batches + 1, step, l);
                    optimizer.step();
                    hits = CrossEntropyLoss.correct(logits, b.labels());
                }
                lossSum += l;
                correct += hits;
                seen += b.size();
                batches++;
                tStep = logStep(epoch, batches, l, hits, b.size(), tStep);
                listener.onBatch(epoch, batches, seen, lossSum / batches, 100.0 * correct / seen);
            }
        }
        return new EpochResult(epoch, config.epochs(), lossSum / batches, 100.0 * correct / seen, (System.nanoTime() - t0) / 1e9, seen);
    }

    /**
     * The epoch on the device: the same batch order (drawn from the same generator) and the same reports, with each
     * step one {@link DeviceModel#trainStep} call. A non-finite step leaves the weights as they were, and the host
     * then re-runs that batch with the anomaly detector to name the layer, as on the CPU.
     */
    private EpochResult trainEpochOnDevice(int epoch, boolean firstOfRun) {
        long t0 = System.nanoTime();
        double lossSum = 0;
        int correct = 0, seen = 0, batches = 0;
        long tStep = t0;
        listener.onEpochStart(epoch, config.epochs(), loader.numBatches(), train.count());
        int[] order = loader.order();
        for (int from = 0; from < order.length; from += config.batchSize()) {
            int to = Math.min(from + config.batchSize(), order.length);
            if (firstOfRun && batches == 0) listener.onFirstBatch(loader.batch(0, order));
            long step = (long) (epoch - 1) * loader.numBatches() + batches + 1;
            DeviceModel.Step s = device.trainStep(train, order, from, to);
            if (!s.finite()) {
                device.syncToHost();
                throw locateFault(loader.batch(batches, order), epoch, batches + 1, step, s.loss());
            }
            lossSum += s.loss();
            correct += s.hits();
            seen += to - from;
            batches++;
            tStep = logStep(epoch, batches, s.loss(), s.hits(), to - from, tStep);
            listener.onBatch(epoch, batches, seen, lossSum / batches, 100.0 * correct / seen);
        }
        return new EpochResult(epoch, config.epochs(), lossSum / batches, 100.0 * correct / seen, (System.nanoTime() - t0) / 1e9, seen);
    }

    /** The step's line in the metrics log (if any), with the samples per second since {@code since}; returns now. */
    private long logStep(int epoch, int batch, float loss, int hits, int size, long since) {
        if (metrics == null) return since;
        long now = System.nanoTime();
        metrics.step(epoch, (epoch - 1) * loader.numBatches() + batch, batch, loss, 100.0 * hits / size,
                Double.parseDouble(Float.toString(optimizer.lr())), size / Math.max(1e-9, (now - since) / 1e9));
        return now;
    }

    // ---------------------------------------------------------------- numerical faults

    /** Thrown when the loss or a gradient is NaN or infinite; the weights are those before the faulty step. */
    public static final class NumericalFault extends IllegalStateException {
        public NumericalFault(String message, Throwable cause) { super(message, cause); }
    }

    private AnomalyDetector detector;

    /**
     * With {@code on}, every step checks every op's output in forward and every gradient in backward and stops at
     * the first NaN or infinity ({@link AnomalyDetector}); off by default. Without it, a non-finite loss or
     * gradient is still caught after backward, and only then is the faulty step re-run with the detector to name
     * the layer.
     */
    public Trainer detectAnomaly(boolean on) {
        detector = on ? new AnomalyDetector(model) : null;
        return this;
    }

    private boolean gradientsFinite() {
        for (Tensor p : optimizer.params()) {
            Tensor g = p.gradForUpdate(); // read here, not kept: the storage may be reused after zero_grad
            if (g == null) continue;
            for (float v : g.data()) if (!Float.isFinite(v)) return false;
        }
        return true;
    }

    private void guard(Runnable check, int epoch, int batch) {
        try {
            check.run();
        } catch (AnomalyDetector.Anomaly a) {
            throw fault(a.getMessage(), epoch, batch, a);
        }
    }

    /** Re-runs the faulty batch (weights unchanged: the step was not taken) with the detector to name the layer. */
    private NumericalFault locateFault(DataLoader.Batch b, int epoch, int batch, long step, float loss) {
        AnomalyDetector d = new AnomalyDetector(model);
        optimizer.zeroGrad();
        try {
            Tensor again = lossFn.forward(model.forward(b.images()), b.labels());
            d.checkForward(again, step);
            d.backward(again, step);
        } catch (AnomalyDetector.Anomaly a) {
            return fault(a.getMessage() + " (the loss is " + loss + ")", epoch, batch, a);
        }
        return fault("step " + step + ": the loss is " + loss + (Float.isFinite(loss) ? " but a gradient is not finite" : ""), epoch, batch, null);
    }

    private NumericalFault fault(String what, int epoch, int batch, Throwable cause) {
        Path ckpt = runDir == null ? null : runDir.resolve(Checkpoint.CHECKPOINT_FILE);
        String kept = ckpt != null && Files.exists(ckpt) ? "the last good checkpoint, after epoch " + epochsDone + ", is kept in " + ckpt
                : "no checkpoint was written (the fault came before the first epoch ended)";
        return new NumericalFault("epoch " + epoch + ", batch " + batch + ", " + what + "; training stopped before this step changed the weights; "
                + kept + ". Lower the learning rate (--lr, now " + Optimizer.pyRepr(optimizer.lr()) + ")", cause);
    }

    /** The number of correctly classified examples, in order, without recording a graph, in eval mode. */
    public static int evaluate(Module model, Mnist.Dataset data, int batchSize) {
        boolean wasTraining = model.isTraining();
        model.eval();
        int correct = 0;
        DataLoader loader = new DataLoader(data, batchSize, false, null);
        try (Autograd.Scope s = Autograd.noGrad(); DataLoader.Epoch it = loader.epoch()) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                // the batch's activations come from the step pool (Buffers), read before the scope closes
                try (Buffers.Scope batchScope = Buffers.step()) {
                    correct += CrossEntropyLoss.correct(model.forward(b.images()), b.labels());
                }
            }
        } finally {
            // NOTE: the pool is kept: between epochs the training steps reuse these very arrays (same lengths);
            // Trainer.run releases it when training ends
            model.train(wasTraining);
        }
        return correct;
    }

    /** Writes {@code model.safetensors} and {@code checkpoint.safetensors}; returns the latter. */
    public Path save() throws IOException {
        Files.createDirectories(runDir);
        Map<String, Object> meta = config.toMeta();
        meta.put("epoch", epochsDone);
        meta.put("threads", Parallel.threads());
        meta.put("optimizer", optimizer.getClass().getSimpleName());
        meta.put("optimizer_hyper_parameters", optimizer.hyperParameters());
        meta.put("loader_rng", loader.rng().state());
        meta.put("global_rng", Rng.global().state());
        meta.put("train_count", train.count());
        List<Map<String, Object>> h = new ArrayList<>();
        for (EpochResult r : history) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("epoch", r.epoch());
            e.put("loss", r.loss());
            e.put("accuracy", r.accuracy());
            e.put("seconds", r.seconds());
            h.add(e);
        }
        meta.put("history", h);
        Map<String, Tensor> state = model.stateDict();
        // NOTE: the full checkpoint is written first; the plain state dict second. After a kill between the two,
        // model.safetensors is one epoch behind, and --resume (which reads the checkpoint) is unaffected.
        Path ckpt = runDir.resolve(Checkpoint.CHECKPOINT_FILE);
        boolean hadOne = Files.exists(ckpt);
        try {
            Checkpoint.write(ckpt, state, optimizer.stateTensors(), meta);
        } catch (IOException e) {
            throw new IOException("cannot write the checkpoint after epoch " + epochsDone + " to " + ckpt + ": " + reason(e) + "; "
                    + (hadOne ? "the previous " + Checkpoint.CHECKPOINT_FILE + " there is unchanged (resume from it with --resume " + runDir + ")"
                    : "no checkpoint was written") + ". Free disk space or choose a writable run folder (--out)", e);
        }
        try {
            Checkpoint.writeStateDict(runDir.resolve(Checkpoint.MODEL_FILE), state, config.modelRecord());
        } catch (IOException e) {
            throw new IOException("wrote " + ckpt + " (after epoch " + epochsDone + ") but cannot write " + runDir.resolve(Checkpoint.MODEL_FILE)
                    + ": " + reason(e) + "; resume with --resume " + runDir + ", which rewrites it", e);
        }
        return ckpt;
    }

    /** Fails before any training when the run folder cannot take a file (read-only, not a folder, no permission). */
    private void checkRunDirWritable() throws IOException {
        Path probe = runDir.resolve(".deepshape-write-test-" + ProcessHandle.current().pid());
        try {
            Files.createDirectories(runDir);
            Files.write(probe, new byte[] {0});
            Files.delete(probe);
        } catch (IOException e) {
            throw new IOException("the run folder " + runDir + " is not writable: " + reason(e) + "; nothing was trained"
                    + (Files.exists(runDir.resolve(Checkpoint.CHECKPOINT_FILE)) ? " and its checkpoint is unchanged" : "")
                    + ". Choose another folder with --out", e);
        }
    }

    private static String reason(IOException e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied (" + m + ")";
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) return fs.getReason() + " (" + fs.getFile() + ")";
        return m == null ? e.toString() : m;
    }

    /**
     * Continues from a checkpoint: weights, optimiser state, both generators, the epoch count and the history.
     * The checkpoint's hyper-parameters must match this trainer's (the number of epochs may grow).
     */
    public void restore(Checkpoint.Contents c) {
        Config saved = Config.fromMeta(c.meta());
        if (!saved.withEpochs(config.epochs()).equals(config)) {
            throw new IllegalArgumentException("the checkpoint was written with " + saved + ", but this run has " + config
                    + "; resume with the checkpoint's settings");
        }
        int epoch = num(c.meta(), "epoch").intValue();
        if (epoch > config.epochs()) {
            throw new IllegalArgumentException("the checkpoint is after epoch " + epoch + ", beyond the " + config.epochs() + " epochs asked for");
        }
        model.loadStateDict(c.model(), true);
        optimizer.loadStateTensors(c.optimizer());
        loader.rng().setState(longs(c.meta().get("loader_rng")));
        Rng.global().setState(longs(c.meta().get("global_rng")));
        history.clear();
        for (Object o : (List<?>) c.meta().get("history")) {
            @SuppressWarnings("unchecked") Map<String, Object> e = (Map<String, Object>) o;
            history.add(new EpochResult(num(e, "epoch").intValue(), config.epochs(), num(e, "loss").doubleValue(),
                    num(e, "accuracy").doubleValue(), num(e, "seconds").doubleValue(), train.count()));
        }
        epochsDone = epoch;
    }

    private static Number num(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof Number n)) throw new IllegalArgumentException("checkpoint metadata: '" + key + "' is missing or not a number: " + m.get(key));
        return n;
    }

    private static long[] longs(Object o) {
        if (!(o instanceof List<?> l) || l.size() != 4) throw new IllegalArgumentException("checkpoint metadata: a generator state is 4 integers, got " + o);
        long[] out = new long[4];
        for (int i = 0; i < 4; i++) out[i] = ((Number) l.get(i)).longValue();
        return out;
    }
}
