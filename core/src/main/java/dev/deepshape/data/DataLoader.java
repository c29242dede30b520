package dev.deepshape.data;

import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Batches a {@link Mnist.Dataset} as {@code torch.utils.data.DataLoader(ds, batch_size, shuffle)} does: with
 * {@code shuffle}, a fresh permutation per epoch drawn from the loader's own seeded {@link Rng} (whose state a
 * checkpoint saves, so a resumed run sees the same order); the last partial batch is kept ({@code drop_last=False}).
 * While the model trains on one batch, a background thread assembles the next ones (a bounded queue of 2).
 *
 * <p>Each batch is {@code images} (B, 1, rows, cols) and {@code labels} (B).
 *
 * <pre>{@code
 * DataLoader loader = new DataLoader(train, 64, true, new Rng(0));
 * try (DataLoader.Epoch epoch = loader.epoch()) {
 *     while (epoch.hasNext()) { DataLoader.Batch b = epoch.next(); ... } // 938 batches, the last of 32
 * }
 * }</pre>
 */
public final class DataLoader {
    /** One batch: its position in the epoch, the images (B, 1, rows, cols) and the labels (B). */
    public record Batch(int index, Tensor images, IntTensor labels) {
        public int size() { return labels.numel(); }
    }

    private static final int PREFETCH = 2;

    private final Mnist.Dataset data;
    private final int batchSize;
    private final boolean shuffle;
    private final Rng rng;

    public DataLoader(Mnist.Dataset data, int batchSize, boolean shuffle, Rng rng) {
        if (batchSize < 1) throw new IllegalArgumentException("DataLoader: batch_size should be a positive integer value, but got batch_size=" + batchSize);
        if (shuffle && rng == null) throw new IllegalArgumentException("DataLoader: shuffle needs a generator");
        this.data = data;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.rng = rng;
    }

    public Mnist.Dataset dataset() { return data; }

    public int batchSize() { return batchSize; }

    /** The generator that draws each epoch's order; its state belongs in a checkpoint. */
    public Rng rng() { return rng; }

    /** Batches per epoch, the last partial one included: ⌈N / batch_size⌉. */
    public int numBatches() { return (data.count() + batchSize - 1) / batchSize; }

    /**
     * The order of one epoch: a Fisher–Yates shuffle drawn from the generator, or 0..N-1 without shuffle. Each call
     * draws the next epoch's ({@link #epoch} calls it; a device that gathers its own batches calls it instead).
     */
    public int[] order() {
        int n = data.count();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        if (shuffle) {
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
        }
        return idx;
    }

    /** Starts an epoch: draws its order now, then prepares batches in the background. Close it to stop early. */
    public Epoch epoch() { return new Epoch(order()); }

    /**
     * Copies (and normalises) the examples {@code order[from..to)} into one batch. NOTE: each batch gets a fresh
     * array (B·784 floats, 200 KB for 64): the batch escapes to the caller, who may keep it past the next one.
     */
    Batch assemble(int index, int[] order, int from, int to) {
        int b = to - from;
        int size = data.imageSize();
        float[] x = new float[b * size];
        int[] y = new int[b];
        data.copyImages(order, from, to, x, 0);
        for (int i = 0; i < b; i++) y[i] = data.labels()[order[from + i]];
        return new Batch(index, new Tensor(x, b, 1, data.rows(), data.cols()), new IntTensor(y, new int[] {b}));
    }

    /** Batch {@code index} of the epoch whose order is {@code order}, assembled on the host. */
    public Batch batch(int index, int[] order) {
        int from = index * batchSize;
        return assemble(index, order, from, Math.min(from + batchSize, order.length));
    }

    /** One pass over the data. Not thread-safe: consume it from one thread. */
    public final class Epoch implements Iterator<Batch>, AutoCloseable {
        private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(PREFETCH);
        private final Thread producer;
        private final int total;
        private int taken;

        Epoch(int[] order) {
            this.total = numBatches();
            this.producer = Thread.ofPlatform().daemon().name("deepshape-loader").unstarted(() -> {
                try {
                    for (int k = 0; k < total; k++) {
                        int from = k * batchSize;
                        queue.put(assemble(k, order, from, Math.min(from + batchSize, order.length)));
                    }
                } catch (InterruptedException e) {
                    // closed early: stop quietly
                } catch (RuntimeException | Error e) {
                    queue.clear();
                    queue.offer(e);
                }
            });
            producer.start();
        }

        @Override public boolean hasNext() { return taken < total; }

        @Override
        public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("the epoch has " + total + " batches");
            Object o;
            try {
                o = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the next batch", e);
            }
            if (o instanceof RuntimeException e) throw new IllegalStateException("the loader thread failed: " + e.getMessage(), e);
            if (o instanceof Error e) throw e;
            taken++;
            return (Batch) o;
        }

        /** Stops the background thread (needed only when the epoch is left before its end). */
        @Override
        public void close() {
            producer.interrupt();
            try {
                producer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
