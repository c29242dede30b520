package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Conv2dKernels;
import dev.deepshape.backend.Parallel;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Both Winograd tile sizes against the naive loop, called directly: {@link SimdWinograd#convolve} picks one per shape
 * (F(4×4) for conv2 on 16 lanes), so the backend-level tests reach the other only on the shapes it keeps. F(4×4)
 * needs 16 lanes and is skipped elsewhere.
 */
class SimdWinogradTest {

    @ParameterizedTest(name = "x=({0},{1},{2},{3}) oc={4}")
    @CsvSource({
            "3, 32, 14, 14, 64",  // the reference model's conv2: F(4×4) pairs samples in one panel, n odd leaves one alone
            "4, 64, 14, 14, 32",  // its data gradient's shape
            "2, 8, 2, 6, 8",      // fewer rows than a tile: rows past the image not stored
            "2, 9, 13, 11, 10",   // odd sizes, channels not a multiple of the row tile
            "2, 8, 28, 28, 16",   // 2 × 2 blocks a sample: two panels of two blocks
            "1, 8, 17, 33, 9",    // 2 × 3 blocks: the last panel one block, blocks cut right and below
            "3, 16, 5, 15, 8",    // one block, a row of tiles cut in the middle
    })
    void bothTileSizesMatchNaive(int n, int c, int h, int w, int m) {
        Conv2dGeometry g = Conv2dGeometry.conv(n, c, h, w, m, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1},
                new int[] {1, 1}, 1);
        SplittableRandom rnd = new SplittableRandom(g.hashCode());
        float[] x = SimdKernelsTest.random(rnd, n * c * h * w), weight = SimdKernelsTest.random(rnd, m * c * 9);
        float[] bias = SimdKernelsTest.random(rnd, m), before = SimdKernelsTest.random(rnd, n * m * h * w);
        SimdWinograd.Kernel3 k = new SimdWinograd.Strided(weight, c * 9, 9, false); // as SimdConv passes it
        double tol = 2e-5 * Math.sqrt(c * 9) + 1e-6;
        for (int threads : new int[] {1, 3}) {
            int before0 = Parallel.threads();
            Parallel.setThreads(threads);
            try {
                for (float[] b : new float[][] {bias, null}) {
                    float[] expected = new float[n * m * h * w];
                    Conv2dKernels.conv2dForwardNaive(expected, x, weight, b, g);
                    float[] accumulated = before.clone();
                    for (int i = 0; i < accumulated.length; i++) accumulated[i] += expected[i];
                    String what = (b == null ? "no bias" : "bias") + ", " + threads + " threads";

                    float[] two = new float[expected.length], twoAcc = before.clone();
                    assertTrue(SimdWinograd.convolve2(two, x, k, b, n, c, m, h, w, false, s -> {}, null));
                    SimdWinograd.convolve2(twoAcc, x, k, b, n, c, m, h, w, true, s -> {}, null);
                    SimdKernelsTest.assertClose(expected, two, tol, "F(2×2), " + what);
                    SimdKernelsTest.assertClose(accumulated, twoAcc, tol, "F(2×2) accumulating, " + what);

                    if (SimdWinograd4.VL != 16) continue;
                    float[] four = new float[expected.length], fourAcc = before.clone(), sunk = new float[expected.length];
                    assertTrue(SimdWinograd4.convolve(four, x, k, b, n, c, m, h, w, false, s -> {}, null));
                    SimdWinograd4.convolve(fourAcc, x, k, b, n, c, m, h, w, true, s -> {}, null);
                    int stride = m * h * w;
                    SimdWinograd4.convolve(null, x, k, b, n, c, m, h, w, false, s -> {},
                            (sample, y) -> System.arraycopy(y, 0, sunk, sample * stride, stride));
                    SimdKernelsTest.assertClose(expected, four, tol, "F(4×4), " + what);
                    SimdKernelsTest.assertClose(accumulated, fourAcc, tol, "F(4×4) accumulating, " + what);
                    assertArrayEquals(four, sunk, "F(4×4) through a sink, " + what);
                }
            } finally {
                Parallel.setThreads(before0);
            }
        }
    }

    /** The weight gradient by both tile sizes against the naive loop's, accumulating onto what is there. */
    @ParameterizedTest(name = "x=({0},{1},{2},{3}) oc={4}")
    @CsvSource({
            "3, 32, 14, 14, 64",  // conv2 (F(4×4): samples grouped four to a product, the last group short)
            "9, 32, 14, 14, 64",  // more samples than a group in a chunk
            "2, 8, 2, 6, 8",
            "2, 9, 13, 11, 10",
            "2, 8, 28, 28, 16",
            "1, 8, 17, 33, 9",
            "3, 16, 5, 15, 8",
    })
    void weightGradientsMatchNaive(int n, int c, int h, int w, int m) {
        Conv2dGeometry g = Conv2dGeometry.conv(n, c, h, w, m, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1},
                new int[] {1, 1}, 1);
        SplittableRandom rnd = new SplittableRandom(g.hashCode() + 1);
        float[] x = SimdKernelsTest.random(rnd, n * c * h * w), weight = SimdKernelsTest.random(rnd, m * c * 9);
        float[] dout = SimdKernelsTest.random(rnd, n * m * h * w), before = SimdKernelsTest.random(rnd, m * c * 9);
        float[] expected = before.clone();
        Conv2dKernels.conv2dBackwardNaive(null, expected, null, dout, x, weight, g);
        double tol = 2e-5 * Math.sqrt(n * h * w) + 1e-6;
        for (int threads : new int[] {1, 3}) {
            int before0 = Parallel.threads();
            Parallel.setThreads(threads);
            try {
                float[] two = before.clone();
                SimdWinograd.backwardWeight2(two, dout, x, n, c, m, h, w);
                SimdKernelsTest.assertClose(expected, two, tol, "F(2×2) on " + threads + " threads");
                if (SimdWinograd4.VL != 16) continue;
                float[] four = before.clone();
                SimdWinograd4.backwardWeight(four, dout, x, n, c, m, h, w);
                SimdKernelsTest.assertClose(expected, four, tol, "F(4×4) on " + threads + " threads");
            } finally {
                Parallel.setThreads(before0);
            }
        }
    }

    /**
     * F(4×4)'s weight transform a tile of output channels at a time, from the array, gives the reference's bits, for
     * the forward kernel and the data gradient's (flipped, channels swapped), with a last tile past m.
     */
    @ParameterizedTest(name = "c={0} m={1}")
    @CsvSource({"5, 13", "32, 64", "64, 32", "1, 1"})
    void weightTransformByTilesIsTheReference(int c, int m) {
        float[] w = SimdKernelsTest.random(new SplittableRandom(c * 31 + m), m * c * 9);
        w[4] = Float.NaN;
        w[w.length - 1] = Float.NEGATIVE_INFINITY;
        SimdWinograd4.Layout l = SimdWinograd4.Layout.of(c, m, 14, 14);
        assertArrayEquals(SimdWinograd4.transformWeightsReference((o, ci, tap) -> w[(o * c + ci) * 9 + tap], c, m, l),
                SimdWinograd4.transformWeights(new SimdWinograd.Strided(w, c * 9, 9, false), c, m, l), "forward");
        // the data gradient's kernel: (ci, o) of W flipped, so c and m swap roles
        SimdWinograd4.Layout ld = SimdWinograd4.Layout.of(m, c, 14, 14);
        assertArrayEquals(SimdWinograd4.transformWeightsReference((ci, o, tap) -> w[(o * c + ci) * 9 + 8 - tap], m, c, ld),
                SimdWinograd4.transformWeights(new SimdWinograd.Strided(w, 9, c * 9, true), m, c, ld), "flipped");
    }

    @Test
    void transpose16IsATranspose() {
        Assumptions.assumeTrue(SimdWinograd4.VL == 16, "16 lanes");
        float[] buf = new float[512];
        for (int i = 0; i < 256; i++) buf[i] = i;
        SimdWinograd4.transpose16(buf);
        for (int r = 0; r < 16; r++) {
            for (int c = 0; c < 16; c++) assertEquals(c * 16 + r, buf[r * 16 + c], "element (" + r + ", " + c + ")");
        }
    }

    /** A sample holding NaN goes to the direct path, and the one it would have shared a panel with is still convolved. */
    @Test
    void nonFiniteSampleLeavesItsPartnerAlone() {
        Assumptions.assumeTrue(SimdWinograd4.VL == 16, "F(4×4) needs 16 lanes");
        int n = 4, c = 16, m = 8, h = 14, w = 14;
        Conv2dGeometry g = Conv2dGeometry.conv(n, c, h, w, m, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1},
                new int[] {1, 1}, 1);
        SplittableRandom rnd = new SplittableRandom(7);
        float[] x = SimdKernelsTest.random(rnd, n * c * h * w), weight = SimdKernelsTest.random(rnd, m * c * 9);
        x[2 * c * h * w + 5] = Float.NaN; // sample 2: sample 3 then takes a panel's first columns
        float[] expected = new float[n * m * h * w], actual = new float[n * m * h * w];
        Conv2dKernels.conv2dForwardNaive(expected, x, weight, null, g);
        java.util.List<Integer> direct = new java.util.ArrayList<>();
        boolean finite = SimdWinograd4.convolve(actual, x, (o, ci, tap) -> weight[(o * c + ci) * 9 + tap], null, n, c, m, h, w, false,
                s -> {
                    synchronized (direct) {
                        direct.add(s);
                    }
                }, null);
        assertEquals(java.util.List.of(2), direct);
        assertTrue(!finite);
        int stride = m * h * w;
        for (int s : new int[] {0, 1, 3}) {
            SimdKernelsTest.assertClose(java.util.Arrays.copyOfRange(expected, s * stride, (s + 1) * stride),
                    java.util.Arrays.copyOfRange(actual, s * stride, (s + 1) * stride), 2e-5 * Math.sqrt(c * 9) + 1e-6, "sample " + s);
        }
    }
}
