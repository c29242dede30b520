package dev.deepshape.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The im2col + sgemm convolution kernels against the naive loops, on a table of awkward configurations, and the
 * naive transposed convolution against the naive convolution through the adjoint identity ⟨convT(x), y⟩ = ⟨x, conv(y)⟩,
 * and the naive kernels against numbers from PyTorch.
 */
class ConvKernelsTest {
    private static int savedThreads;

    @BeforeAll
    static void moreThreadsThanCores() {
        // NOTE: 3 threads even on a 2-core machine, so batches split into uneven chunks and partial weight gradients
        // from several chunks are reduced.
        savedThreads = Parallel.threads();
        Parallel.setThreads(3);
    }

    @AfterAll
    static void restoreThreads() { Parallel.setThreads(savedThreads); }

    @ParameterizedTest(name = "x=({0},{1},{2},{3}) oc={4} k=({5},{6}) s=({7},{8}) pad=({9},{10})+({11},{12}) dil=({13},{14}) groups={15}")
    @CsvSource({
            // n, c, h, w, oc, kh, kw, sH, sW, padTop, padLeft, padBottom, padRight, dilH, dilW, groups
            "1, 1,  5,  5, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1",
            "5, 3,  7,  6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",
            "5, 4,  9,  8, 6, 2, 3, 2, 3, 1, 0, 1, 0, 1, 1, 2",  // stride, groups 2, rectangular kernel
            "2, 2, 11, 10, 3, 2, 2, 3, 3, 0, 0, 0, 0, 1, 1, 1",  // stride > kernel
            "3, 2,  9,  9, 2, 3, 3, 1, 2, 2, 1, 2, 1, 2, 2, 1",  // dilation 2
            "1, 6,  7,  7, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 6",  // depthwise
            "5, 3,  6,  7, 4, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1, 1",  // 'same' with an even kernel: extra padding bottom/right
            "5, 3,  6,  7, 4, 4, 3, 1, 1, 1, 1, 2, 1, 1, 2, 1",  // 'same', kernel 4 and dilated 3
            "2, 4,  5,  5, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2",  // pointwise path (col is x itself), grouped
            "3, 3,  8,  8, 2, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1",  // 1×1 strided: not the pointwise path
            "2, 1,  3,  4, 2, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1",  // kernel larger than the input, padding makes it fit
            "4, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1", // the reference model's conv2, smaller batch
    })
    void conv2dFastMatchesNaive(int n, int c, int h, int w, int oc, int kh, int kw, int sH, int sW,
                                int pT, int pL, int pB, int pR, int dH, int dW, int groups) {
        Conv2dGeometry g = Conv2dGeometry.conv(n, c, h, w, oc, kh, kw, new int[] {sH, sW}, new int[] {pT, pL},
                new int[] {pB, pR}, new int[] {dH, dW}, groups);
        SplittableRandom rnd = new SplittableRandom(g.hashCode());
        float[] x = random(rnd, n * c * h * w), wt = random(rnd, oc * (c / groups) * kh * kw), b = random(rnd, oc);
        float[] dout = random(rnd, n * oc * g.oh() * g.ow());
        for (float[] bias : new float[][] {b, null}) {
            float[] naive = new float[dout.length], fast = random(rnd, dout.length); // fast must overwrite its output
            Conv2dKernels.conv2dForwardNaive(naive, x, wt, bias, g);
            Conv2dKernels.conv2dForward(fast, x, wt, bias, g);
            assertClose(naive, fast, "forward (bias " + (bias != null) + ")", c * kh * kw);
        }
        // gradients accumulate onto what is there: start both from the same non-zero values
        float[] dxN = random(rnd, x.length), dwN = random(rnd, wt.length), dbN = random(rnd, oc);
        float[] dxF = dxN.clone(), dwF = dwN.clone(), dbF = dbN.clone();
        Conv2dKernels.conv2dBackwardNaive(dxN, dwN, dbN, dout, x, wt, g);
        Conv2dKernels.conv2dBackward(dxF, dwF, dbF, dout, x, wt, g);
        assertClose(dxN, dxF, "dx", oc * kh * kw);
        assertClose(dwN, dwF, "dweight", n * g.oh() * g.ow());
        assertClose(dbN, dbF, "dbias", n * g.oh() * g.ow());
        // any gradient may be skipped
        float[] dxOnly = new float[x.length], dxNaive = new float[x.length];
        Conv2dKernels.conv2dBackward(dxOnly, null, null, dout, x, wt, g);
        Conv2dKernels.conv2dBackwardNaive(dxNaive, null, null, dout, x, wt, g);
        assertClose(dxNaive, dxOnly, "dx alone", oc * kh * kw);
    }

