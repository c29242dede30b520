package dev.deepshape.simd;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Gets the Vector API kernels compiled by C2 while the caller does something else (loading MNIST), on one thread
 * that runs them on two samples of the reference model's shapes (smaller ones first) for a bounded time.
 *
 * <p>Why: until C2 has compiled a kernel, the Vector API runs its generic Java code (an object per vector operation),
 * 50-100 times slower. Measured on 2 cores (AVX2): the first training steps of an epoch took 3.5, 0.8, 0.5, 0.2,
 * 0.2 s before settling at 0.03-0.04 s, about 5 s per run spent warming up while the second core sat idle during the
 * data loading before them. Nothing here changes a result: its own arrays, no random numbers drawn, and the kernels
 * take the thread pool for work split over more than one chunk (two samples), which waits its turn.
 */
final class SimdWarmUp {
    private SimdWarmUp() {}

    private static final AtomicBoolean STARTED = new AtomicBoolean();
    /** The thread {@link #start} started, and whether real work has reached the backend since (it then stops). */
    private static volatile Thread thread;
    private static volatile boolean workArrived;

    /**
     * Called by the backend's entry points: the caller's own work has begun, so the warm-up thread stops at its next
     * check. NOTE: on 2 cores it otherwise went on for the rest of its budget beside the first training step, which
     * the JIT's compiler threads already share (5 runnable threads on 2 cores).
     */
    static void workArrived() {
        if (!workArrived && thread != null && Thread.currentThread() != thread) workArrived = true;
    }

    /** Whether the calling thread is the background warm-up and should stop (never for a direct call of {@link #run}). */
    private static boolean shouldStop() {
        return workArrived && Thread.currentThread() == thread;
    }
    /** The wall time the warm-up may take at most: about the time MNIST takes to load here. */
    static final long BUDGET_NANOS = 1_500_000_000L;

    /** Starts the warm-up thread, once per JVM, unless the system property {@code deepshape.simd.warmup} is false; returns at once. */
    static void start() {
        if ("false".equals(System.getProperty("deepshape.simd.warmup")) || !STARTED.compareAndSet(false, true)) return;
        Thread t = new Thread(() -> {
            try {
                run(BUDGET_NANOS, 200);
            } catch (RuntimeException | OutOfMemoryError e) {
                // best effort: the kernels then compile as the work reaches them (SimdWarmUpTest runs this body in CI)
            }
        }, "deepshape-warm-up");
        t.setDaemon(true);
        t.setPriority(Thread.MIN_PRIORITY);
        thread = t;
        t.start();
    }

    /**
     * The reference model's kernels, round after round, until {@code budgetNanos} or {@code rounds} are spent: light
     * rounds for the first half of the budget, then the model's shapes, and one round of those at the end whatever the
     * budget (by then compiled, it is quick), so that the branches only the real sizes take are in C2's profile.
     */
    static void run(long budgetNanos, int rounds) {
        long start = System.nanoTime(), end = start + budgetNanos;
        // NOTE: first, before the convolutions make the micro-kernel hot enough for C2 (a first compilation that saw
        // only their shapes was thrown away at the first partial tile, 0.1-0.3 s of C2 each time)
        gemmEdges();
        float[] tail = values(3 * SimdGemm.VL + 5), tailOut = new float[tail.length];
        SimdElementwise.reluRange(tailOut, tail, 0, tail.length); // a length with a scalar tail
        Round light = new Round(2, 8, 8, 8), full = new Round(2, 32, 64, 32);
        for (int round = 0; round < rounds && (round == 0 || System.nanoTime() < end) && !shouldStop(); round++) {
            (round == 0 || System.nanoTime() < start + budgetNanos / 2 ? light : full).run();
            SimdElementwise.reluRange(tailOut, tail, 0, tail.length);
            gemmEdges();
        }
        if (rounds > 1 && !shouldStop()) full.run();
    }

