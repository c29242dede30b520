package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Conv2dKernels;
import dev.deepshape.backend.ElementwiseKernels;
import dev.deepshape.backend.MaxPool2dKernels;
import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.Pool2dGeometry;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Inference's fused {@code max_pool2d(relu(conv2d(x)))} (SimdConv.conv2dReluMaxPool2dForward, sample by sample)
 * against the reference kernels one after the other, and bit for bit against the simd kernels one after the other
 * (the same convolution per sample, the same pooling): on the per-sample convolutions it covers (SimdSmallConv's few
 * input channels, Winograd's 3×3 'same') with odd and even sizes, on 1 and 2 threads.
 */
class SimdConvReluPoolTest {
    @ParameterizedTest(name = "x=({0},{1},{2},{3}) oc={4} threads={5}")
    @CsvSource({
            "5, 1, 28, 28, 32, 2",   // the reference model's conv1 (SimdSmallConv)
            "3, 32, 14, 14, 64, 2",  // the reference model's conv2 (Winograd, two halves a vector on AVX-512)
            "2, 2, 9, 11, 5, 1",     // SimdSmallConv, odd sizes (the last row and column of windows dropped)
            "3, 8, 13, 14, 9, 2",    // Winograd, odd height (the last row of windows dropped), channels not a multiple of the tile
            "1, 16, 28, 28, 8, 1",   // Winograd, a tile row over more than one vector
    })
    void fusedEqualsTheThreeKernels(int n, int c, int h, int w, int oc, int threads) {
        int before = Parallel.threads();
        Parallel.setThreads(threads);
        try {
            SplittableRandom rnd = new SplittableRandom(n * 1000L + c * 31 + h);
            Conv2dGeometry cg = new Conv2dGeometry(n, c, h, w, oc, 3, 3, 1, 1, 1, 1, 1, 1, 1, h, w);
            Pool2dGeometry pg = Pool2dGeometry.of(n, oc, h, w, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
            float[] x = random(rnd, n * c * h * w), weight = random(rnd, oc * c * 9), bias = random(rnd, oc);
            int outLen = n * oc * pg.oh() * pg.ow();

            float[] fused = new float[outLen];
            Arrays.fill(fused, Float.NaN);
            assertTrue(SimdConv.conv2dReluMaxPool2dForward(fused, x, weight, bias, cg, pg), "the fused path applies");

            float[] y = new float[n * oc * h * w], simd = new float[outLen];
            SimdConv.conv2dForward(y, x, weight, bias, cg);
            SimdPool.maxPool2dForward(simd, null, y, pg);
            SimdElementwise.relu(simd, simd, outLen);
            assertEquals(0, Arrays.compare(simd, fused), "bit for bit the simd kernels one after the other");

            float[] yRef = new float[y.length], ref = new float[outLen];
            Conv2dKernels.conv2dForward(yRef, x, weight, bias, cg);
            MaxPool2dKernels.maxPool2dForward(ref, null, yRef, pg);
            ElementwiseKernels.relu(ref, ref, outLen);
            SimdKernelsTest.assertClose(ref, fused, 2e-5 * Math.sqrt(c * 9) + 1e-6, "against the reference kernels");
        } finally {
            Parallel.setThreads(before);
        }
    }

    @ParameterizedTest(name = "{0} at {1}")
    @CsvSource({"NaN, 0", "Infinity, 700", "-Infinity, 1500"})
    void aNonFiniteSampleLeavesItToTheThreeKernels(float bad, int at) {
        // Winograd convolves a sample holding NaN or ±∞ directly; the fused path then says it did not apply
        SplittableRandom rnd = new SplittableRandom(7);
        int n = 2, c = 8, h = 14, w = 14, oc = 8;
        Conv2dGeometry cg = new Conv2dGeometry(n, c, h, w, oc, 3, 3, 1, 1, 1, 1, 1, 1, 1, h, w);
        Pool2dGeometry pg = Pool2dGeometry.of(n, oc, h, w, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false);
        float[] x = random(rnd, n * c * h * w), weight = random(rnd, oc * c * 9);
        x[at] = bad;
        assertFalse(SimdConv.conv2dReluMaxPool2dForward(new float[n * oc * 49], x, weight, null, cg, pg));
        float[] viaBackend = new float[n * oc * 49], y = new float[n * oc * h * w], expected = new float[viaBackend.length];
        new SimdBackend().conv2dReluMaxPool2dForward(viaBackend, x, weight, null, cg, pg);
        SimdConv.conv2dForward(y, x, weight, null, cg);
        SimdPool.maxPool2dForward(expected, null, y, pg);
        SimdElementwise.relu(expected, expected, expected.length);
        assertEquals(0, Arrays.compare(expected, viaBackend), "the backend falls back to the three kernels");
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }
}
