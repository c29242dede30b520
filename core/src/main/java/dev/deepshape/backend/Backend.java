package dev.deepshape.backend;

/**
 * The kernels a compute backend provides: the primitives whose speed matters (matrix multiply and the fused units'
 * forward and backward passes). Everything else composes from them in the core.
 *
 * <p>Conventions (llm.c's): outputs first; arrays are dense row-major; gradient arguments ({@code d...}) are
 * accumulated with {@code +=} and may be {@code null} when not needed. Implementations are found with
 * {@link java.util.ServiceLoader}; {@link ReferenceBackend} is the plain, always-available oracle.
 */
public interface Backend {
    /** Short name, shown by {@code --help} and benchmarks: {@code reference}, {@code simd}, {@code cuda}. */
    String name();

    /** Higher wins when several backends are available. The reference backend is 0. */
    default int priority() { return 0; }

    /** Whether this backend can run on this machine (a CUDA backend without a GPU says false). */
    default boolean isAvailable() { return true; }

    /**
     * Whether this backend computes on a device beside the host (the GPU), its arrays copied there and back on each
     * call; false for the CPU backends. {@code --device cpu} excludes such backends.
     */
    default boolean usesDevice() { return false; }

    /**
     * Starts getting this backend's kernels ready (compiled) in the background and returns at once: callers about to
     * spend a while elsewhere (loading a dataset) call it first. Results never depend on it; the default does nothing.
     */
    default void warmUp() {}

    /** Why this backend cannot run here (for the error of an explicit request), or null when it can. */
    default String unavailableReason() { return isAvailable() ? null : name() + " is not available on this machine"; }

