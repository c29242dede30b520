package dev.deepshape.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The parallel max-pool kernels against the naive loops (bit-exact, indices included), and PyTorch's output-size rule. */
class MaxPool2dKernelsTest {
    private static int savedThreads;

    @BeforeAll
    static void moreThreadsThanCores() {
        savedThreads = Parallel.threads();
        Parallel.setThreads(3);
    }

    @AfterAll
    static void restoreThreads() { Parallel.setThreads(savedThreads); }

    @ParameterizedTest(name = "x=({0},{1},{2},{3}) k=({4},{5}) s=({6},{7}) pad=({8},{9}) dil=({10},{11}) ceil={12}")
    @CsvSource({
            // n, c, h, w, kh, kw, sH, sW, padH, padW, dilH, dilW, ceil_mode
            "1, 1,  4,  4, 2, 2, 2, 2, 0, 0, 1, 1, false",
            "5, 3,  7,  9, 3, 2, 2, 1, 1, 1, 1, 1, true",   // odd sizes, padding, ceil_mode
            "2, 2, 11, 10, 2, 3, 3, 4, 1, 1, 2, 1, true",   // stride > kernel, dilation
            "3, 2,  5,  5, 3, 3, 2, 2, 1, 1, 1, 1, true",   // ceil_mode adds a last, partial window
            "1, 2,  5,  5, 2, 2, 2, 2, 1, 1, 1, 1, true",   // ceil_mode whose extra window would start in the right padding
            "2, 3,  9,  8, 3, 3, 1, 1, 1, 1, 3, 2, false",  // dilation 3
            "4, 32, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, false", // the reference model's pool, smaller batch
    })
    void fastMatchesNaive(int n, int c, int h, int w, int kh, int kw, int sH, int sW, int pH, int pW, int dH, int dW, boolean ceil) {
        Pool2dGeometry g = Pool2dGeometry.of(n, c, h, w, new int[] {kh, kw}, new int[] {sH, sW}, new int[] {pH, pW}, new int[] {dH, dW}, ceil);
        SplittableRandom rnd = new SplittableRandom(g.hashCode());
        for (boolean ties : new boolean[] {false, true}) {
            float[] x = new float[n * c * h * w];
            // with ties (small integers) both must pick the first maximum; a few −∞ and NaN check PyTorch's comparison
            for (int i = 0; i < x.length; i++) x[i] = ties ? rnd.nextInt(3) : (float) rnd.nextDouble(-1, 1);
            if (ties) {
                x[rnd.nextInt(x.length)] = Float.NEGATIVE_INFINITY;
                x[rnd.nextInt(x.length)] = Float.NaN;
            }
            int outLen = n * c * g.oh() * g.ow();
            float[] outN = new float[outLen], outF = new float[outLen];
            int[] idxN = new int[outLen], idxF = new int[outLen];
            MaxPool2dKernels.maxPool2dForwardNaive(outN, idxN, x, g);
            MaxPool2dKernels.maxPool2dForward(outF, idxF, x, g);
            assertArrayEquals(outN, outF, "output (ties " + ties + ")");
            assertArrayEquals(idxN, idxF, "indices (ties " + ties + ")");
            float[] dout = ConvKernelsTest.random(rnd, outLen);
            float[] dxN = ConvKernelsTest.random(rnd, x.length), dxF = dxN.clone();
            MaxPool2dKernels.maxPool2dBackwardNaive(dxN, dout, idxN, g);
            MaxPool2dKernels.maxPool2dBackward(dxF, dout, idxF, g);
            ConvKernelsTest.assertClose(dxN, dxF, "dx (ties " + ties + ")", kh * kw);
        }
    }

    @Test
    void outputSizeFollowsPyTorch() {
        // values from torch.nn.functional.max_pool2d(torch.zeros(1, 1, in, in), k, s, p, d, ceil_mode).shape[-1]
        assertEquals(14, Pool2dGeometry.outSize(28, 2, 2, 0, 1, false));
        assertEquals(3, Pool2dGeometry.outSize(7, 2, 2, 0, 1, false));
        assertEquals(4, Pool2dGeometry.outSize(7, 2, 2, 0, 1, true));
        assertEquals(4, Pool2dGeometry.outSize(6, 2, 2, 1, 1, false));
        assertEquals(4, Pool2dGeometry.outSize(6, 2, 2, 1, 1, true));
        assertEquals(3, Pool2dGeometry.outSize(5, 2, 2, 1, 1, true)); // a 4th window would start in the right padding
        assertEquals(3, Pool2dGeometry.outSize(5, 3, 2, 1, 1, true));
        assertEquals(3, Pool2dGeometry.outSize(10, 3, 4, 1, 2, true));
    }
}
