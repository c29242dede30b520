package dev.deepshape.simd;

import dev.deepshape.backend.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * 3×3 stride-1 'same' convolutions by Winograd's F(4×4, 3×3) (Lavin and Gray 2016), for 16-lane vectors: each 4×4
 * block of outputs takes 36 multiplications instead of 144 (F(2×2, 3×3), {@link SimdWinograd}: 64). Same scheme
 * and same oracle as {@link SimdWinograd} (the naive loop of {@link dev.deepshape.backend.Conv2dKernels}):
 * <pre>
 *   U = G·g·Gᵀ              per (output channel, input channel): the 3×3 kernel g as 6×6
 *   V = Bᵀ·d·B              per (input channel, tile): the tile's 6×6 padded input d
 *   M(ξ,ν) = U(ξ,ν)·V(ξ,ν)  36 matrix products (M × C)·(C × tiles): the micro-kernel of {@link SimdGemm}
 *   Y = Aᵀ·M·A              per (output channel, tile): its 4×4 outputs
 * </pre>
 * with (Lavin and Gray's matrices)
 * <pre>
 *   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
 *   G  = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1⁄24 1⁄12 ⅙; 1⁄24 −1⁄12 ⅙; 0 0 1]
 *   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
 * </pre>
 * Unlike F(2×2), G is not exact in binary (thirds), and the transforms scale by up to 8: the results differ from the
 * direct convolution by a few float roundings of the largest terms (the tests' tolerance, √K-scaled, holds them).
 * <p>
 * Lanes: one vector holds the 16 tiles of a 16 × 16 block of outputs, tile (ty, tx) in lane 4·ty + tx. Conv2's
 * 14 × 14 is one block (its 16 lanes all used, against 49 of F(2×2)'s 64). A window row's six values for the 16
 * tiles come from the block's rows by two rounds of two-vector shuffles ({@link #P0} ...), and the output rows go
 * back the same way.
 */
final class SimdWinograd4 {
    private SimdWinograd4() {}

    static final VectorSpecies<Float> S = SimdGemm.S;
    static final int VL = SimdGemm.VL;
    /**
     * Rows of this class's micro-kernels ({@link #kernel8}): 16 accumulators of 32 registers. Conv2's 64 output
     * channels, its data gradient's 32 and its weight gradient's 32 input channels are whole tiles of 8, where
     * {@link SimdGemm#MR}'s 6 computed 66, 36 and 36 rows.
     */
    static final int MR = 8;
    static final int NR = SimdGemm.NR;
    /** The (ξ, ν) pairs: the 36 products. */
    static final int XI = 36;

    /*
     * To tiles: R_t holds one input row of the block (lane 4·tx + b: window column b of tile tx, b < 4). Round one,
     * T = R_2p.rearrange(P_h, R_2p+1): lane 8e + 4t + tx = R_(2p+t) lane 4tx + 2h + e (columns b = 2h, 2h + 1 of two
     * tile rows); round two, X_b = T_0h.rearrange(SEL_e, T_1h) with b = 2h + e: lane 4ty + tx = column b of tile (ty, tx).
     */
    static final VectorShuffle<Float> P0 = shuffle(i -> pick(i, 0));
    static final VectorShuffle<Float> P1 = shuffle(i -> pick(i, 1));
    static final VectorShuffle<Float> SEL0 = shuffle(i -> i < 8 ? i : i - 8 - VL);
    static final VectorShuffle<Float> SEL1 = shuffle(i -> i < 8 ? 8 + i : i - VL);
    /*
     * Back to rows, the inverse: T_ph = Y_2h.rearrange(Q_p, Y_2h+1) (lane 8e + 4t + tx = Y_(2h+e) lane 4(2p + t) + tx),
     * then row 2p + t = T_p0.rearrange(U_t, T_p1) (lane 4tx + 2h + e = T_ph lane 8e + 4t + tx).
     */
    static final VectorShuffle<Float> Q0 = shuffle(i -> back(i, 0));
    static final VectorShuffle<Float> Q1 = shuffle(i -> back(i, 1));
    static final VectorShuffle<Float> U0 = shuffle(i -> unpick(i, 0));
    static final VectorShuffle<Float> U1 = shuffle(i -> unpick(i, 1));

    private static int pick(int lane, int h) {
        int e = lane / 8, t = lane / 4 % 2, tx = lane % 4, src = 4 * tx + 2 * h + e;
        return t == 0 ? src : src - VL;
    }

    private static int back(int lane, int p) {
        int e = lane / 8, t = lane / 4 % 2, tx = lane % 4, src = 4 * (2 * p + t) + tx;
        return e == 0 ? src : src - VL;
    }

    private static int unpick(int lane, int t) {
        int tx = lane / 4, b = lane % 4, h = b / 2, e = b % 2, src = 8 * e + 4 * t + tx;
        return h == 0 ? src : src - VL;
    }

    /** A two-vector shuffle: index i ≥ 0 takes lane i of the first vector, i − VL (&lt; 0) lane i of the second. */
    private static VectorShuffle<Float> shuffle(java.util.function.IntUnaryOperator lane) {
        int[] idx = new int[VL];
        if (VL == 16) for (int i = 0; i < VL; i++) idx[i] = lane.applyAsInt(i);
        return VectorShuffle.fromValues(S, idx);
    }

    /**
     * Whether F(4×4) takes a convolution {@link SimdWinograd#supports} takes: 16-lane vectors, and a quarter fewer
     * multiplications than F(2×2) in its layout (the transforms cost more per tile). Conv2's 14 × 14: 576 against 1024.
     */
    static boolean applies(int c, int m, int h, int w) {
        if (VL != 16) return false;
        Layout l = Layout.of(c, m, h, w);
        long f2 = 16L * SimdWinograd.Layout.of(c, m, h, w).vectors() * VL;
        return 4L * XI * l.vectors() * VL < 3L * f2;
    }

    /**
     * Where the tiles of one sample go: blocks of 16 × 16 outputs (4 × 4 tiles), one vector each, blocks row by row.
     * The transforms work on {@code cols} columns at once: a sample's blocks, or two samples where a sample is one
     * block; V and M hold them as panels of NR columns for the micro-kernel. The padded planes: one row and column of
     * zeros before, enough after for every block's 18 × 18 windows and the loads of window columns 4 and 5.
     */
    record Layout(int c, int m, int h, int w, int blocksY, int blocksX, int vectors, int cols, int hp, int wp, int plane,
                  int mRows) {
        static Layout of(int c, int m, int h, int w) {
            int by = (h + 15) / 16, bx = (w + 15) / 16, vectors = by * bx;
            int hp = 16 * by + 2, wp = 16 * bx + 4, cols = (vectors == 1 && NR == 2 * VL ? 2 : vectors) * VL;
            return new Layout(c, m, h, w, by, bx, vectors, cols, hp, wp, SimdConv.planeStride(hp * wp), (m + MR - 1) / MR * MR);
        }

        /** Whether two samples share the columns. */
        boolean pairs() { return cols > vectors * VL; }

        int panels() { return (cols + NR - 1) / NR; }

        /** From one (ξ,ν) to the next in V ([panel][c][NR]) and M ([panel][mRows][NR]): a line more than their size (L1 sets). */
        int vStride() { return panels() * c * NR + 16; }

        int mStride() { return panels() * mRows * NR + 16; }

        /** Where column j of (ξ,ν) 0 starts in V (channel 0) and in M (output channel 0). */
        int vAt(int j) { return j / NR * c * NR + j % NR; }

        int mAt(int j) { return j / NR * mRows * NR + j % NR; }

        /**
         * Copies one sample's c planes of h × w, at {@code in[iBase..]}, inside the zero padding of {@code pad}. NOTE: by
         * vectors, the last of a row masked: an arraycopy per row of 14 took 3 % of a training step.
         */
        void copyIn(float[] pad, float[] in, int iBase) {
            int full = w / VL * VL;
            VectorMask<Float> rest = S.indexInRange(full, w);
            for (int ci = 0; ci < c; ci++) {
                for (int y = 0; y < h; y++) {
                    int src = iBase + (ci * h + y) * w, dst = ci * plane + (y + 1) * wp + 1;
                    for (int x = 0; x < full; x += VL) FloatVector.fromArray(S, in, src + x).intoArray(pad, dst + x);
                    if (full == w) continue;
                    // NOTE: a masked access that crosses the array's end checks its lanes out of line, far slower:
                    // the array's last row is copied
                    if (src + full + VL <= in.length) FloatVector.fromArray(S, in, src + full, rest).intoArray(pad, dst + full, rest);
                    else System.arraycopy(in, src + full, pad, dst + full, w - full);
                }
            }
        }
    }

    /** A thread's buffers: the padded sample, a panel's V and M, a sample's outputs, the transforms' 6 × 6 step. */
    private static final class Scratch {
        float[] pad = new float[0];
        float[] v = new float[0];
        float[] prod = new float[0];
        float[] one = new float[0]; // one sample's (m, h, w) outputs, for a sink or to accumulate
        float[] doutT = new float[0]; // the weight gradient: a sample's dout as (pixel, o) rows
        float[] dm = new float[0]; // the weight gradient: dM of a group of samples
        final float[] step = new float[40 * VL]; // input: 36 vectors; output: 24, then 16
        final float[] tile = new float[SimdGemm.MR * NR];
        final float[] block = new float[2 * 256]; // a 16 × 16 transpose and its scratch
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * As {@link SimdWinograd#convolve(float[], float[], SimdWinograd.Kernel3, float[], int, int, int, int, int, boolean, java.util.function.IntConsumer, SimdWinograd.Sink)}.
     * Where a sample is one block (conv2), two samples share a panel: the micro-kernel's full NR columns, where one
     * sample's VL columns ran the narrow kernel at 80 % of its rate.
     */
    static boolean convolve(float[] out, float[] in, SimdWinograd.Kernel3 weight, float[] bias, int n, int c, int m, int h, int w,
                            boolean accumulate, java.util.function.IntConsumer direct, SimdWinograd.Sink sink) {
        Layout l = Layout.of(c, m, h, w);
        float[] u = transformWeights(weight, c, m, l);
        int inStride = c * h * w, outStride = m * h * w;
        boolean pairs = l.pairs();
        java.util.concurrent.atomic.AtomicBoolean allFinite = new java.util.concurrent.atomic.AtomicBoolean(true);
        // NOTE: two lambdas, not one with a branch on the sink (see SimdWinograd.convolve)
        if (sink == null) {
            Parallel.forRange(n, 2, (n0, n1) -> {
                Scratch s = scratch(l);
                for (int a = n0; a < n1; a += pairs ? 2 : 1) {
                    int b = pairs && a + 1 < n1 ? a + 1 : -1;
                    int done = transform(s, l, u, in, a, b, inStride, allFinite, direct);
                    int col = 0;
                    for (int k = 0; k < 2; k++) {
                        if ((done & (1 << k)) == 0) continue;
                        int sample = k == 0 ? a : b;
                        if (!accumulate && (sample + 1) * outStride + VL <= out.length) {
                            transformOutput(out, sample * outStride, s.prod, bias, l, col, s.step);
                        } else if (!accumulate) { // the last sample: its last rows' masked stores would cross out's end
                            transformOutput(s.one, 0, s.prod, bias, l, col, s.step);
                            System.arraycopy(s.one, 0, out, sample * outStride, outStride);
                        } else {
                            transformOutput(s.one, 0, s.prod, bias, l, col, s.step);
                            add(out, sample * outStride, s.one, outStride);
                        }
                        col += l.vectors() * VL;
                    }
                }
            });
        } else {
            Parallel.forRange(n, 2, (n0, n1) -> {
                Scratch s = scratch(l);
                for (int a = n0; a < n1; a += pairs ? 2 : 1) {
                    int b = pairs && a + 1 < n1 ? a + 1 : -1;
                    int done = transform(s, l, u, in, a, b, inStride, allFinite, direct);
                    int col = 0;
                    for (int k = 0; k < 2; k++) {
                        if ((done & (1 << k)) == 0) continue;
                        transformOutput(s.one, 0, s.prod, bias, l, col, s.step);
                        sink.accept(k == 0 ? a : b, s.one);
                        col += l.vectors() * VL;
                    }
                }
            });
        }
        return allFinite.get();
    }

    private static Scratch scratch(Layout l) {
        Scratch s = SCRATCH.get();
        int padSize = l.c() * l.plane() + 2 * VL, outStride = l.m() * l.h() * l.w();
        if (s.pad.length < padSize) s.pad = new float[padSize];
        if (s.v.length < XI * l.vStride()) s.v = new float[XI * l.vStride()];
        if (s.prod.length < XI * l.mStride()) s.prod = new float[XI * l.mStride()];
        // NOTE: VL to spare, so that the masked stores of the last rows stay inside the array: a masked access that
        // crosses the array's end checks its lanes out of line (10,024 such calls in 10 training steps and a test pass)
        if (s.one.length < outStride + VL) s.one = new float[outStride + VL];
        java.util.Arrays.fill(s.pad, 0, padSize, 0f);
        return s;
    }

    /**
     * V of sample a's blocks, then (b ≥ 0) of sample b's, side by side in the panels, and M = U·V: returns which were
     * done (bit 0: a, bit 1: b; a sample holding NaN or ±∞ goes to {@code direct} instead, and the other one, if
     * any, takes the first columns).
     */
    private static int transform(Scratch s, Layout l, float[] u, float[] in, int a, int b, int inStride,
                                 java.util.concurrent.atomic.AtomicBoolean allFinite, java.util.function.IntConsumer direct) {
        int done = 0, cols = 0, per = l.vectors() * VL;
        for (int k = 0; k < 2; k++) {
            int sample = k == 0 ? a : b;
            if (sample < 0) continue;
            if (!SimdWinograd.finite(in, sample * inStride, (sample + 1) * inStride)) {
                allFinite.set(false);
                direct.accept(sample);
                continue;
            }
            l.copyIn(s.pad, in, sample * inStride);
            transformInput(s.v, s.pad, l, cols, s.step);
            cols += per;
            done |= 1 << k;
        }
        if (cols > 0) multiply(s.prod, u, s.v, l, cols, s.tile);
        return done;
    }
    /**
     * U(ξ,ν) = (G·g·Gᵀ)(ξ,ν) for every (o, ci), packed as the micro-kernel's A: for each of the 36 (ξ,ν), row tiles of
     * MR output channels as [c][MR] (rows past m repeat the last: computed, never stored). In double, rounded once.
     */
    static float[] transformWeights(SimdWinograd.Kernel3 weight, int c, int m, Layout l) {
        if (weight instanceof SimdWinograd.Strided k) return transformWeights(k, c, m, l);
        return transformWeightsReference(weight, c, m, l);
    }

    /** {@link #transformWeights} one kernel at a time: the reference for the tiled path below. */
    static float[] transformWeightsReference(SimdWinograd.Kernel3 weight, int c, int m, Layout l) {
        int tiles = l.mRows() / MR;
        float[] u = new float[XI * l.mRows() * c];
        // NOTE: a tile's 8 output channels innermost: the 36 values of a kernel go 8 KB apart, and with the output
        // channel outermost each went to a line evicted since the last (0.76 ms a step on one thread for conv2's two)
        Parallel.forRange(tiles, 1, (t0, t1) -> {
            double[] gg = new double[18], t = new double[XI];
            for (int tile = t0; tile < t1; tile++) {
                for (int ci = 0; ci < c; ci++) {
                    for (int r = 0; r < MR; r++) {
                        int src = Math.min(tile * MR + r, m - 1);
                        for (int col = 0; col < 3; col++) { // G·g, column by column
                            double g0 = weight.at(src, ci, col), g1 = weight.at(src, ci, 3 + col), g2 = weight.at(src, ci, 6 + col);
                            kernelColumn(gg, col, 3, g0, g1, g2);
                        }
                        for (int row = 0; row < 6; row++) { // (G·g)·Gᵀ: the same on each row
                            kernelColumn(t, 6 * row, 1, gg[3 * row], gg[3 * row + 1], gg[3 * row + 2]);
                        }
                        for (int xi = 0; xi < XI; xi++) u[((xi * tiles + tile) * c + ci) * MR + r] = (float) t[xi];
                    }
                }
            }
        });
        return u;
    }

    /**
     * {@link #transformWeights} a tile of MR output channels at a time, from the array: the same double operations in the same
     * order as {@link #kernelColumn}, rounded once, so the same bits as the reference. NOTE: one kernel at a time this
     * took 0.2 ms a call for conv2 on 2 threads (twice a step).
     */
    private static float[] transformWeights(SimdWinograd.Strided k, int c, int m, Layout l) {
        int tiles = l.mRows() / MR;
        float[] u = new float[XI * l.mRows() * c], w = k.w();
        Parallel.forRange(tiles, 1, (t0, t1) -> {
            int[] rows = new int[MR];
            double[] g = new double[9 * MR], gg = new double[18 * MR], t = new double[XI * MR];
            for (int tile = t0; tile < t1; tile++) {
                for (int r = 0; r < MR; r++) rows[r] = Math.min(tile * MR + r, m - 1) * k.strideO();
                for (int ci = 0; ci < c; ci++) {
                    int base = ci * k.strideC();
                    // NOTE: the gathers and conversions by scalar code: a 256-bit float gather and F2D/D2F conversions
                    // here, beside the kernels' 512-bit ones, made the Vector API's shared gather and conversion code
                    // polymorphic, and the RNN's product (its packing gathers) ran 15-35 % slower
                    for (int tap = 0; tap < 9; tap++) { // the tile's MR kernels' tap, as doubles
                        int at = base + (k.flipped() ? 8 - tap : tap);
                        for (int r = 0; r < MR; r++) g[tap * MR + r] = w[at + rows[r]];
                    }
                    for (int col = 0; col < 3; col++) kernelColumns(gg, col, 3, g, col, 3 + col, 6 + col); // G·g
                    for (int row = 0; row < 6; row++) kernelColumns(t, 6 * row, 1, gg, 3 * row, 3 * row + 1, 3 * row + 2); // ·Gᵀ
                    for (int xi = 0; xi < XI; xi++) {
                        int dst = ((xi * tiles + tile) * c + ci) * MR;
                        for (int r = 0; r < MR; r++) u[dst + r] = (float) t[xi * MR + r];
                    }
                }
            }
        });
        return u;
    }

    /**
     * {@link #kernelColumn} for MR kernels at once, vector i of an array (MR doubles) at {@code i·MR}: plain loops
     * over the kernels, which C2 vectorises. NOTE: not the Vector API, whose generic code (50-100 times slower) ran
     * this in the first training steps, before C2 had compiled it, and made the first step 0.1-0.4 s longer.
     */
    private static void kernelColumns(double[] dst, int at, int step, double[] src, int i0, int i1, int i2) {
        for (int r = 0; r < MR; r++) {
            double g0 = src[i0 * MR + r], g1 = src[i1 * MR + r], g2 = src[i2 * MR + r];
            double odd = g1 * SIXTH, even = (g0 + g2) * SIXTH, quarter = g0 * TWENTY_FOURTH + g2 * SIXTH, half = g1 * TWELFTH;
            dst[at * MR + r] = g0 * 0.25;
            dst[(at + step) * MR + r] = -even - odd;
            dst[(at + 2 * step) * MR + r] = odd - even;
            dst[(at + 3 * step) * MR + r] = quarter + half;
            dst[(at + 4 * step) * MR + r] = quarter - half;
            dst[(at + 5 * step) * MR + r] = g2;
        }
    }

    private static final double SIXTH = 1.0 / 6, TWELFTH = 1.0 / 12, TWENTY_FOURTH = 1.0 / 24;

    /**
     * G·(g0, g1, g2)ᵀ into {@code dst[at + k·step]}, k = 0..5. NOTE: by the reciprocals, not divisions: 63 double
     * divisions per kernel made this transform (twice a step) 2.8 % of a training step's samples.
     */
    private static void kernelColumn(double[] dst, int at, int step, double g0, double g1, double g2) {
        double odd = g1 * SIXTH, even = (g0 + g2) * SIXTH, quarter = g0 * TWENTY_FOURTH + g2 * SIXTH, half = g1 * TWELFTH;
        dst[at] = g0 * 0.25;
        dst[at + step] = -even - odd;
        dst[at + 2 * step] = odd - even;
        dst[at + 3 * step] = quarter + half;
        dst[at + 4 * step] = quarter - half;
        dst[at + 5 * step] = g2;
    }

    /**
     * V = Bᵀ·d·B for every input channel and block of one sample (its padded planes in {@code pad}), into V's columns
     * from {@code col0} on: V(ξ,ν) of channel ci and column j at {@code v[(6ξ + ν)·vStride + vAt(j) + ci·NR]}. Per
     * window row a, the six columns come from the block's four tile rows by shuffles (columns 4 and 5 from loads four
     * columns on), then d·B runs along the row into {@code step}; then Bᵀ· down each column. With d0..d5 a row or a
     * column, (d·B) and (Bᵀ·d) are
     * <pre>
     *   v0 = 4d0 − 5d2 + d4       v1 = (d4 − 4d2) + (d3 − 4d1)   v2 = (d4 − 4d2) − (d3 − 4d1)
     *   v3 = (d4 − d2) + 2(d3 − d1)   v4 = (d4 − d2) − 2(d3 − d1)   v5 = 4d1 − 5d3 + d5
     * </pre>
     * NOTE: written out, shuffles as constants and no helper returning a vector (see {@link SimdWinograd}'s notes).
     */
    static void transformInput(float[] v, float[] pad, Layout l, int col0, float[] step) {
        transformInput(v, pad, l, col0, l.vStride(), NR, true, step);
    }

    /**
     * {@link #transformInput(float[], float[], Layout, int, float[])} with V's layout given: (ξ,ν) {@code xiStride}
     * apart, channels {@code cStride}, columns in panels of NR ({@code panels}: the forward pass's B) or in one row
     * per channel (the weight gradient's A).
     */
    static void transformInput(float[] v, float[] pad, Layout l, int col0, int xiStride, int cStride, boolean panels, float[] step) {
        int c = l.c(), wp = l.wp(), plane = l.plane(), bx = l.blocksX();
        FloatVector n4 = FloatVector.broadcast(S, -4f), n5 = FloatVector.broadcast(S, -5f), p4 = FloatVector.broadcast(S, 4f);
        for (int vec = 0; vec < l.vectors(); vec++) {
            int base = (vec / bx) * 16 * wp + (vec % bx) * 16, col = col0 + vec * VL, av = panels ? l.vAt(col) : col;
            for (int ci = 0; ci < c; ci++) {
                int r = ci * plane + base;
                for (int a = 0; a < 6; a++) {
                    int ra = r + a * wp;
                    FloatVector r0 = FloatVector.fromArray(S, pad, ra), r1 = FloatVector.fromArray(S, pad, ra + 4 * wp);
                    FloatVector r2 = FloatVector.fromArray(S, pad, ra + 8 * wp), r3 = FloatVector.fromArray(S, pad, ra + 12 * wp);
                    FloatVector t0 = r0.rearrange(P0, r1), t1 = r2.rearrange(P0, r3);
                    FloatVector d0 = t0.rearrange(SEL0, t1), d1 = t0.rearrange(SEL1, t1);
                    t0 = r0.rearrange(P1, r1);
                    t1 = r2.rearrange(P1, r3);
                    FloatVector d2 = t0.rearrange(SEL0, t1), d3 = t0.rearrange(SEL1, t1);
                    r0 = FloatVector.fromArray(S, pad, ra + 4);
                    r1 = FloatVector.fromArray(S, pad, ra + 4 + 4 * wp);
                    r2 = FloatVector.fromArray(S, pad, ra + 4 + 8 * wp);
                    r3 = FloatVector.fromArray(S, pad, ra + 4 + 12 * wp);
                    t0 = r0.rearrange(P0, r1);
                    t1 = r2.rearrange(P0, r3);
                    FloatVector d4 = t0.rearrange(SEL0, t1), d5 = t0.rearrange(SEL1, t1);
                    FloatVector p = d2.fma(n4, d4), q = d1.fma(n4, d3), s = d4.sub(d2), e = d3.sub(d1).mul(2f);
                    int at = a * 6 * VL;
                    d0.fma(p4, d2.fma(n5, d4)).intoArray(step, at);
                    p.add(q).intoArray(step, at + VL);
                    p.sub(q).intoArray(step, at + 2 * VL);
                    s.add(e).intoArray(step, at + 3 * VL);
                    s.sub(e).intoArray(step, at + 4 * VL);
                    d1.fma(p4, d3.fma(n5, d5)).intoArray(step, at + 5 * VL);
                }
                int at = ci * cStride + av;
                for (int nu = 0; nu < 6; nu++) {
                    FloatVector d0 = FloatVector.fromArray(S, step, nu * VL), d1 = FloatVector.fromArray(S, step, (6 + nu) * VL);
                    FloatVector d2 = FloatVector.fromArray(S, step, (12 + nu) * VL), d3 = FloatVector.fromArray(S, step, (18 + nu) * VL);
                    FloatVector d4 = FloatVector.fromArray(S, step, (24 + nu) * VL), d5 = FloatVector.fromArray(S, step, (30 + nu) * VL);
                    FloatVector p = d2.fma(n4, d4), q = d1.fma(n4, d3), s = d4.sub(d2), e = d3.sub(d1).mul(2f);
                    int o = at + nu * xiStride;
                    d0.fma(p4, d2.fma(n5, d4)).intoArray(v, o);
                    p.add(q).intoArray(v, o + 6 * xiStride);
                    p.sub(q).intoArray(v, o + 12 * xiStride);
                    s.add(e).intoArray(v, o + 18 * xiStride);
                    s.sub(e).intoArray(v, o + 24 * xiStride);
                    d1.fma(p4, d3.fma(n5, d5)).intoArray(v, o + 30 * xiStride);
                }
            }
        }
    }

    /** M(ξ,ν) (mRows × cols) = U(ξ,ν)·V(ξ,ν) for the 36 (ξ,ν), panel by panel (the last one may be one vector). */
    static void multiply(float[] prod, float[] u, float[] v, Layout l, int cols, float[] tile) {
        int c = l.c(), tiles = l.mRows() / MR;
        for (int xi = 0; xi < XI; xi++) {
            for (int q = 0; q * NR < cols; q++) {
                int used = Math.min(NR, cols - q * NR), bIdx = xi * l.vStride() + q * c * NR;
                for (int t = 0; t < tiles; t++) {
                    int aIdx = (xi * tiles + t) * c * MR, cIdx = xi * l.mStride() + q * l.mRows() * NR + t * MR * NR;
                    if (used <= VL) kernelBlock(c, u, aIdx, v, bIdx, prod, cIdx);
                    else kernel8(c, u, aIdx, 1, MR, v, bIdx, prod, cIdx, NR, false);
                }
            }
        }
    }

    /**
     * {@code C[8 × NR] (=|+=) A·B} over kc steps: A's element (r, p) at {@code a[aIdx + r·rStep + p·pStep]} (packed:
     * rStep 1, pStep 8; rows of the weight gradient's V: rStep its row length, pStep 1), B packed as [kc][NR], C's
     * rows ldc apart, all 8 × NR stored (the callers' C has room for them).
     */
    static void kernel8(int kc, float[] a, int aIdx, int rStep, int pStep, float[] b, int bIdx, float[] c, int cIdx, int ldc,
                        boolean add) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S), c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
        int r1 = aIdx + rStep, r2 = r1 + rStep, r3 = r2 + rStep, r4 = r3 + rStep, r5 = r4 + rStep, r6 = r5 + rStep, r7 = r6 + rStep;
        // NOTE: indices linear in p with a constant stride, so C2 hoists the range checks (as SimdGemm's kernels)
        for (int p = 0; p < kc; p++) {
            int pa = p * pStep, pb = bIdx + p * NR;
            FloatVector b0 = FloatVector.fromArray(S, b, pb), b1 = FloatVector.fromArray(S, b, pb + VL), av;
            av = FloatVector.broadcast(S, a[aIdx + pa]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[r1 + pa]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[r2 + pa]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[r3 + pa]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[r4 + pa]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[r5 + pa]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            av = FloatVector.broadcast(S, a[r6 + pa]);
            c60 = av.fma(b0, c60);
            c61 = av.fma(b1, c61);
            av = FloatVector.broadcast(S, a[r7 + pa]);
            c70 = av.fma(b0, c70);
            c71 = av.fma(b1, c71);
        }
        if (add) {
            c00 = c00.add(FloatVector.fromArray(S, c, cIdx));
            c01 = c01.add(FloatVector.fromArray(S, c, cIdx + VL));
            c10 = c10.add(FloatVector.fromArray(S, c, cIdx + ldc));
            c11 = c11.add(FloatVector.fromArray(S, c, cIdx + ldc + VL));
            c20 = c20.add(FloatVector.fromArray(S, c, cIdx + 2 * ldc));
            c21 = c21.add(FloatVector.fromArray(S, c, cIdx + 2 * ldc + VL));
            c30 = c30.add(FloatVector.fromArray(S, c, cIdx + 3 * ldc));
            c31 = c31.add(FloatVector.fromArray(S, c, cIdx + 3 * ldc + VL));
            c40 = c40.add(FloatVector.fromArray(S, c, cIdx + 4 * ldc));
            c41 = c41.add(FloatVector.fromArray(S, c, cIdx + 4 * ldc + VL));
            c50 = c50.add(FloatVector.fromArray(S, c, cIdx + 5 * ldc));
            c51 = c51.add(FloatVector.fromArray(S, c, cIdx + 5 * ldc + VL));
            c60 = c60.add(FloatVector.fromArray(S, c, cIdx + 6 * ldc));
            c61 = c61.add(FloatVector.fromArray(S, c, cIdx + 6 * ldc + VL));
            c70 = c70.add(FloatVector.fromArray(S, c, cIdx + 7 * ldc));
            c71 = c71.add(FloatVector.fromArray(S, c, cIdx + 7 * ldc + VL));
        }
        c00.intoArray(c, cIdx);
        c01.intoArray(c, cIdx + VL);
        c10.intoArray(c, cIdx + ldc);
        c11.intoArray(c, cIdx + ldc + VL);
        c20.intoArray(c, cIdx + 2 * ldc);
        c21.intoArray(c, cIdx + 2 * ldc + VL);
        c30.intoArray(c, cIdx + 3 * ldc);
        c31.intoArray(c, cIdx + 3 * ldc + VL);
        c40.intoArray(c, cIdx + 4 * ldc);
        c41.intoArray(c, cIdx + 4 * ldc + VL);
        c50.intoArray(c, cIdx + 5 * ldc);
        c51.intoArray(c, cIdx + 5 * ldc + VL);
        c60.intoArray(c, cIdx + 6 * ldc);
        c61.intoArray(c, cIdx + 6 * ldc + VL);
        c70.intoArray(c, cIdx + 7 * ldc);
        c71.intoArray(c, cIdx + 7 * ldc + VL);
    }

    /**
     * An 8 × VL tile of M from kc steps of 8 broadcasts of packed A × one vector of B, stored whole: M has mRows
     * rows (a multiple of 8), so no row is out of bounds and no copy through a tile is needed.
     */
    private static void kernelBlock(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
        FloatVector c4 = FloatVector.zero(S), c5 = FloatVector.zero(S), c6 = FloatVector.zero(S), c7 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int pa = aIdx + p * MR;
            FloatVector b = FloatVector.fromArray(S, bp, bIdx + p * NR);
            c0 = FloatVector.broadcast(S, ap[pa]).fma(b, c0);
            c1 = FloatVector.broadcast(S, ap[pa + 1]).fma(b, c1);
            c2 = FloatVector.broadcast(S, ap[pa + 2]).fma(b, c2);
            c3 = FloatVector.broadcast(S, ap[pa + 3]).fma(b, c3);
            c4 = FloatVector.broadcast(S, ap[pa + 4]).fma(b, c4);
            c5 = FloatVector.broadcast(S, ap[pa + 5]).fma(b, c5);
            c6 = FloatVector.broadcast(S, ap[pa + 6]).fma(b, c6);
            c7 = FloatVector.broadcast(S, ap[pa + 7]).fma(b, c7);
        }
        c0.intoArray(c, cIdx);
        c1.intoArray(c, cIdx + NR);
        c2.intoArray(c, cIdx + 2 * NR);
        c3.intoArray(c, cIdx + 3 * NR);
        c4.intoArray(c, cIdx + 4 * NR);
        c5.intoArray(c, cIdx + 5 * NR);
        c6.intoArray(c, cIdx + 6 * NR);
        c7.intoArray(c, cIdx + 7 * NR);
    }

    /**
     * Y = Aᵀ·M·A (+ bias) for every output channel and block of one sample (M's columns from {@code col0} on), into
     * {@code dst[at..]} as (m, h, w). With m0..m5 a row or a column, a = m1 + m2, b = m1 − m2, c = m3 + m4,
     * d = m3 − m4: y0 = m0 + a + c, y1 = b + 2d, y2 = a + 4c, y3 = b + 8d + m5. Rows of M first (into {@code step}),
     * then columns, then the 4 × 4 outputs of the 16 tiles back to the block's rows by shuffles, stored with a mask
     * where a block is cut by the image's right edge (rows past its bottom edge are not stored).
     */
    static void transformOutput(float[] dst, int dstAt, float[] prod, float[] bias, Layout l, int col0, float[] step) {
        int h = l.h(), w = l.w(), bx = l.blocksX(), xiStride = l.mStride();
        FloatVector p2 = FloatVector.broadcast(S, 2f), p4 = FloatVector.broadcast(S, 4f), p8 = FloatVector.broadcast(S, 8f);
        for (int vec = 0; vec < l.vectors(); vec++) {
            int y0 = (vec / bx) * 16, x0 = (vec % bx) * 16, av = l.mAt(col0 + vec * VL);
            VectorMask<Float> keep = S.indexInRange(x0, w);
            for (int o = 0; o < l.m(); o++) {
                // NOTE: without a bias, −0 is added (x + (−0) is x), as in SimdWinograd.transformOutput
                float bo = bias == null ? -0.0f : bias[o];
                int at = o * NR + av;
                for (int xi = 0; xi < 6; xi++) { // M·A along each row ξ: into step[(4ξ + j)·VL]
                    int r = at + 6 * xi * xiStride;
                    FloatVector m0 = FloatVector.fromArray(S, prod, r), m1 = FloatVector.fromArray(S, prod, r + xiStride);
                    FloatVector m2 = FloatVector.fromArray(S, prod, r + 2 * xiStride), m3 = FloatVector.fromArray(S, prod, r + 3 * xiStride);
                    FloatVector m4 = FloatVector.fromArray(S, prod, r + 4 * xiStride), m5 = FloatVector.fromArray(S, prod, r + 5 * xiStride);
                    FloatVector a = m1.add(m2), b = m1.sub(m2), cc = m3.add(m4), d = m3.sub(m4);
                    int s = 4 * xi * VL;
                    m0.add(a).add(cc).intoArray(step, s);
                    d.fma(p2, b).intoArray(step, s + VL);
                    cc.fma(p4, a).intoArray(step, s + 2 * VL);
                    d.fma(p8, b).add(m5).intoArray(step, s + 3 * VL);
                }
                for (int j = 0; j < 4; j++) { // Aᵀ· down each column j: Y(i, j) into step[(24 + 4i + j)·VL]
                    FloatVector m0 = FloatVector.fromArray(S, step, j * VL), m1 = FloatVector.fromArray(S, step, (4 + j) * VL);
                    FloatVector m2 = FloatVector.fromArray(S, step, (8 + j) * VL), m3 = FloatVector.fromArray(S, step, (12 + j) * VL);
                    FloatVector m4 = FloatVector.fromArray(S, step, (16 + j) * VL), m5 = FloatVector.fromArray(S, step, (20 + j) * VL);
                    FloatVector a = m1.add(m2), b = m1.sub(m2), cc = m3.add(m4), d = m3.sub(m4);
                    int s = (24 + j) * VL;
                    m0.add(a).add(cc).add(bo).intoArray(step, s);
                    d.fma(p2, b).add(bo).intoArray(step, s + 4 * VL);
                    cc.fma(p4, a).add(bo).intoArray(step, s + 8 * VL);
                    d.fma(p8, b).add(m5).add(bo).intoArray(step, s + 12 * VL);
                }
                for (int i = 0; i < 4; i++) { // outputs (i, j) of the 16 tiles → rows y0 + 4ty + i
                    int s = (24 + 4 * i) * VL;
                    FloatVector y0v = FloatVector.fromArray(S, step, s), y1v = FloatVector.fromArray(S, step, s + VL);
                    FloatVector y2v = FloatVector.fromArray(S, step, s + 2 * VL), y3v = FloatVector.fromArray(S, step, s + 3 * VL);
                    FloatVector t00 = y0v.rearrange(Q0, y1v), t01 = y2v.rearrange(Q0, y3v);
                    FloatVector t10 = y0v.rearrange(Q1, y1v), t11 = y2v.rearrange(Q1, y3v);
                    int y = y0 + i, out = dstAt + (o * h + y) * w + x0;
                    if (y < h) t00.rearrange(U0, t01).intoArray(dst, out, keep);
                    if (y + 4 < h) t00.rearrange(U1, t01).intoArray(dst, out + 4 * w, keep);
                    if (y + 8 < h) t10.rearrange(U0, t11).intoArray(dst, out + 8 * w, keep);
                    if (y + 12 < h) t10.rearrange(U1, t11).intoArray(dst, out + 12 * w, keep);
                }
            }
        }
    }

    /** {@code out[at, at + len) += add[0, len)}. */
    static void add(float[] out, int at, float[] add, int len) {
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += VL) {
            FloatVector.fromArray(S, out, at + i).add(FloatVector.fromArray(S, add, i)).intoArray(out, at + i);
        }
        for (; i < len; i++) out[at + i] += add[i];
    }
    /**
     * {@code dweight += ∂L/∂W} for {@code out = conv(in, W)} by the transforms run backwards, as
     * {@link SimdWinograd#backwardWeight} does with F(2×2):
     * <pre>
     *   dM = A·dY·Aᵀ                  per (output channel, tile): its 4×4 output gradient as 6×6
     *   dU(ξ,ν) += V(ξ,ν)·dM(ξ,ν)ᵀ    36 products (C × tiles)·(tiles × M), summed over every tile of every sample
     *   dW = Gᵀ·dU·G                  per (output channel, input channel), once at the end, in double
     * </pre>
     * The caller checks that in and dout are finite. Samples go {@link #group} at a time into one product (conv2's
     * 16 tiles a sample make too short a sum for the micro-kernel). Partial sums per chunk of samples, the chunks
     * fixed by n and the thread count and added in chunk order, as {@link SimdConv}'s weight gradients.
     */
    static void backwardWeight(float[] dweight, float[] dout, float[] in, int n, int c, int m, int h, int w) {
        Layout l = Layout.of(c, m, h, w);
        int per = l.vectors() * VL, group = Math.max(1, 64 / per), kMax = group * per;
        int oPanels = (m + NR - 1) / NR, mCols = oPanels * NR, tw = 16 * l.blocksX(), tPlane = 16 * l.blocksY() * tw;
        int vxi = c * kMax + 16, dxi = oPanels * kMax * NR + 16; // (ξ,ν) strides of V and dM: one line more (L1 sets)
        int inStride = c * h * w, outStride = m * h * w;
        int chunks = Math.min(Parallel.chunks(n, 1), n);
        if (chunks == 0) return;
        float[][] partial = SimdConv.partials(chunks, XI * c * mCols);
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            Scratch s = SCRATCH.get();
            int padSize = c * l.plane() + 2 * VL;
            if (s.pad.length < padSize) s.pad = new float[padSize];
            if (s.v.length < XI * vxi) s.v = new float[XI * vxi];
            if (s.dm.length < XI * dxi) s.dm = new float[XI * dxi];
            if (s.doutT.length < tPlane * mCols) s.doutT = new float[tPlane * mCols];
            java.util.Arrays.fill(s.pad, 0, padSize, 0f);
            java.util.Arrays.fill(s.doutT, 0, tPlane * mCols, 0f); // the columns past m, and the pixels past the image, stay zero
            for (int chunk = c0; chunk < c1; chunk++) {
                float[] du = partial[chunk]; // dUᵀ: [(ξ,ν)][ci][o], rows of mCols
                int nFrom = (int) ((long) n * chunk / chunks), nTo = (int) ((long) n * (chunk + 1) / chunks);
                for (int g0 = nFrom; g0 < nTo; g0 += group) {
                    int k = Math.min(group, nTo - g0) * per; // the product's depth: this group's tiles
                    for (int sample = g0; sample < g0 + k / per; sample++) {
                        int col = (sample - g0) * per;
                        l.copyIn(s.pad, in, sample * inStride);
                        transformInput(s.v, s.pad, l, col, vxi, k, false, s.step);
                        transpose(s.doutT, dout, sample * outStride, l, tw, mCols, s.block);
                        transformGradient(s.dm, s.doutT, l, tw, mCols, col, k, dxi, s.step);
                    }
                    boolean add = g0 > nFrom; // the chunk's first group overwrites its (reused) partial sum
                    for (int xi = 0; xi < XI; xi++) {
                        if (c % MR == 0) { // whole tiles of 8 input channels; dU's columns past m are zeros (dM's are)
                            for (int ci = 0; ci < c; ci += MR) {
                                for (int q = 0; q < oPanels; q++) {
                                    kernel8(k, s.v, xi * vxi + ci * k, k, 1, s.dm, xi * dxi + q * k * NR, du,
                                            (xi * c + ci) * mCols + q * NR, mCols, add);
                                }
                            }
                            continue;
                        }
                        for (int ci = 0; ci < c; ci += SimdGemm.MR) {
                            int mr = Math.min(SimdGemm.MR, c - ci), last = c - 1, a = xi * vxi;
                            int a0 = a + ci * k, a1 = a + Math.min(ci + 1, last) * k, a2 = a + Math.min(ci + 2, last) * k;
                            int a3 = a + Math.min(ci + 3, last) * k, a4 = a + Math.min(ci + 4, last) * k;
                            int a5 = a + Math.min(ci + 5, last) * k;
                            for (int q = 0; q < oPanels; q++) {
                                SimdGemm.kernel(k, false, s.v, a0, a1, a2, a3, a4, a5, 1, s.dm, xi * dxi + q * k * NR,
                                        du, (xi * c + ci) * mCols + q * NR, mCols, mr, Math.min(NR, m - q * NR), add, s.tile);
                            }
                        }
                    }
                }
            }
        });
        SimdWinograd.sumChunks(partial, chunks, XI * c * mCols);
        Parallel.forRange(m, 8, (o0, o1) -> gradientToWeights(dweight, partial, c, mCols, o0, o1));
    }

    /**
     * {@code dst[(y·tw + x)·ldd + o] = src[from + o·h·w + y·w + x]}: one sample's (m, h, w) gradient as rows of m, by
     * 16 × 16 blocks (16 channels × 16 consecutive pixels) transposed in registers ({@link #transpose16}); the last
     * block of a plane overlaps the one before (its pixels written twice, the same values).
     * NOTE: one gather of 16 channels per pixel and vector (as {@link SimdWinograd}'s transpose does) took 24 % of
     * this weight gradient (0.81 of 3.4 ms on one thread).
     */
    private static void transpose(float[] dst, float[] src, int from, Layout l, int tw, int ldd, float[] buf) {
        int h = l.h(), w = l.w(), plane = h * w, m = l.m(), full = plane >= VL ? m / VL * VL : 0;
        for (int o = 0; o < full; o += VL) {
            for (int p0 = 0; p0 < plane; p0 += VL) {
                int p = Math.min(p0, plane - VL), at = from + o * plane + p;
                for (int k = 0; k < VL; k++) FloatVector.fromArray(S, src, at + k * plane).intoArray(buf, k * VL);
                transpose16(buf);
                int y = p / w, x = p % w; // NOTE: stepped, not divided per pixel: 16 divisions took longer than the transpose
                for (int i = 0; i < VL; i++) {
                    FloatVector.fromArray(S, buf, i * VL).intoArray(dst, (y * tw + x) * ldd + o);
                    if (++x == w) {
                        x = 0;
                        y++;
                    }
                }
            }
        }
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int at = from + y * w + x, d = (y * tw + x) * ldd;
                for (int o = full; o < m; o++) dst[d + o] = src[at + o * plane];
            }
        }
    }

    /*
     * A 16 × 16 transpose in four rounds: round b (8, 4, 2, 1) takes vectors r and r + b (bit b of r clear) and swaps
     * bit b of the vector index with bit b of the lane: LO_b keeps the lanes with that bit clear from both (b lanes
     * of r, then b of r + b, alternately), HI_b the lanes with it set.
     */
    static final VectorShuffle<Float> LO8 = shuffle(i -> half(i, 8, 0)), HI8 = shuffle(i -> half(i, 8, 8));
    static final VectorShuffle<Float> LO4 = shuffle(i -> half(i, 4, 0)), HI4 = shuffle(i -> half(i, 4, 4));
    static final VectorShuffle<Float> LO2 = shuffle(i -> half(i, 2, 0)), HI2 = shuffle(i -> half(i, 2, 2));
    static final VectorShuffle<Float> LO1 = shuffle(i -> half(i, 1, 0)), HI1 = shuffle(i -> half(i, 1, 1));

    private static int half(int lane, int b, int high) {
        int blk = lane / b, src = blk / 2 * 2 * b + high + lane % b;
        return blk % 2 == 0 ? src : src - VL;
    }

    /** Transposes the 16 × 16 matrix at {@code buf[0, 256)} (row r at 16·r) in place; {@code buf[256, 512)} is scratch. */
    static void transpose16(float[] buf) {
        for (int i = 0; i < 8; i++) { // round 8: 0 → 256
            int r = i;
            FloatVector a = FloatVector.fromArray(S, buf, r * VL), b = FloatVector.fromArray(S, buf, (r + 8) * VL);
            a.rearrange(LO8, b).intoArray(buf, 256 + r * VL);
            a.rearrange(HI8, b).intoArray(buf, 256 + (r + 8) * VL);
        }
        for (int i = 0; i < 8; i++) { // round 4: 256 → 0
            int r = i / 4 * 8 + i % 4;
            FloatVector a = FloatVector.fromArray(S, buf, 256 + r * VL), b = FloatVector.fromArray(S, buf, 256 + (r + 4) * VL);
            a.rearrange(LO4, b).intoArray(buf, r * VL);
            a.rearrange(HI4, b).intoArray(buf, (r + 4) * VL);
        }
        for (int i = 0; i < 8; i++) { // round 2: 0 → 256
            int r = i / 2 * 4 + i % 2;
            FloatVector a = FloatVector.fromArray(S, buf, r * VL), b = FloatVector.fromArray(S, buf, (r + 2) * VL);
            a.rearrange(LO2, b).intoArray(buf, 256 + r * VL);
            a.rearrange(HI2, b).intoArray(buf, 256 + (r + 2) * VL);
        }
        for (int i = 0; i < 8; i++) { // round 1: 256 → 0
            int r = 2 * i;
            FloatVector a = FloatVector.fromArray(S, buf, 256 + r * VL), b = FloatVector.fromArray(S, buf, 256 + (r + 1) * VL);
            a.rearrange(LO1, b).intoArray(buf, r * VL);
            a.rearrange(HI1, b).intoArray(buf, (r + 1) * VL);
        }
    }

    /**
     * dM = A·dY·Aᵀ for every tile of one sample, from its gradient as (pixel, o) rows, into the micro-kernel's B
     * panels: for each (ξ,ν), panels of NR output channels as [k][NR], the sample's tiles at rows col.. . With
     * d0..d3 a row or a column of dY, A·d is (d0, s + t, s − t, u + v, u − v, d3) with s = d0 + d2, t = d1 + d3,
     * u = d0 + 4d2, v = 2(d1 + 4d3). Vectors run over output channels; rows first (into {@code step}), then columns.
     */
    private static void transformGradient(float[] dm, float[] doutT, Layout l, int tw, int mCols, int col, int k, int xiStride,
                                          float[] step) {
        int bx = l.blocksX();
        FloatVector p2 = FloatVector.broadcast(S, 2f), p4 = FloatVector.broadcast(S, 4f);
        for (int slot = 0; slot < l.vectors() * VL; slot++) {
            int vec = slot / VL, t = slot % VL, y = (vec / bx) * 16 + 4 * (t / 4), x = (vec % bx) * 16 + 4 * (t % 4);
            for (int o = 0; o < mCols; o += VL) {
                for (int i = 0; i < 4; i++) { // A· along row i of the tile: into step[(6i + ν)·VL]
                    int p = ((y + i) * tw + x) * mCols + o;
                    FloatVector d0 = FloatVector.fromArray(S, doutT, p), d1 = FloatVector.fromArray(S, doutT, p + mCols);
                    FloatVector d2 = FloatVector.fromArray(S, doutT, p + 2 * mCols), d3 = FloatVector.fromArray(S, doutT, p + 3 * mCols);
                    FloatVector sv = d0.add(d2), tv = d1.add(d3), u = d2.fma(p4, d0), v = d3.fma(p4, d1).mul(p2);
                    int at = 6 * i * VL;
                    d0.intoArray(step, at);
                    sv.add(tv).intoArray(step, at + VL);
                    sv.sub(tv).intoArray(step, at + 2 * VL);
                    u.add(v).intoArray(step, at + 3 * VL);
                    u.sub(v).intoArray(step, at + 4 * VL);
                    d3.intoArray(step, at + 5 * VL);
                }
                int at = (o / NR) * k * NR + (col + slot) * NR + o % NR;
                for (int nu = 0; nu < 6; nu++) { // A· down each column ν: dM(ξ, ν)
                    FloatVector d0 = FloatVector.fromArray(S, step, nu * VL), d1 = FloatVector.fromArray(S, step, (6 + nu) * VL);
                    FloatVector d2 = FloatVector.fromArray(S, step, (12 + nu) * VL), d3 = FloatVector.fromArray(S, step, (18 + nu) * VL);
                    FloatVector sv = d0.add(d2), tv = d1.add(d3), u = d2.fma(p4, d0), v = d3.fma(p4, d1).mul(p2);
                    int q = at + nu * xiStride;
                    d0.intoArray(dm, q);
                    sv.add(tv).intoArray(dm, q + 6 * xiStride);
                    sv.sub(tv).intoArray(dm, q + 12 * xiStride);
                    u.add(v).intoArray(dm, q + 18 * xiStride);
                    u.sub(v).intoArray(dm, q + 24 * xiStride);
                    d3.intoArray(dm, q + 30 * xiStride);
                }
            }
        }
    }

    /**
     * {@link #backwardWeight}'s last step for output channels [o0, o1): dW += Gᵀ·dU·G, dU the chunks' sum (in
     * {@code partial[0]}). Gᵀ·(c0..c5) = (c0/4 − (c1 + c2)/6 + (c3 + c4)/24,
     * (c2 − c1)/6 + (c3 − c4)/12, −(c1 + c2)/6 + (c3 + c4)/6 + c5).
     */
    private static void gradientToWeights(float[] dweight, float[][] partial, int c, int mCols, int o0, int o1) {
        float[] du = partial[0];
        int stride = c * mCols;
        double[] t = new double[18], col = new double[3];
        for (int o = o0; o < o1; o++) {
            for (int ci = 0; ci < c; ci++) {
                int at = ci * mCols + o;
                for (int xi = 0; xi < 6; xi++) { // dU·G on row ξ: columns (ν) → kx
                    int r = at + 6 * xi * stride;
                    transposedKernelColumn(t, 3 * xi, 1, du[r], du[r + stride], du[r + 2 * stride], du[r + 3 * stride],
                            du[r + 4 * stride], du[r + 5 * stride]);
                }
                int k = (o * c + ci) * 9;
                for (int kx = 0; kx < 3; kx++) { // Gᵀ· on each column: rows (ξ) → ky
                    transposedKernelColumn(col, 0, 1, t[kx], t[3 + kx], t[6 + kx], t[9 + kx], t[12 + kx], t[15 + kx]);
                    dweight[k + kx] += (float) col[0];
                    dweight[k + 3 + kx] += (float) col[1];
                    dweight[k + 6 + kx] += (float) col[2];
                }
            }
        }
    }

    /** Gᵀ·(c0..c5) into {@code dst[at + k·step]}, k = 0..2. */
    private static void transposedKernelColumn(double[] dst, int at, int step, double c0, double c1, double c2, double c3, double c4,
                                               double c5) {
        double s12 = c1 + c2, s34 = c3 + c4;
        dst[at] = c0 * 0.25 - s12 * SIXTH + s34 * TWENTY_FOURTH;
        dst[at + step] = (c2 - c1) * SIXTH + (c3 - c4) * TWELFTH;
        dst[at + 2 * step] = (s34 - s12) * SIXTH + c5;
    }
}
