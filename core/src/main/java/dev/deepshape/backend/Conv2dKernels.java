package dev.deepshape.backend;

/**
 * 2-D convolution (cross-correlation, as PyTorch), forward and backward: a naive reference written as the textbook
 * sum, and the fast path the reference backend runs.
 *
 * <p>The fast path lowers each sample to a matrix product (im2col): for group {@code g}, the (c/groups·kh·kw,
 * oh·ow) matrix {@code col} holds in column {@code p} the input patch that output pixel {@code p} sees, so
 * <pre>
 *   out_g  = W_g · col_g          (ocg × K)·(K × P)     forward
 *   dcol_g = W_gᵀ · dout_g        then col2im → dx       backward, data
 *   dW_g  += dout_g · col_gᵀ      (ocg × P)·(P × K)      backward, weight
 * </pre>
 * with K = c/groups·kh·kw and P = oh·ow. Every product goes through {@link Backends#current()}'s sgemm so a faster
 * backend speeds convolutions up too. Samples are spread over threads with {@link Parallel#forRange}; each chunk
 * owns its scratch buffers (and its partial weight gradient, reduced at the end), and inside that parallel region
 * sgemm runs on the calling thread.
 */
public final class Conv2dKernels {
    private Conv2dKernels() {}

    // ---------------------------------------------------------------- naive reference

