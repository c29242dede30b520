package dev.deepshape.train;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Parallel;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One real training epoch on preloaded data, timed as the side-by-side comparison with PyTorch and libtorch needs
 * ({@code bench/compare.sh}): batch {@code batch} in the given order, Adam (lr 1e-3), cross-entropy; then inference
 * of the whole test set in order (eval mode, no graph, batches of {@code batch}).
 *
 * <p>Measured: the epoch's wall time (batch assembly included: normalising the images of a batch out of the preloaded
 * bytes, also reported alone as {@link Result#batchingSeconds}), the median training step (forward, loss, backward,
 * Adam step, zero_grad), the test pass's wall time and accuracy, and the process's peak resident set at the end.
 *
 * <pre>{@code
 * EpochBench.Mnist mnist = EpochBench.Mnist.load(dir);
 * EpochBench.Result r = EpochBench.run(model, mnist.train(), order, mnist.test(), new int[] {1, 28, 28}, 64, 2);
 * }</pre>
 */
public final class EpochBench {
    private EpochBench() {}

    /**
     * @param epochSeconds wall time of the training epoch
     * @param stepMedianMs median of the training steps (full batches only)
     * @param batchingSeconds part of the epoch spent assembling batches out of the preloaded bytes
     * @param inferenceSeconds wall time of the forward passes over the test set
     * @param peakRssBytes VmHWM at the end (-1 where unknown)
     */
    public record Result(String backend, int threads, int batch, int steps, double epochSeconds, double stepMedianMs, double batchingSeconds,
                         double meanLoss, double trainAccuracy, int testCount, double inferenceSeconds, double testAccuracy, long peakRssBytes,
                         double loadAverage) {
        public Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", "deepshape");
            m.put("backend", backend);
            m.put("threads", threads);
            m.put("batch", batch);
            m.put("steps", steps);
            m.put("epoch_s", epochSeconds);
            m.put("step_ms", stepMedianMs);
            m.put("batching_s", batchingSeconds);
            m.put("loss", meanLoss);
            m.put("train_accuracy", trainAccuracy);
            m.put("test_count", testCount);
            m.put("inference_s", inferenceSeconds);
            m.put("test_accuracy", testAccuracy);
            m.put("peak_rss_bytes", peakRssBytes);
            m.put("load_average", loadAverage);
            return m;
        }

