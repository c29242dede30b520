package dev.deepshape.simd;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.ConvTranspose2dKernels;
import dev.deepshape.backend.Parallel;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * 2-D transposed convolution whose kernel equals its stride (no padding, dilation 1, no output_padding, one group:
 * the reference model's {@code ConvTranspose2d(64, 32, 2, stride=2)}), forward and backward; other geometries run
 * {@link ConvTranspose2dKernels}. The oracles are ConvTranspose2dKernels' naive loops.
 *
 * <p>Why that case is special: the windows do not overlap, so every output pixel receives exactly one input pixel
 * and one kernel tap. With Q = H·W input pixels, Cin input channels and the weight read as a matrix
 * {@code Wm (Cin × Cout·kh·kw)} (its stored layout), per sample
 * <pre>
 *   forward      Y   (Q × Cout·kh·kw) = x_nᵀ (Q × Cin) · Wm                then each Y[q, (co, ky, kx)] (+ bias) goes
 *                                                                          to out[co, i·kh + ky, j·kw + kx], q = (i, j)
 *   backward     D   (Q × Cout·kh·kw) gathered from dout the same way (a pixel unshuffle)
 *                dx_n (Cin × Q)     += Wm · Dᵀ
 *                dWm  (Cin × Cout·kh·kw) += x_n (Cin × Q) · D
 * </pre>
 * Every product is a small {@link SimdGemm#sgemm} on the calling thread; samples are spread over the shared pool.
 * With a 2×2 kernel and image rows of at most one vector (the reference model's 14 columns, {@link #rowsInVectors}),
 * the products keep the sample's matrix transposed (taps × Q: Yᵀ = Wmᵀ·x_n, dx_n += Wm·Dᵀ, dWm += x_n·(Dᵀ)ᵀ), and an
 * image row is two taps' rows interleaved by one shuffle, instead of a gather per vector and a scalar store per value.
 */
final class SimdConvTranspose {
    private SimdConvTranspose() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();

    /** Whether this class handles the geometry (else the caller runs the reference kernels). */
    static boolean supports(Conv2dGeometry g) {
        return g.groups() == 1 && g.strideH() == g.kh() && g.strideW() == g.kw() && g.padH() == 0 && g.padW() == 0
                && g.dilH() == 1 && g.dilW() == 1 && g.h() == g.oh() * g.kh() && g.w() == g.ow() * g.kw();
    }

    /** A thread's reusable buffer: one sample's Y or D, (Q × Cout·kh·kw). */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] scratch(int size) {
        float[][] s = SCRATCH.get();
        if (s[0].length < size) s[0] = new float[size];
        return s[0];
    }

    // The equivalent convolution g: x is (N, Cin, H, W) = (n, oc, oh, ow), weight (Cin, Cout, KH, KW) = (oc, c, kh, kw),
    // bias (Cout) or null, out is (N, Cout, OH, OW) = (n, c, h, w).
    static void convTranspose2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        if (!supports(g)) {
            ConvTranspose2dKernels.convTranspose2dForward(out, x, weight, bias, g);
            return;
        }
        int q = g.oh() * g.ow(), cin = g.oc(), taps = g.c() * g.kh() * g.kw();
        if (rowsInVectors(g)) {
            Parallel.forRange(g.n(), 1, (n0, n1) -> {
                float[] yT = scratch(taps * q + VL);
                for (int n = n0; n < n1; n++) {
                    // Yᵀ (taps × Q) = Wmᵀ · x_n: each tap's outputs a row, interleaved into the image's rows below
                    SimdGemm.sgemm(true, false, taps, q, cin, weight, 0, taps, x, n * cin * q, q, yT, 0, q, false);
                    interleave(out, yT, n, bias, g);
                }
            });
            return;
        }
        Parallel.forRange(g.n(), 1, (n0, n1) -> {
            float[] y = scratch(q * taps);
            for (int n = n0; n < n1; n++) {
                // Y (Q × Cout·kh·kw) = x_nᵀ · Wm: x_n is stored Cin × Q, so A is read transposed
                SimdGemm.sgemm(true, false, q, taps, cin, x, n * cin * q, q, weight, 0, taps, y, 0, taps, false);
                shuffle(out, y, n, bias, g, true);
            }
        });
    }

    // dout is (N, Cout, OH, OW); dx like x, dweight like weight, dbias (Cout): each accumulated with +=, each may be null
    static void convTranspose2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        if (!supports(g)) {
            ConvTranspose2dKernels.convTranspose2dBackward(dx, dweight, dbias, dout, x, weight, g);
            return;
        }
        if (dbias != null) SimdConv.sumPerChannel(dbias, dout, g.n(), g.c(), g.h() * g.w());
        if (dx == null && dweight == null) return;
        int q = g.oh() * g.ow(), cin = g.oc(), taps = g.c() * g.kh() * g.kw();
        // NOTE: one partial dW per chunk, the chunks fixed by N and the thread count, summed in chunk order (see SimdConv)
        int chunks = Math.min(Parallel.chunks(g.n(), 1), g.n());
        if (chunks == 0) return;
        float[][] partial = dweight != null ? SimdConv.partials(chunks, dweight.length) : null;
        if (rowsInVectors(g)) {
            Parallel.forRange(chunks, 1, (c0, c1) -> {
                float[] dT = scratch(taps * q + VL);
                for (int c = c0; c < c1; c++) {
                    float[] dw = partial != null ? partial[c] : null;
                    int nFrom = (int) ((long) g.n() * c / chunks), nTo = (int) ((long) g.n() * (c + 1) / chunks);
                    for (int n = nFrom; n < nTo; n++) {
                        deinterleave(dT, dout, n, g); // Dᵀ (taps × Q): each tap's gradients a row
                        // dx_n (Cin × Q) += Wm (Cin × taps) · Dᵀ
                        if (dx != null) SimdGemm.sgemm(false, false, cin, q, taps, weight, 0, taps, dT, 0, q, dx, n * cin * q, q, true);
                        // dWm (Cin × taps) (=|+=) x_n (Cin × Q) · D: the chunk's first sample overwrites its partial
                        if (dw != null) SimdGemm.sgemm(false, true, cin, taps, q, x, n * cin * q, q, dT, 0, q, dw, 0, taps, n > nFrom);
                    }
                }
            });
        } else Parallel.forRange(chunks, 1, (c0, c1) -> {
            float[] d = scratch(q * taps);
            for (int c = c0; c < c1; c++) {
                float[] dw = partial != null ? partial[c] : null;
                int nFrom = (int) ((long) g.n() * c / chunks), nTo = (int) ((long) g.n() * (c + 1) / chunks);
                for (int n = nFrom; n < nTo; n++) {
                    shuffle(dout, d, n, null, g, false);
                    // dx_n (Cin × Q) += Wm (Cin × taps) · Dᵀ (taps × Q)
                    if (dx != null) SimdGemm.sgemm(false, true, cin, q, taps, weight, 0, taps, d, 0, taps, dx, n * cin * q, q, true);
                    // dWm (Cin × taps) (=|+=) x_n (Cin × Q) · D (Q × taps): the chunk's first sample overwrites its partial
                    if (dw != null) SimdGemm.sgemm(false, false, cin, taps, q, x, n * cin * q, q, d, 0, taps, dw, 0, taps, n > nFrom);
                }
            }
        });
        if (dweight != null) {
            for (int c = 0; c < chunks; c++) {
                float[] dw = partial[c];
                for (int i = 0; i < dweight.length; i++) dweight[i] += dw[i];
            }
        }
    }

    /** Even lanes first, then odd ones; odd first, then even: a 2-wide image row split by its kernel column. */
    private static final VectorShuffle<Float> EVENS = VectorShuffle.fromOp(S, i -> i < VL / 2 ? 2 * i : 2 * (i - VL / 2) + 1);
    private static final VectorShuffle<Float> ODDS = VectorShuffle.fromOp(S, i -> i < VL / 2 ? 2 * i + 1 : 2 * (i - VL / 2));
    /** Two vectors' low halves interleaved: a0 b0 a1 b1 ... (index i − VL takes lane i of the second). */
    private static final VectorShuffle<Float> ZIP = zip();

    private static VectorShuffle<Float> zip() {
        int[] idx = new int[VL];
        for (int i = 0; i < VL; i++) idx[i] = i % 2 == 0 ? i / 2 : i / 2 - VL;
        return VectorShuffle.fromValues(S, idx);
    }

    /**
     * Whether the 2×2 kernel's image rows fit one vector (the reference model's 14 columns): then the sample's matrix
     * is kept tap by tap (taps × Q), and an image row is two taps' rows interleaved, by shuffles instead of the
     * gathers and scalar stores of {@link #shuffle}.
     */
    static boolean rowsInVectors(Conv2dGeometry g) {
        return g.kh() == 2 && g.kw() == 2 && g.w() <= VL;
    }

    /**
     * The image (Cout, H, W) of sample n from Yᵀ (taps × Q), tap (co, ky, kx) a row of Q = OH·OW: image row 2i + ky of
     * channel co is row i of taps (co, ky, 0) and (co, ky, 1), interleaved, plus the bias. yT has VL floats to spare
     * at its end (a row's load reads past it).
     */
    private static void interleave(float[] img, float[] yT, int n, float[] bias, Conv2dGeometry g) {
        int oh = g.oh(), ow = g.ow(), w = g.w(), q = oh * ow, plane = g.h() * w;
        VectorMask<Float> row = S.indexInRange(0, w);
        for (int co = 0; co < g.c(); co++) {
            float bo = bias != null ? bias[co] : 0f;
            FloatVector b = FloatVector.broadcast(S, bo);
            for (int ky = 0; ky < 2; ky++) {
                int t0 = ((co * 2 + ky) * 2) * q, out = (n * g.c() + co) * plane + ky * w;
                for (int i = 0; i < oh; i++) {
                    FloatVector a = FloatVector.fromArray(S, yT, t0 + i * ow), c = FloatVector.fromArray(S, yT, t0 + q + i * ow);
                    int at = out + 2 * i * w;
                    if (at + VL <= img.length) {
                        a.rearrange(ZIP, c).add(b).intoArray(img, at, row);
                    } else { // the array's last row: a masked store past its end checks its lanes out of line, far slower
                        for (int x = 0; x < w; x++) img[at + x] = yT[t0 + (x & 1) * q + i * ow + (x >> 1)] + bo;
                    }
                }
            }
        }
    }

    /** The inverse for the backward pass: Dᵀ (taps × Q) of sample n from its image gradient (Cout, H, W). */
    private static void deinterleave(float[] dT, float[] img, int n, Conv2dGeometry g) {
        int oh = g.oh(), ow = g.ow(), w = g.w(), q = oh * ow, plane = g.h() * w;
        VectorMask<Float> half = S.indexInRange(0, ow);
        for (int co = 0; co < g.c(); co++) {
            for (int ky = 0; ky < 2; ky++) {
                int t0 = ((co * 2 + ky) * 2) * q, in = (n * g.c() + co) * plane + ky * w;
                for (int i = 0; i < oh; i++) {
                    int at = in + 2 * i * w;
                    if (at + VL <= img.length) { // a row's load reads the next row's first lanes (never stored)
                        FloatVector r = FloatVector.fromArray(S, img, at);
                        r.rearrange(EVENS).intoArray(dT, t0 + i * ow, half);
                        r.rearrange(ODDS).intoArray(dT, t0 + q + i * ow, half);
                    } else { // the array's last row: a masked load past its end checks its lanes out of line, far slower
                        for (int x = 0; x < ow; x++) {
                            dT[t0 + i * ow + x] = img[at + 2 * x];
                            dT[t0 + q + i * ow + x] = img[at + 2 * x + 1];
                        }
                    }
                }
            }
        }
    }

    /**
     * Moves between one sample's image (Cout, OH, OW) at {@code img[n·Cout·OH·OW]} and the matrix m (Q × Cout·kh·kw):
     * {@code toImage} writes {@code img[co, i·kh + ky, j·kw + kx] = m[(i, j), (co, ky, kx)] + bias[co]} (bias may be
     * null); otherwise it reads the image into m. A channel's plane is contiguous, so it moves to the image as VL-wide gathers
     * through one table of the m offsets of its pixels (the plane's last partial vector goes through a small buffer:
     * a masked store is much slower than a copy), and back to m with scalar stores through the same table.
     */
    private static void shuffle(float[] img, float[] m, int n, float[] bias, Conv2dGeometry g, boolean toImage) {
        int kh = g.kh(), kw = g.kw(), taps = g.c() * kh * kw, plane = g.h() * g.w();
        int[] table = TABLES.computeIfAbsent(List.of(g.h(), g.w(), kh, kw, taps), key -> {
            int[] t = new int[(plane + VL - 1) / VL * VL]; // padded with 0: the padding lanes gather a valid element
            for (int y = 0; y < g.h(); y++) {
                for (int x = 0; x < g.w(); x++) {
                    t[y * g.w() + x] = ((y / kh) * g.ow() + x / kw) * taps + (y % kh) * kw + x % kw;
                }
            }
            return t;
        });
        int full = plane / VL * VL;
        float[] tail = new float[VL];
        for (int co = 0; co < g.c(); co++) {
            int base = (n * g.c() + co) * plane, col = co * kh * kw; // m[(0, 0), (co, 0, 0)]
            if (toImage) {
                FloatVector b = FloatVector.broadcast(S, bias != null ? bias[co] : 0f);
                for (int t = 0; t < full; t += VL) FloatVector.fromArray(S, m, col, table, t).add(b).intoArray(img, base + t);
                if (full < plane) {
                    FloatVector.fromArray(S, m, col, table, full).add(b).intoArray(tail, 0);
                    System.arraycopy(tail, 0, img, base + full, plane - full);
                }
            } else {
                // NOTE: scalar stores: AVX2 has no scatter, and the Vector API's emulated one cost 3× more here
                for (int t = 0; t < plane; t++) m[col + table[t]] = img[base + t];
            }
        }
    }

    private static final java.util.concurrent.ConcurrentHashMap<List<Integer>, int[]> TABLES = new java.util.concurrent.ConcurrentHashMap<>();
}
