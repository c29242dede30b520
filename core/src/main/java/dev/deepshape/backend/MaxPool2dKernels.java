package dev.deepshape.backend;

/**
 * 2-D max pooling with indices, forward and backward, with PyTorch's CPU semantics: padding counts as −∞, the index
 * is that of the first maximum in the window (row-major window order; a NaN wins), stored as {@code h·W + w} within
 * the input plane, and a window always holds at least one input element (guaranteed by padding ≤ kernel/2 and the
 * ceil_mode rule in {@link Pool2dGeometry#outSize}).
 */
public final class MaxPool2dKernels {
    private MaxPool2dKernels() {}

    // ---------------------------------------------------------------- naive reference

    // x is (N, C, H, W), out and indices are (N, C, OH, OW); indices may be null
    public static void maxPool2dForwardNaive(float[] out, int[] indices, float[] x, Pool2dGeometry g) {
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        for (int p = 0; p < g.n() * g.c(); p++) {
            for (int oy = 0; oy < g.oh(); oy++) {
                for (int ox = 0; ox < g.ow(); ox++) {
                    float best = Float.NEGATIVE_INFINITY;
                    int arg = -1;
                    for (int ky = 0; ky < g.kh(); ky++) {
                        int iy = oy * g.strideH() - g.padH() + ky * g.dilH();
                        if (iy < 0 || iy >= g.h()) continue;
                        for (int kx = 0; kx < g.kw(); kx++) {
                            int ix = ox * g.strideW() - g.padW() + kx * g.dilW();
                            if (ix < 0 || ix >= g.w()) continue;
                            float v = x[p * inPlane + iy * g.w() + ix];
                            if (arg < 0) arg = iy * g.w() + ix; // an all −∞ window points at its first element
                            if (v > best || Float.isNaN(v)) {
                                best = v;
                                arg = iy * g.w() + ix;
                            }
                        }
                    }
                    out[p * outPlane + oy * g.ow() + ox] = best;
                    if (indices != null) indices[p * outPlane + oy * g.ow() + ox] = arg;
                }
            }
        }
    }

    // dout and indices are (N, C, OH, OW); dx is (N, C, H, W), accumulated with +=
    public static void maxPool2dBackwardNaive(float[] dx, float[] dout, int[] indices, Pool2dGeometry g) {
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        for (int p = 0; p < g.n() * g.c(); p++) {
            for (int o = 0; o < outPlane; o++) dx[p * inPlane + indices[p * outPlane + o]] += dout[p * outPlane + o];
        }
    }

    // ---------------------------------------------------------------- fast path

    // x is (N, C, H, W), out and indices are (N, C, OH, OW); indices may be null
    public static void maxPool2dForward(float[] out, int[] indices, float[] x, Pool2dGeometry g) {
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        int w = g.w();
        // Planes are independent: spread them over threads. The window's in-range rows/columns are computed once
        // per output pixel (PyTorch's loop), so the inner loop has no bounds checks.
        Parallel.forRange(g.n() * g.c(), Math.max(1, 4096 / Math.max(1, outPlane * g.kh() * g.kw())), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int xBase = p * inPlane, oBase = p * outPlane;
                for (int oy = 0; oy < g.oh(); oy++) {
                    int y0 = oy * g.strideH() - g.padH();
                    int y1 = Math.min(y0 + (g.kh() - 1) * g.dilH() + 1, g.h());
                    while (y0 < 0) y0 += g.dilH();
                    for (int ox = 0; ox < g.ow(); ox++) {
                        int x0 = ox * g.strideW() - g.padW();
                        int x1 = Math.min(x0 + (g.kw() - 1) * g.dilW() + 1, w);
                        while (x0 < 0) x0 += g.dilW();
                        float best = Float.NEGATIVE_INFINITY;
                        int arg = y0 * w + x0;
                        for (int iy = y0; iy < y1; iy += g.dilH()) {
                            int row = xBase + iy * w;
                            for (int ix = x0; ix < x1; ix += g.dilW()) {
                                float v = x[row + ix];
                                if (v > best || Float.isNaN(v)) {
                                    best = v;
                                    arg = iy * w + ix;
                                }
                            }
                        }
                        out[oBase + oy * g.ow() + ox] = best;
                        if (indices != null) indices[oBase + oy * g.ow() + ox] = arg;
                    }
                }
            }
        });
    }

    // dout and indices are (N, C, OH, OW); dx is (N, C, H, W), accumulated with +=
    public static void maxPool2dBackward(float[] dx, float[] dout, int[] indices, Pool2dGeometry g) {
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        // each plane's gradient lands in its own plane of dx, so planes can run in parallel without sharing writes
        Parallel.forRange(g.n() * g.c(), Math.max(1, 16384 / Math.max(1, outPlane)), (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int xBase = p * inPlane, oBase = p * outPlane;
                for (int o = 0; o < outPlane; o++) dx[xBase + indices[oBase + o]] += dout[oBase + o];
            }
        });
    }

    // ---------------------------------------------------------------- fused with the ReLU before it

    // x and relu (may be x) are (N, C, H, W), out and indices (N, C, OH, OW): relu = relu(x), then max pooling of
    // relu; the indices as floats (the saved result1 tensor)
    public static void reluMaxPool2dForward(float[] relu, float[] out, float[] indices, float[] x, Pool2dGeometry g) {
        ElementwiseKernels.relu(relu, x, g.n() * g.c() * g.h() * g.w());
        int[] idx = new int[indices.length];
        maxPool2dForwardNaive(out, idx, relu, g);
        for (int i = 0; i < idx.length; i++) indices[i] = idx[i];
    }

    // dout, out and indices are (N, C, OH, OW); dx (N, C, H, W) += dout at the indices where out is not <= 0
    public static void reluMaxPool2dBackward(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g) {
        int inPlane = g.h() * g.w(), outPlane = g.oh() * g.ow();
        // out[o] is relu's value at indices[o], so "out > 0" is ReLU's own mask at the one element that gets a gradient
        for (int p = 0; p < g.n() * g.c(); p++) {
            for (int o = 0; o < outPlane; o++) {
                int k = p * outPlane + o;
                if (!(out[k] <= 0f)) dx[p * inPlane + (int) indices[k]] += dout[k];
            }
        }
    }
}
