package dev.deepshape.simd;

import dev.deepshape.backend.MaxPool2dKernels;
import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.Pool2dGeometry;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max pooling (and ReLU + max pooling) with the Vector API; the oracles are {@link MaxPool2dKernels}' naive loops.
 *
 * <p>The common case, 2×2 windows with stride 2 and no padding (the reference model's pools), reads the two input
 * rows of a row of windows with plain vector loads: 2·VL floats of a row split into its even and odd columns (two
 * permutes and a blend each) give the left and the right elements of VL windows, lane by lane, so the outputs come
 * out contiguous. Its backward is the mirror image: each input element lies in at most one window, so the gradient
 * is added row by row (dout duplicated into both columns, masked by the saved index) instead of scattered.
 *
 * <p>Other geometries where every window lies inside the input (no padding, and no ceil_mode window hanging over the
 * edge): a VL-lane vector holds VL consecutive output pixels of a plane, and a gather through a per-geometry table of
 * window origins ({@code oy·strideH·W + ox·strideW}) reads one window element for all of them. The rest (padding,
 * ceil_mode overhang) run the reference kernel.
 *
 * <p>Every path applies PyTorch's rule: an element replaces the best so far when it is greater or NaN, so the values
 * and the indices are bit-identical to the scalar kernel's. Planes are spread over threads; chunk boundaries and
 * results do not depend on the thread count.
 */
final class SimdPool {
    private SimdPool() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_PREFERRED; // as many lanes as S

    // The 2×2 path splits 2·VL consecutive floats (a, b) into evens [a0 a2 .. b0 b2 ..] and odds [a1 a3 .. b1 b3 ..]:
    // EVENS_FIRST puts a vector's even lanes in its low half and its odd lanes in the high half, ODDS_FIRST the other
    // way round, so evens = a.EVENS_FIRST low | b.ODDS_FIRST high, and odds = a.ODDS_FIRST low | b.EVENS_FIRST high.
    // NOTE: single-vector permutes and blends only: a two-vector rearrange costs more on AVX2.
    private static final VectorShuffle<Float> EVENS_FIRST = VectorShuffle.fromOp(S, i -> i < VL / 2 ? 2 * i : 2 * (i - VL / 2) + 1);
    private static final VectorShuffle<Float> ODDS_FIRST = VectorShuffle.fromOp(S, i -> i < VL / 2 ? 2 * i + 1 : 2 * (i - VL / 2));
    private static final VectorMask<Float> HIGH_HALF = VectorMask.fromLong(S, ((1L << VL) - 1) & (-1L << (VL / 2)));
    // The backward goes the other way: lane i of the low (high) half of a row's 2·VL floats belongs to window i/2
    // (VL/2 + i/2), the left or right element by the parity of i.
    private static final VectorShuffle<Float> SPREAD_LOW = VectorShuffle.fromOp(S, i -> i / 2);
    private static final VectorShuffle<Float> SPREAD_HIGH = VectorShuffle.fromOp(S, i -> VL / 2 + i / 2);
    private static final float[] IOTA = new float[VL], TWICE_IOTA = new float[VL], PARITY = new float[VL];
    static {
        for (int i = 0; i < VL; i++) {
            IOTA[i] = i;
            TWICE_IOTA[i] = 2 * i;
            PARITY[i] = i % 2;
        }
    }

    /**
     * Window origins per output pixel of a plane, as floats (exact: a plane has far fewer than 2^24 elements), padded
     * with zeros to a multiple of VL; the gathers read them through {@link #originsInt}.
     */
    private static final ConcurrentHashMap<Pool2dGeometry, float[]> ORIGINS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<Pool2dGeometry, int[]> ORIGINS_INT = new ConcurrentHashMap<>();

    /** True when every window of every output pixel lies inside the input plane. */
    static boolean windowsInside(Pool2dGeometry g) {
        return g.padH() == 0 && g.padW() == 0
                && (long) (g.oh() - 1) * g.strideH() + (long) (g.kh() - 1) * g.dilH() < g.h()
                && (long) (g.ow() - 1) * g.strideW() + (long) (g.kw() - 1) * g.dilW() < g.w();
    }

    /**
     * True for 2×2 windows with stride 2, no padding and dilation 1 (ceil_mode adds no window: those windows lie
     * inside): the windows tile the input, so each element lies in at most one.
     */
    static boolean tiles2x2(Pool2dGeometry g) {
        return g.kh() == 2 && g.kw() == 2 && g.strideH() == 2 && g.strideW() == 2 && g.dilH() == 1 && g.dilW() == 1
                && windowsInside(g) && VL >= 2;
    }

    private static Pool2dGeometry planeKey(Pool2dGeometry g) {
        return new Pool2dGeometry(0, 0, g.h(), g.w(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padH(), g.padW(),
                g.dilH(), g.dilW(), g.oh(), g.ow());
    }

    private static int[] originsInt(Pool2dGeometry g) {
        return ORIGINS_INT.computeIfAbsent(planeKey(g), k -> {
            int outPlane = k.oh() * k.ow();
            int[] o = new int[(outPlane + VL - 1) / VL * VL];
            for (int oy = 0; oy < k.oh(); oy++) {
                for (int ox = 0; ox < k.ow(); ox++) o[oy * k.ow() + ox] = oy * k.strideH() * k.w() + ox * k.strideW();
            }
            return o;
        });
    }

    private static float[] originsFloat(Pool2dGeometry g) {
        return ORIGINS.computeIfAbsent(planeKey(g), k -> {
            int[] o = originsInt(k);
            float[] f = new float[o.length];
            for (int i = 0; i < o.length; i++) f[i] = o[i];
            return f;
        });
    }

    /** Planes per chunk: enough that a chunk's work (about 32K input floats) outweighs handing it to a thread. */
    private static int planeGrain(Pool2dGeometry g) {
        return Math.max(1, 32768 / (g.h() * g.w()));
    }

    /**
     * The 2×2 stride-2 forward over planes [p0, p1) of src (N, C, H, W) into out and the indices (ints or floats, one
     * of them null). A window row reads input rows 2·oy and 2·oy + 1; VL windows at a time take 2·VL floats of each.
     * NOTE: a row's last vector may reach past its end (into the next row, whose results overwrite the extra lanes
     * later) as long as it reads inside src and writes below {@code limit}, the first plane another thread may own;
     * where it cannot, the row ends one window at a time.
     */
    private static void forward2x2(float[] out, int outBase, int[] indices, float[] indicesF, float[] src, Pool2dGeometry g, int p0, int p1, int limit) {
        int w = g.w(), ow = g.ow(), oh = g.oh(), inPlane = g.h() * w, outPlane = oh * ow;
        int srcEnd = g.n() * g.c() * inPlane, outEnd = outBase + limit * outPlane;
        FloatVector twiceIota = FloatVector.fromArray(S, TWICE_IOTA, 0);
        FloatVector zero = FloatVector.zero(S), one = FloatVector.broadcast(S, 1f);
        FloatVector belowLeft = FloatVector.broadcast(S, w), belowRight = FloatVector.broadcast(S, w + 1);
        // NOTE: one flat loop over (plane, window row, vector): rows of 7 or 14 windows are one or two vectors, and a
        // nested loop's entry costs more than the vector itself
        for (int p = p0, oy = 0, ox = 0; p < p1; ) {
            int rowAt = 2 * oy * w + 2 * ox;           // the first window's top-left element, within the plane
            int t = p * inPlane + rowAt, o = outBase + p * outPlane + oy * ow + ox;
            if (ox + VL <= ow || (o + VL <= outEnd && t + w + 2 * VL <= srcEnd)) {
                int b = t + w;
                FloatVector t0 = FloatVector.fromArray(S, src, t), t1 = FloatVector.fromArray(S, src, t + VL);
                FloatVector b0 = FloatVector.fromArray(S, src, b), b1 = FloatVector.fromArray(S, src, b + VL);
                // the four elements of VL windows, lane by lane: top-left, top-right, bottom-left, bottom-right
                FloatVector tl = t0.rearrange(EVENS_FIRST).blend(t1.rearrange(ODDS_FIRST), HIGH_HALF);
                FloatVector tr = t0.rearrange(ODDS_FIRST).blend(t1.rearrange(EVENS_FIRST), HIGH_HALF);
                FloatVector bl = b0.rearrange(EVENS_FIRST).blend(b1.rearrange(ODDS_FIRST), HIGH_HALF);
                FloatVector br = b0.rearrange(ODDS_FIRST).blend(b1.rearrange(EVENS_FIRST), HIGH_HALF);
                // PyTorch folds tl, tr, bl, br in that order; the rule is associative (the result is the last NaN,
                // else the first maximum), so folding each row and then the two rows gives the same value and index.
                // NOTE: v != v is the NaN test in one compare; test(IS_NAN) takes several instructions
                VectorMask<Float> right = tr.compare(VectorOperators.GT, tl).or(tr.compare(VectorOperators.NE, tr));
                FloatVector up = tl.blend(tr, right), upAt = zero.blend(one, right);
                right = br.compare(VectorOperators.GT, bl).or(br.compare(VectorOperators.NE, br));
                FloatVector down = bl.blend(br, right), downAt = belowLeft.blend(belowRight, right);
                VectorMask<Float> below = down.compare(VectorOperators.GT, up).or(down.compare(VectorOperators.NE, down));
                FloatVector best = up.blend(down, below);
                FloatVector arg = twiceIota.add((float) rowAt).add(upAt.blend(downAt, below));
                best.intoArray(out, o);
                if (indicesF != null) arg.intoArray(indicesF, o);
                else if (indices != null) arg.convert(VectorOperators.F2I, 0).reinterpretAsInts().intoArray(indices, o);
                ox += VL;
            } else { // the chunk's last row ends one window at a time, as the reference
                float best = src[t];
                int arg = rowAt;
                for (int e = 1; e < 4; e++) {
                    int d = (e >> 1) * w + (e & 1);
                    float v = src[t + d];
                    if (v > best || Float.isNaN(v)) {
                        best = v;
                        arg = rowAt + d;
                    }
                }
                out[o] = best;
                if (indicesF != null) indicesF[o] = arg;
                else if (indices != null) indices[o] = arg;
                ox++;
            }
            if (ox >= ow) {
                ox = 0;
                if (++oy == oh) {
                    oy = 0;
                    p++;
                }
            }
        }
    }

    /**
     * The 2×2 stride-2 backward over planes [p0, p1): dx += dout at the saved indices (ints or floats, one of them
     * null), only where {@code out} (may be null) is not ≤ 0. The windows are disjoint, so a plane's update is dense:
     * first each window row's dout is spread over its two input rows into a scratch plane (dout where the saved index
     * points at the element, −0 elsewhere), then the scratch is added to dx in one flat pass. x + (−0) is x bit for
     * bit, so the elements without a gradient keep theirs, −0 included. With {@code overwrite} the scratch holds +0
     * there instead and is copied over dx (the rows past the last window row, with odd H, set to +0): dx's old
     * contents never read, so a fresh gradient needs no zero fill first.
     * NOTE: the scratch turns dx's update into plain, non-overlapping loads and stores. Updating dx row by row
     * instead makes a row's last vector reach into the next row, and each load then waits for the partly
     * overlapping store before it (a store-forwarding stall): slower than the scalar scatter.
     */
    private static void backward2x2(float[] dx, float[] dout, float[] out, float[] indicesF, int[] indices, Pool2dGeometry g,
                                    int p0, int p1, boolean overwrite) {
        int w = g.w(), ow = g.ow(), oh = g.oh(), inPlane = g.h() * w, outPlane = oh * ow;
        int outLen = g.n() * g.c() * outPlane, covered = 2 * oh * w; // the rows the windows cover
        float[] spread = new float[covered + 2 * VL];                  // a row's last vector may reach past the end
        int last = (ow - 1) / VL * VL;                                 // where a row's last vector starts
        FloatVector iota = FloatVector.fromArray(S, IOTA, 0), twiceIota = FloatVector.fromArray(S, TWICE_IOTA, 0);
        float nothing = overwrite ? 0f : -0f; // what an element without a gradient gets (x + (−0) is x)
        FloatVector none = FloatVector.broadcast(S, -1f), empty = FloatVector.broadcast(S, nothing);
        FloatVector left = FloatVector.fromArray(S, PARITY, 0), belowLeft = left.add((float) w);
        for (int p = p0; p < p1; p++) {
            // One flat loop over (window row, vector), as the forward's. NOTE: a row's vectors run from its last to its
            // first: the last one's top row reaches (with −0 lanes) into the bottom row, which the first one then writes.
            for (int oy = 0, ox = last; oy < oh; ) {
                int rowAt = 2 * oy * w + 2 * ox, k = p * outPlane + oy * ow + ox;
                if (ox == last && 2 * ow < w) spread[2 * oy * w + w - 1] = spread[2 * oy * w + 2 * w - 1] = nothing; // odd W
                if (k + VL <= outLen) {
                    FloatVector at = indicesF != null ? FloatVector.fromArray(S, indicesF, k)
                            : (FloatVector) IntVector.fromArray(IS, indices, k).convert(VectorOperators.I2F, 0);
                    // where in its window the maximum was: 0 (top-left), 1, w or w + 1; -1 where no gradient flows
                    FloatVector local = at.sub(twiceIota.add((float) rowAt));
                    // NOTE: the lanes of this row as a compare, not S.indexInRange, which AVX2 runs lane by lane
                    VectorMask<Float> flows = iota.compare(VectorOperators.LT, (float) (ow - ox));
                    if (out != null) flows = flows.andNot(FloatVector.fromArray(S, out, k).compare(VectorOperators.LE, 0f));
                    local = none.blend(local, flows);
                    FloatVector d = FloatVector.fromArray(S, dout, k);
                    FloatVector dLow = d.rearrange(SPREAD_LOW), dHigh = d.rearrange(SPREAD_HIGH);
                    FloatVector atLow = local.rearrange(SPREAD_LOW), atHigh = local.rearrange(SPREAD_HIGH);
                    int b = rowAt + w;
                    empty.blend(dLow, atLow.compare(VectorOperators.EQ, left)).intoArray(spread, rowAt);
                    empty.blend(dHigh, atHigh.compare(VectorOperators.EQ, left)).intoArray(spread, rowAt + VL);
                    empty.blend(dLow, atLow.compare(VectorOperators.EQ, belowLeft)).intoArray(spread, b);
                    empty.blend(dHigh, atHigh.compare(VectorOperators.EQ, belowLeft)).intoArray(spread, b + VL);
                } else { // the end of the whole tensor: these windows one at a time, each writing its four elements
                    for (int j = ox, at = rowAt; j < Math.min(ox + VL, ow); j++, k++, at += 2) {
                        spread[at] = spread[at + 1] = spread[at + w] = spread[at + w + 1] = nothing;
                        if (out == null || !(out[k] <= 0f)) spread[indicesF != null ? (int) indicesF[k] : indices[k]] = dout[k];
                    }
                }
                ox -= VL;
                if (ox < 0) {
                    ox = last;
                    oy++;
                }
            }
            int base = p * inPlane, i = 0;
            if (overwrite) {
                System.arraycopy(spread, 0, dx, base, covered);
                java.util.Arrays.fill(dx, base + covered, base + inPlane, 0f);
                continue;
            }
            for (int bound = S.loopBound(covered); i < bound; i += VL) {
                FloatVector.fromArray(S, dx, base + i).add(FloatVector.fromArray(S, spread, i)).intoArray(dx, base + i);
            }
            for (; i < covered; i++) dx[base + i] += spread[i];
        }
    }

    /**
     * {@code out[at..]} = relu(max pooling of one sample's planes {@code y[0..]}), for the 2×2 stride-2 geometry
     * {@code one} (n = 1, see {@link #tiles2x2}): the fused inference path's pooling (see SimdConv), which pools
     * first and rectifies after (ReLU is monotone: the same values, NaN kept). On the calling thread.
     * NOTE: only methods that training has made hot already (the pooling loop, the ReLU): a Vector API loop of its
     * own here ran as generic code for the test pass's first batches, 2-3 times slower.
     */
    static void reluMaxPool2x2Sample(float[] out, int at, float[] y, Pool2dGeometry one) {
        forward2x2(out, at, null, null, y, one, 0, one.c(), one.c());
        SimdElementwise.reluRange(out, out, at, at + one.c() * one.oh() * one.ow());
    }

    // x is (N, C, H, W), out and indices are (N, C, OH, OW); indices may be null
    static void maxPool2dForward(float[] out, int[] indices, float[] x, Pool2dGeometry g) {
        if (!windowsInside(g)) {
            MaxPool2dKernels.maxPool2dForward(out, indices, x, g);
            return;
        }
        if (tiles2x2(g)) {
            Parallel.forRange(g.n() * g.c(), planeGrain(g), (p0, p1) -> forward2x2(out, 0, indices, null, x, g, p0, p1, p1));
            return;
        }
        forward(null, out, indices, null, x, g);
    }

    // x and relu (may be x) are (N, C, H, W), out and indices (N, C, OH, OW): relu = relu(x), then max pooling of
    // relu; the indices as floats
    static void reluMaxPool2dForward(float[] relu, float[] out, float[] indices, float[] x, Pool2dGeometry g) {
        if (!windowsInside(g)) {
            MaxPool2dKernels.reluMaxPool2dForward(relu, out, indices, x, g);
            return;
        }
        if (tiles2x2(g)) {
            int inPlane = g.h() * g.w();
            Parallel.forRange(g.n() * g.c(), planeGrain(g), (p0, p1) -> {
                // rectify the chunk's planes a few at a time, each pooled while it is still in L1
                for (int q0 = p0, step = Math.max(1, 2048 / inPlane); q0 < p1; q0 += step) {
                    int q1 = Math.min(p1, q0 + step);
                    SimdElementwise.reluRange(relu, x, q0 * inPlane, q1 * inPlane);
                    forward2x2(out, 0, null, indices, relu, g, q0, q1, p1);
                }
            });
            return;
        }
        forward(relu, out, null, indices, x, g);
    }

    /**
     * With {@code relu} non-null, each plane of x is first rectified into relu (while it is in cache) and pooled from
     * there. The arg-max is carried as a float vector (blended with the same mask as the values) and stored as ints
     * or as floats.
     */
    private static void forward(float[] relu, float[] out, int[] indices, float[] indicesF, float[] x, Pool2dGeometry g) {
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        int[] origin = originsInt(g);
        float[] originF = originsFloat(g);
        int window = g.kh() * g.kw();
        int[] offset = new int[window]; // each window element's offset from the window's origin, row-major
        for (int ky = 0, e = 0; ky < g.kh(); ky++) {
            for (int kx = 0; kx < g.kw(); kx++, e++) offset[e] = ky * g.dilH() * g.w() + kx * g.dilW();
        }
        int planes = g.n() * g.c();
        Parallel.forRange(planes, Math.max(1, 2048 / Math.max(1, outPlane * window)), (p0, p1) -> {
            float[] tailF = new float[VL];
            int[] tailI = new int[VL];
            for (int p = p0; p < p1; p++) {
                int xBase = p * inPlane, oBase = p * outPlane;
                float[] src = x;
                if (relu != null) {
                    SimdElementwise.reluRange(relu, x, xBase, xBase + inPlane);
                    src = relu;
                }
                for (int o = 0; o < outPlane; o += VL) {
                    // NOTE: the padding lanes of the last vector gather at origin 0 (valid memory); they are not stored.
                    FloatVector best = FloatVector.fromArray(S, src, xBase + offset[0], origin, o);
                    FloatVector at = FloatVector.fromArray(S, originF, o);
                    FloatVector arg = at.add((float) offset[0]);
                    for (int e = 1; e < window; e++) {
                        FloatVector v = FloatVector.fromArray(S, src, xBase + offset[e], origin, o);
                        VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.test(VectorOperators.IS_NAN));
                        best = best.blend(v, take);
                        arg = arg.blend(at.add((float) offset[e]), take);
                    }
                    IntVector argI = indices != null ? (IntVector) arg.convert(VectorOperators.F2I, 0) : null;
                    if (o + VL <= outPlane) {
                        best.intoArray(out, oBase + o);
                        if (indicesF != null) arg.intoArray(indicesF, oBase + o);
                        if (argI != null) argI.intoArray(indices, oBase + o);
                    } else { // the plane's last partial vector: through small buffers (a masked store is much slower)
                        int len = outPlane - o;
                        best.intoArray(tailF, 0);
                        System.arraycopy(tailF, 0, out, oBase + o, len);
                        if (indicesF != null) {
                            arg.intoArray(tailF, 0);
                            System.arraycopy(tailF, 0, indicesF, oBase + o, len);
                        }
                        if (argI != null) {
                            argI.intoArray(tailI, 0);
                            System.arraycopy(tailI, 0, indices, oBase + o, len);
                        }
                    }
                }
            }
        });
    }

    // dout, out and indices are (N, C, OH, OW); dx (N, C, H, W) += dout at the indices where out is not <= 0
    // (overwrite: dx = that, +0 elsewhere, whatever dx held)
    static void reluMaxPool2dBackward(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g, boolean overwrite) {
        if (tiles2x2(g)) {
            Parallel.forRange(g.n() * g.c(), planeGrain(g), (p0, p1) -> backward2x2(dx, dout, out, indices, null, g, p0, p1, overwrite));
            return;
        }
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        // a scatter with +=, scalar: overlapping windows may send two outputs of one vector to the same input
        Parallel.forRange(g.n() * g.c(), Math.max(1, 16384 / Math.max(1, outPlane)), (p0, p1) -> {
            if (overwrite) java.util.Arrays.fill(dx, p0 * inPlane, p1 * inPlane, 0f);
            for (int p = p0; p < p1; p++) {
                int xBase = p * inPlane, oBase = p * outPlane;
                for (int o = oBase; o < oBase + outPlane; o++) if (!(out[o] <= 0f)) dx[xBase + (int) indices[o]] += dout[o];
            }
        });
    }

    // dout and indices are (N, C, OH, OW); dx is (N, C, H, W), accumulated with +=
    static void maxPool2dBackward(float[] dx, float[] dout, int[] indices, Pool2dGeometry g) {
        if (!tiles2x2(g)) {
            MaxPool2dKernels.maxPool2dBackward(dx, dout, indices, g);
            return;
        }
        Parallel.forRange(g.n() * g.c(), planeGrain(g), (p0, p1) -> backward2x2(dx, dout, null, null, indices, g, p0, p1, false));
    }
}
