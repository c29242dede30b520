package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.AdamKernels;
import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Conv2dKernels;
import dev.deepshape.backend.ConvTranspose2dKernels;
import dev.deepshape.backend.ElementwiseKernels;
import dev.deepshape.backend.MaxPool2dKernels;
import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.Pool2dGeometry;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The simd backend's kernels other than sgemm against the reference kernels, on awkward shapes and on 1 and 3
 * threads: ReLU and max pooling bit-exact (indices included, with ties, −∞ and NaN), convolutions within float
 * rounding of the naive loops.
 */
class SimdKernelsTest {
    private final SimdBackend simd = new SimdBackend();

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {0, 1, 15, 16, 17, 100, 70_001, 200_003})
    void reluMatchesReference(int n) {
        SplittableRandom rnd = new SplittableRandom(n);
        float[] x = special(rnd, n);
        for (int threads : new int[] {1, 3}) {
            withThreads(threads, () -> {
                float[] expected = new float[n], actual = new float[n];
                ElementwiseKernels.relu(expected, x, n);
                simd.relu(actual, x, n);
                assertArrayEquals(expected, actual, "relu");
                float[] dout = random(rnd, n);
                float[] dxRef = random(rnd, n), dx = dxRef.clone();
                ElementwiseKernels.reluBackward(dxRef, dout, expected, n);
                simd.reluBackward(dx, dout, expected, n);
                assertArrayEquals(dxRef, dx, "relu backward");
            });
        }
        if (n >= 3) { // PyTorch's semantics: relu(NaN) = NaN, and the gradient passes through a NaN result
            float[] out = new float[3];
            simd.relu(out, new float[] {Float.NaN, -0f, 2f}, 3);
            assertTrue(Float.isNaN(out[0]));
            assertEquals(0f, out[1]);
            float[] dx = new float[3];
            simd.reluBackward(dx, new float[] {1f, 1f, 1f}, out, 3);
            assertArrayEquals(new float[] {1f, 0f, 1f}, dx);
        }
    }

    @ParameterizedTest(name = "x=({0},{1},{2},{3}) k=({4},{5}) s=({6},{7}) pad=({8},{9}) dil=({10},{11}) ceil={12}")
    @CsvSource({
            // n, c, h, w, kh, kw, sH, sW, padH, padW, dilH, dilW, ceil_mode
            "1, 1,  4,  4, 2, 2, 2, 2, 0, 0, 1, 1, false",
            "64, 32, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, false", // the reference model's pools
            "64, 64, 14, 14, 2, 2, 2, 2, 0, 0, 1, 1, false",
            "3, 5,  7,  7, 2, 2, 2, 2, 0, 0, 1, 1, false",   // odd size: the last row and column are dropped
            "2, 3,  9, 11, 3, 2, 1, 2, 0, 0, 1, 1, false",   // overlapping windows (stride < kernel)
            "2, 2, 11, 10, 2, 3, 3, 4, 0, 0, 2, 1, false",   // stride > kernel, dilation
            "5, 3,  7,  9, 3, 2, 2, 1, 1, 1, 1, 1, true",    // padding and ceil_mode: the reference kernel
            "2, 2,  7,  7, 2, 2, 2, 2, 0, 0, 1, 1, true",    // ceil_mode's last window hangs over the edge
            "1, 1, 40, 45, 1, 1, 1, 1, 0, 0, 1, 1, false",   // 1×1 windows
            // the 2×2 stride-2 path: rows of windows shorter than a vector, not a multiple of it, odd sizes, tiny planes
            "2, 3,  6, 14, 2, 2, 2, 2, 0, 0, 1, 1, false",   // OW = 7 < 8 lanes
            "3, 2,  9, 35, 2, 2, 2, 2, 0, 0, 1, 1, false",   // OW = 17, odd H and W: a row and a column left out
            "2, 5, 10, 32, 2, 2, 2, 2, 0, 0, 1, 1, false",   // OW = 16: whole vectors only
            "4, 3,  2,  2, 2, 2, 2, 2, 0, 0, 1, 1, false",   // one window per plane
            "2, 3, 10,  3, 2, 2, 2, 2, 0, 0, 1, 1, false",   // one window per row
            "5, 7,  8, 46, 2, 2, 2, 2, 0, 0, 1, 1, true",    // ceil_mode that adds no window
            "1, 1, 58, 58, 2, 2, 2, 2, 0, 0, 1, 1, false",   // one big plane: no thread gets a second
    })
    void poolingMatchesReference(int n, int c, int h, int w, int kh, int kw, int sH, int sW, int pH, int pW, int dH, int dW, boolean ceil) {
        Pool2dGeometry g = Pool2dGeometry.of(n, c, h, w, new int[] {kh, kw}, new int[] {sH, sW}, new int[] {pH, pW}, new int[] {dH, dW}, ceil);
        SplittableRandom rnd = new SplittableRandom(g.hashCode());
        int inLen = n * c * h * w, outLen = n * c * g.oh() * g.ow();
        for (boolean ties : new boolean[] {false, true}) {
            float[] x = new float[inLen];
            // small integers make ties (the first maximum must win); −∞ and NaN check PyTorch's comparison
            for (int i = 0; i < inLen; i++) x[i] = ties ? rnd.nextInt(-2, 3) : (float) rnd.nextDouble(-1, 1);
            if (ties) {
                for (int i = 0; i < 1 + inLen / 50; i++) x[rnd.nextInt(inLen)] = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < 1 + inLen / 50; i++) x[rnd.nextInt(inLen)] = Float.NaN;
                for (int i = 0; i < 1 + inLen / 20; i++) x[rnd.nextInt(inLen)] = -0f; // ties with 0 that differ in bits
            }
            for (int threads : new int[] {1, 3}) {
                String what = "ties " + ties + ", threads " + threads;
                withThreads(threads, () -> {
                    float[] outRef = new float[outLen], out = new float[outLen];
                    int[] idxRef = new int[outLen], idx = new int[outLen];
                    MaxPool2dKernels.maxPool2dForwardNaive(outRef, idxRef, x, g);
                    simd.maxPool2dForward(out, idx, x, g);
                    assertArrayEquals(outRef, out, "max pool output, " + what);
                    assertArrayEquals(idxRef, idx, "max pool indices, " + what);

                    float[] reluRef = new float[inLen], relu = new float[inLen];
                    ElementwiseKernels.relu(reluRef, x, inLen);
                    MaxPool2dKernels.maxPool2dForwardNaive(outRef, idxRef, reluRef, g);
                    float[] idxF = new float[outLen], expectedF = new float[outLen];
                    for (int i = 0; i < outLen; i++) expectedF[i] = idxRef[i];
                    simd.reluMaxPool2dForward(relu, out, idxF, x, g);
                    assertArrayEquals(reluRef, relu, "relu of relu+pool, " + what);
                    assertArrayEquals(outRef, out, "relu+pool output, " + what);
                    assertArrayEquals(expectedF, idxF, "relu+pool indices, " + what);
                    float[] inPlace = x.clone(), outIn = new float[outLen], idxIn = new float[outLen];
                    simd.reluMaxPool2dForward(inPlace, outIn, idxIn, inPlace, g); // relu written over x
                    assertArrayEquals(reluRef, inPlace, "in-place relu of relu+pool, " + what);
                    assertArrayEquals(outRef, outIn, "in-place relu+pool output, " + what);
                    assertArrayEquals(expectedF, idxIn, "in-place relu+pool indices, " + what);
                    float[] outCore = new float[outLen], idxCore = new float[outLen], reluCore = new float[inLen];
                    MaxPool2dKernels.reluMaxPool2dForward(reluCore, outCore, idxCore, x, g);
                    assertArrayEquals(outRef, outCore, "reference relu+pool output, " + what);
                    assertArrayEquals(expectedF, idxCore, "reference relu+pool indices, " + what);

                    // backward: max pooling's then ReLU's, against the fused kernel
                    float[] dout = random(rnd, outLen);
                    float[] dPool = new float[inLen];
                    MaxPool2dKernels.maxPool2dBackwardNaive(dPool, dout, idxRef, g);
                    float[] dxRef = random(rnd, inLen);
                    for (int i = 0; i < inLen; i += 13) dxRef[i] = -0f; // a gradient that is not added must stay −0
                    float[] dx = dxRef.clone(), dxCore = dxRef.clone(), dx0 = dxRef.clone();
                    ElementwiseKernels.reluBackward(dxRef, dPool, reluRef, inLen);
                    simd.reluMaxPool2dBackward(dx, dout, out, idxF, g);
                    MaxPool2dKernels.reluMaxPool2dBackward(dxCore, dout, outRef, expectedF, g);
                    assertClose(dxRef, dx, 1e-6, "relu+pool dx, " + what);
                    assertClose(dxRef, dxCore, 1e-6, "reference relu+pool dx, " + what);
                    // the same additions in the same order as the fused reference: bit for bit, −0 left alone included
                    assertArrayEquals(dxCore, dx, "relu+pool dx against the fused reference, " + what);
                    // into a fresh gradient (what autograd calls): every element written, whatever the array held
                    float[] dxInto = new float[inLen], dxFresh = new float[inLen];
                    java.util.Arrays.fill(dxInto, Float.NaN);
                    simd.reluMaxPool2dBackwardInto(dxInto, dout, out, idxF, g);
                    MaxPool2dKernels.reluMaxPool2dBackward(dxFresh, dout, outRef, expectedF, g);
                    assertArrayEquals(dxFresh, dxInto, "relu+pool dx into a fresh gradient, " + what);

                    float[] dxPool = dx0.clone(), dxPoolRef = dx0.clone();
                    MaxPool2dKernels.maxPool2dBackwardNaive(dxPoolRef, dout, idxRef, g);
                    simd.maxPool2dBackward(dxPool, dout, idxRef, g);
                    assertArrayEquals(dxPoolRef, dxPool, "max pool dx, " + what);
                });
            }
        }
    }

    @ParameterizedTest(name = "x=({0},{1},{2},{3}) oc={4} k=({5},{6}) s=({7},{8}) pad=({9},{10})+({11},{12}) dil=({13},{14}) groups={15}")
    @CsvSource({
            // n, c, h, w, oc, kh, kw, sH, sW, padTop, padLeft, padBottom, padRight, dilH, dilW, groups
            "4, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",    // conv1 of the reference model, fewer samples
            "3, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",   // conv2
            "2, 5, 7, 9, 7, 3, 5, 1, 1, 1, 2, 1, 2, 1, 1, 1",       // odd sizes, 3×5 kernel, more than one tile
            "3, 3, 6, 11, 4, 5, 3, 1, 1, 2, 1, 4, 1, 2, 1, 1",      // dilation 2 in H: OH < H
            "2, 2, 5, 5, 3, 2, 2, 1, 1, 0, 1, 1, 0, 1, 1, 1",       // even kernel, padding 'same' (one more at the end)
            "2, 40, 9, 13, 13, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",    // K = 360 > one K block
            "1, 2, 3, 40, 3, 1, 7, 1, 1, 0, 3, 0, 3, 1, 1, 1",      // 1×7 kernel, P = 120 over several panels
            "2, 3, 8, 8, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1",       // stride 2: the reference path
            "2, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2",       // groups: the reference path
            "2, 3, 6, 7, 5, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1",       // no padding, OW < W: the reference path
            "2, 9, 13, 11, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",    // Winograd: odd H and W, channels not a multiple of the tile
            "2, 8, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",    // Winograd: a tile row over two vectors
            "3, 16, 5, 15, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",     // Winograd: 3 tile rows, the last one half outside
            "2, 8, 5, 13, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",      // Winograd, AVX-512's two halves: odd w = 2·7 − 1, a short right half
            "2, 8, 2, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",       // Winograd, AVX-512's two halves: one tile row, the right half empty
            "2, 8, 15, 12, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",     // Winograd, AVX-512's two halves: rows 0-7 left, 8-14 right
            "3, 2, 5, 9, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",       // direct small-C: w = 8 + 1, the last vector overlaps 7
            "2, 3, 1, 15, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",      // direct small-C: one row
            "2, 4, 4, 16, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",      // direct small-C: C = 4, w a multiple of 8 and of 16
            "2, 1, 3, 17, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",      // direct small-C: w = 16 + 1 (AVX-512's vector + 1)
            "2, 1, 2, 8, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",       // direct small-C: w = 8, one vector (AVX-512: GEMM path)
            "2, 5, 4, 16, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1",      // C = 5: past the direct kernel, the GEMM path
    })
    void convolutionMatchesNaive(int n, int c, int h, int w, int oc, int kh, int kw, int sH, int sW, int pT, int pL, int pB, int pR,
                                 int dH, int dW, int groups) {
        Conv2dGeometry g = Conv2dGeometry.conv(n, c, h, w, oc, kh, kw, new int[] {sH, sW}, new int[] {pT, pL}, new int[] {pB, pR},
                new int[] {dH, dW}, groups);
        SplittableRandom rnd = new SplittableRandom(g.hashCode());
        float[] x = random(rnd, n * c * h * w), weight = random(rnd, oc * (c / groups) * kh * kw), bias = random(rnd, oc);
        int outLen = n * oc * g.oh() * g.ow();
        float[] dout = random(rnd, outLen);
        int k = (c / groups) * kh * kw;
        for (int threads : new int[] {1, 3}) {
            withThreads(threads, () -> {
                float[] expected = new float[outLen], actual = new float[outLen];
                Conv2dKernels.conv2dForwardNaive(expected, x, weight, bias, g);
                simd.conv2dForward(actual, x, weight, bias, g);
                assertClose(expected, actual, tol(k), "forward on " + threads + " threads");
                Conv2dKernels.conv2dForwardNaive(expected, x, weight, null, g);
                simd.conv2dForward(actual, x, weight, null, g);
                assertClose(expected, actual, tol(k), "forward without bias on " + threads + " threads");

                // gradients accumulate onto what is there
                float[] dxRef = random(rnd, x.length), dx = dxRef.clone();
                float[] dwRef = random(rnd, weight.length), dw = dwRef.clone();
                float[] dbRef = random(rnd, oc), db = dbRef.clone();
                Conv2dKernels.conv2dBackwardNaive(dxRef, dwRef, dbRef, dout, x, weight, g);
                simd.conv2dBackward(dx, dw, db, dout, x, weight, g);
                assertClose(dxRef, dx, tol(oc * kh * kw), "dx on " + threads + " threads");
                assertClose(dwRef, dw, tol(n * g.oh() * g.ow()), "dweight on " + threads + " threads");
                assertClose(dbRef, db, tol(n * g.oh() * g.ow()), "dbias on " + threads + " threads");
                float[] dxOnly = dxRef.clone();
                simd.conv2dBackward(dxOnly, null, null, dout, x, weight, g); // each gradient may be null
                Conv2dKernels.conv2dBackwardNaive(dxRef, null, null, dout, x, weight, g);
                assertClose(dxRef, dxOnly, tol(oc * kh * kw), "dx alone on " + threads + " threads");
                // into a fresh gradient (what autograd calls): dx overwritten whatever it held, dweight still accumulates
                float[] dxFresh = new float[x.length], dxInto = new float[x.length], dwInto = dw.clone(), dwFresh = dw.clone();
                java.util.Arrays.fill(dxInto, Float.NaN);
                Conv2dKernels.conv2dBackwardNaive(dxFresh, dwFresh, null, dout, x, weight, g);
                simd.conv2dBackwardInto(dxInto, dwInto, null, dout, x, weight, g);
                assertClose(dxFresh, dxInto, tol(oc * kh * kw), "dx into a fresh gradient on " + threads + " threads");
                assertClose(dwFresh, dwInto, tol(n * g.oh() * g.ow()), "dweight beside a fresh dx on " + threads + " threads");
            });
        }
    }

    /**
     * A non-finite input reaches only the outputs whose windows hold it. The fast kernels load whole vectors and
     * zero the lanes a window does not cover (the pixel past a row's end is the next row's first): NaN and ±∞ in
     * the first and last column of every row, and at the very first and last element of the batch (where the loads
     * would leave the array), must not spread into the neighbouring row's outputs, nor into the gradients.
     */
    /** The finiteness scan that picks the Winograd path, split over the pool: a NaN or ±∞ in any chunk is seen. */
    @Test
    void finiteScanSeesEveryChunk() {
        float[] x = random(new SplittableRandom(3), 300_001);
        for (int threads : new int[] {1, 2, 3}) {
            withThreads(threads, () -> {
                assertTrue(SimdWinograd.finiteParallel(x, 0, x.length), "all finite on " + threads + " threads");
                for (int at : new int[] {0, 65_535, 65_536, 150_000, 299_999, 300_000}) {
                    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                        float[] y = x.clone();
                        y[at] = bad;
                        assertFalse(SimdWinograd.finiteParallel(y, 0, y.length), bad + " at " + at + " on " + threads + " threads");
                        assertTrue(at == 0 || SimdWinograd.finiteParallel(y, 0, at), "the values before " + at);
                    }
                }
            });
        }
    }

    @Test
    void nonFiniteValuesStayInTheirWindows() {
        Conv2dGeometry g = Conv2dGeometry.conv(4, 32, 14, 14, 64, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1},
                new int[] {1, 1}, 1);
        SplittableRandom rnd = new SplittableRandom(7);
        float[] x = random(rnd, 4 * 32 * 196), weight = random(rnd, 64 * 32 * 9), bias = random(rnd, 64);
        float[] dout = random(rnd, 4 * 64 * 196), finiteDout = dout.clone();
        float[] odd = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        // samples 0 and 3 hold them, 1 and 2 are finite (the Winograd path runs those, the direct one the others)
        for (int plane = 0; plane < 4 * 32; plane += 5) {
            if (plane / 32 == 1 || plane / 32 == 2) continue;
            for (int y = 0; y < 14; y += 3) {
                x[plane * 196 + y * 14] = odd[(plane + y) % 3];
                x[plane * 196 + y * 14 + 13] = odd[(plane + y + 1) % 3];
            }
        }
        x[0] = Float.NaN;
        x[x.length - 1] = Float.POSITIVE_INFINITY;
        for (int plane = 1; plane < 4 * 64; plane += 7) if (plane / 64 == 0 || plane / 64 == 3) dout[plane * 196 + 14 * (plane % 14) + 13] = Float.NaN;
        dout[0] = Float.NEGATIVE_INFINITY;
        dout[dout.length - 1] = Float.NaN;
        for (int threads : new int[] {1, 3}) {
            withThreads(threads, () -> {
                float[] expected = new float[dout.length], actual = new float[dout.length];
                Conv2dKernels.conv2dForwardNaive(expected, x, weight, bias, g);
                simd.conv2dForward(actual, x, weight, bias, g);
                assertClose(expected, actual, tol(288), "forward on " + threads + " threads");
                float[] dxRef = new float[x.length], dx = new float[x.length];
                Conv2dKernels.conv2dBackwardNaive(dxRef, null, null, dout, x, weight, g);
                simd.conv2dBackward(dx, null, null, dout, x, weight, g);
                assertClose(dxRef, dx, tol(576), "dx on " + threads + " threads");
                float[] dxInto = new float[x.length];
                java.util.Arrays.fill(dxInto, 1e30f); // overwritten, the direct samples included
                simd.conv2dBackwardInto(dxInto, null, null, dout, x, weight, g);
                assertClose(dxRef, dxInto, tol(576), "dx into a fresh gradient on " + threads + " threads");
                // the weight gradient with x's NaN and ±∞ (a finite dout: PyTorch's own im2col multiplies the padding's
                // zeros by dout, so a non-finite dout at a border gives NaN there where the naive loop skips the
                // padding): each reaches only the taps whose windows hold it, not all nine (Winograd), nor the taps
                // that pass over a row's end (the shifted rows of the direct path)
                float[] dwRef = new float[weight.length], dw = new float[weight.length];
                Conv2dKernels.conv2dBackwardNaive(null, dwRef, null, finiteDout, x, weight, g);
                simd.conv2dBackward(null, dw, null, finiteDout, x, weight, g);
                assertClose(dwRef, dw, tol(4 * 196), "dweight on " + threads + " threads");
            });
        }
    }

    /**
     * The direct small-channel kernel (conv1's shape): a NaN or ±∞ in x reaches only the outputs whose windows hold
     * it (the lanes of a row's last vector past w read real pixels and are never stored) and sends the weight
     * gradient to the GEMM path; one in dout where a row's last vector repeats its neighbour's lanes is counted once.
     */
    @Test
    void smallChannelConvolutionKeepsNonFiniteValuesInTheirWindows() {
        Conv2dGeometry g = Conv2dGeometry.conv(3, 1, 6, 28, 4, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1},
                new int[] {1, 1}, 1);
        SplittableRandom rnd = new SplittableRandom(11);
        float[] weight = random(rnd, 4 * 9), bias = random(rnd, 4);
        float[] cleanX = random(rnd, 3 * 168), dout = random(rnd, 3 * 4 * 168);
        for (int row = 0; row < 3 * 4 * 6; row++) dout[row * 28 + 20 + row % 8] = new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}[row % 3];
        float[] x = cleanX.clone();
        x[0] = Float.NaN;
        x[27] = Float.POSITIVE_INFINITY;
        x[168 + 5 * 28 + 27] = Float.NEGATIVE_INFINITY;
        x[x.length - 1] = Float.NaN;
        for (float[] in : new float[][] {cleanX, x}) {
            for (int threads : new int[] {1, 3}) {
                withThreads(threads, () -> {
                    float[] expected = new float[dout.length], actual = new float[dout.length];
                    Conv2dKernels.conv2dForwardNaive(expected, in, weight, bias, g);
                    simd.conv2dForward(actual, in, weight, bias, g);
                    assertClose(expected, actual, tol(9), "forward on " + threads + " threads");
                    float[] dwRef = new float[weight.length], dw = new float[weight.length], dbRef = new float[4], db = new float[4];
                    Conv2dKernels.conv2dBackwardNaive(null, dwRef, dbRef, dout, in, weight, g);
                    simd.conv2dBackward(null, dw, db, dout, in, weight, g);
                    assertClose(dwRef, dw, tol(3 * 168), "dweight on " + threads + " threads");
                    assertClose(dbRef, db, tol(3 * 168), "dbias on " + threads + " threads");
                });
            }
        }
    }

    @ParameterizedTest(name = "x=({0},{1},{2},{3}) cout={4} k=({5},{6}) s=({7},{8}) pad=({9},{10}) outpad=({11},{12}) dil={13} groups={14}")
    @CsvSource({
            // n, cin, h, w, cout, kh, kw, sH, sW, padH, padW, outPadH, outPadW, dil, groups
            "3, 64, 7, 7, 32, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1",   // the reference model's deconv, fewer samples
            "2, 5, 3, 4, 7, 3, 2, 3, 2, 0, 0, 0, 0, 1, 1",     // odd sizes, kernel 3×2 = stride
            "1, 3, 5, 2, 13, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1",    // 1×1, stride 1
            "2, 4, 3, 3, 6, 2, 2, 2, 2, 0, 0, 0, 0, 1, 2",     // groups: the reference path
            "2, 3, 4, 4, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1",     // overlapping windows, padding: the reference path
            "2, 3, 4, 4, 5, 2, 2, 2, 2, 0, 0, 1, 1, 1, 1",     // output_padding: the reference path
    })
    void transposedConvolutionMatchesNaive(int n, int cin, int h, int w, int cout, int kh, int kw, int sH, int sW, int pH, int pW,
                                           int opH, int opW, int dil, int groups) {
        Conv2dGeometry g = Conv2dGeometry.transposed(n, cin, h, w, cout, kh, kw, new int[] {sH, sW}, new int[] {pH, pW},
                new int[] {opH, opW}, new int[] {dil, dil}, groups);
        SplittableRandom rnd = new SplittableRandom(g.hashCode());
        float[] x = random(rnd, n * cin * h * w), weight = random(rnd, cin * (cout / groups) * kh * kw), bias = random(rnd, cout);
        int outLen = n * cout * g.h() * g.w();
        float[] dout = random(rnd, outLen);
        for (int threads : new int[] {1, 3}) {
            withThreads(threads, () -> {
                float[] expected = new float[outLen], actual = new float[outLen];
                ConvTranspose2dKernels.convTranspose2dForwardNaive(expected, x, weight, bias, g);
                simd.convTranspose2dForward(actual, x, weight, bias, g);
                assertClose(expected, actual, tol(cin * kh * kw), "forward on " + threads + " threads");
                ConvTranspose2dKernels.convTranspose2dForwardNaive(expected, x, weight, null, g);
                simd.convTranspose2dForward(actual, x, weight, null, g);
                assertClose(expected, actual, tol(cin * kh * kw), "forward without bias on " + threads + " threads");

                float[] dxRef = random(rnd, x.length), dx = dxRef.clone();
                float[] dwRef = random(rnd, weight.length), dw = dwRef.clone();
                float[] dbRef = random(rnd, cout), db = dbRef.clone();
                ConvTranspose2dKernels.convTranspose2dBackwardNaive(dxRef, dwRef, dbRef, dout, x, weight, g);
                simd.convTranspose2dBackward(dx, dw, db, dout, x, weight, g);
                assertClose(dxRef, dx, tol(cout * kh * kw), "dx on " + threads + " threads");
                assertClose(dwRef, dw, tol(n * h * w), "dweight on " + threads + " threads");
                assertClose(dbRef, db, tol(n * g.h() * g.w()), "dbias on " + threads + " threads");
                float[] dwOnly = dwRef.clone();
                simd.convTranspose2dBackward(null, dwOnly, null, dout, x, weight, g); // each gradient may be null
                ConvTranspose2dKernels.convTranspose2dBackwardNaive(null, dwRef, null, dout, x, weight, g);
                assertClose(dwRef, dwOnly, tol(n * h * w), "dweight alone on " + threads + " threads");
            });
        }
    }

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1, 15, 17, 320, 65_537, 819_456})
    void adamIsBitExact(int n) {
        SplittableRandom rnd = new SplittableRandom(n);
        for (boolean amsgrad : new boolean[] {false, true}) {
            for (float wd : new float[] {0f, 0.01f}) {
                float[] p = random(rnd, n), m = random(rnd, n), v = random(rnd, n), mx = random(rnd, n);
                for (int i = 0; i < n; i++) {
                    v[i] = v[i] * v[i] * 1e-3f; // second moments are >= 0
                    mx[i] = mx[i] * mx[i] * 1e-3f;
                }
                float[] g = special(rnd, n);
                float[][] ref = {p.clone(), m.clone(), v.clone(), mx.clone()};
                float[][] fast = {p.clone(), m.clone(), v.clone(), mx.clone()};
                // step 3 of Adam(lr=1e-3): the scalars Adam forms
                float negStep = (float) (-1e-3 / (1 - Math.pow(0.9, 3))), bc2 = (float) Math.sqrt(1 - Math.pow(0.999, 3));
                AdamKernels.adamUpdate(ref[0], g, ref[1], ref[2], amsgrad ? ref[3] : null, n, negStep, bc2, 0.9f, (float) (1 - 0.9),
                        0.999f, (float) (1 - 0.999), 1e-8f, wd);
                for (int threads : new int[] {1, 3}) {
                    float[][] f = {fast[0].clone(), fast[1].clone(), fast[2].clone(), fast[3].clone()};
                    withThreads(threads, () -> simd.adamUpdate(f[0], g, f[1], f[2], amsgrad ? f[3] : null, n, negStep, bc2, 0.9f,
                            (float) (1 - 0.9), 0.999f, (float) (1 - 0.999), 1e-8f, wd));
                    String what = "amsgrad " + amsgrad + ", weight decay " + wd + ", threads " + threads;
                    assertArrayEquals(ref[0], f[0], "param, " + what);
                    assertArrayEquals(ref[1], f[1], "exp_avg, " + what);
                    assertArrayEquals(ref[2], f[2], "exp_avg_sq, " + what);
                    assertArrayEquals(ref[3], f[3], "max_exp_avg_sq, " + what);
                }
            }
        }
    }

    /** Entries in [-1, 1): a sum of k products has rounding error growing like √k. */
    private static double tol(int k) { return 2e-5 * Math.sqrt(Math.max(1, k)) + 1e-6; }

    private static void withThreads(int threads, Runnable r) {
        int before = Parallel.threads();
        Parallel.setThreads(threads);
        try {
            r.run();
        } finally {
            Parallel.setThreads(before);
        }
    }

    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            boolean same = Float.compare(expected[i], actual[i]) == 0 || d <= tol;
            assertTrue(same, what + ": index " + i + " expected " + expected[i] + " got " + actual[i] + " (|diff| " + d + " > " + tol + ")");
        }
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }

    /** Random values with zeros, −0, ±∞ and NaN sprinkled in. */
    private static float[] special(SplittableRandom rnd, int n) {
        float[] v = random(rnd, n);
        float[] odd = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE};
        for (int i = 0; i < n; i += 7) v[i] = odd[rnd.nextInt(odd.length)];
        return v;
    }
}
