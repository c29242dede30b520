package dev.deepshape.cuda;

import static dev.deepshape.cuda.GpuRequired.assertClose;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import dev.deepshape.backend.ReferenceBackend;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kernel of the CUDA backend against the reference backend on awkward shapes (odd sizes, stride, padding,
 * dilation, groups, output_padding, ceil_mode, overlapping windows, ties, NaN), gradients accumulated onto non-zero
 * values to check the += convention. Runs on the GPU machine (bench/gpu.sh); skips, saying why, elsewhere.
 */
class CudaBackendTest {
    private final Backend ref = new ReferenceBackend();
    private final CudaBackend cuda = new CudaBackend();
    private final Random rnd = new Random(7);

    private Backend before;

    /**
     * NOTE: the reference backend's convolutions call the current backend's sgemm; the current one must be the
     * reference itself, or the expected values would come from the GPU too.
     */
    @BeforeEach
    void needGpu() {
        GpuRequired.gpu();
        before = Backends.current();
        Backends.use(ref);
    }

    @AfterEach
    void restore() { Backends.use(before); }

    private float[] rand(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    /** Values on a coarse grid, so pooling windows have ties. */
    private float[] coarse(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = Math.round(rnd.nextGaussian() * 2) / 2f;
        return a;
    }

    @Test
    void sgemmEveryTransposeOffsetAndStride() {
        int[][] sizes = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {64, 6272, 128}, {5, 3, 0}};
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            for (int t = 0; t < 8; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0, acc = (t & 4) != 0;
                int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
                float[] a = rand(5 + lda * (ta ? k : m)), b = rand(4 + ldb * (tb ? n : k)), c = rand(2 + ldc * m);
                float[] want = c.clone(), got = c.clone();
                ref.sgemm(ta, tb, m, n, k, a, 5, lda, b, 4, ldb, want, 2, ldc, acc);
                cuda.sgemm(ta, tb, m, n, k, a, 5, lda, b, 4, ldb, got, 2, ldc, acc);
                assertClose("sgemm m=" + m + " n=" + n + " k=" + k + " transA=" + ta + " transB=" + tb + " accumulate=" + acc, want, got, 1e-4, 1e-4);
            }
        }
    }

    static Stream<Arguments> convs() {
        return Stream.of(
                Arguments.of("odd sizes, stride (2,1), padding (1,0), dilation (1,2)", Conv2dGeometry.conv(2, 3, 7, 9, 4, 3, 2, new int[] {2, 1}, new int[] {1, 0}, new int[] {1, 0}, new int[] {1, 2}, 1)),
                Arguments.of("groups 2, padding 1", Conv2dGeometry.conv(3, 4, 6, 6, 6, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 2)),
                Arguments.of("conv1 of the reference model", Conv2dGeometry.conv(2, 1, 28, 28, 32, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1)),
                Arguments.of("conv2 of the reference model", Conv2dGeometry.conv(3, 32, 14, 14, 64, 3, 3, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, 1)),
                Arguments.of("1x1, stride 2 > kernel", Conv2dGeometry.conv(1, 2, 5, 5, 2, 1, 1, new int[] {2, 2}, new int[] {0, 0}, new int[] {0, 0}, new int[] {1, 1}, 1)),
                Arguments.of("padding 'same' with an even kernel (asymmetric)", Conv2dGeometry.conv(2, 2, 5, 4, 3, 2, 2, new int[] {1, 1}, new int[] {0, 0}, new int[] {1, 1}, new int[] {1, 1}, 1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convs")
    void conv2dForwardAndBackward(String name, Conv2dGeometry g) {
        int xn = g.n() * g.c() * g.h() * g.w(), wn = g.oc() * g.cg() * g.kh() * g.kw(), on = g.n() * g.oc() * g.oh() * g.ow();
        float[] x = rand(xn), w = rand(wn), bias = rand(g.oc()), dout = rand(on);
        float[] want = new float[on], got = new float[on];
        ref.conv2dForward(want, x, w, bias, g);
        cuda.conv2dForward(got, x, w, bias, g);
        assertClose(name + ": forward", want, got, 1e-4, 1e-4);
        float[] dx = rand(xn), dw = rand(wn), db = rand(g.oc());
        float[] dx2 = dx.clone(), dw2 = dw.clone(), db2 = db.clone();
        ref.conv2dBackward(dx, dw, db, dout, x, w, g);
        cuda.conv2dBackward(dx2, dw2, db2, dout, x, w, g);
        assertClose(name + ": dx", dx, dx2, 1e-4, 1e-4);
        assertClose(name + ": dweight", dw, dw2, 1e-3, 1e-4);
        assertClose(name + ": dbias", db, db2, 1e-3, 1e-4);
    }

    static Stream<Arguments> transposed() {
        return Stream.of(
                Arguments.of("stride (2,3), padding (1,0), output_padding (1,2)", Conv2dGeometry.transposed(2, 4, 5, 6, 3, 3, 2, new int[] {2, 3}, new int[] {1, 0}, new int[] {1, 2}, new int[] {1, 1}, 1)),
                Arguments.of("deconv of the reference model", Conv2dGeometry.transposed(2, 64, 7, 7, 32, 2, 2, new int[] {2, 2}, new int[] {0, 0}, new int[] {0, 0}, new int[] {1, 1}, 1)),
                Arguments.of("groups 2, dilation 2, output_padding 1", Conv2dGeometry.transposed(1, 4, 3, 3, 6, 3, 3, new int[] {2, 2}, new int[] {1, 1}, new int[] {1, 1}, new int[] {2, 2}, 2)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("transposed")
    void convTranspose2dForwardAndBackward(String name, Conv2dGeometry g) {
        // x is (N, Cin, H, W) = g's (n, oc, oh, ow); out (N, Cout, OH, OW) = g's (n, c, h, w)
        int xn = g.n() * g.oc() * g.oh() * g.ow(), on = g.n() * g.c() * g.h() * g.w(), wn = g.oc() * g.cg() * g.kh() * g.kw();
        float[] x = rand(xn), w = rand(wn), bias = rand(g.c()), dout = rand(on);
        float[] want = new float[on], got = new float[on];
        ref.convTranspose2dForward(want, x, w, bias, g);
        cuda.convTranspose2dForward(got, x, w, bias, g);
        assertClose(name + ": forward", want, got, 1e-4, 1e-4);
        float[] dx = rand(xn), dw = rand(wn), db = rand(g.c());
        float[] dx2 = dx.clone(), dw2 = dw.clone(), db2 = db.clone();
        ref.convTranspose2dBackward(dx, dw, db, dout, x, w, g);
        cuda.convTranspose2dBackward(dx2, dw2, db2, dout, x, w, g);
        assertClose(name + ": dx", dx, dx2, 1e-4, 1e-4);
        assertClose(name + ": dweight", dw, dw2, 1e-3, 1e-4);
        assertClose(name + ": dbias", db, db2, 1e-3, 1e-4);
    }

    static Stream<Arguments> pools() {
        return Stream.of(
                Arguments.of("kernel (3,2), stride 2, padding (1,0), dilation (1,2), ceil_mode", Pool2dGeometry.of(2, 3, 7, 9, new int[] {3, 2}, new int[] {2, 2}, new int[] {1, 0}, new int[] {1, 2}, true)),
                Arguments.of("the reference model's 2x2/2", Pool2dGeometry.of(2, 32, 28, 28, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, new int[] {1, 1}, false)),
                Arguments.of("overlapping 3x3/1, padding 1", Pool2dGeometry.of(1, 2, 5, 5, new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1}, new int[] {1, 1}, false)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pools")
    void maxPoolAndReluMaxPool(String name, Pool2dGeometry g) {
        int xn = g.n() * g.c() * g.h() * g.w(), on = g.n() * g.c() * g.oh() * g.ow();
        float[] x = coarse(xn);
        x[xn / 3] = Float.NaN;
        x[xn / 2] = -0f;
        float[] out = new float[on], out2 = new float[on];
        int[] idx = new int[on], idx2 = new int[on];
        ref.maxPool2dForward(out, idx, x, g);
        cuda.maxPool2dForward(out2, idx2, x, g);
        assertClose(name + ": max pool", out, out2, 0, 0);
        for (int i = 0; i < on; i++) if (idx[i] != idx2[i]) throw new AssertionError(name + ": index " + i + " is " + idx2[i] + ", expected " + idx[i]);
        float[] dout = rand(on), dx = rand(xn), dx2 = dx.clone();
        ref.maxPool2dBackward(dx, dout, idx, g);
        cuda.maxPool2dBackward(dx2, dout, idx, g);
        assertClose(name + ": max pool dx", dx, dx2, 1e-6, 1e-6);

        float[] relu = new float[xn], relu2 = new float[xn], fidx = new float[on], fidx2 = new float[on];
        ref.reluMaxPool2dForward(relu, out, fidx, x, g);
        cuda.reluMaxPool2dForward(relu2, out2, fidx2, x, g);
        assertClose(name + ": relu", relu, relu2, 0, 0);
        assertClose(name + ": relu + max pool", out, out2, 0, 0);
        assertClose(name + ": relu + max pool indices", fidx, fidx2, 0, 0);
        dx = rand(xn);
        dx2 = dx.clone();
        ref.reluMaxPool2dBackward(dx, dout, out, fidx, g);
        cuda.reluMaxPool2dBackward(dx2, dout, out, fidx, g);
        assertClose(name + ": relu + max pool dx", dx, dx2, 1e-6, 1e-6);
    }

    @Test
    void reluForwardAndBackward() {
        int n = 1001;
        float[] x = rand(n);
        x[3] = Float.NaN;
        x[4] = -0f;
        x[5] = 0f;
        float[] out = new float[n], out2 = new float[n];
        ref.relu(out, x, n);
        cuda.relu(out2, x, n);
        assertClose("relu", out, out2, 0, 0);
        float[] dout = rand(n), dx = rand(n), dx2 = dx.clone();
        ref.reluBackward(dx, dout, out, n);
        cuda.reluBackward(dx2, dout, out, n);
        assertClose("relu backward", dx, dx2, 0, 0);
    }

    @Test
    void adamMatchesTheReferenceArithmetic() {
        int n = 4099;
        for (boolean amsgrad : new boolean[] {false, true}) {
            for (float wd : new float[] {0f, 0.01f}) {
                float[] p = rand(n), g = rand(n), m = rand(n), v = new float[n], vmax = amsgrad ? new float[n] : null;
                for (int i = 0; i < n; i++) v[i] = Math.abs(rnd.nextFloat()) * 0.01f;
                if (amsgrad) for (int i = 0; i < n; i++) vmax[i] = v[i] * (i % 2 == 0 ? 2 : 0.5f);
                g[7] = 0f;
                float[] p2 = p.clone(), m2 = m.clone(), v2 = v.clone(), vmax2 = amsgrad ? vmax.clone() : null;
                int step = 3;
                double bc1 = 1 - Math.pow(0.9, step), bc2 = 1 - Math.pow(0.999, step);
                float neg = (float) -(1e-3 / bc1), bc2s = (float) Math.sqrt(bc2);
                ref.adamUpdate(p, g, m, v, vmax, n, neg, bc2s, 0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, wd);
                cuda.adamUpdate(p2, g, m2, v2, vmax2, n, neg, bc2s, 0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, wd);
                String what = "adam (amsgrad " + amsgrad + ", weight_decay " + wd + ")";
                // NOTE: the kernel keeps the reference's operations, order and fma's; only sqrt/divide could round
                // differently, and CUDA's are IEEE-rounded (no fast-math), so this is exact on the GPU
                assertClose(what + ": param", p, p2, 0, 0);
                assertClose(what + ": exp_avg", m, m2, 0, 0);
                assertClose(what + ": exp_avg_sq", v, v2, 0, 0);
                if (amsgrad) assertClose(what + ": max_exp_avg_sq", vmax, vmax2, 0, 0);
            }
        }
    }
}
