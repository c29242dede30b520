package dev.deepshape.simd;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * 3×3 stride-1 'same' convolutions (padding 1, dilation 1, groups 1) by Winograd's minimal filtering F(2×2, 3×3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): each 2×2 block of outputs takes 16
 * multiplications instead of 36. The oracle is {@link dev.deepshape.backend.Conv2dKernels}' naive loop; the tests
 * compare the two on the reference model's shapes and awkward ones (odd sizes, non-finite values).
 * <pre>
 *   U = G·g·Gᵀ            per (output channel, input channel): the 3×3 kernel g as 4×4, once per call
 *   V = Bᵀ·d·B            per (input channel, tile): the tile's 4×4 padded input d
 *   M(ξ,ν) = U(ξ,ν)·V(ξ,ν)  16 matrix products (M × C)·(C × tiles): the micro-kernel of {@link SimdGemm}
 *   Y = Aᵀ·M·A            per (output channel, tile): its 2×2 outputs
 * </pre>
 * with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Aᵀ = [1 1 1 0; 0 1 −1 −1].
 * The transforms add and subtract only (G's halves are exact), so the results match the direct convolution to
 * float rounding. Tiles are laid out in vectors of VL along x: a tile row of ⌈W/2⌉ tiles takes whole vectors (7 tiles
 * of conv2's 14 columns: one vector of 8, see {@link #S}), and the transforms run on those vectors, one lane per tile.
 * Used for the forward pass, the data gradient (itself such a convolution, of dout with the flipped kernel) and
 * the weight gradient (the transforms run backwards, {@link #backwardWeight}). A sample holding NaN or ±∞ is
 * convolved directly (for the weight gradient: any such value in x or dout): the transforms would turn one ∞ into
 * NaN across its whole tile, where PyTorch's direct convolution keeps it to the windows that hold it.
 * <p>
 * With 16-lane vectors, {@link #convolve} and {@link #backwardWeight} hand the shapes where it takes a quarter fewer
 * multiplications to {@link SimdWinograd4}, F(4×4, 3×3) (conv2's 14 × 14 among them); {@link #convolve2} and
 * {@link #backwardWeight2} are F(2×2) whatever the shape.
 */
final class SimdWinograd {
    private SimdWinograd() {}

    /**
     * The micro-kernel's vectors. NOTE: not a narrower species for the tiles on AVX-512: 8-lane tile vectors beside the
     * 16-lane kernels made one JVM in ten compile SimdGemm's micro-kernel with its vector operations left as calls
     * (the JDK's shared vector methods then saw both shapes), every step 4-6 times slower; see {@link Layout} instead.
     */
    static final VectorSpecies<Float> S = SimdGemm.S;
    static final int VL = SimdGemm.VL;
    static final int MR = SimdGemm.MR;
    static final int NR = SimdGemm.NR;

    /** Deinterleaving two vectors (a row's columns c..c+2VL): even columns, then odd ones. */
    private static final VectorShuffle<Float> EVEN = shuffle(i -> i < VL / 2 ? 2 * i : 2 * i - 2 * VL);
    private static final VectorShuffle<Float> ODD = shuffle(i -> i < VL / 2 ? 2 * i + 1 : 2 * i + 1 - 2 * VL);
    /** Interleaving two vectors a, b: a0 b0 a1 b1 ... (the low half of the lanes), then the high half. */
    private static final VectorShuffle<Float> LOW = shuffle(i -> i % 2 == 0 ? i / 2 : i / 2 - VL);
    private static final VectorShuffle<Float> HIGH = shuffle(i -> i % 2 == 0 ? VL / 2 + i / 2 : VL / 2 + i / 2 - VL);

    /** A shuffle for the two-vector rearrange: index i ≥ 0 takes lane i of the first vector, i − VL (< 0) lane i of the second. */
    private static VectorShuffle<Float> shuffle(java.util.function.IntUnaryOperator lane) {
        int[] idx = new int[VL];
        for (int i = 0; i < VL; i++) idx[i] = lane.applyAsInt(i);
        return VectorShuffle.fromValues(S, idx);
    }

    /**
     * Whether this class handles the convolution: 3×3, stride 1, dilation 1, padding 1 on every side, one group,
     * at least 8 channels in and out (fewer make too short a product for the transforms to pay), and tile rows that
     * fill at least 3/4 of their vectors' lanes (of half a vector where two halves of the image share one, see
     * {@link Layout}).
     */
    static boolean supports(Conv2dGeometry g) {
        if (g.groups() != 1 || g.kh() != 3 || g.kw() != 3 || g.strideH() != 1 || g.strideW() != 1 || g.dilH() != 1 || g.dilW() != 1
                || g.padH() != 1 || g.padW() != 1 || g.oh() != g.h() || g.ow() != g.w() || g.c() < 8 || g.oc() < 8) {
            return false;
        }
        int tilesX = (g.w() + 1) / 2;
        return 4 * tilesX >= 3 * (Layout.halves(g.w()) == 2 ? VL / 2 : Layout.slotsX(tilesX));
    }

    /**
     * Where the tiles of one sample go: vectors of VL tiles along x, panels of NR tiles for the micro-kernel. The
     * transforms see an image of th × tw: the sample itself (h × w), or, where a tile row fills at most half a vector
     * less one tile (conv2's 7 tiles with 16 lanes), its two halves side by side ({@code halves} = 2): output rows
     * [0, th) on the left, [th, 2·th) on the right, each half VL padded columns wide, so one vector holds a tile row
     * of each half (7/8 of its lanes used instead of 7/16). The halves' zero columns keep their windows apart: a
     * valid tile reads at most columns 2·tilesX + 1 ≤ VL − 1 of its half. The slots past a half's tiles compute
     * values that are never emitted, and their gradient is zero.
     */
    record Layout(int c, int m, int h, int w, int halves, int th, int tw, int tilesY, int tilesX, int slotsX, int vectors,
                  int panels, int hp, int wp, int plane, int mRows) {
        static int slotsX(int tilesX) {
            return (tilesX + VL - 1) / VL * VL;
        }

        /** 2 where a vector takes a tile row of each half of the image (at least 16 lanes, at most VL/2 − 1 tiles a row), else 1. */
        static int halves(int w) {
            return VL >= 16 && (w + 1) / 2 <= VL / 2 - 1 ? 2 : 1;
        }

        static Layout of(int c, int m, int h, int w) {
            int halves = halves(w), tilesY, tilesX, th, tw;
            if (halves == 2) {
                tilesY = ((h + 1) / 2 + 1) / 2; // the left half's tile rows; the right one's may lack its last
                tilesX = VL;
                th = 2 * tilesY;
                tw = 2 * VL;
            } else {
                tilesY = (h + 1) / 2;
                tilesX = (w + 1) / 2;
                th = h;
                tw = w;
            }
            int slotsX = slotsX(tilesX);
            int vectors = tilesY * slotsX / VL, panels = (vectors * VL + NR - 1) / NR;
            // the padded input: one row and column of zeros before, enough after for the last vector's 4×4 windows
            int hp = 2 * tilesY + 2, wp = 2 * slotsX + 2;
            return new Layout(c, m, h, w, halves, th, tw, tilesY, tilesX, slotsX, vectors, panels, hp, wp,
                    SimdConv.planeStride(hp * wp), (m + MR - 1) / MR * MR);
        }

        int vectorsX() { return slotsX / VL; }

        /**
         * Copies one sample's c planes of h × w, at {@code in[iBase..]}, inside the zero padding of {@code pad}. With two
         * halves, padded row r goes to the left half's row r (r &lt; hp) and to the right half's row r − th (r ≥ th):
         * the rows around the cut go to both.
         */
        void copyIn(float[] pad, float[] in, int iBase) {
            for (int ci = 0; ci < c; ci++) {
                for (int y = 0; y < h; y++) {
                    int src = iBase + (ci * h + y) * w, r = y + 1, at = ci * plane;
                    if (halves == 1) {
                        System.arraycopy(in, src, pad, at + r * wp + 1, w);
                        continue;
                    }
                    if (r < hp) System.arraycopy(in, src, pad, at + r * wp + 1, w);
                    if (r >= th) System.arraycopy(in, src, pad, at + (r - th) * wp + VL + 1, w);
                }
            }
        }

        /** Where output pixel (y, x) of a channel lies in the transforms' th × tw image. */
        int outputAt(int y, int x) {
            return halves == 1 || y < th ? y * tw + x : (y - th) * tw + VL + x;
        }

        /**
         * From one (ξ,ν) to the next in a panel's V ([c][NR] each) and M ([mRows][NR] each): a line more than their
         * size. NOTE: at their size (2 and 4 KB for conv2) the 16 vectors of a tile sat in a few L1 sets and evicted
         * each other (the output transform took 20 % of the time).
         */
        int vStride() { return c * NR + 16; }

        int mStride() { return mRows * NR + 16; }

        /** Output rows as the transforms write them: whole vectors, 2·slotsX (= tw) floats apart. */
        int resRow() { return 2 * slotsX; }
    }

    /** Element (o, ci, tap) of a 3×3 kernel, tap = ky·3 + kx. */
    @FunctionalInterface
    interface Kernel3 {
        float at(int o, int ci, int tap);
    }

    /**
     * A kernel laid out in an array: element (o, ci, tap) at {@code w[o·strideO + ci·strideC + tap]}, or at
     * {@code 8 − tap} when {@code flipped} (the data gradient's kernel, channels swapped by the strides). F(4×4)'s
     * weight transform reads such a kernel straight from the array, a tile of output channels at a time (see
     * SimdWinograd4.transformWeights); any other Kernel3 goes one kernel at a time.
     */
    record Strided(float[] w, int strideO, int strideC, boolean flipped) implements Kernel3 {
        @Override
        public float at(int o, int ci, int tap) {
            return w[o * strideO + ci * strideC + (flipped ? 8 - tap : tap)];
        }
    }

    /**
     * A thread's buffers: the padded sample, one panel's transformed tiles V and products M, the sample's output rows;
     * for the weight gradient, a sample's dout transposed, its V and its transformed dout.
     */
    private static final class Scratch {
        float[] pad = new float[0];
        float[] v = new float[0];
        float[] prod = new float[0];
        float[] res = new float[0];
        float[] doutT = new float[0];
        float[] dm = new float[0];
        float[] flat = new float[0];
        float[] one = new float[0]; // one sample's output, for a sink
        final float[] tile = new float[MR * NR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * {@code out (=|+=) conv(in, weight) (+ bias)}: in is (n, c, h, w), weight (m, c, 3, 3) with element (o, ci, ky, kx)
     * at {@code weight.at(o, ci, ky·3 + kx)}, bias (m) or null, out (n, m, h, w). Returns whether in held only finite values
     * (its samples with NaN or ±∞ went to {@code direct}).
     */
    static boolean convolve(float[] out, float[] in, Kernel3 weight, float[] bias, int n, int c, int m, int h, int w,
                         boolean accumulate, java.util.function.IntConsumer direct) {
        return convolve(out, in, weight, bias, n, c, m, h, w, accumulate, direct, null);
    }

    /** Takes one sample's output, (m, h, w) at {@code y[0..]}, on the thread that computed it (the buffer is reused after). */
    @FunctionalInterface
    interface Sink {
        void accept(int sample, float[] y);
    }

    /**
     * {@link #convolve(float[], float[], Kernel3, float[], int, int, int, int, int, boolean, java.util.function.IntConsumer)},
     * or, with a {@code sink}, each finite sample's output goes to the sink instead of out (which is then unused).
     */
    static boolean convolve(float[] out, float[] in, Kernel3 weight, float[] bias, int n, int c, int m, int h, int w,
                         boolean accumulate, java.util.function.IntConsumer direct, Sink sink) {
        if (SimdWinograd4.applies(c, m, h, w)) return SimdWinograd4.convolve(out, in, weight, bias, n, c, m, h, w, accumulate, direct, sink);
        return convolve2(out, in, weight, bias, n, c, m, h, w, accumulate, direct, sink);
    }

    /** {@link #convolve(float[], float[], Kernel3, float[], int, int, int, int, int, boolean, java.util.function.IntConsumer, Sink)} by F(2×2, 3×3) whatever the shape. */
    static boolean convolve2(float[] out, float[] in, Kernel3 weight, float[] bias, int n, int c, int m, int h, int w,
                             boolean accumulate, java.util.function.IntConsumer direct, Sink sink) {
        Layout l = Layout.of(c, m, h, w);
        float[] u = transformWeights(weight, c, m, l);
        int inStride = c * h * w, outStride = m * h * w;
        java.util.concurrent.atomic.AtomicBoolean allFinite = new java.util.concurrent.atomic.AtomicBoolean(true);
        // NOTE: two lambdas, not one with a branch on the sink: training runs the first thousands of times before
        // inference runs the second, and a branch C2 had never seen taken was compiled as a trap that threw the whole
        // compiled loop away at the first batch of the test pass
        if (sink == null) {
            Parallel.forRange(n, 1, (n0, n1) -> {
                Scratch s = scratch(l, c, m, h, w, false);
                for (int sample = n0; sample < n1; sample++) {
                    if (convolveSample(s, l, u, bias, in, sample, inStride, allFinite, direct)) emit(out, sample * outStride, s.res, s.flat, l, accumulate);
                }
            });
        } else {
            Parallel.forRange(n, 1, (n0, n1) -> {
                Scratch s = scratch(l, c, m, h, w, true);
                for (int sample = n0; sample < n1; sample++) {
                    if (!convolveSample(s, l, u, bias, in, sample, inStride, allFinite, direct)) continue;
                    emit(s.one, 0, s.res, s.flat, l, false);
                    sink.accept(sample, s.one);
                }
            });
        }
        return allFinite.get();
    }

    /** The calling thread's buffers, sized for the layout (and one sample's output with {@code one}); the padding zeroed. */
    private static Scratch scratch(Layout l, int c, int m, int h, int w, boolean one) {
        Scratch s = SCRATCH.get();
        int padSize = c * l.plane() + 2 * NR, outStride = m * h * w;
        if (s.pad.length < padSize) s.pad = new float[padSize];
        if (s.v.length < 16 * l.vStride()) s.v = new float[16 * l.vStride()];
        if (s.prod.length < 16 * l.mStride()) s.prod = new float[16 * l.mStride()];
        int resSize = m * l.th() * l.resRow();
        if (s.res.length < resSize + 2 * VL) s.res = new float[resSize + 2 * VL];
        if (l.halves() == 2 && s.flat.length < outStride + VL) s.flat = new float[outStride + VL];
        if (one && s.one.length < outStride) s.one = new float[outStride];
        java.util.Arrays.fill(s.pad, 0, padSize, 0f);
        return s;
    }

    /**
     * One sample's output rows into {@code s.res}; returns false (and leaves the sample to {@code direct}) where it
     * holds NaN or ±∞: the transforms subtract values a window's output never mixes (an ∞ in the tile gives ∞ − ∞ =
     * NaN in outputs whose windows do not hold it).
     */
    private static boolean convolveSample(Scratch s, Layout l, float[] u, float[] bias, float[] in, int sample, int inStride,
                                          java.util.concurrent.atomic.AtomicBoolean allFinite, java.util.function.IntConsumer direct) {
        if (!finite(in, sample * inStride, (sample + 1) * inStride)) {
            allFinite.set(false);
            direct.accept(sample);
            return false;
        }
        l.copyIn(s.pad, in, sample * inStride);
        // NOTE: panel by panel (NR tiles): its V (16 × c × NR) and M (16 × m × NR) stay in L1/L2 between the three
        // steps, where a whole sample's (128 and 256 KB for conv2) went out to L3 and back
        for (int q = 0; q < l.panels(); q++) {
            int v0 = q * NR / VL, v1 = Math.min(l.vectors(), v0 + NR / VL);
            transformInput(s.v, s.pad, l, v0, v1, NR, l.vStride());
            multiply(s.prod, u, s.v, l, (v1 - v0) * VL, s.tile);
            transformOutput(s.res, s.prod, bias, l, v0, v1);
        }
        return true;
    }

    /**
     * {@code dweight += ∂L/∂W} for {@code out = conv(in, W)} (in (n, c, h, w), dout (n, m, h, w), dweight (m, c, 3, 3)),
     * by the same transforms run backwards: with M = U·V per (ξ,ν) and Y = Aᵀ·M·A per tile,
     * <pre>
     *   dM = A·dY·Aᵀ                  per (output channel, tile): its 2×2 output gradient as 4×4
     *   dU(ξ,ν) += V(ξ,ν)·dM(ξ,ν)ᵀ    16 products (C × tiles)·(tiles × M), summed over every tile of every sample
     *   dW = Gᵀ·dU·G                  per (output channel, input channel), once at the end
     * </pre>
     * 16 multiply-adds per 2×2 outputs and tap set instead of 36, as forward. The caller checks that in and dout are
     * finite (the transforms would spread a NaN or ±∞ over whole tiles). Partial sums per chunk of samples, the
     * chunks fixed by n and the thread count and added in chunk order, as {@link SimdConv}'s weight gradients.
     */
    static void backwardWeight(float[] dweight, float[] dout, float[] in, int n, int c, int m, int h, int w) {
        if (SimdWinograd4.applies(c, m, h, w)) SimdWinograd4.backwardWeight(dweight, dout, in, n, c, m, h, w);
        else backwardWeight2(dweight, dout, in, n, c, m, h, w);
    }

    /** {@link #backwardWeight} by F(2×2, 3×3) whatever the shape. */
    static void backwardWeight2(float[] dweight, float[] dout, float[] in, int n, int c, int m, int h, int w) {
        Layout l = Layout.of(c, m, h, w);
        int slots = l.vectors() * VL, oPanels = (m + NR - 1) / NR, mCols = oPanels * NR;
        int vxi = c * slots + 16, dxi = oPanels * slots * NR + 16; // (ξ,ν) strides of V and dM: one line more (L1 sets)
        int inStride = c * h * w, outStride = m * h * w;
        int chunks = Math.min(Parallel.chunks(n, 1), n);
        if (chunks == 0) return;
        float[][] partial = SimdConv.partials(chunks, 16 * c * mCols);
        int[] channelGather = new int[VL]; // the transpose gathers VL channels of a pixel, a plane apart
        for (int k = 0; k < VL; k++) channelGather[k] = k * h * w;
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            Scratch s = SCRATCH.get();
            int padSize = c * l.plane() + 2 * NR;
            if (s.pad.length < padSize) s.pad = new float[padSize];
            if (s.v.length < 16 * vxi) s.v = new float[16 * vxi];
            if (s.dm.length < 16 * dxi) s.dm = new float[16 * dxi];
            int tPlane = l.th() * l.tw(); // dout's pixels where the transforms see them
            if (s.doutT.length < tPlane * mCols) s.doutT = new float[tPlane * mCols];
            java.util.Arrays.fill(s.pad, 0, padSize, 0f);
            java.util.Arrays.fill(s.doutT, 0, tPlane * mCols, 0f); // the columns past m, and the pixels no output has, stay zero
            for (int chunk = c0; chunk < c1; chunk++) {
                float[] du = partial[chunk]; // dUᵀ: [(ξ,ν)][ci][o], rows of mCols
                int nFrom = (int) ((long) n * chunk / chunks), nTo = (int) ((long) n * (chunk + 1) / chunks);
                for (int sample = nFrom; sample < nTo; sample++) {
                    l.copyIn(s.pad, in, sample * inStride);
                    transformInput(s.v, s.pad, l, 0, l.vectors(), slots, vxi);
                    transpose(s.doutT, dout, sample * outStride, l, mCols, channelGather);
                    transformGradient(s.dm, s.doutT, l, slots, mCols, dxi);
                    boolean add = sample > nFrom; // the chunk's first sample overwrites its (reused) partial sum
                    for (int xi = 0; xi < 16; xi++) {
                        for (int ci = 0; ci < c; ci += MR) {
                            int mr = Math.min(MR, c - ci), last = c - 1, a = xi * vxi;
                            int a0 = a + ci * slots, a1 = a + Math.min(ci + 1, last) * slots, a2 = a + Math.min(ci + 2, last) * slots;
                            int a3 = a + Math.min(ci + 3, last) * slots, a4 = a + Math.min(ci + 4, last) * slots;
                            int a5 = a + Math.min(ci + 5, last) * slots;
                            for (int q = 0; q < oPanels; q++) {
                                SimdGemm.kernel(slots, false, s.v, a0, a1, a2, a3, a4, a5, 1, s.dm, xi * dxi + q * slots * NR,
                                        du, (xi * c + ci) * mCols + q * NR, mCols, mr, Math.min(NR, m - q * NR), add, s.tile);
                            }
                        }
                    }
                }
            }
        });
        // dW = Gᵀ·dU·G, G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], over the pool by output channel: the chunks' dU summed
        // in chunk order first (the same bits on any thread count)
        sumChunks(partial, chunks, 16 * c * mCols);
        Parallel.forRange(m, 8, (o0, o1) -> gradientToWeights(dweight, partial, c, mCols, o0, o1));
    }

    /**
     * {@code partial[0][0, size) += partial[1] + ... + partial[chunks − 1]}, element by element in chunk order (the same
     * bits however the pool splits it), by vectors over the pool; size a multiple of VL. The weight gradients' chunk
     * sums of both tile sizes.
     */
    static void sumChunks(float[][] partial, int chunks, int size) {
        Parallel.forRange(size / VL, 1024, (v0, v1) -> {
            float[] sum = partial[0];
            for (int chunk = 1; chunk < chunks; chunk++) {
                float[] more = partial[chunk];
                for (int i = v0 * VL; i < v1 * VL; i += VL) {
                    FloatVector.fromArray(S, sum, i).add(FloatVector.fromArray(S, more, i)).intoArray(sum, i);
                }
            }
        });
    }

    /** {@link #backwardWeight}'s last step for output channels [o0, o1): dW += Gᵀ·dU·G, dU the chunks' sum in {@code partial[0]}. */
    private static void gradientToWeights(float[] dweight, float[][] partial, int c, int mCols, int o0, int o1) {
        float[] du = partial[0];
        int stride = c * mCols;
        double[] t = new double[12];
        for (int o = o0; o < o1; o++) {
            for (int ci = 0; ci < c; ci++) {
                int at = ci * mCols + o;
                for (int xi0 = 0; xi0 < 4; xi0++) { // dU·G on row ξ: columns (ν) → kx
                    double u0 = du[at + (4 * xi0) * stride], u1 = du[at + (4 * xi0 + 1) * stride];
                    double u2 = du[at + (4 * xi0 + 2) * stride], u3 = du[at + (4 * xi0 + 3) * stride];
                    t[3 * xi0] = u0 + (u1 + u2) / 2;
                    t[3 * xi0 + 1] = (u1 - u2) / 2;
                    t[3 * xi0 + 2] = (u1 + u2) / 2 + u3;
                }
                int k = (o * c + ci) * 9;
                for (int kx = 0; kx < 3; kx++) { // Gᵀ· on each column: rows (ξ) → ky
                    double r0 = t[kx], r1 = t[3 + kx], r2 = t[6 + kx], r3 = t[9 + kx];
                    dweight[k + kx] += (float) (r0 + (r1 + r2) / 2);
                    dweight[k + 3 + kx] += (float) ((r1 - r2) / 2);
                    dweight[k + 6 + kx] += (float) ((r1 + r2) / 2 + r3);
                }
            }
        }
    }

    /**
     * {@code dst[p'·ldd + o] = src[from + o·h·w + y·w + x]} with p' the pixel (y, x) where the transforms see it
     * ({@link Layout#outputAt}): one sample's (m, h, w) gradient as rows of m. {@code gather[k]} is k·h·w.
     */
    private static void transpose(float[] dst, float[] src, int from, Layout l, int ldd, int[] gather) {
        int h = l.h(), w = l.w(), plane = h * w, m = l.m(), full = m / VL * VL;
        // NOTE: each pixel's row of m written front to back, VL channels at a time by one gather (a plane apart):
        // one element at a time this took 18 % of the weight gradient (conv2, one thread)
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int at = from + y * w + x, d = l.outputAt(y, x) * ldd;
                for (int o = 0; o < full; o += VL) FloatVector.fromArray(S, src, at + o * plane, gather, 0).intoArray(dst, d + o);
                for (int o = full; o < m; o++) dst[d + o] = src[at + o * plane];
            }
        }
    }

    /**
     * dM = A·dY·Aᵀ for every tile slot of one sample (zero for the slots past a tile row's end), from its gradient
     * transposed to (pixel, o) rows, into the micro-kernel's B panels: for each (ξ,ν), panels of NR output channels
     * as [slots][NR]. A tile's second row or column past the image's edge (odd h or w) has a zero gradient. With
     * dY = [a b; c d]: the rows through Aᵀ give e₀ = (a, a + b, a − b, −b), e₁ = (c, c + d, c − d, −d), and
     * dM's rows are e₀, e₀ + e₁, e₀ − e₁, −e₁.
     */
    private static void transformGradient(float[] dm, float[] doutT, Layout l, int slots, int mCols, int xiStride) {
        int h = l.th(), w = l.tw(), slotsX = l.slotsX(), tilesX = l.tilesX();
        FloatVector zero = FloatVector.zero(S);
        for (int slot = 0; slot < slots; slot++) {
            int ty = slot / slotsX, tx = slot % slotsX, y = 2 * ty, x = 2 * tx;
            boolean tile = tx < tilesX, down = y + 1 < h, right = x + 1 < w;
            int pa = (y * w + x) * mCols, pc = pa + w * mCols;
            for (int o = 0; o < mCols; o += VL) {
                FloatVector a = zero, b = zero, cc = zero, d = zero;
                if (tile) {
                    a = FloatVector.fromArray(S, doutT, pa + o);
                    if (right) b = FloatVector.fromArray(S, doutT, pa + mCols + o);
                    if (down) cc = FloatVector.fromArray(S, doutT, pc + o);
                    if (down && right) d = FloatVector.fromArray(S, doutT, pc + mCols + o);
                }
                FloatVector e00 = a, e01 = a.add(b), e02 = a.sub(b), e03 = b.neg();
                FloatVector e10 = cc, e11 = cc.add(d), e12 = cc.sub(d), e13 = d.neg();
                int at = ((o / NR) * slots + slot) * NR + o % NR;
                e00.intoArray(dm, at);
                e01.intoArray(dm, at + xiStride);
                e02.intoArray(dm, at + 2 * xiStride);
                e03.intoArray(dm, at + 3 * xiStride);
                e00.add(e10).intoArray(dm, at + 4 * xiStride);
                e01.add(e11).intoArray(dm, at + 5 * xiStride);
                e02.add(e12).intoArray(dm, at + 6 * xiStride);
                e03.add(e13).intoArray(dm, at + 7 * xiStride);
                e00.sub(e10).intoArray(dm, at + 8 * xiStride);
                e01.sub(e11).intoArray(dm, at + 9 * xiStride);
                e02.sub(e12).intoArray(dm, at + 10 * xiStride);
                e03.sub(e13).intoArray(dm, at + 11 * xiStride);
                e10.neg().intoArray(dm, at + 12 * xiStride);
                e11.neg().intoArray(dm, at + 13 * xiStride);
                e12.neg().intoArray(dm, at + 14 * xiStride);
                e13.neg().intoArray(dm, at + 15 * xiStride);
            }
        }
    }

    /**
     * U(ξ,ν) = (G·g·Gᵀ)(ξ,ν) for every (o, ci), packed as the micro-kernel's A: for each of the 16 (ξ,ν), row tiles of
     * MR output channels as [c][MR] (rows past m repeat the last: computed, never stored).
     */
    static float[] transformWeights(Kernel3 weight, int c, int m, Layout l) {
        int tiles = l.mRows() / MR;
        float[] u = new float[16 * l.mRows() * c];
        // NOTE: over the pool, output channels apart (64·32 kernels for conv2: ~1 % of a step on one thread)
        Parallel.forRange(l.mRows(), 8, (o0, o1) -> transformWeights(u, weight, c, m, tiles, o0, o1));
        return u;
    }

    /** {@link #transformWeights} for output channels [o0, o1) (of mRows: past m, the last one again). */
    private static void transformWeights(float[] u, Kernel3 weight, int c, int m, int tiles, int o0, int o1) {
        double[] gg = new double[12], t = new double[16];
        for (int o = o0; o < o1; o++) {
            int src = Math.min(o, m - 1);
            for (int ci = 0; ci < c; ci++) {
                for (int col = 0; col < 3; col++) { // G·g: rows g0, (g0+g1+g2)/2, (g0−g1+g2)/2, g2 of each column
                    double g0 = weight.at(src, ci, col), g1 = weight.at(src, ci, 3 + col), g2 = weight.at(src, ci, 6 + col);
                    gg[col] = g0;
                    gg[3 + col] = (g0 + g1 + g2) / 2;
                    gg[6 + col] = (g0 - g1 + g2) / 2;
                    gg[9 + col] = g2;
                }
                for (int row = 0; row < 4; row++) { // (G·g)·Gᵀ: the same on each row
                    double a = gg[3 * row], b = gg[3 * row + 1], d = gg[3 * row + 2];
                    t[4 * row] = a;
                    t[4 * row + 1] = (a + b + d) / 2;
                    t[4 * row + 2] = (a - b + d) / 2;
                    t[4 * row + 3] = d;
                }
                int tile = o / MR, r = o % MR;
                for (int xi = 0; xi < 16; xi++) u[((xi * tiles + tile) * c + ci) * MR + r] = (float) t[xi];
            }
        }
    }

    /**
     * V = Bᵀ·d·B for every input channel and the tiles of vectors [v0, v1) of one sample: V(ξ,ν) of channel ci and
     * tile slot j (counted from v0·VL) at {@code v[(4ξ + ν)·xiStride + ci·cStride + j]}; the forward pass takes one
     * panel as the micro-kernel's B ([c][NR] per (ξ,ν): cStride = NR), the weight gradient a whole sample as its A
     * (a row of all the sample's slots per channel). The sample's zero-padded planes let every 4×4 window be read
     * without bounds: a vector of VL tiles along x reads its window's columns as the even and odd columns of a row.
     */
    static void transformInput(float[] v, float[] pad, Layout l, int v0, int v1, int cStride, int xiStride) {
        int c = l.c(), wp = l.wp(), plane = l.plane(), vx = l.vectorsX();
        // NOTE: channels innermost: the 16 stores' indices are then 16·ci + an invariant, which C2's range-check
        // elimination hoists out of the loop (with vectors innermost every store was checked)
        for (int vec = v0; vec < v1; vec++) {
            int ty = vec / vx, bx = vec % vx, rv = 2 * ty * wp + 2 * bx * VL, av = (vec - v0) * VL;
            for (int ci = 0; ci < c; ci++) {
                int r0 = ci * plane + rv, r1 = r0 + wp, r2 = r1 + wp, r3 = r2 + wp;
                int at = ci * cStride + av;
                // t = d·B on each of the window's rows: t0 = d0 − d2, t1 = d1 + d2, t2 = d2 − d1, t3 = d1 − d3, where
                // d0..d3 are the row's even and odd columns from r and from r + 2 (window k starts at column 2k);
                // then V = Bᵀ·t: V0 = t0 − t2, V1 = t1 + t2, V2 = t2 − t1, V3 = t1 − t3, column by column.
                // Rows 2 and 0 first, then 1 (with 2), then 3 (with 1): few vectors live at once.
                // NOTE: written out row by row on purpose: a helper taking the shuffle as an argument made the forward
                // 25 % and the data gradient 50 % slower (interleaved A/B), its rearranges no longer C2 intrinsics.
                FloatVector a, b, a2, b2, e, od, e2;
                a = FloatVector.fromArray(S, pad, r2);
                b = FloatVector.fromArray(S, pad, r2 + VL);
                a2 = FloatVector.fromArray(S, pad, r2 + 2);
                b2 = FloatVector.fromArray(S, pad, r2 + 2 + VL);
                e = a.rearrange(EVEN, b);
                od = a.rearrange(ODD, b);
                e2 = a2.rearrange(EVEN, b2);
                FloatVector t20 = e.sub(e2), t21 = od.add(e2), t22 = e2.sub(od), t23 = od.sub(a2.rearrange(ODD, b2));
                a = FloatVector.fromArray(S, pad, r0);
                b = FloatVector.fromArray(S, pad, r0 + VL);
                a2 = FloatVector.fromArray(S, pad, r0 + 2);
                b2 = FloatVector.fromArray(S, pad, r0 + 2 + VL);
                e = a.rearrange(EVEN, b);
                od = a.rearrange(ODD, b);
                e2 = a2.rearrange(EVEN, b2);
                FloatVector t00 = e.sub(e2), t01 = od.add(e2), t02 = e2.sub(od), t03 = od.sub(a2.rearrange(ODD, b2));
                t00.sub(t20).intoArray(v, at);
                t01.sub(t21).intoArray(v, at + xiStride);
                t02.sub(t22).intoArray(v, at + 2 * xiStride);
                t03.sub(t23).intoArray(v, at + 3 * xiStride);
                a = FloatVector.fromArray(S, pad, r1);
                b = FloatVector.fromArray(S, pad, r1 + VL);
                a2 = FloatVector.fromArray(S, pad, r1 + 2);
                b2 = FloatVector.fromArray(S, pad, r1 + 2 + VL);
                e = a.rearrange(EVEN, b);
                od = a.rearrange(ODD, b);
                e2 = a2.rearrange(EVEN, b2);
                FloatVector t10 = e.sub(e2), t11 = od.add(e2), t12 = e2.sub(od), t13 = od.sub(a2.rearrange(ODD, b2));
                t10.add(t20).intoArray(v, at + 4 * xiStride);
                t11.add(t21).intoArray(v, at + 5 * xiStride);
                t12.add(t22).intoArray(v, at + 6 * xiStride);
                t13.add(t23).intoArray(v, at + 7 * xiStride);
                t20.sub(t10).intoArray(v, at + 8 * xiStride);
                t21.sub(t11).intoArray(v, at + 9 * xiStride);
                t22.sub(t12).intoArray(v, at + 10 * xiStride);
                t23.sub(t13).intoArray(v, at + 11 * xiStride);
                a = FloatVector.fromArray(S, pad, r3);
                b = FloatVector.fromArray(S, pad, r3 + VL);
                a2 = FloatVector.fromArray(S, pad, r3 + 2);
                b2 = FloatVector.fromArray(S, pad, r3 + 2 + VL);
                e = a.rearrange(EVEN, b);
                od = a.rearrange(ODD, b);
                e2 = a2.rearrange(EVEN, b2);
                FloatVector t30 = e.sub(e2), t31 = od.add(e2), t32 = e2.sub(od), t33 = od.sub(a2.rearrange(ODD, b2));
                t10.sub(t30).intoArray(v, at + 12 * xiStride);
                t11.sub(t31).intoArray(v, at + 13 * xiStride);
                t12.sub(t32).intoArray(v, at + 14 * xiStride);
                t13.sub(t33).intoArray(v, at + 15 * xiStride);
            }
        }
    }

    /** M(ξ,ν) (mRows × NR) = U(ξ,ν)·V(ξ,ν) for the 16 (ξ,ν) of one panel of {@code used} tiles: the micro-kernel per row tile. */
    static void multiply(float[] prod, float[] u, float[] v, Layout l, int used, float[] tile) {
        int c = l.c(), tiles = l.mRows() / MR;
        for (int xi = 0; xi < 16; xi++) {
            int bIdx = xi * l.vStride();
            for (int t = 0; t < tiles; t++) {
                int aIdx = (xi * tiles + t) * c * MR, cIdx = xi * l.mStride() + t * MR * NR;
                if (used <= SimdGemm.VL) SimdConv.kernelNarrow(c, u, aIdx, v, bIdx, prod, cIdx, NR, MR, used, false, tile);
                else SimdGemm.kernel(c, true, u, aIdx, 0, 0, 0, 0, 0, MR, v, bIdx, prod, cIdx, NR, MR, NR, false, tile);
            }
        }
    }

    /**
     * Y = Aᵀ·M·A (+ bias) for every output channel and the tiles of vectors [v0, v1) of one sample, into {@code res}:
     * the sample's (m, h) output rows, {@link Layout#resRow} floats apart, as whole vectors (w of them used).
     */
    static void transformOutput(float[] res, float[] prod, float[] bias, Layout l, int v0, int v1) {
        int h = l.th(), vx = l.vectorsX(), row = l.resRow();
        int xiStride = l.mStride();
        // NOTE: channels innermost, so that the 16 loads of M (at 16·o + an invariant) are range-checked once per loop
        for (int vec = v0; vec < v1; vec++) {
            int ty = vec / vx, x0 = 2 * (vec % vx) * VL, av = (vec - v0) * VL, rows = Math.min(2, h - 2 * ty);
            for (int o = 0; o < l.m(); o++) {
                // NOTE: without a bias, −0 is added: x + (−0) is x for every x (+0 and −0 included), and a branch the
                // JIT first sees taken in the backward pass cost a recompilation of this loop in every epoch's first steps
                float b = bias == null ? -0.0f : bias[o];
                int at = o * NR + av;
                int rowAt = (o * h + 2 * ty) * row + x0;
                outputRow(res, rowAt, prod, at, xiStride, 0, b);
                if (rows == 2) outputRow(res, rowAt + row, prod, at, xiStride, 1, b);
            }
        }
    }

    /**
     * Output row i (0 or 1) of VL tiles into {@code res[rowAt..]}, 2·VL floats. Row i of Aᵀ·M, column j (M(ξ,ν) at
     * at + (4ξ + ν)·xiStride): s0j = m0j + m1j + m2j, s1j = m1j − m2j − m3j; then ·A on it: y0 = s_i0 + s_i1 + s_i2,
     * y1 = s_i1 − s_i2 − s_i3.
     * NOTE: written out, with no helper that returns a vector: C2 compiled such a helper on its own, did not inline
     * it here, and then boxed every vector it returned (an array and an object each, ~2 GB per 300 steps on AVX-512).
     */
    private static void outputRow(float[] res, int rowAt, float[] prod, int at, int xiStride, int i, float b) {
        FloatVector s0, s1, s2, s3;
        if (i == 0) {
            int r0 = at, r1 = at + 4 * xiStride, r2 = at + 8 * xiStride;
            s0 = FloatVector.fromArray(S, prod, r0).add(FloatVector.fromArray(S, prod, r1)).add(FloatVector.fromArray(S, prod, r2));
            s1 = FloatVector.fromArray(S, prod, r0 + xiStride).add(FloatVector.fromArray(S, prod, r1 + xiStride))
                    .add(FloatVector.fromArray(S, prod, r2 + xiStride));
            s2 = FloatVector.fromArray(S, prod, r0 + 2 * xiStride).add(FloatVector.fromArray(S, prod, r1 + 2 * xiStride))
                    .add(FloatVector.fromArray(S, prod, r2 + 2 * xiStride));
            s3 = FloatVector.fromArray(S, prod, r0 + 3 * xiStride).add(FloatVector.fromArray(S, prod, r1 + 3 * xiStride))
                    .add(FloatVector.fromArray(S, prod, r2 + 3 * xiStride));
        } else {
            int r1 = at + 4 * xiStride, r2 = at + 8 * xiStride, r3 = at + 12 * xiStride;
            s0 = FloatVector.fromArray(S, prod, r1).sub(FloatVector.fromArray(S, prod, r2)).sub(FloatVector.fromArray(S, prod, r3));
            s1 = FloatVector.fromArray(S, prod, r1 + xiStride).sub(FloatVector.fromArray(S, prod, r2 + xiStride))
                    .sub(FloatVector.fromArray(S, prod, r3 + xiStride));
            s2 = FloatVector.fromArray(S, prod, r1 + 2 * xiStride).sub(FloatVector.fromArray(S, prod, r2 + 2 * xiStride))
                    .sub(FloatVector.fromArray(S, prod, r3 + 2 * xiStride));
            s3 = FloatVector.fromArray(S, prod, r1 + 3 * xiStride).sub(FloatVector.fromArray(S, prod, r2 + 3 * xiStride))
                    .sub(FloatVector.fromArray(S, prod, r3 + 3 * xiStride));
        }
        FloatVector y0 = s0.add(s1).add(s2).add(b);
        FloatVector y1 = s1.sub(s2).sub(s3).add(b);
        y0.rearrange(LOW, y1).intoArray(res, rowAt);
        y0.rearrange(HIGH, y1).intoArray(res, rowAt + VL);
    }

    /** {@link #finite} over the pool, in chunks of at least 64K values. */
    static boolean finiteParallel(float[] in, int from, int to) {
        int n = to - from, grain = 1 << 16;
        if (Parallel.chunks(n, grain) <= 1) return finite(in, from, to);
        java.util.concurrent.atomic.AtomicBoolean all = new java.util.concurrent.atomic.AtomicBoolean(true);
        Parallel.forRange(n, grain, (i0, i1) -> {
            if (!finite(in, from + i0, from + i1)) all.set(false);
        });
        return all.get();
    }

    /** Whether in[from, to) holds only finite values (x·0 is NaN exactly for NaN and ±∞). */
    static boolean finite(float[] in, int from, int to) {
        FloatVector acc = FloatVector.zero(S);
        int i = from;
        for (int bound = from + S.loopBound(to - from); i < bound; i += VL) acc = acc.add(FloatVector.fromArray(S, in, i).mul(0f));
        float tail = 0f;
        for (; i < to; i++) tail += in[i] * 0f;
        return !acc.test(VectorOperators.IS_NAN).anyTrue() && tail == 0f;
    }

    /**
     * {@code out[at..] (=|+=)} the sample's rows in res: the rows are first packed to their width w, front to back
     * with whole vectors (a row's last vector reaches into the next row's place, which is written after it): in place,
     * or into {@code flat} where two halves must be put back one under the other; then copied or added as one
     * contiguous run.
     */
    static void emit(float[] out, int at, float[] res, float[] flat, Layout l, boolean accumulate) {
        int w = l.w(), h = l.h(), row = l.resRow(), len = l.m() * h * w;
        float[] rows = res;
        if (l.halves() == 2) {
            rows = flat;
            for (int o = 0; o < l.m(); o++) {
                for (int y = 0; y < h; y++) {
                    int src = o * l.th() * row + l.outputAt(y, 0), dst = (o * h + y) * w;
                    for (int x = 0; x < w; x += VL) FloatVector.fromArray(S, res, src + x).intoArray(flat, dst + x);
                }
            }
        } else if (row != w) {
            for (int r = 1; r < l.m() * h; r++) {
                for (int x = 0, src = r * row, dst = r * w; x < w; x += VL) FloatVector.fromArray(S, res, src + x).intoArray(res, dst + x);
            }
        }
        if (!accumulate) {
            System.arraycopy(rows, 0, out, at, len);
            return;
        }
        int i = 0;
        for (int bound = S.loopBound(len); i < bound; i += VL) {
            FloatVector.fromArray(S, out, at + i).add(FloatVector.fromArray(S, rows, i)).intoArray(out, at + i);
        }
        for (; i < len; i++) out[at + i] += rows[i];
    }
}
