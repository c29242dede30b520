package dev.deepshape.simd;

import dev.deepshape.backend.MaxPool2dKernels;
import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.Pool2dGeometry;
import java.util.concurrent.ConcurrentHashMap;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Max pooling (and ReLU + max pooling) with the Vector API; the oracles are {@link MaxPool2dKernels}' naive loops.
 *
 * <p>When every window lies inside the input (no padding, and no ceil_mode window hanging over the edge) a VL-lane
 * vector holds VL consecutive output pixels of a plane: a gather through a per-geometry table of window origins
 * ({@code oy·strideH·W + ox·strideW}) reads one window element for all of them, and the kh·kw elements are taken
 * in PyTorch's row-major order with its rule, lane by lane: the element replaces the best so far when it is greater
 * or NaN. So the values and the indices are bit-identical to the scalar kernel's. Planes are spread over threads.
 * Other geometries (padding, ceil_mode overhang) run the reference kernel.
 */
final class SimdPool {
    private SimdPool() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();

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

    // x is (N, C, H, W), out and indices are (N, C, OH, OW); indices may be null
    static void maxPool2dForward(float[] out, int[] indices, float[] x, Pool2dGeometry g) {
        if (!windowsInside(g)) {
            MaxPool2dKernels.maxPool2dForward(out, indices, x, g);
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
    static void reluMaxPool2dBackward(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g) {
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        // a scatter with +=, scalar: overlapping windows may send two outputs of one vector to the same input
        Parallel.forRange(g.n() * g.c(), Math.max(1, 16384 / Math.max(1, outPlane)), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int xBase = p * inPlane, oBase = p * outPlane;
                for (int o = oBase; o < oBase + outPlane; o++) if (!(out[o] <= 0f)) dx[xBase + (int) indices[o]] += dout[o];
            }
        });
    }
}