        public String text() {
            return String.format("deepshape (%s backend, %d threads): epoch %.2f s (%d steps of %d; batching %.2f s), median step %.2f ms, "
                            + "loss %.4f, train accuracy %.2f%%; %d test images in %.3f s, accuracy %.2f%%; peak RSS %.0f MB%n",
                    backend, threads, epochSeconds, steps, batch, batchingSeconds, stepMedianMs, meanLoss, trainAccuracy, testCount, inferenceSeconds,
                    testAccuracy, peakRssBytes / 1e6);
        }
    }

    /**
     * Trains {@code model} for one epoch and evaluates it.
     *
     * @param train the training split (normalised a batch at a time as it is visited)
     * @param order the order the training examples are visited in (a permutation of all or some of them)
     * @param sampleShape one example's shape without the batch, e.g. (1, 28, 28)
     */
    public static Result run(Module model, dev.deepshape.data.Mnist.Dataset train, int[] order, dev.deepshape.data.Mnist.Dataset test,
                             int[] sampleShape, int batch, int threads) {
        int imageSize = 1;
        for (int d : sampleShape) imageSize *= d;
        if (train.imageSize() != imageSize || test.imageSize() != imageSize) {
            throw new IllegalArgumentException("bench --epoch: the images do not hold one " + imageSize + "-value example per label");
        }
        int[] trainLabels = train.labels(), testLabels = test.labels();
        for (int i : order) {
            if (i < 0 || i >= trainLabels.length) throw new IllegalArgumentException("bench --epoch: the order names example " + i + " of " + trainLabels.length);
        }
        int before = Parallel.threads();
        Parallel.setThreads(threads);
        try {
            CrossEntropyLoss lossFn = new CrossEntropyLoss();
            Adam adam = new Adam(model.parameters(), 1e-3f);
            try (DeviceModel device = Backends.current().deviceModel(model, adam)) {
                if (device != null) return onDevice(device, train, order, test, batch, threads);
            }
            model.train(true);
            int steps = (order.length + batch - 1) / batch;
            double[] stepMs = new double[steps];
            int full = 0;
            long batching = 0;
            double lossSum = 0;
            long correct = 0;
            long e0 = System.nanoTime();
            for (int s = 0; s < steps; s++) {
                long b0 = System.nanoTime();
                int from = s * batch, n = Math.min(batch, order.length - from);
                float[] x = new float[n * imageSize];
                int[] y = new int[n];
                train.copyImages(order, from, from + n, x, 0);
                for (int i = 0; i < n; i++) y[i] = trainLabels[order[from + i]];
                Tensor input = new Tensor(x, withBatch(n, sampleShape));
                IntTensor target = new IntTensor(y, new int[] {n});
                long t0 = System.nanoTime();
                batching += t0 - b0;
                // One step's activations and intermediate gradients come from a pool reused every step (see Buffers):
                // the loss and the hits are read before the scope hands them back.
                try (Buffers.Scope ignored = Buffers.step()) {
                    Tensor logits = model.forward(input);
                    Tensor loss = lossFn.forward(logits, target);
                    loss.backward();
                    adam.step();
                    adam.zeroGrad();
                    long t1 = System.nanoTime();
                    if (n == batch) stepMs[full++] = Bench.ms(t1 - t0);
                    lossSum += loss.item();
                    correct += CrossEntropyLoss.correct(logits, target);
                }
            }
            Buffers.release();
            double epoch = (System.nanoTime() - e0) / 1e9;

            model.eval();
            long testCorrect = 0;
            long i0 = System.nanoTime();
            int[] inOrder = new int[testLabels.length];
            for (int i = 0; i < inOrder.length; i++) inOrder[i] = i;
            try (var ignored = Autograd.noGrad()) {
                for (int from = 0; from < testLabels.length; from += batch) {
                    int n = Math.min(batch, testLabels.length - from);
                    float[] x = new float[n * imageSize];
                    test.copyImages(inOrder, from, from + n, x, 0);
                    // a batch's activations come from the step pool, like a training step's (read before it closes)
                    try (Buffers.Scope batchScope = Buffers.step()) {
                        Tensor logits = model.forward(new Tensor(x, withBatch(n, sampleShape)));
                        testCorrect += CrossEntropyLoss.correct(logits, new IntTensor(java.util.Arrays.copyOfRange(testLabels, from, from + n), new int[] {n}));
                    }
                }
            }
            Buffers.release();
            double inference = (System.nanoTime() - i0) / 1e9;
            model.train(true);
            return new Result(Backends.current().name(), threads, batch, steps, epoch, Bench.median(java.util.Arrays.copyOf(stepMs, full)),
                    batching / 1e9, lossSum / steps, 100.0 * correct / order.length, testLabels.length, inference,
                    100.0 * testCorrect / testLabels.length, Bench.peakRssBytes(), Bench.loadAverage());
        } finally {
            Parallel.setThreads(before);
        }
    }

    /**
     * The epoch on a device that keeps the whole model (CUDA): the same order, batch and optimiser, each step one
     * {@link DeviceModel#trainStep} (it ends when the step's loss is back on the host); batches are gathered on the
     * device, so batching is part of the step. Both splits are uploaded, and the kernels compiled, before the clock
     * starts, as the CPU path's data is preloaded.
     */
    private static Result onDevice(DeviceModel device, dev.deepshape.data.Mnist.Dataset train, int[] order,
                                   dev.deepshape.data.Mnist.Dataset test, int batch, int threads) {
        device.load(test);
        device.load(train);
        int steps = (order.length + batch - 1) / batch;
        double[] stepMs = new double[steps];
        int full = 0;
        double lossSum = 0;
        long correct = 0;
        long e0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            int from = s * batch, n = Math.min(batch, order.length - from);
            long t0 = System.nanoTime();
            DeviceModel.Step step = device.trainStep(train, order, from, from + n);
            if (n == batch) stepMs[full++] = Bench.ms(System.nanoTime() - t0);
            lossSum += step.loss();
            correct += step.hits();
        }
        double epoch = (System.nanoTime() - e0) / 1e9;
        long i0 = System.nanoTime();
        Evaluation ev = Evaluation.ofLogits(device.logits(test), test);
        double inference = (System.nanoTime() - i0) / 1e9;
        return new Result(Backends.current().name(), threads, batch, steps, epoch, Bench.median(java.util.Arrays.copyOf(stepMs, full)),
                0, lossSum / steps, 100.0 * correct / order.length, test.count(), inference, ev.accuracy(), Bench.peakRssBytes(),
                Bench.loadAverage());
    }

    private static int[] withBatch(int n, int[] sampleShape) {
        int[] s = new int[sampleShape.length + 1];
        s[0] = n;
        System.arraycopy(sampleShape, 0, s, 1, sampleShape.length);
        return s;
    }

    /** The int32 little-endian indices of a training order file (what {@code bench/compare.sh} writes for every contestant). */
    public static int[] readOrder(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length % 4 != 0 || bytes.length == 0) {
            throw new IllegalArgumentException("--order " + file + ": expected int32 little-endian indices, got " + bytes.length + " bytes (not a positive multiple of 4)");
        }
        int[] p = new int[bytes.length / 4];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(p);
        return p;
    }

    /**
     * MNIST preloaded by {@link dev.deepshape.data.Mnist} (torchvision's files and transform, {@code x = (p/255 − 0.5)/0.5}),
     * kept as bytes: images of 28×28, image {@code i} at {@code i·784}.
     */
    public record Mnist(dev.deepshape.data.Mnist.Dataset train, dev.deepshape.data.Mnist.Dataset test) {
        /** Reads both splits from {@code dir} (raw or {@code .gz}, or torchvision's MNIST/raw below it); downloads nothing. */
        public static Mnist load(Path dir) throws IOException {
            return new Mnist(dev.deepshape.data.Mnist.load(dir, true, null), dev.deepshape.data.Mnist.load(dir, false, null));
        }

        public int[] trainLabels() { return train.labels(); }

        public int[] testLabels() { return test.labels(); }
    }
}
