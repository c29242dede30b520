package dev.deepshape.cuda;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Optimizer;
import dev.deepshape.train.DeviceModel;

/**
 * The CUDA backend. Each {@link Backend} call copies its operands to the GPU, runs the kernels of {@link DeviceOps}
 * there and copies the results back: correct for every unit and option the reference kernels take (the golden
 * tests run on it), but a call's copies cost more than its arithmetic. Training and evaluation of the reference
 * model therefore run whole on the device instead ({@link #deviceModel}: parameters, gradients, Adam's state and
 * the data stay there), and reach the speed this backend is for.
 *
 * <p>Found by {@link java.util.ServiceLoader}; available only where the driver, NVRTC, cuBLAS and a GPU are; its
 * priority puts it above the CPU backends, so {@code --device auto} picks it there.
 */
public final class CudaBackend implements Backend {
    /**
     * One call at a time: a call's upload, kernels and copy back share the scratch buffers. NOTE: the reference
     * kernels call this backend's sgemm from several pool threads at once (the per-op path of the golden tests).
     */
    private static final Object LOCK = new Object();

    @Override public String name() { return "cuda"; }

    @Override public int priority() { return 20; }

    @Override public boolean usesDevice() { return true; }

    @Override public boolean isAvailable() { return Gpu.unavailableReason() == null; }

    @Override public String unavailableReason() { return Gpu.unavailableReason(); }

    private static Gpu gpu() { return Gpu.get(); }

    private static long up(int slot, float[] a, int off, long n) {
        Gpu g = gpu();
        long p = g.scratch(slot, n);
        if (a != null && n > 0) g.upload(p, a, off, Math.toIntExact(n));
        return p;
    }

    private static long up(int slot, float[] a) { return a == null ? 0 : up(slot, a, 0, a.length); }

    private static long upInts(int slot, int[] a) {
        Gpu g = gpu();
        long p = g.scratch(slot, a.length);
        g.upload(p, a, 0, a.length);
        return p;
    }

    private static void down(float[] dst, long src, long n) { gpu().download(dst, 0, src, Math.toIntExact(n)); }

