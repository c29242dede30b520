package dev.deepshape.simd;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Gets the Vector API kernels compiled by C2 while the caller does something else (loading MNIST), on one thread
 * that runs them on one sample of the reference model's shapes for a bounded time.
 *
 * <p>Why: until C2 has compiled a kernel, the Vector API runs its generic Java code (an object per vector operation),
 * 50-100 times slower. Measured on 2 cores (AVX2): the first training steps of an epoch took 3.5, 0.8, 0.5, 0.2,
 * 0.2 s before settling at 0.03-0.04 s, about 5 s per run spent warming up while the second core sat idle during the
 * data loading before them. Nothing here changes a result: its own arrays, no random numbers drawn, and the kernels
 * only take the thread pool for work split over more than one chunk (the pooling kernels), which waits its turn.
 */
final class SimdWarmUp {
    private SimdWarmUp() {}

    private static final AtomicBoolean STARTED = new AtomicBoolean();
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
        t.start();
    }

    /** The reference model's kernels on one sample, round after round, until {@code budgetNanos} or {@code rounds} are spent. */
    static void run(long budgetNanos, int rounds) {
        long end = System.nanoTime() + budgetNanos;
        Conv2dGeometry conv1 = new Conv2dGeometry(1, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 28, 28);
        Conv2dGeometry conv2 = new Conv2dGeometry(1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 14, 14);
        Conv2dGeometry deconv = Conv2dGeometry.transposed(1, 64, 7, 7, 32, 2, 2, new int[] {2, 2}, new int[] {0, 0}, new int[] {0, 0},
                new int[] {1, 1}, 1);
        Pool2dGeometry pool1 = Pool2dGeometry.of(1, 32, 28, 28, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
        Pool2dGeometry pool2 = Pool2dGeometry.of(1, 64, 14, 14, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
        float[] image = values(784), c1w = values(288), c1b = values(32), c1 = new float[25088], c1d = new float[25088];
        float[] p1 = new float[6272], p1i = new float[6272], relu1 = new float[25088], p1d = values(6272), x2d = new float[6272];
        float[] c2w = values(18432), c2b = values(64), c2 = new float[12544], c2d = values(12544), dw2 = new float[18432];
        float[] p2 = new float[3136], p2i = new float[3136], relu2 = new float[12544], dw1 = new float[288];
        float[] dcw = values(8192), dcb = values(32), dc = new float[6272], dcx = new float[3136], dcdw = new float[8192];
        float[] a = values(64 * 512), b = values(128 * 512), c = new float[64 * 128];
        float[] c2db = new float[64], c1db = new float[32], dcdb = new float[32], tail = values(3 * SimdGemm.VL + 5), tailOut = new float[tail.length];
        // NOTE: first, before the convolutions make the micro-kernel hot enough for C2 (a first compilation that saw
        // only their shapes was thrown away at the first partial tile, 0.1-0.3 s of C2 each time)
        gemmEdges();
        SimdElementwise.reluRange(tailOut, tail, 0, tail.length); // a length with a scalar tail
        for (int round = 0; round < rounds && (round == 0 || System.nanoTime() < end); round++) {
            SimdConv.conv2dForward(c1, image, c1w, c1b, conv1);
            SimdPool.reluMaxPool2dForward(relu1, p1, p1i, c1, pool1);
            SimdPool.maxPool2dForward(p1, null, c1, pool1); // inference pools first and rectifies after (no indices)
            SimdConv.conv2dForward(c2, p1, c2w, c2b, conv2);
            SimdPool.reluMaxPool2dForward(relu2, p2, p2i, c2, pool2);
            SimdConvTranspose.convTranspose2dForward(dc, p2, dcw, dcb, deconv);
            // the bias gradients too, as training asks for them: a branch C2 never saw taken is compiled as a trap,
            // and taking it later throws the compiled kernel away (it is compiled again, 0.1-0.3 s of C2 each)
            SimdConvTranspose.convTranspose2dBackward(dcx, dcdw, dcdb, dc, p2, dcw, deconv);
            SimdPool.reluMaxPool2dBackward(c2d, dcx, p2, p2i, pool2, true);
            SimdConv.conv2dBackward(x2d, dw2, c2db, c2d, p1, c2w, conv2, true);
            SimdPool.reluMaxPool2dBackward(c1d, p1d, p1, p1i, pool1, true);
            SimdConv.conv2dBackward(null, dw1, c1db, c1d, image, c1w, conv1, false);
            SimdElementwise.reluRange(tailOut, tail, 0, tail.length);
            gemmEdges();
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
