package dev.deepshape.simd;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * A 3×3 'same' convolution (stride 1, padding 1, dilation 1, one group) with at most {@link #MAX_C} input channels,
 * computed directly: forward and weight/bias gradient side by side. The reference model's {@code conv1} (1 → 32
 * channels on 28×28) is the case: as a GEMM its K is 9 (10 with the bias), so the micro-kernel loads and stores its
 * C tile for every 9 multiply-adds; here the nine weights of a (channel, input channel) pair sit in registers and a
 * plane is one flat loop of nine FMAs per vector. The oracles are {@link dev.deepshape.backend.Conv2dKernels}' naive
 * loops; the data gradient stays on {@link SimdConv}.
 *
 * <p>A plane (h, w) is read flat: with one zero row above and below it (and one zero element at each end), the
 * input under tap (ky, kx) of the output pixel f = y·w + x is {@code pad[f + ky·w + kx]} for every f, a shifted
 * copy. The shift wraps at the row ends: tap column 0 of a pixel with x = 0 reads the previous row's last pixel and
 * tap column 2 of x = w − 1 the next row's first, so those lanes of the column's partial sum are cleared by a mask
 * (forward), or of dout (weight gradient).
 * <pre>
 *   forward      out[o, y, x] = b[o] + Σ_ci Σ_ky,kx W[o, ci, ky, kx] · x[ci, y + ky − 1, x + kx − 1]
 *   weight grad  dW[o, ci, ky, kx] += Σ_n Σ_y,x dout[n, o, y, x] · x_n[ci, y + ky − 1, x + kx − 1];   db[o] += Σ dout[n, o]
 * </pre>
 */
final class SimdSmallConv {
    private SimdSmallConv() {}

    static final VectorSpecies<Float> S = SimdGemm.S;
    static final VectorSpecies<Integer> IS = SimdConv.IS;
    static final int VL = SimdGemm.VL;
    /** Input channels up to which the direct kernel beats the GEMM (K = 9·c ≤ 36). */
    static final int MAX_C = 4;

    static boolean supports(Conv2dGeometry g) {
        return g.groups() == 1 && g.kh() == 3 && g.kw() == 3 && g.strideH() == 1 && g.strideW() == 1 && g.dilH() == 1
                && g.dilW() == 1 && g.padH() == 1 && g.padW() == 1 && g.oh() == g.h() && g.ow() == g.w()
                && g.c() <= MAX_C && g.h() * g.w() >= VL && IS.length() == VL;
    }

    /** Floats of one padded plane: a zero row and element before and after the plane (and room for a last vector). */
    private static int paddedPlane(int h, int w) {
        return (h + 2) * w + 2 + VL;
    }

    /**
     * Row-end masks for the plane's flat vectors: {@code [0, hw)} has −1 (all bits) where x ≠ 0, {@code [hw, 2hw)}
     * where x ≠ w − 1, 0 elsewhere.
     */
    private static int[] edgeMasks(int h, int w) {
        return MASKS.computeIfAbsent(java.util.List.of(h, w), k -> {
            int hw = h * w;
            int[] m = new int[2 * hw];
            for (int f = 0; f < hw; f++) {
                m[f] = f % w != 0 ? -1 : 0;
                m[hw + f] = f % w != w - 1 ? -1 : 0;
            }
            return m;
        });
    }

    private static final java.util.concurrent.ConcurrentHashMap<java.util.List<Integer>, int[]> MASKS = new java.util.concurrent.ConcurrentHashMap<>();

    /** A thread's buffer of padded planes. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] scratch(int size) {
        float[][] s = SCRATCH.get();
        if (s[0].length < size) s[0] = new float[size];
        return s[0];
    }

    /** Copies the plane (h, w) at {@code x[from..]} into {@code pad[at..]} between its zero rows. */
    private static void padPlane(float[] pad, int at, float[] x, int from, int h, int w) {
        int hw = h * w;
        java.util.Arrays.fill(pad, at, at + 1 + w, 0f);
        System.arraycopy(x, from, pad, at + 1 + w, hw);
        java.util.Arrays.fill(pad, at + 1 + w + hw, at + paddedPlane(h, w), 0f);
    }