    @ParameterizedTest(name = "x=({0},{1},{2},{3}) cout={4} k=({5},{6}) s=({7},{8}) pad=({9},{10}) out_pad=({11},{12}) dil=({13},{14}) groups={15}")
    @CsvSource({
            // n, cin, h, w, cout, kh, kw, sH, sW, padH, padW, outPadH, outPadW, dilH, dilW, groups
            "1,  1, 3, 3,  1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1",
            "5,  4, 4, 5,  6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2",  // stride 2, padding, output_padding, groups
            "2,  3, 3, 3,  2, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1",  // the reference model's deconv (doubles H and W)
            "3,  2, 4, 3,  4, 3, 2, 2, 3, 1, 0, 1, 2, 2, 1, 2",  // dilation, rectangular, output_padding < stride
            "2,  2, 3, 3,  2, 3, 3, 1, 1, 0, 0, 1, 1, 2, 2, 1",  // output_padding ≥ stride (allowed as < dilation)
            "5,  3, 2, 3,  2, 2, 2, 3, 3, 0, 0, 2, 1, 1, 1, 1",  // stride > kernel: gaps that get only the bias
            "2,  4, 5, 5,  4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 4",  // pointwise path
            "4, 64, 7, 7, 32, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1",  // the reference model's deconv, smaller batch
    })
    void convTranspose2dFastMatchesNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int sH, int sW,
                                         int pH, int pW, int opH, int opW, int dH, int dW, int groups) {
        Conv2dGeometry g = Conv2dGeometry.transposed(n, cin, h, w, cout, kh, kw, new int[] {sH, sW}, new int[] {pH, pW},
                new int[] {opH, opW}, new int[] {dH, dW}, groups);
        SplittableRandom rnd = new SplittableRandom(g.hashCode());
        float[] x = random(rnd, n * cin * h * w), wt = random(rnd, cin * (cout / groups) * kh * kw), b = random(rnd, cout);
        int outLen = n * cout * g.h() * g.w();
        float[] dout = random(rnd, outLen);
        for (float[] bias : new float[][] {b, null}) {
            float[] naive = new float[outLen], fast = random(rnd, outLen);
            ConvTranspose2dKernels.convTranspose2dForwardNaive(naive, x, wt, bias, g);
            ConvTranspose2dKernels.convTranspose2dForward(fast, x, wt, bias, g);
            assertClose(naive, fast, "forward (bias " + (bias != null) + ")", cin * kh * kw);
        }
        float[] dxN = random(rnd, x.length), dwN = random(rnd, wt.length), dbN = random(rnd, cout);
        float[] dxF = dxN.clone(), dwF = dwN.clone(), dbF = dbN.clone();
        ConvTranspose2dKernels.convTranspose2dBackwardNaive(dxN, dwN, dbN, dout, x, wt, g);
        ConvTranspose2dKernels.convTranspose2dBackward(dxF, dwF, dbF, dout, x, wt, g);
        assertClose(dxN, dxF, "dx", cout * kh * kw);
        assertClose(dwN, dwF, "dweight", n * h * w);
        assertClose(dbN, dbF, "dbias", n * g.h() * g.w());

        // The naive transposed convolution is the adjoint of the naive convolution: <convT(x), y> = <x, conv(y)>.
        float[] ty = new float[outLen], cy = new float[x.length];
        ConvTranspose2dKernels.convTranspose2dForwardNaive(ty, x, wt, null, g);
        Conv2dKernels.conv2dForwardNaive(cy, dout, wt, null, g);
        assertEquals(dot(ty, dout), dot(x, cy), 1e-4 * Math.sqrt(outLen * (double) kh * kw), "adjoint identity");
    }

    /**
     * Anchors the naive oracles to PyTorch. Inputs are {@code sin(0.37·i + 0.1)} in row-major order; the expected
     * numbers are {@code (y * t(y.shape)).sum()} from PyTorch 1.13 (float64) for:
     * <pre>
     * F.conv2d(t(2,4,7,6), t(6,2,3,2), t(6), stride=(2,1), padding=(1,2), dilation=(1,2), groups=2)            # (2, 6, 4, 8)
     * F.conv_transpose2d(t(2,4,4,5), t(4,3,3,2), t(6), stride=(2,3), padding=(1,0), output_padding=(1,2),
     *                    groups=2, dilation=(1,2))                                                             # (2, 6, 8, 17)
     * F.max_pool2d(t(2,3,7,9), (3,2), (2,1), (1,1), (1,2), ceil_mode=True, return_indices=True)               # (2, 3, 4, 9)
     * </pre>
     */
    @org.junit.jupiter.api.Test
    void naiveKernelsMatchPyTorch() {
        Conv2dGeometry g = Conv2dGeometry.conv(2, 4, 7, 6, 6, 3, 2, new int[] {2, 1}, new int[] {1, 2}, new int[] {1, 2}, new int[] {1, 2}, 2);
        assertEquals(4, g.oh());
        assertEquals(8, g.ow());
        float[] out = new float[2 * 6 * 4 * 8];
        Conv2dKernels.conv2dForwardNaive(out, sines(2 * 4 * 7 * 6), sines(6 * 2 * 3 * 2), sines(6), g);
        assertEquals(1.044406795223654, dot(out, sines(out.length)), 1e-5);

        Conv2dGeometry t = Conv2dGeometry.transposed(2, 4, 4, 5, 6, 3, 2, new int[] {2, 3}, new int[] {1, 0}, new int[] {1, 2}, new int[] {1, 2}, 2);
        assertEquals(8, t.h());
        assertEquals(17, t.w());
        float[] y = new float[2 * 6 * 8 * 17];
        ConvTranspose2dKernels.convTranspose2dForwardNaive(y, sines(2 * 4 * 4 * 5), sines(4 * 3 * 3 * 2), sines(6), t);
        assertEquals(0.3115994891515528, dot(y, sines(y.length)), 1e-5);

        Pool2dGeometry p = Pool2dGeometry.of(2, 3, 7, 9, new int[] {3, 2}, new int[] {2, 1}, new int[] {1, 1}, new int[] {1, 2}, true);
        assertEquals(4, p.oh());
        assertEquals(9, p.ow());
        float[] pooled = new float[2 * 3 * 4 * 9];
        int[] idx = new int[pooled.length];
        MaxPool2dKernels.maxPool2dForwardNaive(pooled, idx, sines(2 * 3 * 7 * 9), p);
        assertEquals(2.615355968090405, dot(pooled, sines(pooled.length)), 1e-5);
        assertEquals(6769, java.util.Arrays.stream(idx).sum());
    }

    private static float[] sines(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) Math.sin(0.37 * i + 0.1);
        return v;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    static void assertClose(float[] expected, float[] actual, String what, int terms) {
        assertEquals(expected.length, actual.length, what + " length");
        double tol = 1e-5 * Math.sqrt(Math.max(1, terms)) + 1e-5, max = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            if (d > max) {
                max = d;
                at = i;
            }
        }
        double worst = max;
        int where = at;
        assertTrue(worst <= tol, () -> what + ": max difference " + worst + " at " + where + " (tolerance " + tol + ")");
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }
}