    /**
     * n samples through the reference model's kernels with c1, c2 and c3 channels out of conv1, conv2 and deconv
     * (32, 64, 32 in the model). Until C2 has compiled them the kernels run as generic code at a cost that grows with
     * the work, while what makes C2 compile them is how often they and their loops run: the first rounds take 8
     * channels each (a 28th of the work of the model's), the later ones the model's own. Two samples, not one: the
     * kernels split a batch over the pool by samples, and the weight gradients sum their chunks' partial sums, paths
     * that one sample never takes (C2 compiled them as traps, and the first real batch threw the kernels away).
     */
    private record Round(int n, int c1, int c2, int c3) {
        void run() {
            Conv2dGeometry conv1 = new Conv2dGeometry(n, 1, 28, 28, c1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 28, 28);
            Conv2dGeometry conv2 = new Conv2dGeometry(n, c1, 14, 14, c2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 14, 14);
            Conv2dGeometry deconv = Conv2dGeometry.transposed(n, c2, 7, 7, c3, 2, 2, new int[] {2, 2}, new int[] {0, 0}, new int[] {0, 0},
                    new int[] {1, 1}, 1);
            Pool2dGeometry pool1 = Pool2dGeometry.of(n, c1, 28, 28, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
            Pool2dGeometry pool2 = Pool2dGeometry.of(n, c2, 14, 14, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
            int a1 = n * c1 * 784, p1n = n * c1 * 196, a2 = n * c2 * 196, p2n = n * c2 * 49, d = n * c3 * 196;
            float[] image = values(n * 784), c1w = values(c1 * 9), c1b = values(c1), c1o = new float[a1], c1d = new float[a1];
            float[] p1 = new float[p1n], p1i = new float[p1n], relu1 = new float[a1], p1d = values(p1n), x2d = new float[p1n];
            float[] c2w = values(c2 * c1 * 9), c2b = values(c2), c2o = new float[a2], c2d = values(a2), dw2 = new float[c2 * c1 * 9];
            float[] p2 = new float[p2n], p2i = new float[p2n], relu2 = new float[a2], dw1 = new float[c1 * 9];
            float[] dcw = values(c2 * c3 * 4), dcb = values(c3), dc = new float[d], dcx = new float[p2n], dcdw = new float[c2 * c3 * 4];
            float[] a = values(64 * 512), b = values(128 * 512), c = new float[64 * 128];
            float[] c2db = new float[c2], c1db = new float[c1], dcdb = new float[c3];
            if (shouldStop()) return;
            SimdConv.conv2dForward(c1o, image, c1w, c1b, conv1);
            SimdPool.reluMaxPool2dForward(relu1, p1, p1i, c1o, pool1);
            SimdPool.maxPool2dForward(p1, null, c1o, pool1); // inference pools first and rectifies after (no indices)
            SimdConv.conv2dReluMaxPool2dForward(p1, image, c1w, c1b, conv1, pool1); // inference's fused conv, ReLU and pool
            SimdConv.conv2dReluMaxPool2dForward(p2, p1, c2w, c2b, conv2, pool2);
            if (shouldStop()) return;
            SimdConv.conv2dForward(c2o, p1, c2w, c2b, conv2);
            SimdPool.reluMaxPool2dForward(relu2, p2, p2i, c2o, pool2);
            SimdConvTranspose.convTranspose2dForward(dc, p2, dcw, dcb, deconv);
            // the bias gradients too, as training asks for them: a branch C2 never saw taken is compiled as a trap,
            // and taking it later throws the compiled kernel away (it is compiled again, 0.1-0.3 s of C2 each)
            if (shouldStop()) return;
            SimdConvTranspose.convTranspose2dBackward(dcx, dcdw, dcdb, dc, p2, dcw, deconv);
            SimdPool.reluMaxPool2dBackward(c2d, dcx, p2, p2i, pool2, true);
            if (shouldStop()) return;
            SimdConv.conv2dBackward(x2d, dw2, c2db, c2d, p1, c2w, conv2, true);
            SimdPool.reluMaxPool2dBackward(c1d, p1d, p1, p1i, pool1, true);
            SimdConv.conv2dBackward(null, dw1, c1db, c1d, image, c1w, conv1, false);
            if (shouldStop()) return;
            // the recurrent cells' gates (hidden sizes of the reference model's RNN, GRU and LSTM)
            float[] gates = values(n * 4 * 128), gateOut = new float[n * 2 * 128];
            SimdRecurrent.rnnGates(gates, false, n, 128);
            SimdRecurrent.gruGates(gateOut, new dev.deepshape.backend.RecurrentKernels.GruSaved(new float[n * 64], new float[n * 64],
                    new float[n * 64], new float[n * 64]), values(n * 192), values(n * 192), values(n * 64), n, 64);
            SimdRecurrent.lstmGates(gateOut, new dev.deepshape.backend.RecurrentKernels.LstmSaved(values(n * 128), new float[n * 32]),
                    values(n * 32), n, 32);
            SimdRecurrent.gruGatesBackward(new float[n * 192], values(n * 192), values(n * 64), values(n * 64),
                    new dev.deepshape.backend.RecurrentKernels.GruSaved(values(n * 64), values(n * 64), values(n * 64), values(n * 64)),
                    values(n * 64), n, 64);
            SimdRecurrent.lstmGatesBackward(new float[n * 128], values(n * 32), values(n * 64),
                    new dev.deepshape.backend.RecurrentKernels.LstmSaved(values(n * 128), values(n * 32)), values(n * 32), n, 32);
            // the products of the recurrent and linear layers: x·Wᵀ, dY·W, dYᵀ·X (small: on this thread)
            SimdGemm.sgemm(false, true, 64, 128, 64, a, 0, 512, b, 0, 512, c, 0, 128, false);
            SimdGemm.sgemm(false, false, 16, 512, 64, c, 0, 128, b, 0, 512, a, 0, 512, false);
            SimdGemm.sgemm(true, false, 64, 128, 16, c, 0, 128, a, 0, 512, b, 0, 128, false);
        }
    }

    /**
     * Every branch of the GEMM micro-kernel: A packed and read in place, an odd K (the loop's single-step tail),
     * partial row and column tiles, overwriting and adding; for each transpose variant. The model's own products
     * take only some of these (in the first steps of an epoch, C2 recompiled the kernel three times without this).
     */
    private static void gemmEdges() {
        int m = 2 * SimdGemm.MR + 1, k = 9, wide = SimdGemm.PACK_A_MIN_PANELS * SimdGemm.NR + 3;
        float[] a = values(m * k), b = values(k * wide), c = new float[m * wide];
        for (int v = 0; v < 8; v++) {
            boolean transA = (v & 1) != 0, transB = (v & 2) != 0, accumulate = (v & 4) != 0;
            for (int n : new int[] {SimdGemm.NR + 5, wide}) { // one panel and a half (A in place), more panels (A packed)
                SimdGemm.sgemm(transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, c, 0, n, accumulate);
            }
        }
    }

    private static float[] values(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = ((i * 37) % 101 - 50) / 97f; // fixed, finite, both signs
        return v;
    }
}
