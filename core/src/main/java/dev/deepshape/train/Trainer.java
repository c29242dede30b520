package dev.deepshape.train;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.backend.Parallel;
import dev.deepshape.data.DataLoader;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Optimizer;
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
    /** The run's hyper-parameters (the tutorial's defaults: 5 epochs, batch 64, lr 1e-3, seed 0). */
    public record Config(String model, int epochs, int batchSize, float lr, long seed, int limitTrain, int limitTest) {
        public Config {
            if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
            if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
            if (!(lr > 0) || !Float.isFinite(lr)) throw new IllegalArgumentException("learning rate must be a positive number, got " + lr);
            if (limitTrain < 0 || limitTest < 0) throw new IllegalArgumentException("subset limits must be >= 0 (0 = all), got " + limitTrain + " and " + limitTest);
        }

        public static Config defaults() { return new Config("combined", 5, 64, 1e-3f, 0, 0, 0); }

        public Config withEpochs(int e) { return new Config(model, e, batchSize, lr, seed, limitTrain, limitTest); }

        Map<String, Object> toMeta() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("model", model);
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
            return new Config((String) meta.get("model"), num(meta, "epochs").intValue(), num(meta, "batch_size").intValue(),
                    num(meta, "lr").floatValue(), num(meta, "seed").longValue(), num(meta, "limit_train").intValue(),
                    num(meta, "limit_test").intValue());
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

    /** Trains the remaining epochs, checkpointing after each, then evaluates on the test set (if one was given). */
    public Result run() throws IOException {
        boolean first = true;
        for (int epoch = epochsDone + 1; epoch <= config.epochs(); epoch++) {
            EpochResult r = trainEpoch(epoch, first);
            first = false;
            history.add(r);
            epochsDone = epoch;
            Path ckpt = runDir == null ? null : save();
            listener.onEpochEnd(r, ckpt);
        }
        if (test == null) return new Result(history(), 0, 0);
        return new Result(history(), evaluate(model, test, config.batchSize()), test.count());
    }

    private EpochResult trainEpoch(int epoch, boolean firstOfRun) {
        model.train(true);
        long t0 = System.nanoTime();
        double lossSum = 0;
        int correct = 0, seen = 0, batches = 0;
        listener.onEpochStart(epoch, config.epochs(), loader.numBatches(), train.count());
        try (DataLoader.Epoch it = loader.epoch()) {
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                if (firstOfRun && batches == 0) listener.onFirstBatch(b);
                optimizer.zeroGrad();
                Tensor logits = model.forward(b.images());
                Tensor loss = lossFn.forward(logits, b.labels());
                loss.backward();
                optimizer.step();
                float l = loss.item();
                if (!Float.isFinite(l)) {
                    throw new IllegalStateException("epoch " + epoch + ", batch " + (batches + 1) + ": the loss is " + l
                            + "; lower the learning rate (--lr, now " + config.lr() + ")");
                }
                lossSum += l;
                correct += CrossEntropyLoss.correct(logits, b.labels());
                seen += b.size();
                batches++;
                listener.onBatch(epoch, batches, seen, lossSum / batches, 100.0 * correct / seen);
            }
        }
        return new EpochResult(epoch, config.epochs(), lossSum / batches, 100.0 * correct / seen, (System.nanoTime() - t0) / 1e9, seen);
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
                correct += CrossEntropyLoss.correct(model.forward(b.images()), b.labels());
            }
        } finally {
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
        Checkpoint.write(ckpt, state, optimizer.stateTensors(), meta);
        Checkpoint.writeStateDict(runDir.resolve(Checkpoint.MODEL_FILE), state);
        return ckpt;
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
