package dev.deepshape.simd;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import dev.deepshape.backend.ReferenceBackend;

/**
 * The Vector API backend: {@link ReferenceBackend} with its hot kernels replaced by {@code jdk.incubator.vector}
 * code ({@link #sgemm}, see {@link SimdGemm}; stride-1 convolutions, {@link SimdConv}; transposed convolutions with kernel = stride, {@link SimdConvTranspose}; max pooling fused with ReLU, {@link SimdPool}; ReLU, {@link SimdElementwise}; Adam, {@link SimdAdam}); every kernel it does not override is the reference one, which
 * reaches the matrix multiply through {@link dev.deepshape.backend.Backends#current()} and so runs on this sgemm.
 *
 * <p>Found through {@link java.util.ServiceLoader} when {@code deepshape-simd} is on the class path; preferred to the
 * reference backend (priority 10). The JVM must run with {@code --add-modules jdk.incubator.vector}; without it
 * {@link #isAvailable()} is false and the reference backend is used.
 */
public class SimdBackend extends ReferenceBackend {
    @Override public String name() { return "simd"; }

    @Override public int priority() { return 10; }

    /** True when the Vector API module is present (the JVM was started with {@code --add-modules jdk.incubator.vector}). */
    @Override
    public boolean isAvailable() {
        try {
            return SimdGemm.VL >= 1; // loads FloatVector: fails with a LinkageError when the module is missing
        } catch (LinkageError e) {
            return false;
        }
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float[] c, int cOff, int ldc, boolean accumulate) {
        SimdWarmUp.workArrived();
        SimdGemm.sgemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
    }

    @Override
    public void conv2dReluMaxPool2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry cg, Pool2dGeometry pg) {
        if (!SimdConv.conv2dReluMaxPool2dForward(out, x, weight, bias, cg, pg)) super.conv2dReluMaxPool2dForward(out, x, weight, bias, cg, pg);
    }

    @Override
    public void rnnCellGates(float[] h, boolean relu, int n, int hidden) {
        SimdRecurrent.rnnGates(h, relu, n, hidden);
    }

    @Override
    public void gruCellGates(float[] hOut, dev.deepshape.backend.RecurrentKernels.GruSaved saved, float[] gx, float[] gh, float[] hPrev,
                             int n, int hidden) {
        SimdRecurrent.gruGates(hOut, saved, gx, gh, hPrev, n, hidden);
    }

    @Override
    public void gruCellGatesBackward(float[] dgh, float[] dgx, float[] dhPrev, float[] dh, dev.deepshape.backend.RecurrentKernels.GruSaved saved,
                                     float[] hPrev, int n, int hidden) {
        SimdRecurrent.gruGatesBackward(dgh, dgx, dhPrev, dh, saved, hPrev, n, hidden);
    }

    @Override
    public void lstmCellGatesBackward(float[] dpre, float[] dcPrev, float[] dhc, dev.deepshape.backend.RecurrentKernels.LstmSaved saved,
                                      float[] cPrev, int n, int hidden) {
        SimdRecurrent.lstmGatesBackward(dpre, dcPrev, dhc, saved, cPrev, n, hidden);
    }

    @Override
    public void lstmCellGates(float[] hcOut, dev.deepshape.backend.RecurrentKernels.LstmSaved saved, float[] cPrev, int n, int hidden) {
        SimdRecurrent.lstmGates(hcOut, saved, cPrev, n, hidden);
    }

    @Override
    public void maxPool2dForward(float[] out, int[] indices, float[] x, Pool2dGeometry g) {
        SimdPool.maxPool2dForward(out, indices, x, g);
    }

    @Override
    public void maxPool2dBackward(float[] dx, float[] dout, int[] indices, Pool2dGeometry g) {
        SimdPool.maxPool2dBackward(dx, dout, indices, g);
    }

    @Override
    public void reluMaxPool2dForward(float[] relu, float[] out, float[] indices, float[] x, Pool2dGeometry g) {
        SimdPool.reluMaxPool2dForward(relu, out, indices, x, g);
    }

    @Override
    public void reluMaxPool2dBackward(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g) {
        SimdPool.reluMaxPool2dBackward(dx, dout, out, indices, g, false);
    }

    @Override
    public void reluMaxPool2dBackwardInto(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g) {
        SimdPool.reluMaxPool2dBackward(dx, dout, out, indices, g, true);
    }

    @Override
    public void relu(float[] out, float[] x, int n) {
        SimdElementwise.relu(out, x, n);
    }

    @Override
    public void reluBackward(float[] dx, float[] dout, float[] out, int n) {
        SimdElementwise.reluBackward(dx, dout, out, n);
    }

    @Override
    public void conv2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        SimdWarmUp.workArrived();
        SimdConv.conv2dForward(out, x, weight, bias, g);
    }

    @Override
    public void conv2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        SimdConv.conv2dBackward(dx, dweight, dbias, dout, x, weight, g, false);
    }

    @Override
    public void conv2dBackwardInto(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        SimdConv.conv2dBackward(dx, dweight, dbias, dout, x, weight, g, true);
    }

    @Override
    public void convTranspose2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        SimdConvTranspose.convTranspose2dForward(out, x, weight, bias, g);
    }

    @Override
    public void convTranspose2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        SimdConvTranspose.convTranspose2dBackward(dx, dweight, dbias, dout, x, weight, g);
    }

    /** See {@link SimdWarmUp}: the kernels on one sample on a thread of their own, while the caller loads data. */
    @Override
    public void warmUp() { SimdWarmUp.start(); }

    @Override
    public void adamUpdate(float[] p, float[] g, float[] expAvg, float[] expAvgSq, float[] maxExpAvgSq, int n,
                           float negStepSize, float bc2Sqrt, float beta1, float oneMinusBeta1, float beta2,
                           float oneMinusBeta2, float eps, float weightDecay) {
        SimdAdam.adamUpdate(p, g, expAvg, expAvgSq, maxExpAvgSq, n, negStepSize, bc2Sqrt, beta1, oneMinusBeta1, beta2,
                oneMinusBeta2, eps, weightDecay);
    }
}