    /**
     * {@code C = op(A)·op(B)} (or {@code C += ...} when {@code accumulate}), C is m×n with row stride ldc.
     * op(A) is m×k: A is stored m×k (lda ≥ k) or, when {@code transA}, k×m (lda ≥ m). op(B) is k×n: B is stored k×n
     * (ldb ≥ n) or, when {@code transB}, n×k (ldb ≥ k).
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k,
               float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
               float[] c, int cOff, int ldc, boolean accumulate);

    // ---- fused units. The defaults are the reference kernels (which call this backend's sgemm), so a backend that
    // ---- only speeds up sgemm speeds convolutions up too; a backend with its own kernels overrides them.

    /**
     * 2-D convolution. x is (N, C, H, W), weight is (OC, C/groups, KH, KW), bias (OC) or null, out is
     * (N, OC, OH, OW); {@code g} gives the sizes, stride, top/left padding, dilation and groups.
     */
    default void conv2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        Conv2dKernels.conv2dForward(out, x, weight, bias, g);
    }

    /**
     * Inference's {@code max_pool2d(relu(conv2d(x)))}, where no graph keeps the intermediate results: out (N, OC, PH,
     * PW) receives the max pooling (geometry {@code pg}, over the (N, OC, OH, OW) convolution {@code cg}) of the
     * rectified convolution, with the values {@link #conv2dForward}, {@link #maxPool2dForward} and {@link #relu} give
     * one after the other (what this default does). A backend may fuse them sample by sample, so that the
     * convolution's output never goes to memory whole.
     */
    default void conv2dReluMaxPool2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry cg, Pool2dGeometry pg) {
        float[] y = dev.deepshape.tensor.Buffers.uninitialized(cg.n() * cg.oc() * cg.oh() * cg.ow());
        conv2dForward(y, x, weight, bias, cg);
        int outN = pg.n() * pg.c() * pg.oh() * pg.ow();
        maxPool2dForward(out, null, y, pg);
        relu(out, out, outN); // ReLU is monotone: pooling first gives the same values (see ConvOps.reluMaxPool2d)
    }

    /** The convolution's gradients: dout is (N, OC, OH, OW); dx, dweight, dbias accumulate with += and may be null. */
    default void conv2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        Conv2dKernels.conv2dBackward(dx, dweight, dbias, dout, x, weight, g);
    }

    /**
     * {@link #conv2dBackward} with dx (when not null) overwritten, whatever it held; dweight and dbias still accumulate.
     * What autograd calls for a fresh input gradient: a kernel that writes every element spares the zero fill.
     */
    default void conv2dBackwardInto(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        if (dx != null) java.util.Arrays.fill(dx, 0, g.n() * g.c() * g.h() * g.w(), 0f);
        conv2dBackward(dx, dweight, dbias, dout, x, weight, g);
    }

    /**
     * 2-D transposed convolution. x is (N, Cin, H, W), weight is (Cin, Cout/groups, KH, KW), bias (Cout) or null,
     * out is (N, Cout, OH, OW); {@code g} describes the equivalent convolution out → x (see {@link Conv2dGeometry}).
     */
    default void convTranspose2dForward(float[] out, float[] x, float[] weight, float[] bias, Conv2dGeometry g) {
        ConvTranspose2dKernels.convTranspose2dForward(out, x, weight, bias, g);
    }

    /** The transposed convolution's gradients: dout is (N, Cout, OH, OW); the others accumulate with += and may be null. */
    default void convTranspose2dBackward(float[] dx, float[] dweight, float[] dbias, float[] dout, float[] x, float[] weight, Conv2dGeometry g) {
        ConvTranspose2dKernels.convTranspose2dBackward(dx, dweight, dbias, dout, x, weight, g);
    }

    /** 2-D max pooling: x is (N, C, H, W), out and indices (flat h·W + w in the plane, may be null) are (N, C, OH, OW). */
    default void maxPool2dForward(float[] out, int[] indices, float[] x, Pool2dGeometry g) {
        MaxPool2dKernels.maxPool2dForward(out, indices, x, g);
    }

    /** Max pooling's gradient: dx (N, C, H, W) += dout (N, C, OH, OW) routed to the saved indices. */
    default void maxPool2dBackward(float[] dx, float[] dout, int[] indices, Pool2dGeometry g) {
        MaxPool2dKernels.maxPool2dBackward(dx, dout, indices, g);
    }

    /**
     * ReLU followed by max pooling, in one pass over x (the reference model's {@code pool(relu(conv(x)))}): relu
     * (N, C, H, W) receives max(x, 0) (NaN stays NaN), out and indices (N, C, OH, OW) the max pooling of relu, exactly
     * as {@link #relu} then {@link #maxPool2dForward} would give them. The indices are stored as floats (exact below
     * 2^24 per plane): they are the saved {@code result1} tensor itself. relu may be x (in place).
     */
    default void reluMaxPool2dForward(float[] relu, float[] out, float[] indices, float[] x, Pool2dGeometry g) {
        MaxPool2dKernels.reluMaxPool2dForward(relu, out, indices, x, g);
    }

    /**
     * The gradient through both: dx (N, C, H, W) += dout (N, C, OH, OW) routed to the saved indices, where the pooled
     * value {@code out} is not ≤ 0 (where ReLU passed its input). Equals max pooling's backward followed by ReLU's.
     */
    default void reluMaxPool2dBackward(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g) {
        MaxPool2dKernels.reluMaxPool2dBackward(dx, dout, out, indices, g);
    }

    /**
     * {@link #reluMaxPool2dBackward} into a fresh gradient: dx (N, C, H, W) is overwritten, dout where it flows and +0
     * elsewhere, whatever it held. What autograd calls: a kernel that writes every element spares the zero fill.
     */
    default void reluMaxPool2dBackwardInto(float[] dx, float[] dout, float[] out, float[] indices, Pool2dGeometry g) {
        java.util.Arrays.fill(dx, 0, g.n() * g.c() * g.h() * g.w(), 0f);
        reluMaxPool2dBackward(dx, dout, out, indices, g);
    }

    // ---- elementwise

    /** {@code out = relu(x)} over the first n elements; a NaN stays NaN, as {@code torch.relu}. */
    default void relu(float[] out, float[] x, int n) {
        ElementwiseKernels.relu(out, x, n);
    }

    /** ReLU's gradient: {@code dx += dout} where relu's result {@code out} is not ≤ 0, over n elements. */
    default void reluBackward(float[] dx, float[] dout, float[] out, int n) {
        ElementwiseKernels.reluBackward(dx, dout, out, n);
    }

    // ---- recurrent cells: the gate nonlinearities and what follows them, after both projections (see RecurrentKernels)

    /** The Elman cell: {@code h = act(h)} in place over (N, H), act = tanh or relu. */
    default void rnnCellGates(float[] h, boolean relu, int n, int hidden) {
        RecurrentKernels.rnnGates(h, relu, n, hidden);
    }

    /** The GRU cell's gates and output, as {@link RecurrentKernels#gruGates}. */
    default void gruCellGates(float[] hOut, RecurrentKernels.GruSaved saved, float[] gx, float[] gh, float[] hPrev, int n, int hidden) {
        RecurrentKernels.gruGates(hOut, saved, gx, gh, hPrev, n, hidden);
    }

    /** The LSTM cell's gates and output, as {@link RecurrentKernels#lstmGates}. */
    default void lstmCellGates(float[] hcOut, RecurrentKernels.LstmSaved saved, float[] cPrev, int n, int hidden) {
        RecurrentKernels.lstmGates(hcOut, saved, cPrev, n, hidden);
    }

    /** The GRU cell's gates backward, as {@link RecurrentKernels#gruGatesBackward}. */
    default void gruCellGatesBackward(float[] dgh, float[] dgx, float[] dhPrev, float[] dh, RecurrentKernels.GruSaved saved, float[] hPrev,
                                      int n, int hidden) {
        RecurrentKernels.gruGatesBackward(dgh, dgx, dhPrev, dh, saved, hPrev, n, hidden);
    }

    /** The LSTM cell's gates backward, as {@link RecurrentKernels#lstmGatesBackward}. */
    default void lstmCellGatesBackward(float[] dpre, float[] dcPrev, float[] dhc, RecurrentKernels.LstmSaved saved, float[] cPrev, int n, int hidden) {
        RecurrentKernels.lstmGatesBackward(dpre, dcPrev, dhc, saved, cPrev, n, hidden);
    }

    // ---- optimiser

    /**
     * One Adam step over n elements, in place (p, expAvg, expAvgSq, maxExpAvgSq; the last is null without amsgrad),
     * with the scalars {@link dev.deepshape.optim.Adam} forms. Must stay bit-exact with {@link AdamKernels#adamUpdate}.
     */
    default void adamUpdate(float[] p, float[] g, float[] expAvg, float[] expAvgSq, float[] maxExpAvgSq, int n,
                            float negStepSize, float bc2Sqrt, float beta1, float oneMinusBeta1, float beta2,
                            float oneMinusBeta2, float eps, float weightDecay) {
        AdamKernels.adamUpdate(p, g, expAvg, expAvgSq, maxExpAvgSq, n, negStepSize, bc2Sqrt, beta1, oneMinusBeta1,
                beta2, oneMinusBeta2, eps, weightDecay);
    }

    // ---- whole model on a device

    /**
     * The model (with its optimiser, or null for inference) kept whole on this backend's device, for backends whose
     * per-call copies would cost more than the arithmetic (CUDA); null when this backend has none for this model, or
     * runs on the host anyway. The caller closes it.
     */
    default dev.deepshape.train.DeviceModel deviceModel(dev.deepshape.nn.Module model, dev.deepshape.optim.Optimizer optimizer) {
        return null;
    }

    /** Whether {@link #deviceModel} would keep this model (and optimiser, may be null) whole on the device; it allocates nothing. */
    default boolean runsWhole(dev.deepshape.nn.Module model, dev.deepshape.optim.Optimizer optimizer) {
        return false;
    }
}
