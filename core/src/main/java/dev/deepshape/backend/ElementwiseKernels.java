package dev.deepshape.backend;

/**
 * Elementwise kernels of the reference backend, forward beside backward: ReLU with PyTorch's semantics. The simd
 * backend replaces them with Vector API loops; these stay the oracle.
 */
public final class ElementwiseKernels {
    private ElementwiseKernels() {}

    // x and out have n elements. out = relu(x); a NaN stays NaN (torch.relu is clamp_min(x, 0), which propagates NaN)
    public static void relu(float[] out, float[] x, int n) {
        for (int i = 0; i < n; i++) out[i] = x[i] <= 0f ? 0f : x[i];
    }

    // dout, out (relu's result) and dx have n elements; dx += dout where out > 0.
    // NOTE: PyTorch's threshold_backward zeroes the gradient where result <= 0, so a NaN result passes it through.
    public static void reluBackward(float[] dx, float[] dout, float[] out, int n) {
        for (int i = 0; i < n; i++) if (!(out[i] <= 0f)) dx[i] += dout[i];
    }
}