    /** Floats a row-major rows×cols matrix with leading dimension ld spans. */
    private static long span(int rows, int cols, int ld) { return rows == 0 || cols == 0 ? 0 : (long) (rows - 1) * ld + cols; }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda, float[] b,
                      int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate) {
        synchronized (LOCK) {
            if (m == 0 || n == 0) return;
            long aLen = transA ? span(k, m, lda) : span(m, k, lda), bLen = transB ? span(n, k, ldb) : span(k, n, ldb);
            long cLen = span(m, n, ldc);
            long da = up(0, a, aOff, aLen), db = up(1, b, bOff, bLen);
            // NOTE: C goes up too when its rows have gaps (ldc > n): the copy back writes the gaps as they were
            long dc = accumulate || ldc != n ? up(2, c, cOff, cLen) : gpu().scratch(2, cLen);
            gpu().gemm(transA, transB, m, n, k, da, lda, db, ldb, dc, ldc, accumulate ? 1f : 0f);
            gpu().download(c, cOff, dc, Math.toIntExact(cLen));
        }
    }

    // ---------------------------------------------------------------- convolution

    @Override
    public void conv2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        synchronized (LOCK) {
            if (g.n() == 0) return;
            long dx = up(0, x), dw = up(1, weight), dbias = up(2, bias);
            long col = gpu().scratch(3, DeviceOps.colFloats(g));
            long dout = gpu().scratch(4, out.length);
            DeviceOps.im2col(gpu(), col, dx, g, false);
            DeviceOps.convForwardCol(gpu(), dout, col, dw, dbias, g, false);
            down(out, dout, out.length);
        }
    }

    @Override
    public void conv2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        synchronized (LOCK) {
            if (g.n() == 0) return;
            long ddout = up(0, dout), dw = up(1, weight);
            if (dx != null) {
                long ddx = up(2, dx);
                DeviceOps.convBackwardData(gpu(), ddx, ddout, dw, gpu().scratch(3, DeviceOps.colFloats(g)), g, true);
                down(dx, ddx, dx.length);
            }
            if (dweight != null) {
                long col = gpu().scratch(3, DeviceOps.colFloats(g));
                DeviceOps.im2col(gpu(), col, up(4, x), g, false);
                long ddw = up(5, dweight);
                DeviceOps.convBackwardWeight(gpu(), ddw, ddout, col, gpu().scratch(6, (long) g.n() * dweight.length), g, true);
                down(dweight, ddw, dweight.length);
            }
            if (dbias != null) {
                long ddb = up(7, dbias);
                DeviceOps.biasGradPlanes(gpu(), ddb, ddout, g.n(), g.oc(), (long) g.oh() * g.ow(), true);
                down(dbias, ddb, dbias.length);
            }
        }
    }

    // The transposed convolution is the convolution g's data gradient (see Conv2dGeometry): x is (N, Cin, H, W) =
    // g's (n, oc, oh, ow), out is (N, Cout, OH, OW) = g's (n, c, h, w).
    @Override
    public void convTranspose2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        synchronized (LOCK) {
            if (g.n() == 0) return;
            long dx = up(0, x), dw = up(1, weight), dbias = up(2, bias);
            long dout = gpu().scratch(4, out.length);
            gpu().launch("fill_bias_planes", out.length, dout, dbias, g.n(), g.c(), (long) g.h() * g.w());
            DeviceOps.convBackwardData(gpu(), dout, dx, dw, gpu().scratch(3, DeviceOps.colFloats(g)), g, true);
            down(out, dout, out.length);
        }
    }

    @Override
    public void convTranspose2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        synchronized (LOCK) {
            if (g.n() == 0) return;
            long ddout = up(0, dout), dw = up(1, weight);
            long col = gpu().scratch(3, DeviceOps.colFloats(g));
            if (dx != null || dweight != null) DeviceOps.im2col(gpu(), col, ddout, g, false);
            if (dx != null) {
                long ddx = up(2, dx);
                DeviceOps.convForwardCol(gpu(), ddx, col, dw, 0, g, true);
                down(dx, ddx, dx.length);
            }
            if (dweight != null) {
                long ddw = up(5, dweight);
                DeviceOps.convBackwardWeight(gpu(), ddw, up(4, x), col, gpu().scratch(6, (long) g.n() * dweight.length), g, true);
                down(dweight, ddw, dweight.length);
            }
            if (dbias != null) {
                long ddb = up(7, dbias);
                DeviceOps.biasGradPlanes(gpu(), ddb, ddout, g.n(), g.c(), (long) g.h() * g.w(), true);
                down(dbias, ddb, dbias.length);
            }
        }
    }

    // ---------------------------------------------------------------- pooling and ReLU

    private static long outLen(Pool2dGeometry g) { return (long) g.n() * g.c() * g.oh() * g.ow(); }

    @Override
    public void maxPool2dForward(float[] out, int[] indices, float[] x, Pool2dGeometry g) {
        synchronized (LOCK) {
            if (out.length == 0) return;
            long dx = up(0, x), dout = gpu().scratch(1, out.length), didx = indices == null ? 0 : gpu().scratch(2, indices.length);
            DeviceOps.maxPoolForward(gpu(), dout, didx, 0, dx, 0, false, g, false, false);
            down(out, dout, out.length);
            if (indices != null) gpu().download(indices, 0, didx, indices.length);
        }
    }

    @Override
    public void maxPool2dBackward(float[] dx, float[] dout, int[] indices, Pool2dGeometry g) {
        synchronized (LOCK) {
            if (dx.length == 0 || outLen(g) == 0) return;
            long ddx = up(0, dx), ddout = up(1, dout), didx = upInts(2, indices);
            DeviceOps.maxPoolBackward(gpu(), ddx, ddout, didx, 0, 0, false, g, false, false, true);
            down(dx, ddx, dx.length);
        }
    }

    @Override
    public void reluMaxPool2dForward(float[] relu, float[] out, float[] indices, float[] x, Pool2dGeometry g) {
        synchronized (LOCK) {
            long n = (long) g.n() * g.c() * g.h() * g.w();
            if (n == 0) return;
            long dx = up(0, x), drelu = gpu().scratch(1, n), dout = gpu().scratch(2, out.length), didx = gpu().scratch(3, out.length);
            gpu().launch("relu_fwd", n, dx, drelu, n);
            DeviceOps.maxPoolForward(gpu(), dout, 0, didx, drelu, 0, false, g, false, false);
            down(relu, drelu, n);
            down(out, dout, out.length);
            down(indices, didx, indices.length);
        }
    }

    @Override
    public void reluMaxPool2dBackward(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g) {
        synchronized (LOCK) {
            if (dx.length == 0 || outLen(g) == 0) return;
            long ddx = up(0, dx), ddout = up(1, dout), dpool = up(2, out), didx = up(3, indices);
            DeviceOps.maxPoolBackward(gpu(), ddx, ddout, 0, didx, dpool, true, g, false, false, true);
            down(dx, ddx, dx.length);
        }
    }

    @Override
    public void relu(float[] out, float[] x, int n) {
        synchronized (LOCK) {
            if (n == 0) return;
            long dx = up(0, x, 0, n), dout = gpu().scratch(1, n);
            gpu().launch("relu_fwd", n, dx, dout, (long) n);
            down(out, dout, n);
        }
    }

    @Override
    public void reluBackward(float[] dx, float[] dout, float[] out, int n) {
        synchronized (LOCK) {
            if (n == 0) return;
            long ddx = up(0, dx, 0, n), ddout = up(1, dout, 0, n), dres = up(2, out, 0, n);
            gpu().launch("relu_bwd", n, ddout, dres, ddx, (long) n);
            down(dx, ddx, n);
        }
    }

    // ---------------------------------------------------------------- optimiser

    @Override
    public void adamUpdate(float[] p, float[] g, float[] expAvg, float[] expAvgSq, float[] maxExpAvgSq, int n,
                           float negStepSize, float bc2Sqrt, float beta1, float oneMinusBeta1, float beta2,
                           float oneMinusBeta2, float eps, float weightDecay) {
        synchronized (LOCK) {
            if (n == 0) return;
            long dp = up(0, p, 0, n), dg = up(1, g, 0, n), dm = up(2, expAvg, 0, n), dv = up(3, expAvgSq, 0, n);
            long dvmax = maxExpAvgSq == null ? 0 : up(4, maxExpAvgSq, 0, n);
            gpu().launch("adam", n, dp, dg, dm, dv, dvmax, (long) n, negStepSize, bc2Sqrt, beta1, oneMinusBeta1, beta2,
                    oneMinusBeta2, eps, weightDecay);
            down(p, dp, n);
            down(expAvg, dm, n);
            down(expAvgSq, dv, n);
            if (maxExpAvgSq != null) down(maxExpAvgSq, dvmax, n);
        }
    }

    // ---------------------------------------------------------------- whole model on the device

    @Override
    public boolean runsWhole(Module model, Optimizer optimizer) { return CudaEngine.supports(model, optimizer) == null; }

    @Override
    public DeviceModel deviceModel(Module model, Optimizer optimizer) {
        return CudaEngine.supports(model, optimizer) == null ? new CudaEngine(Gpu.get(), (dev.deepshape.nn.CombinedModel) model, optimizer) : null;
    }
}
