package dev.deepshape.backend;

/**
 * 2-D transposed convolution ("deconvolution", as {@code torch.nn.ConvTranspose2d}), forward and backward.
 *
 * <p>Why it reuses the convolution kernels: a transposed convolution x (N, Cin, H, W) → y (N, Cout, OH, OW) is, by
 * definition, the gradient with respect to the input of the convolution y → x that has the same weight
 * (Cin, Cout/groups, KH, KW). {@link Conv2dGeometry} therefore describes the <i>equivalent convolution</i>
 * {@code g = (n=N, c=Cout, h=OH, w=OW, oc=Cin, oh=H, ow=W, ...)}, and
 * <pre>
 *   forward   y  = conv backward-data(x)            (dcol = Wᵀ·x, col2im) + bias
 *   backward  dx = conv forward(dy)                 (im2col(dy), W·col; no bias)
 *             dW = conv weight-gradient with the roles swapped: x plays dout, dy plays the input
 *             db = Σ dy over batch and plane
 * </pre>
 * output_padding needs nothing special: the extra bottom/right rows of y are never read by the equivalent
 * convolution, so they receive only the bias (and no gradient flows from them but the bias's).
 */
public final class ConvTranspose2dKernels {
    private ConvTranspose2dKernels() {}

    // ---------------------------------------------------------------- naive reference

    // x is (N, Cin, H, W) = (g.n, g.oc, g.oh, g.ow), weight is (Cin, Cout/groups, KH, KW), bias (Cout) or null,
    // out is (N, Cout, OH, OW) = (g.n, g.c, g.h, g.w). Each input pixel scatters its kernel-weighted value.
    public static void convTranspose2dForwardNaive(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        int coutG = g.cg(), cinG = g.ocg(), plane = g.h() * g.w();
        for (int n = 0; n < g.n(); n++) {
            for (int co = 0; co < g.c(); co++) {
                java.util.Arrays.fill(out, (n * g.c() + co) * plane, (n * g.c() + co + 1) * plane, bias != null ? bias[co] : 0f);
            }
        }
        for (int n = 0; n < g.n(); n++) {
            for (int ci = 0; ci < g.oc(); ci++) {
                int co0 = (ci / cinG) * coutG; // first output channel of this input channel's group
                for (int i = 0; i < g.oh(); i++) {
                    for (int j = 0; j < g.ow(); j++) {
                        float v = x[((n * g.oc() + ci) * g.oh() + i) * g.ow() + j];
                        for (int col = 0; col < coutG; col++) {
                            for (int ky = 0; ky < g.kh(); ky++) {
                                int y = i * g.strideH() - g.padH() + ky * g.dilH();
                                if (y < 0 || y >= g.h()) continue;
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int xx = j * g.strideW() - g.padW() + kx * g.dilW();
                                    if (xx < 0 || xx >= g.w()) continue;
                                    out[((n * g.c() + co0 + col) * g.h() + y) * g.w() + xx]
                                            += v * weight[((ci * coutG + col) * g.kh() + ky) * g.kw() + kx];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // dout is (N, Cout, OH, OW); dx like x, dweight like weight, dbias (Cout): each accumulated with +=, each may be null
    public static void convTranspose2dBackwardNaive(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        int coutG = g.cg(), cinG = g.ocg(), plane = g.h() * g.w();
        if (dbias != null) {
            for (int n = 0; n < g.n(); n++) {
                for (int co = 0; co < g.c(); co++) {
                    for (int q = 0; q < plane; q++) dbias[co] += dout[(n * g.c() + co) * plane + q];
                }
            }
        }
        for (int n = 0; n < g.n(); n++) {
            for (int ci = 0; ci < g.oc(); ci++) {
                int co0 = (ci / cinG) * coutG;
                for (int i = 0; i < g.oh(); i++) {
                    for (int j = 0; j < g.ow(); j++) {
                        int xi = ((n * g.oc() + ci) * g.oh() + i) * g.ow() + j;
                        for (int col = 0; col < coutG; col++) {
                            for (int ky = 0; ky < g.kh(); ky++) {
                                int y = i * g.strideH() - g.padH() + ky * g.dilH();
                                if (y < 0 || y >= g.h()) continue;
                                for (int kx = 0; kx < g.kw(); kx++) {
                                    int xx = j * g.strideW() - g.padW() + kx * g.dilW();
                                    if (xx < 0 || xx >= g.w()) continue;
                                    float d = dout[((n * g.c() + co0 + col) * g.h() + y) * g.w() + xx];
                                    int wi = ((ci * coutG + col) * g.kh() + ky) * g.kw() + kx;
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

    // ---------------------------------------------------------------- fast path (the convolution kernels, roles swapped)

    // x is (N, Cin, H, W), weight is (Cin, Cout/groups, KH, KW), bias (Cout) or null, out is (N, Cout, OH, OW)
    public static void convTranspose2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        int plane = g.h() * g.w();
        // start from the bias (or zero), then add the equivalent convolution's input gradient for "dout" = x
        for (int n = 0; n < g.n(); n++) {
            for (int co = 0; co < g.c(); co++) {
                java.util.Arrays.fill(out, (n * g.c() + co) * plane, (n * g.c() + co + 1) * plane, bias != null ? bias[co] : 0f);
            }
        }
        Conv2dKernels.backwardData(out, x, weight, g);
    }

    // dout is (N, Cout, OH, OW); dx like x, dweight like weight, dbias (Cout): each accumulated with +=, each may be null
    public static void convTranspose2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        if (dbias != null) Conv2dKernels.sumPerChannel(dbias, dout, g.n(), g.c(), g.h() * g.w());
        if (dx != null) Conv2dKernels.forwardData(dx, dout, weight, null, g, true);
        if (dweight != null) Conv2dKernels.backwardWeight(dweight, x, dout, g);
    }
}