    // x is (N, C, H, W), weight is (OC, C/groups, KH, KW), bias (OC) or null, out is (N, OC, OH, OW)
    public static void conv2dForwardNaive(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        int cg = g.cg(), ocg = g.ocg();
        for (int n = 0; n < g.n(); n++) {
            for (int oc = 0; oc < g.oc(); oc++) {
                int c0 = (oc / ocg) * cg; // first input channel of this output channel's group
                for (int oy = 0; oy < g.oh(); oy++) {
                    for (int ox = 0; ox < g.ow(); ox++) {
                        double s = bias != null ? bias[oc] : 0;
                        for (int ci = 0; ci < cg; ci++) {
                            for (int ky = 0; ky < g.kh(); ky++) {
                                int iy = oy * g.strideH() - g.padH() + ky * g.dilH();
                                if (iy < 0 || iy >= g.h()) continue;
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int ix = ox * g.strideW() - g.padW() + kx * g.dilW();
                                    if (ix < 0 || ix >= g.w()) continue;
                                    s += (double) x[((n * g.c() + c0 + ci) * g.h() + iy) * g.w() + ix]
                                            * weight[((oc * cg + ci) * g.kh() + ky) * g.kw() + kx];
                                }
                            }
                        }
                        out[((n * g.oc() + oc) * g.oh() + oy) * g.ow() + ox] = (float) s;
                    }
                }
            }
        }
    }

    // dout is (N, OC, OH, OW); dx like x, dweight like weight, dbias (OC): each accumulated with +=, each may be null
    public static void conv2dBackwardNaive(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        int cg = g.cg(), ocg = g.ocg();
        for (int n = 0; n < g.n(); n++) {
            for (int oc = 0; oc < g.oc(); oc++) {
                int c0 = (oc / ocg) * cg;
                for (int oy = 0; oy < g.oh(); oy++) {
                    for (int ox = 0; ox < g.ow(); ox++) {
                        float d = dout[((n * g.oc() + oc) * g.oh() + oy) * g.ow() + ox];
                        if (dbias != null) dbias[oc] += d;
                        for (int ci = 0; ci < cg; ci++) {
                            for (int ky = 0; ky < g.kh(); ky++) {
                                int iy = oy * g.strideH() - g.padH() + ky * g.dilH();
                                if (iy < 0 || iy >= g.h()) continue;
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int ix = ox * g.strideW() - g.padW() + kx * g.dilW();
                                    if (ix < 0 || ix >= g.w()) continue;
                                    int xi = ((n * g.c() + c0 + ci) * g.h() + iy) * g.w() + ix;
                                    int wi = ((oc * cg + ci) * g.kh() + ky) * g.kw() + kx;
                                    if (dx != null) dx[xi] += d * weight[wi];
                                    if (dweight != null) dweight[wi] += d * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- fast path (im2col + sgemm)

    // x is (N, C, H, W), weight is (OC, C/groups, KH, KW), bias (OC) or null, out is (N, OC, OH, OW)
    public static void conv2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        forwardData(out, x, weight, bias, g, false);
    }

    // dout is (N, OC, OH, OW); dx like x, dweight like weight, dbias (OC): each accumulated with +=, each may be null
    public static void conv2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        if (dbias != null) sumPerChannel(dbias, dout, g.n(), g.oc(), g.oh() * g.ow());
        if (dx != null) backwardData(dx, dout, weight, g);
        if (dweight != null) backwardWeight(dweight, dout, x, g);
    }

    /**
     * {@code out (=|+=) conv(x, weight) + bias}. With {@code accumulate} the result is added to {@code out} (the
     * transposed convolution's backward uses that); bias may be null.
     */
    static void forwardData(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g, boolean accumulate) {
        int p = g.oh() * g.ow(), k = g.colRows(), ocg = g.ocg(), cg = g.cg(), plane = g.h() * g.w();
        boolean pointwise = isPointwise(g);
        Backend be = Backends.current();
        Parallel.forRange(g.n(), 1, (n0, n1) -> {
            float[] col = pointwise ? null : new float[k * p];
            for (int n = n0; n < n1; n++) {
                int outBase = n * g.oc() * p;
                if (bias != null) {
                    for (int oc = 0; oc < g.oc(); oc++) {
                        int o = outBase + oc * p;
                        float b = bias[oc];
                        if (accumulate) for (int i = 0; i < p; i++) out[o + i] += b;
                        else java.util.Arrays.fill(out, o, o + p, b);
                    }
                }
                boolean acc = accumulate || bias != null; // the GEMM adds onto the bias (or onto what was there)
                for (int grp = 0; grp < g.groups(); grp++) {
                    int xOff = (n * g.c() + grp * cg) * plane;
                    float[] src = lowered(col, x, xOff, g);
                    int srcOff = col == null ? xOff : 0;
                    // out_g (ocg × P) = W_g (ocg × K) · col_g (K × P)
                    be.sgemm(false, false, ocg, p, k, weight, grp * ocg * k, k, src, srcOff, p, out, outBase + grp * ocg * p, p, acc);
                }
            }
        });
    }

    /** {@code dx += ∂(conv)/∂x · dout}: per group dcol = W_gᵀ·dout_g, then col2im adds the columns back into dx. */
    static void backwardData(float[] dx, float[] dout, float[] weight, Conv2dGeometry g) {
        int p = g.oh() * g.ow(), k = g.colRows(), ocg = g.ocg(), cg = g.cg(), plane = g.h() * g.w();
        boolean pointwise = isPointwise(g);
        Backend be = Backends.current();
        Parallel.forRange(g.n(), 1, (n0, n1) -> {
            float[] dcol = pointwise ? null : new float[k * p];
            for (int n = n0; n < n1; n++) {
                for (int grp = 0; grp < g.groups(); grp++) {
                    int dOff = (n * g.oc() + grp * ocg) * p;
                    int xOff = (n * g.c() + grp * cg) * plane;
                    if (pointwise) { // col is x itself, so dcol is dx itself
                        be.sgemm(true, false, k, p, ocg, weight, grp * ocg * k, k, dout, dOff, p, dx, xOff, p, true);
                    } else {
                        be.sgemm(true, false, k, p, ocg, weight, grp * ocg * k, k, dout, dOff, p, dcol, 0, p, false);
                        col2imAdd(dx, xOff, dcol, g);
                    }
                }
            }
        });
    }

    /**
     * {@code dweight += Σ_n dout_n · col(x_n)ᵀ}. Each thread accumulates its samples into its own buffer; the buffers
     * are summed at the end (no shared writes while the threads run).
     */
    static void backwardWeight(float[] dweight, float[] dout, float[] x, Conv2dGeometry g) {
        int p = g.oh() * g.ow(), k = g.colRows(), ocg = g.ocg(), cg = g.cg(), plane = g.h() * g.w();
        boolean pointwise = isPointwise(g);
        Backend be = Backends.current();
        int chunks = Math.min(Parallel.threads(), g.n());
        if (chunks == 0) return;
        float[][] partial = new float[chunks][];
        // NOTE: forRange over the chunk count (not the samples) so each chunk knows its slot in `partial`; nested in
        // another parallel region it runs all chunks on one thread, which is still correct.
        Parallel.forRange(chunks, 1, (t0, t1) -> {
            float[] col = pointwise ? null : new float[k * p];
            float[] dw = new float[dweight.length];
            partial[t0] = dw;
            int nFrom = (int) ((long) g.n() * t0 / chunks), nTo = (int) ((long) g.n() * t1 / chunks);
            for (int n = nFrom; n < nTo; n++) {
                for (int grp = 0; grp < g.groups(); grp++) {
                    int dOff = (n * g.oc() + grp * ocg) * p;
                    int xOff = (n * g.c() + grp * cg) * plane;
                    float[] src = lowered(col, x, xOff, g);
                    int srcOff = col == null ? xOff : 0;
                    // dW_g (ocg × K) += dout_g (ocg × P) · col_gᵀ (P × K)
                    be.sgemm(false, true, ocg, k, p, dout, dOff, p, src, srcOff, p, dw, grp * ocg * k, k, true);
                }
            }
        });
        for (float[] dw : partial) {
            if (dw == null) continue;
            for (int i = 0; i < dweight.length; i++) dweight[i] += dw[i];
        }
    }

    /** {@code dbias[c] += Σ over batch and plane of d[n, c, :]}, d is (n, channels, plane). */
    static void sumPerChannel(float[] dbias, float[] d, int n, int channels, int plane) {
        for (int c = 0; c < channels; c++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                int o = (i * channels + c) * plane;
                for (int j = 0; j < plane; j++) s += d[o + j];
            }
            dbias[c] += (float) s;
        }
    }

    /** A 1×1, stride-1, unpadded convolution: its im2col matrix is the input itself. */
    private static boolean isPointwise(Conv2dGeometry g) {
        return g.kh() == 1 && g.kw() == 1 && g.strideH() == 1 && g.strideW() == 1 && g.padH() == 0 && g.padW() == 0
                && g.oh() == g.h() && g.ow() == g.w();
    }

    /** The matrix sgemm reads for one sample's group: x itself for a pointwise convolution ({@code col} null), else col filled by im2col. */
    private static float[] lowered(float[] col, float[] x, int xOff, Conv2dGeometry g) {
        if (col == null) return x;
        im2col(col, x, xOff, g);
        return col;
    }

    /** The first output column ox (in [0, ow]) whose input column ox·s + off is at least 0. */
    private static int firstInside(int off, int s, int ow) { return Math.min(ow, Math.max(0, Math.ceilDiv(-off, s))); }

    /** One past the last output column (in [lo, ow]) whose input column ox·s + off is below w. */
    private static int endInside(int off, int s, int ow, int w, int lo) { return Math.max(lo, Math.min(ow, Math.floorDiv(w - 1 - off, s) + 1)); }

    /**
     * Fills col (K × P) from one sample's group of channels starting at {@code x[xOff]}: row (ci, ky, kx), column
     * (oy, ox) holds x[ci, oy·s − pad + ky·dil, ox·s − pad + kx·dil], or 0 outside the input.
     */
    static void im2col(float[] col, float[] x, int xOff, Conv2dGeometry g) {
        int p = g.oh() * g.ow(), ow = g.ow(), w = g.w(), sw = g.strideW();
        int row = 0;
        for (int ci = 0; ci < g.cg(); ci++) {
            int chan = xOff + ci * g.h() * w;
            for (int ky = 0; ky < g.kh(); ky++) {
                for (int kx = 0; kx < g.kw(); kx++, row++) {
                    int dst = row * p;
                    int offX = kx * g.dilW() - g.padW();
                    int lo = firstInside(offX, sw, ow), hi = endInside(offX, sw, ow, w, lo);
                    for (int oy = 0; oy < g.oh(); oy++, dst += ow) {
                        int iy = oy * g.strideH() - g.padH() + ky * g.dilH();
                        if (iy < 0 || iy >= g.h()) {
                            java.util.Arrays.fill(col, dst, dst + ow, 0f);
                            continue;
                        }
                        int src = chan + iy * w + offX;
                        java.util.Arrays.fill(col, dst, dst + lo, 0f);
                        if (sw == 1) System.arraycopy(x, src + lo, col, dst + lo, hi - lo);
                        else for (int ox = lo; ox < hi; ox++) col[dst + ox] = x[src + ox * sw];
                        java.util.Arrays.fill(col, dst + hi, dst + ow, 0f);
                    }
                }
            }
        }
    }

    /** The adjoint of {@link #im2col}: adds every entry of col (K × P) back onto the input position it was read from. */
    static void col2imAdd(float[] dx, int xOff, float[] col, Conv2dGeometry g) {
        int p = g.oh() * g.ow(), ow = g.ow(), w = g.w(), sw = g.strideW();
        int row = 0;
        for (int ci = 0; ci < g.cg(); ci++) {
            int chan = xOff + ci * g.h() * w;
            for (int ky = 0; ky < g.kh(); ky++) {
                for (int kx = 0; kx < g.kw(); kx++, row++) {
                    int src = row * p;
                    int offX = kx * g.dilW() - g.padW();
                    int lo = firstInside(offX, sw, ow), hi = endInside(offX, sw, ow, w, lo);
                    for (int oy = 0; oy < g.oh(); oy++, src += ow) {
                        int iy = oy * g.strideH() - g.padH() + ky * g.dilH();
                        if (iy < 0 || iy >= g.h()) continue;
                        int dst = chan + iy * w + offX;
                        for (int ox = lo; ox < hi; ox++) dx[dst + ox * sw] += col[src + ox];
                    }
                }
            }
        }
    }
}