    // x is (N, C, H, W), weight (OC, C, 3, 3), bias (OC) or null, out (N, OC, H, W)
    static void forward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        forward(out, x, weight, bias, g, null);
    }

    /**
     * As {@link #forward(float[], float[], float[], float[], Conv2dGeometry)}, or, with a {@code sink}, each sample's
     * output (OC, H, W) goes to a per-thread buffer that the sink takes (on the thread that computed it), out unused.
     */
    static void forward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g, SimdWinograd.Sink sink) {
        int c = g.c(), h = g.h(), w = g.w(), oc = g.oc(), hw = h * w, plane = paddedPlane(h, w);
        int[] masks = edgeMasks(h, w);
        // NOTE: two lambdas, not one with a branch on the sink (see SimdWinograd.convolve)
        if (sink == null) {
            Parallel.forRange(g.n(), 1, (n0, n1) -> {
                float[] pad = scratch(c * plane);
                for (int n = n0; n < n1; n++) forwardSample(out, n * oc * hw, pad, plane, x, n, weight, bias, g, masks);
            });
        } else {
            Parallel.forRange(g.n(), 1, (n0, n1) -> {
                float[] pad = scratch(c * plane), y = sampleBuffer(oc * hw);
                for (int n = n0; n < n1; n++) {
                    forwardSample(y, 0, pad, plane, x, n, weight, bias, g, masks);
                    sink.accept(n, y);
                }
            });
        }
    }

    /** Sample n's output planes into {@code y[base..]}. */
    private static void forwardSample(float[] y, int base, float[] pad, int plane, float[] x, int n, float[] weight, float[] bias,
                                      Conv2dGeometry g, int[] masks) {
        int c = g.c(), h = g.h(), w = g.w(), hw = h * w;
        for (int ci = 0; ci < c; ci++) padPlane(pad, ci * plane, x, (n * c + ci) * hw, h, w);
        for (int o = 0; o < g.oc(); o++) forwardPlane(y, base + o * hw, pad, plane, weight, o, c, bias == null ? 0f : bias[o], hw, w, masks);
    }

    /** A thread's buffer for one sample's output in {@link #forward}'s fused use. */
    private static final ThreadLocal<float[][]> SAMPLE = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] sampleBuffer(int size) {
        float[][] s = SAMPLE.get();
        if (s[0].length < size) s[0] = new float[size];
        return s[0];
    }

    /**
     * Output plane o of one sample into {@code out[outAt..]}, input channel by input channel (the later ones add to
     * what the earlier wrote). A method of its own so that C2 compiles it whole: a loop nest inside the pool's lambda
     * runs as on-stack-replaced code.
     */
    private static void forwardPlane(float[] out, int outAt, float[] pad, int plane, float[] weight, int o, int c, float bias,
                                     int hw, int w, int[] masks) {
        FloatVector b = FloatVector.broadcast(S, bias);
        for (int ci = 0; ci < c; ci++) {
            int k = (o * c + ci) * 9, p = ci * plane, w2 = 2 * w;
            FloatVector w0 = FloatVector.broadcast(S, weight[k]), w1 = FloatVector.broadcast(S, weight[k + 1]);
            FloatVector w2v = FloatVector.broadcast(S, weight[k + 2]), w3 = FloatVector.broadcast(S, weight[k + 3]);
            FloatVector w4 = FloatVector.broadcast(S, weight[k + 4]), w5 = FloatVector.broadcast(S, weight[k + 5]);
            FloatVector w6 = FloatVector.broadcast(S, weight[k + 6]), w7 = FloatVector.broadcast(S, weight[k + 7]);
            FloatVector w8 = FloatVector.broadcast(S, weight[k + 8]);
            boolean first = ci == 0;
            for (int f = 0; f < hw; f += VL) {
                // NOTE: the plane's last vector is moved back to end at hw (it recomputes some outputs: same values),
                // so it never reads or writes past the plane; it then adds twice when c > 1, hence c = 1 only there
                int at = Math.min(f, hw - VL);
                if (at != f && !first) break;
                int q = p + at;
                // three partial sums, one per kernel column: the outer two lose their wrapped lanes
                FloatVector s0 = FloatVector.fromArray(S, pad, q).mul(w0);
                FloatVector s1 = FloatVector.fromArray(S, pad, q + 1).mul(w1);
                FloatVector s2 = FloatVector.fromArray(S, pad, q + 2).mul(w2v);
                s0 = FloatVector.fromArray(S, pad, q + w).fma(w3, s0);
                s1 = FloatVector.fromArray(S, pad, q + w + 1).fma(w4, s1);
                s2 = FloatVector.fromArray(S, pad, q + w + 2).fma(w5, s2);
                s0 = FloatVector.fromArray(S, pad, q + w2).fma(w6, s0);
                s1 = FloatVector.fromArray(S, pad, q + w2 + 1).fma(w7, s1);
                s2 = FloatVector.fromArray(S, pad, q + w2 + 2).fma(w8, s2);
                s0 = s0.reinterpretAsInts().and(IntVector.fromArray(IS, masks, at)).reinterpretAsFloats();
                s2 = s2.reinterpretAsInts().and(IntVector.fromArray(IS, masks, hw + at)).reinterpretAsFloats();
                FloatVector v = first ? b.add(s1) : FloatVector.fromArray(S, out, outAt + at).add(s1);
                v.add(s0).add(s2).intoArray(out, outAt + at);
            }
            if (!first && hw % VL != 0) tailAdd(out, outAt, pad, p, weight, k, hw, w);
        }
    }

    /** The outputs past the last whole vector when c > 1: scalar, the same three column sums. */
    private static void tailAdd(float[] out, int outAt, float[] pad, int p, float[] weight, int k, int hw, int w) {
        for (int f = hw / VL * VL; f < hw; f++) {
            int q = p + f, x = f % w;
            float s0 = (pad[q] * weight[k] + pad[q + w] * weight[k + 3]) + pad[q + 2 * w] * weight[k + 6];
            float s1 = (pad[q + 1] * weight[k + 1] + pad[q + w + 1] * weight[k + 4]) + pad[q + 2 * w + 1] * weight[k + 7];
            float s2 = (pad[q + 2] * weight[k + 2] + pad[q + w + 2] * weight[k + 5]) + pad[q + 2 * w + 2] * weight[k + 8];
            out[outAt + f] += s1 + (x != 0 ? s0 : 0f) + (x != w - 1 ? s2 : 0f);
        }
    }

    /**
     * {@code dweight += ∂L/∂W} and, when not null, {@code dbias += ∂L/∂b}. Returns false (and does nothing) when x
     * holds NaN or ±∞: a wrapped lane multiplies a cleared dout lane by the neighbouring row's pixel, and 0·∞ would
     * put a NaN where PyTorch has ±∞; {@link SimdConv}'s GEMM path takes that case.
     */
    static boolean backwardWeight(float[] dweight, float[] dbias, float[] dout, float[] x, Conv2dGeometry g) {
        int n = g.n(), c = g.c(), h = g.h(), w = g.w(), oc = g.oc(), hw = h * w, plane = paddedPlane(h, w);
        if (!SimdWinograd.finiteParallel(x, 0, n * c * hw)) return false;
        int[] masks = edgeMasks(h, w);
        // lanes of the plane's last vector (moved back to end at hw) that the one before it already covered
        VectorMask<Float> repeated = VectorMask.fromLong(S, hw % VL == 0 ? 0L : (1L << (VL - hw % VL)) - 1);
        float[] pad = scratch(n * c * plane);
        for (int i = 0; i < n * c; i++) padPlane(pad, i * plane, x, i * hw, h, w);
        // NOTE: each output channel is summed by one thread, samples in order: the bits do not depend on the thread count
        // NOTE: two output channels a pass where there are two (conv1's 32): their 9 taps read the same input vectors,
        // so a pass loads each once for 18 FMAs instead of 9; each channel's sums run in the same order either way
        Parallel.forRange(oc, 1, (o0, o1) -> {
            float[] lanes = new float[VL], sums = new float[10 * VL], sums2 = new float[10 * VL];
            for (int o = o0; o < o1; o += 2) {
                boolean pair = o + 1 < o1;
                for (int ci = 0; ci < c; ci++) {
                    boolean withBias = dbias != null && ci == 0;
                    java.util.Arrays.fill(sums, 0f);
                    java.util.Arrays.fill(sums2, 0f);
                    for (int i = 0; i < n; i++) {
                        int d = (i * oc + o) * hw, q = (i * c + ci) * plane;
                        if (pair) gradPlanes(sums, sums2, dout, d, d + hw, pad, q, hw, w, masks, repeated);
                        else gradPlane(sums, sums2, dout, d, pad, q, hw, w, masks, repeated);
                    }
                    for (int k = 0; k < (pair ? 2 : 1); k++) {
                        float[] s = k == 0 ? sums : sums2;
                        int at = ((o + k) * c + ci) * 9;
                        for (int t = 0; t < 9; t++) dweight[at + t] += sum(s, t, lanes);
                        if (withBias) dbias[o + k] += sum(s, 9, lanes);
                    }
                }
            }
        });
        return true;
    }

    /**
     * One output channel's plane into its 9 tap sums and bias sum ({@code sums}, 10 vectors): {@link #gradPlanes} with
     * the plane as both channels, the second's sums thrown away (each channel's sums run alone, so the same bits).
     */
    private static void gradPlane(float[] sums, float[] spare, float[] dout, int dPlane, float[] pad, int p, int hw, int w, int[] masks,
                                  VectorMask<Float> repeated) {
        gradPlanes(sums, spare, dout, dPlane, dPlane, pad, p, hw, w, masks, repeated);
    }

    /**
     * The weight and bias gradient sums of two output channels (dout planes at dA and dB) over one input plane, into
     * sums and sums2 (10 vectors each: the 9 taps, then the bias): each tap's products of dout and the input shifted
     * under it, the outer columns' lanes masked where the tap wraps into the neighbouring row.
     */
    private static void gradPlanes(float[] sums, float[] sums2, float[] dout, int dA, int dB, float[] pad, int p, int hw, int w,
                                   int[] masks, VectorMask<Float> repeated) {
        FloatVector g0 = FloatVector.fromArray(S, sums, 0), g1 = FloatVector.fromArray(S, sums, VL);
        FloatVector g2 = FloatVector.fromArray(S, sums, 2 * VL), g3 = FloatVector.fromArray(S, sums, 3 * VL);
        FloatVector g4 = FloatVector.fromArray(S, sums, 4 * VL), g5 = FloatVector.fromArray(S, sums, 5 * VL);
        FloatVector g6 = FloatVector.fromArray(S, sums, 6 * VL), g7 = FloatVector.fromArray(S, sums, 7 * VL);
        FloatVector g8 = FloatVector.fromArray(S, sums, 8 * VL), gb = FloatVector.fromArray(S, sums, 9 * VL);
        FloatVector h0 = FloatVector.fromArray(S, sums2, 0), h1 = FloatVector.fromArray(S, sums2, VL);
        FloatVector h2 = FloatVector.fromArray(S, sums2, 2 * VL), h3 = FloatVector.fromArray(S, sums2, 3 * VL);
        FloatVector h4 = FloatVector.fromArray(S, sums2, 4 * VL), h5 = FloatVector.fromArray(S, sums2, 5 * VL);
        FloatVector h6 = FloatVector.fromArray(S, sums2, 6 * VL), h7 = FloatVector.fromArray(S, sums2, 7 * VL);
        FloatVector h8 = FloatVector.fromArray(S, sums2, 8 * VL), hb = FloatVector.fromArray(S, sums2, 9 * VL);
        int w2 = 2 * w;
        for (int f = 0; f < hw; f += VL) {
            int at = Math.min(f, hw - VL);
            FloatVector d = FloatVector.fromArray(S, dout, dA + at), e = FloatVector.fromArray(S, dout, dB + at);
            if (at != f) {
                d = d.blend(0f, repeated);
                e = e.blend(0f, repeated);
            }
            IntVector m0 = IntVector.fromArray(IS, masks, at), m2 = IntVector.fromArray(IS, masks, hw + at);
            FloatVector d0 = d.reinterpretAsInts().and(m0).reinterpretAsFloats(), d2 = d.reinterpretAsInts().and(m2).reinterpretAsFloats();
            FloatVector e0 = e.reinterpretAsInts().and(m0).reinterpretAsFloats(), e2 = e.reinterpretAsInts().and(m2).reinterpretAsFloats();
            int q = p + at;
            FloatVector x = FloatVector.fromArray(S, pad, q);
            g0 = x.fma(d0, g0);
            h0 = x.fma(e0, h0);
            x = FloatVector.fromArray(S, pad, q + 1);
            g1 = x.fma(d, g1);
            h1 = x.fma(e, h1);
            x = FloatVector.fromArray(S, pad, q + 2);
            g2 = x.fma(d2, g2);
            h2 = x.fma(e2, h2);
            x = FloatVector.fromArray(S, pad, q + w);
            g3 = x.fma(d0, g3);
            h3 = x.fma(e0, h3);
            x = FloatVector.fromArray(S, pad, q + w + 1);
            g4 = x.fma(d, g4);
            h4 = x.fma(e, h4);
            x = FloatVector.fromArray(S, pad, q + w + 2);
            g5 = x.fma(d2, g5);
            h5 = x.fma(e2, h5);
            x = FloatVector.fromArray(S, pad, q + w2);
            g6 = x.fma(d0, g6);
            h6 = x.fma(e0, h6);
            x = FloatVector.fromArray(S, pad, q + w2 + 1);
            g7 = x.fma(d, g7);
            h7 = x.fma(e, h7);
            x = FloatVector.fromArray(S, pad, q + w2 + 2);
            g8 = x.fma(d2, g8);
            h8 = x.fma(e2, h8);
            gb = gb.add(d);
            hb = hb.add(e);
        }
        g0.intoArray(sums, 0);
        g1.intoArray(sums, VL);
        g2.intoArray(sums, 2 * VL);
        g3.intoArray(sums, 3 * VL);
        g4.intoArray(sums, 4 * VL);
        g5.intoArray(sums, 5 * VL);
        g6.intoArray(sums, 6 * VL);
        g7.intoArray(sums, 7 * VL);
        g8.intoArray(sums, 8 * VL);
        gb.intoArray(sums, 9 * VL);
        h0.intoArray(sums2, 0);
        h1.intoArray(sums2, VL);
        h2.intoArray(sums2, 2 * VL);
        h3.intoArray(sums2, 3 * VL);
        h4.intoArray(sums2, 4 * VL);
        h5.intoArray(sums2, 5 * VL);
        h6.intoArray(sums2, 6 * VL);
        h7.intoArray(sums2, 7 * VL);
        h8.intoArray(sums2, 8 * VL);
        hb.intoArray(sums2, 9 * VL);
    }

    /** The lanes of vector v of {@code sums} added in a fixed order (not reduceLanes: its order differs before and after C2 compiles it). */
    private static float sum(float[] sums, int v, float[] lanes) {
        System.arraycopy(sums, v * VL, lanes, 0, VL);
        float s = 0f;
        for (float lane : lanes) s += lane;
        return s;
    }
}
