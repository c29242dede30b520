package dev.deepshape.simd;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import dev.deepshape.backend.Conv2dKernels;
import dev.deepshape.backend.Parallel;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * 2-D convolution forward and backward with the Vector API, for stride-1 convolutions whose output is as wide as
 * their input ({@code padding='same'}-like, e.g. 3×3 with padding 1: both convolutions of the reference model); other
 * geometries run {@link Conv2dKernels} (im2col + this backend's sgemm). The oracles are Conv2dKernels' naive loops.
 *
 * <p>Why that case is special: with stride 1 and OW = W, output pixel {@code p = oy·W + ox} reads, for kernel row
 * {@code k = (ci, ky, kx)}, the input element {@code x[ci·H·W + (ky·dil − padTop)·W + (kx·dil − padLeft) + p]} — the
 * input shifted by a constant — except where the window hangs over the border, which a per-(ky, kx) lane mask
 * zeroes. So the im2col matrix is never built: its rows are masked vector loads straight into the GEMM's packed
 * B panels ([K][NR] per NR output pixels), and the micro-kernel is {@link SimdGemm#kernel}.
 * <pre>
 *   forward      out_n (OC × P)  = W (OC × K) · col(x_n) (K × P)                 weights packed once per call
 *   data grad    dx_n  (C × P)  += W' (C × OC·kh·kw) · col'(dout_n)               the same kernel: the gradient of a
 *                                                                                 stride-1 conv is a stride-1 conv
 *                                                                                 of dout with W flipped, channels swapped
 *   weight grad  dWᵀ   (K × OC) += col(x_n) (K × P) · dout_nᵀ (P × OC)            col built with masked vector copies
 * </pre>
 * Samples are spread over the shared pool; each thread keeps its packing buffers and its partial weight gradient.
 */
final class SimdConv {
    private SimdConv() {}

    static final VectorSpecies<Float> S = SimdGemm.S;
    static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED;
    static final int VL = SimdGemm.VL;
    static final int MR = SimdGemm.MR;
    static final int NR = SimdGemm.NR;
    /**
     * Depth of one pass of the micro-kernel over K: its B panel (KB × NR floats, 20 KB) and A panel (KB × MR) stay in
     * a 48 KB L1 with room to spare.
     */
    static final int KB = 160;

    /** Whether this class handles the geometry (else the caller runs the reference kernels). */
    static boolean supports(Conv2dGeometry g) {
        return g.groups() == 1 && g.strideH() == 1 && g.strideW() == 1 && g.ow() == g.w()
                && g.padH() <= g.dilH() * (g.kh() - 1) && g.padW() <= g.dilW() * (g.kw() - 1);
    }

    /**
     * A stride-1 lowering of input planes (c, h, w) to an output of oh rows of width w: row k = (ci, ky, kx) of the
     * virtual im2col matrix is the input shifted by {@code offset[k]}, masked by {@code masks[(ky·kw + kx)·blocks + b]}
     * for the VL output pixels of block b (bits past the last pixel are clear).
     */
    record Lowering(int c, int h, int w, int oh, int kh, int kw, int padTop, int padLeft, int dilH, int dilW,
                    int[] offset, long[] masks, int[] lanes, int blocks) {
        int k() { return c * kh * kw; }

        int p() { return oh * w; }

        static Lowering of(int c, int h, int w, int oh, int kh, int kw, int padTop, int padLeft, int dilH, int dilW) {
            int p = oh * w, blocks = (p + VL - 1) / VL;
            int[] offset = new int[c * kh * kw];
            for (int ci = 0, k = 0; ci < c; ci++) {
                for (int ky = 0; ky < kh; ky++) {
                    for (int kx = 0; kx < kw; kx++, k++) offset[k] = ci * h * w + (ky * dilH - padTop) * w + kx * dilW - padLeft;
                }
            }
            long[] masks = new long[kh * kw * blocks];
            for (int ky = 0; ky < kh; ky++) {
                for (int kx = 0; kx < kw; kx++) {
                    for (int q = 0; q < p; q++) {
                        int iy = q / w + ky * dilH - padTop, ix = q % w + kx * dilW - padLeft;
                        if (iy >= 0 && iy < h && ix >= 0 && ix < w) masks[(ky * kw + kx) * blocks + q / VL] |= 1L << (q % VL);
                    }
                }
            }
            // the same masks as lanes of 0 or −1 (all bits), VL per (tap, block), for a bitwise AND
            int[] lanes = new int[masks.length * VL];
            for (int i = 0; i < masks.length; i++) for (int l = 0; l < VL; l++) lanes[i * VL + l] = (masks[i] >>> l & 1) != 0 ? -1 : 0;
            return new Lowering(c, h, w, oh, kh, kw, padTop, padLeft, dilH, dilW, offset, masks, lanes, blocks);
        }
    }

    /** Lowerings and packed weights depend only on the geometry (and the weights): the lowerings are cached. */
    private static final ConcurrentHashMap<Conv2dGeometry, Lowering[]> LOWERINGS = new ConcurrentHashMap<>();

    /** [0]: the forward lowering of x; [1]: the data-gradient lowering of dout (the flipped convolution). */
    private static Lowering[] lowerings(Conv2dGeometry g) {
        Conv2dGeometry key = new Conv2dGeometry(1, g.c(), g.h(), g.w(), g.oc(), g.kh(), g.kw(), 1, 1, g.padH(), g.padW(),
                g.dilH(), g.dilW(), 1, g.oh(), g.ow());
        return LOWERINGS.computeIfAbsent(key, k -> new Lowering[] {
            Lowering.of(k.c(), k.h(), k.w(), k.oh(), k.kh(), k.kw(), k.padH(), k.padW(), k.dilH(), k.dilW()),
            // dx[ci, y, x] = Σ dout[oc, y − ky·dil + padTop, x − kx·dil + padLeft]·W[oc, ci, ky, kx]: a convolution of
            // dout (oc planes of oh × w) with the flipped kernel and padding dil·(k − 1) − pad, giving h rows of w
            Lowering.of(k.oc(), k.oh(), k.w(), k.h(), k.kh(), k.kw(), k.dilH() * (k.kh() - 1) - k.padH(),
                    k.dilW() * (k.kw() - 1) - k.padW(), k.dilH(), k.dilW())});
    }

    /** A thread's reusable buffers. */
    private static final class Scratch {
        float[] packB = new float[0];
        float[] col = new float[0];
        float[] pad = new float[0];
        float[] doutT = new float[0];
        final float[] tile = new float[MR * NR];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    // ---------------------------------------------------------------- forward

    // x is (N, C, H, W), weight is (OC, C, KH, KW), bias (OC) or null, out is (N, OC, OH, OW)
    static void conv2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        if (!supports(g)) {
            Conv2dKernels.conv2dForward(out, x, weight, bias, g);
            return;
        }
        if (SimdSmallConv.supports(g)) {
            SimdSmallConv.forward(out, x, weight, bias, g);
            return;
        }
        if (SimdWinograd.supports(g)) {
            int k = g.c() * 9;
            Lowering low = lowerings(g)[0];
            float[][] packed = new float[1][];
            SimdWinograd.convolve(out, x, new SimdWinograd.Strided(weight, k, 9, false), bias, g.n(), g.c(), g.oc(), g.h(), g.w(), false,
                    sample -> convolveSamples(out, g.oc(), x, packedOnce(packed, () -> packForward(weight, bias, g.oc(), k)), bias != null,
                            false, sample, sample + 1, low));
            return;
        }
        Lowering low = lowerings(g)[0];
        convolve(out, g.oc(), x, packForward(weight, bias, g.oc(), low.k()), bias != null, false, g.n(), low);
    }

    /**
     * Inference's {@code max_pool2d(relu(conv2d(x)))} sample by sample (see Backend.conv2dReluMaxPool2dForward): each
     * sample's convolution, a few hundred KB at most, goes to a per-thread buffer and is pooled and rectified from
     * there, so the batch's convolution output never goes to memory (6.4 MB for the reference model's conv1 and a
     * batch of 64, written and read back by the pooling). For the per-sample kernels (SimdSmallConv, Winograd) and
     * 2×2 stride-2 pooling; returns false where it does not apply, or where a sample held NaN or ±∞ (Winograd leaves
     * those to the direct convolution): the caller then runs the three kernels, which overwrite all of out.
     */
    static boolean conv2dReluMaxPool2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g, Pool2dGeometry pg) {
        if (!supports(g) || !SimdPool.tiles2x2(pg) || pg.n() != g.n() || pg.c() != g.oc() || pg.h() != g.oh() || pg.w() != g.ow()) return false;
        Pool2dGeometry one = new Pool2dGeometry(1, pg.c(), pg.h(), pg.w(), pg.kh(), pg.kw(), pg.strideH(), pg.strideW(), pg.padH(), pg.padW(),
                pg.dilH(), pg.dilW(), pg.oh(), pg.ow());
        int pooled = pg.c() * pg.oh() * pg.ow();
        SimdWinograd.Sink sink = (sample, y) -> SimdPool.reluMaxPool2x2Sample(out, sample * pooled, y, one);
        if (SimdSmallConv.supports(g)) {
            SimdSmallConv.forward(null, x, weight, bias, g, sink);
            return true;
        }
        if (SimdWinograd.supports(g)) {
            int k = g.c() * 9;
            return SimdWinograd.convolve(null, x, new SimdWinograd.Strided(weight, k, 9, false), bias, g.n(), g.c(), g.oc(), g.h(), g.w(), false,
                    sample -> { }, sink);
        }
        return false;
    }

    /** The forward pass's A: W (m × k), the bias (when not null) one more column against a row of ones in B. */
    private static float[] packForward(float[] weight, float[] bias, int m, int k) {
        // NOTE: the bias is added by the micro-kernel itself
        return packA(m, bias == null ? k : k + 1, (i, kk) -> kk < k ? weight[i * k + kk] : bias[i]);
    }

    /** The data gradient's A: W'(ci, (oc, ky', kx')) = W(oc, ci, kh−1−ky', kw−1−kx'), the kernel flipped, channels swapped. */
    private static float[] packFlipped(float[] weight, Conv2dGeometry g, Lowering low) {
        int khw = g.kh() * g.kw(), kIn = g.c() * khw;
        return packA(g.c(), low.k(), (ci, kk) -> weight[(kk / khw) * kIn + ci * khw + (khw - 1 - kk % khw)]);
    }

    // dout is (N, OC, OH, OW); dx like x, dweight like weight, dbias (OC): each accumulated with +=, each may be null;
    // with freshDx, dx is overwritten instead
    static void conv2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g,
                               boolean freshDx) {
        if (!supports(g)) {
            if (freshDx && dx != null) java.util.Arrays.fill(dx, 0, g.n() * g.c() * g.h() * g.w(), 0f);
            Conv2dKernels.conv2dBackward(dx, dweight, dbias, dout, x, weight, g);
            return;
        }
        // the direct kernel sums the bias gradient with the weight gradient (unless x holds NaN or ±∞)
        boolean direct = dweight != null && SimdSmallConv.supports(g) && SimdSmallConv.backwardWeight(dweight, dbias, dout, x, g);
        if (dbias != null && !direct) sumPerChannel(dbias, dout, g.n(), g.oc(), g.oh() * g.ow());
        boolean doutFinite = true, doutScanned = false; // the Winograd data gradient finds it out sample by sample
        if (dx != null && SimdWinograd.supports(g)) {
            // dx = conv(dout, W') with W'(ci, oc, tap) = W(oc, ci, 8 − tap): the kernel flipped, channels swapped
            int k = g.c() * 9;
            Lowering low = lowerings(g)[1];
            float[][] packed = new float[1][];
            doutFinite = SimdWinograd.convolve(dx, dout, new SimdWinograd.Strided(weight, 9, k, true), null, g.n(), g.oc(), g.c(), g.h(), g.w(),
                    !freshDx, sample -> convolveSamples(dx, g.c(), dout, packedOnce(packed, () -> packFlipped(weight, g, low)), false, !freshDx,
                            sample, sample + 1, low));
            doutScanned = true;
        } else if (dx != null) {
            Lowering low = lowerings(g)[1];
            convolve(dx, g.c(), dout, packFlipped(weight, g, low), false, !freshDx, g.n(), low);
        }
        if (dweight == null || direct) return;
        boolean finiteX = SimdWinograd.finiteParallel(x, 0, g.n() * g.c() * g.h() * g.w());
        if (finiteX && SimdWinograd.supports(g) && (doutScanned ? doutFinite : SimdWinograd.finiteParallel(dout, 0, g.n() * g.oc() * g.oh() * g.ow()))) {
            // NOTE: NaN or ±∞ anywhere takes a direct path below: the transforms would spread it over whole tiles
            SimdWinograd.backwardWeight(dweight, dout, x, g.n(), g.c(), g.oc(), g.h(), g.w());
        } else {
            Shifted sh = shifted(g);
            // NOTE: the shifted path multiplies the zero gradient of each row's padding columns by the pixels the
            // shifted rows reach there (the next row's first ones): 0·∞ would put a NaN where PyTorch has none
            if (sh.c() >= 8 && finiteX) backwardWeightShifted(dweight, dout, x, g, sh);
            else if (g.c() * g.kh() * g.kw() <= NR) backwardWeightNarrow(dweight, dout, x, g, lowerings(g)[0]);
            else backwardWeight(dweight, dout, x, g, lowerings(g)[0]);
        }
    }

    /**
     * {@code out_n (=|+=) A · col(in_n)} for every sample: A is packed by {@link #packA} (m rows, low.k() columns,
     * plus the bias as one more column when {@code biasRow}: B then gets a row of ones), out_n is (m, P) at
     * {@code n·m·P}, in_n is (low.c, low.h, low.w) at {@code n·low.c·low.h·low.w}.
     */
    private static void convolve(float[] out, int m, float[] in, float[] packedA, boolean biasRow, boolean accumulate, int n,
                                 Lowering low) {
        Parallel.forRange(n, 1, (n0, n1) -> convolveSamples(out, m, in, packedA, biasRow, accumulate, n0, n1, low));
    }

    /** {@link #convolve} for samples [n0, n1), on the calling thread. */
    static void convolveSamples(float[] out, int m, float[] in, float[] packedA, boolean biasRow, boolean accumulate, int n0, int n1,
                                Lowering low) {
        int k = low.k() + (biasRow ? 1 : 0), p = low.p(), panels = (p + NR - 1) / NR, tiles = (m + MR - 1) / MR;
        int inStride = low.c() * low.h() * low.w(), outStride = m * p;
        {
            Scratch s = SCRATCH.get();
            if (s.packB.length < k * NR) s.packB = new float[k * NR];
            float[] packB = s.packB;
            for (int sample = n0; sample < n1; sample++) {
                int oBase = sample * outStride;
                // NOTE: one panel at a time: K × NR floats, in L1 while every row tile uses it
                for (int q = 0; q < panels; q++) {
                    packPanel(packB, in, sample * inStride, low, q);
                    if (biasRow) java.util.Arrays.fill(packB, (k - 1) * NR, k * NR, 1f);
                    int nr = Math.min(NR, p - q * NR);
                    for (int kb = 0; kb < k; kb += KB) {
                        int kc = Math.min(KB, k - kb);
                        boolean add = accumulate || kb > 0;
                        for (int t = 0; t < tiles; t++) {
                            int mr = Math.min(MR, m - t * MR);
                            int aIdx = (t * k + kb) * MR, cIdx = oBase + t * MR * p + q * NR;
                            if (nr <= VL) { // the last, narrow panel (e.g. 4 of 196 pixels): half the work
                                kernelNarrow(kc, packedA, aIdx, packB, kb * NR, out, cIdx, p, mr, nr, add, s.tile);
                            } else {
                                SimdGemm.kernel(kc, true, packedA, aIdx, 0, 0, 0, 0, 0, MR, packB, kb * NR, out, cIdx, p, mr, nr,
                                        add, s.tile);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * {@link SimdGemm#kernel} for a panel of at most VL columns: an MR × VL tile from kc steps of six broadcasts of
     * packed A × one vector of packed B (the panel's second vector is zeros and skipped). Stores mr × nr, adding to C
     * when {@code add}.
     */
    static void kernelNarrow(int kc, float[] ap, int aIdx, float[] bp, int bIdx, float[] c, int cIdx, int ldc, int mr, int nr,
                             boolean add, float[] tile) {
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S), c4 = FloatVector.zero(S), c5 = FloatVector.zero(S);
        if (MR == 4) {
            for (int p = 0; p < kc; p++) {
                int pa = aIdx + p * MR;
                FloatVector b = FloatVector.fromArray(S, bp, bIdx + p * NR);
                c0 = FloatVector.broadcast(S, ap[pa]).fma(b, c0);
                c1 = FloatVector.broadcast(S, ap[pa + 1]).fma(b, c1);
                c2 = FloatVector.broadcast(S, ap[pa + 2]).fma(b, c2);
                c3 = FloatVector.broadcast(S, ap[pa + 3]).fma(b, c3);
            }
        } else {
            for (int p = 0; p < kc; p++) {
                int pa = aIdx + p * MR;
                FloatVector b = FloatVector.fromArray(S, bp, bIdx + p * NR);
                c0 = FloatVector.broadcast(S, ap[pa]).fma(b, c0);
                c1 = FloatVector.broadcast(S, ap[pa + 1]).fma(b, c1);
                c2 = FloatVector.broadcast(S, ap[pa + 2]).fma(b, c2);
                c3 = FloatVector.broadcast(S, ap[pa + 3]).fma(b, c3);
                c4 = FloatVector.broadcast(S, ap[pa + 4]).fma(b, c4);
                c5 = FloatVector.broadcast(S, ap[pa + 5]).fma(b, c5);
            }
        }
        c0.intoArray(tile, 0);
        c1.intoArray(tile, NR);
        c2.intoArray(tile, 2 * NR);
        c3.intoArray(tile, 3 * NR);
        if (MR == 6) {
            c4.intoArray(tile, 4 * NR);
            c5.intoArray(tile, 5 * NR);
        }
        for (int r = 0; r < mr; r++) {
            int ci = cIdx + r * ldc, ti = r * NR;
            if (add) for (int j = 0; j < nr; j++) c[ci + j] += tile[ti + j];
            else System.arraycopy(tile, ti, c, ci, nr);
        }
    }

    /** {@code holder[0]}, made by {@code make} on first use (by whichever thread comes first). */
    private static float[] packedOnce(float[][] holder, java.util.function.Supplier<float[]> make) {
        synchronized (holder) {
            if (holder[0] == null) holder[0] = make.get();
            return holder[0];
        }
    }

    /** An element of a matrix to pack: A(i, k). */
    @FunctionalInterface
    interface Element {
        float at(int i, int k);
    }

    /** Packs A (m × k) into row tiles of [k][MR]; rows past m repeat row m−1 (computed, never stored). */
    static float[] packA(int m, int k, Element a) {
        int tiles = (m + MR - 1) / MR;
        float[] dst = new float[tiles * k * MR];
        for (int t = 0; t < tiles; t++) {
            for (int r = 0; r < MR; r++) {
                int i = Math.min(t * MR + r, m - 1);
                for (int kk = 0; kk < k; kk++) dst[(t * k + kk) * MR + r] = a.at(i, kk);
            }
        }
        return dst;
    }

    /**
     * Panel q of the im2col matrix of one sample, packed for the micro-kernel: output pixels [q·NR, q·NR + NR) as
     * [K][NR] at dst[0..); each row is two masked vector loads of the shifted input (zeros where the window leaves
     * the input and past the last pixel). The masks depend on the kernel tap (ky, kx) only, so they are formed once
     * per tap and reused for every input channel.
     */
    static void packPanel(float[] dst, float[] x, int xOff, Lowering low, int q) {
        int blocks = low.blocks(), taps = low.kh() * low.kw(), c = low.c(), planeSize = low.h() * low.w();
        int[] offset = low.offset();
        long[] masks = low.masks();
        int[] lanes = low.lanes();
        int b0 = 2 * q, b1 = 2 * q + 1;
        int src0 = xOff + q * NR;
        for (int r = 0; r < taps; r++) {
            int first = src0 + offset[r], last = first + (c - 1) * planeSize;
            if (first >= 0 && last + NR <= x.length) {
                // NOTE: every lane in the array: plain loads and a bitwise AND with the tap's lane mask (0 or all ones:
                // exact zeros, NaN never spreads), 3-4 times faster than masked loads on AVX2
                IntVector m0 = IntVector.fromArray(IS, lanes, (r * blocks + b0) * VL);
                IntVector m1 = b1 < blocks ? IntVector.fromArray(IS, lanes, (r * blocks + b1) * VL) : IntVector.zero(IS);
                for (int ci = 0, src = first, d = r * NR; ci < c; ci++, src += planeSize, d += taps * NR) {
                    FloatVector.fromArray(S, x, src).reinterpretAsInts().and(m0).reinterpretAsFloats().intoArray(dst, d);
                    FloatVector.fromArray(S, x, src + VL).reinterpretAsInts().and(m1).reinterpretAsFloats().intoArray(dst, d + VL);
                }
            } else { // the first or last panel of the array: the window leaves it
                VectorMask<Float> m0 = VectorMask.fromLong(S, masks[r * blocks + b0]);
                VectorMask<Float> m1 = VectorMask.fromLong(S, b1 < blocks ? masks[r * blocks + b1] : 0L);
                for (int ci = 0, kk = r; ci < c; ci++, kk += taps) {
                    int src = src0 + offset[kk], d = kk * NR;
                    FloatVector.fromArray(S, x, src, m0).intoArray(dst, d);
                    // NOTE: past the last pixel the mask is empty: a masked load of nothing reads no memory
                    FloatVector.fromArray(S, x, src + VL, m1).intoArray(dst, d + VL);
                }
            }
        }
    }

    /**
     * The im2col matrix of one sample, (K × P) row-major with rows {@code blocks·VL} apart (the padding past P holds
     * zeros), with masked vector loads formed once per tap. Whole-vector stores only: a masked store is far slower.
     */
    static void im2col(float[] col, float[] x, int xOff, Lowering low) {
        int blocks = low.blocks(), taps = low.kh() * low.kw(), c = low.c(), stride = blocks * VL;
        int[] offset = low.offset();
        long[] masks = low.masks();
        for (int r = 0; r < taps; r++) {
            for (int b = 0; b < blocks; b++) {
                VectorMask<Float> m = VectorMask.fromLong(S, masks[r * blocks + b]);
                for (int ci = 0, kk = r; ci < c; ci++, kk += taps) {
                    FloatVector.fromArray(S, x, xOff + offset[kk] + b * VL, m).intoArray(col, kk * stride + b * VL);
                }
            }
        }
    }

    // ---------------------------------------------------------------- the padded input of the weight gradient

    /**
     * A stride-1, same-width convolution's input, zero-padded: the input planes (c, h, w) are copied into planes of
     * hp × wp with the padding around them, {@code plane} floats apart. On an output of oh rows of wp pixels (the
     * last wp − w of each row wasted), tap (ky, kx) of output pixel p' reads the padded plane at p' plus the constant
     * {@code tapOff = ky·dilH·wp + kx·dilW}: row (ci, tap) of the im2col matrix is the padded plane where it lies,
     * with no im2col matrix and no masks.
     */
    record Shifted(int c, int h, int w, int oh, int padTop, int padLeft, int hp, int wp, int plane, int taps, int[] tapOff, int size) {

        /** Copies one sample's c planes of h × w, at {@code in[iBase..]}, inside the padding of {@code pad} (zeros around). */
        void copyIn(float[] pad, float[] in, int iBase) {
            for (int ci = 0; ci < c; ci++) {
                for (int y = 0; y < h; y++) System.arraycopy(in, iBase + (ci * h + y) * w, pad, ci * plane + (y + padTop) * wp + padLeft, w);
            }
        }

        static Shifted of(int c, int h, int w, int oh, int kh, int kw, int padTop, int padLeft, int dilH, int dilW) {
            int wp = w + (kw - 1) * dilW, hp = oh + (kh - 1) * dilH;
            int[] tapOff = new int[kh * kw];
            for (int ky = 0; ky < kh; ky++) for (int kx = 0; kx < kw; kx++) tapOff[ky * kw + kx] = ky * dilH * wp + kx * dilW;
            int plane = planeStride(hp * wp);
            // NOTE: a tap's row runs (kw − 1)·dilW past the last plane's end: slack (zeros) keeps those reads in the array
            int size = c * plane + (kw - 1) * dilW + 2 * NR;
            return new Shifted(c, h, w, oh, padTop, padLeft, hp, wp, plane, kh * kw, tapOff, size);
        }
    }

    /**
     * The distance between two padded planes: at least {@code area}, a whole number of 64-byte lines, and an odd
     * number of them. The micro-kernel reads the same pixel of MR successive channels at once; with planes of 16 × 16
     * floats (1 KB) those rows fall into a quarter of the L1's sets and evict each other.
     */
    static int planeStride(int area) {
        int lines = (area + 15) / 16;
        return (lines | 1) * 16;
    }

    private static final ConcurrentHashMap<Conv2dGeometry, Shifted> SHIFTED = new ConcurrentHashMap<>();

    /** The padded geometry of the input x of a convolution. */
    private static Shifted shifted(Conv2dGeometry g) {
        Conv2dGeometry key = new Conv2dGeometry(1, g.c(), g.h(), g.w(), g.oc(), g.kh(), g.kw(), 1, 1, g.padH(), g.padW(),
                g.dilH(), g.dilW(), 1, g.oh(), g.ow());
        return SHIFTED.computeIfAbsent(key, k -> Shifted.of(k.c(), k.h(), k.w(), k.oh(), k.kh(), k.kw(), k.padH(), k.padW(), k.dilH(), k.dilW()));
    }

    // ---------------------------------------------------------------- weight gradient

    /**
     * {@code dW += Σ_n dout_n · col(x_n)ᵀ}, computed transposed as {@code dWᵀ (K × OC) += col(x_n) · dout_nᵀ} so the
     * long side K is the GEMM's M; each thread sums its samples into its own dWᵀ, and the sums are transposed into
     * dW at the end.
     */
    private static void backwardWeight(float[] dweight, float[] dout, float[] x, Conv2dGeometry g, Lowering low) {
        int k = low.k(), p = low.p(), oc = g.oc();
        int inStride = g.c() * g.h() * g.w(), outStride = oc * p;
        // NOTE: one partial dWᵀ per chunk, the chunks fixed by N and the thread count (not by which thread runs
        // which), summed in chunk order: the same bits on every run with the same thread count
        int chunks = Math.min(Parallel.chunks(g.n(), 1), g.n());
        if (chunks == 0) return;
        float[][] partial = partials(chunks, k * oc);
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            Scratch s = SCRATCH.get();
            int stride = low.blocks() * VL; // im2col's row length, P rounded up to whole vectors
            if (s.col.length < k * stride) s.col = new float[k * stride];
            float[] col = s.col;
            for (int c = c0; c < c1; c++) {
                float[] dwt = partial[c];
                int nFrom = (int) ((long) g.n() * c / chunks), nTo = (int) ((long) g.n() * (c + 1) / chunks);
                for (int sample = nFrom; sample < nTo; sample++) {
                    im2col(col, x, sample * inStride, low);
                    // the chunk's first sample overwrites its (reused) partial sum
                    SimdGemm.sgemm(false, true, k, oc, p, col, 0, stride, dout, sample * outStride, p, dwt, 0, oc, sample > nFrom);
                }
            }
        });
        addTransposed(dweight, partial, chunks, oc, k);
    }

    /**
     * The weight gradient on the padded input (see {@link Shifted}): for each tap, {@code dW_tapᵀ (C × OC) +=
     * shift_tap(pad(x_n)) (C × P') · dout'_nᵀ (P' × OC)}, where dout' is dout laid out on the padded width with zeros
     * in the extra columns (so the wasted pixels add nothing). The rows of A are the padded input where it lies; B
     * is packed once per sample and serves all taps. Partial sums per chunk and their order as in
     * {@link #backwardWeight}.
     */
    private static void backwardWeightShifted(float[] dweight, float[] dout, float[] x, Conv2dGeometry g, Shifted sh) {
        int c = g.c(), oc = g.oc(), taps = sh.taps(), k = c * taps, wp = sh.wp(), w = sh.w(), oh = sh.oh();
        int plane = sh.plane(), pp = oh * wp, p = oh * w, panels = (oc + NR - 1) / NR;
        int inStride = c * g.h() * g.w(), outStride = oc * p;
        int chunks = Math.min(Parallel.chunks(g.n(), 1), g.n());
        if (chunks == 0) return;
        float[][] partial = partials(chunks, k * oc);
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            Scratch s = SCRATCH.get();
            if (s.pad.length < sh.size()) s.pad = new float[sh.size()];
            if (s.doutT.length < panels * pp * NR) s.doutT = new float[panels * pp * NR];
            float[] pad = s.pad, doutT = s.doutT;
            // Only the padding's zeros and dout's own positions are ever written: clear both once per call.
            java.util.Arrays.fill(pad, 0, sh.size(), 0f);
            java.util.Arrays.fill(doutT, 0, panels * pp * NR, 0f);
            for (int chunk = c0; chunk < c1; chunk++) {
                float[] dwt = partial[chunk]; // row ci·taps + tap, column o: dW[o, ci, tap]
                int nFrom = (int) ((long) g.n() * chunk / chunks), nTo = (int) ((long) g.n() * (chunk + 1) / chunks);
                for (int sample = nFrom; sample < nTo; sample++) {
                    int iBase = sample * inStride, oBase = sample * outStride;
                    sh.copyIn(pad, x, iBase);
                    // B(p', j) = dout[j, oy, ox] for p' = oy·wp + ox, in panels of [pp][NR]; zero where ox ≥ w or j ≥ oc
                    for (int j = 0; j < oc; j++) {
                        int d = (j / NR) * pp * NR + j % NR, src = oBase + j * p;
                        for (int oy = 0; oy < oh; oy++, d += (wp - w) * NR) {
                            for (int ox = 0; ox < w; ox++, d += NR) doutT[d] = dout[src++];
                        }
                    }
                    boolean add = sample > nFrom; // the chunk's first sample overwrites its (reused) partial sum
                    // NOTE: panel outermost: its pp × NR floats stay in L1 while every tap and channel tile uses them
                    for (int q = 0; q < panels; q++) {
                        int nr = Math.min(NR, oc - q * NR);
                        for (int t = 0; t < taps; t++) {
                            int aT = sh.tapOff()[t];
                            for (int ci = 0; ci < c; ci += MR) {
                                int mr = Math.min(MR, c - ci), last = c - 1;
                                int a0 = ci * plane + aT, a1 = Math.min(ci + 1, last) * plane + aT, a2 = Math.min(ci + 2, last) * plane + aT;
                                int a3 = Math.min(ci + 3, last) * plane + aT, a4 = Math.min(ci + 4, last) * plane + aT;
                                int a5 = Math.min(ci + 5, last) * plane + aT;
                                SimdGemm.kernel(pp, false, pad, a0, a1, a2, a3, a4, a5, 1, doutT, q * pp * NR,
                                        dwt, (ci * taps + t) * oc + q * NR, taps * oc, mr, nr, add, s.tile);
                            }
                        }
                    }
                }
            }
        });
        addTransposed(dweight, partial, chunks, oc, k);
    }

    /**
     * The weight gradient when K = C·kh·kw fits one panel (conv1 of the reference model: K = 9): {@code dW (OC × K)
     * += Σ_n dout_n (OC × P) · col(x_n)ᵀ (P × K)}. A is dout where it lies (rows of P pixels); B, col(x_n)ᵀ, is a
     * single [P][NR] panel filled through a per-geometry table of input offsets (−1 where the window leaves the
     * input). No im2col matrix, no transposing gathers. Partial sums per chunk and their order as in
     * {@link #backwardWeight}.
     */
    private static void backwardWeightNarrow(float[] dweight, float[] dout, float[] x, Conv2dGeometry g, Lowering low) {
        int k = low.k(), p = low.p(), oc = g.oc(), tiles = (oc + MR - 1) / MR;
        int inStride = g.c() * g.h() * g.w(), outStride = oc * p;
        int[] source = NARROW_SOURCES.computeIfAbsent(low, SimdConv::narrowSources);
        int chunks = Math.min(Parallel.chunks(g.n(), 1), g.n());
        if (chunks == 0) return;
        float[][] partial = partials(chunks, oc * k);
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            Scratch s = SCRATCH.get();
            if (s.packB.length < p * NR) s.packB = new float[p * NR];
            float[] packB = s.packB;
            java.util.Arrays.fill(packB, 0, p * NR, 0f); // columns k..NR stay zero
            for (int chunk = c0; chunk < c1; chunk++) {
                float[] dw = partial[chunk]; // dW (oc × k), row stride k
                int nFrom = (int) ((long) g.n() * chunk / chunks), nTo = (int) ((long) g.n() * (chunk + 1) / chunks);
                for (int sample = nFrom; sample < nTo; sample++) {
                    int xOff = sample * inStride, oBase = sample * outStride;
                    for (int q = 0; q < p; q++) {
                        for (int kk = 0; kk < k; kk++) {
                            int src = source[q * k + kk];
                            packB[q * NR + kk] = src < 0 ? 0f : x[xOff + src];
                        }
                    }
                    boolean add = sample > nFrom; // the chunk's first sample overwrites its (reused) partial sum
                    for (int t = 0; t < tiles; t++) {
                        int i = t * MR, mr = Math.min(MR, oc - i), last = oc - 1;
                        SimdGemm.kernel(p, false, dout, oBase + i * p, oBase + Math.min(i + 1, last) * p,
                                oBase + Math.min(i + 2, last) * p, oBase + Math.min(i + 3, last) * p,
                                oBase + Math.min(i + 4, last) * p, oBase + Math.min(i + 5, last) * p, 1,
                                packB, 0, dw, i * k, k, mr, k, add, s.tile);
                    }
                }
            }
        });
        for (int chunk = 0; chunk < chunks; chunk++) {
            float[] dw = partial[chunk];
            for (int i = 0; i < oc * k; i++) dweight[i] += dw[i];
        }
    }

    /** For output pixel q and kernel row kk = (ci, ky, kx): the offset of its input element in a sample, or −1 (padding). */
    private static int[] narrowSources(Lowering low) {
        int k = low.k(), p = low.p(), taps = low.kh() * low.kw(), w = low.w();
        int[] source = new int[p * k];
        for (int q = 0; q < p; q++) {
            for (int kk = 0; kk < k; kk++) {
                int tap = kk % taps, ky = tap / low.kw(), kx = tap % low.kw();
                int iy = q / w + ky * low.dilH() - low.padTop(), ix = q % w + kx * low.dilW() - low.padLeft();
                boolean inside = iy >= 0 && iy < low.h() && ix >= 0 && ix < w;
                source[q * k + kk] = inside ? (kk / taps) * low.h() * w + iy * w + ix : -1;
            }
        }
        return source;
    }

    private static final ConcurrentHashMap<Lowering, int[]> NARROW_SOURCES = new ConcurrentHashMap<>();

    /** {@code dW (oc × k) += Σ_c partial[c]ᵀ}, each partial being dWᵀ (k × oc), summed in chunk order. */
    private static void addTransposed(float[] dweight, float[][] partial, int chunks, int oc, int k) {
        for (int c = 0; c < chunks; c++) {
            float[] dwt = partial[c];
            for (int o = 0; o < oc; o++) {
                for (int kk = 0; kk < k; kk++) dweight[o * k + kk] += dwt[kk * oc + o];
            }
        }
    }

    /** The calling thread's per-chunk partial sums, reused from call to call: {@code chunks} arrays of at least {@code size}. */
    static float[][] partials(int chunks, int size) {
        float[][] have = PARTIALS.get();
        if (have.length < chunks) {
            have = java.util.Arrays.copyOf(have, chunks);
            PARTIALS.set(have);
        }
        for (int c = 0; c < chunks; c++) if (have[c] == null || have[c].length < size) have[c] = new float[size];
        return have;
    }

    private static final ThreadLocal<float[][]> PARTIALS = ThreadLocal.withInitial(() -> new float[0][]);

    /** {@code dbias[c] += Σ over batch and plane of d[n, c, :]}, d is (n, channels, plane); float lanes, double per plane. */
    static void sumPerChannel(float[] dbias, float[] d, int n, int channels, int plane) {
        // NOTE: not reduceLanes(ADD): its summation order differs between the C2 intrinsic and the Java fallback that
        // runs before C2 compiles this loop, which made training results depend on JIT timing. Lanes are summed in
        // a fixed order instead. Each channel is summed by one thread, so the thread count does not change the bits.
        Parallel.forRange(channels, 4, (c0, c1) -> {
            float[] lanes = new float[VL];
            for (int c = c0; c < c1; c++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    int o = (i * channels + c) * plane;
                    FloatVector acc = FloatVector.zero(S);
                    int j = 0;
                    for (int bound = S.loopBound(plane); j < bound; j += VL) acc = acc.add(FloatVector.fromArray(S, d, o + j));
                    acc.intoArray(lanes, 0);
                    double r = 0;
                    for (float lane : lanes) r += lane;
                    for (; j < plane; j++) r += d[o + j];
                    s += r;
                }
                dbias[c] += (float) s;
            }
        });
    }
}
