package dev.deepshape.backend;

/**
 * The Adam update over one parameter's storage, the reference kernel ({@link dev.deepshape.optim.Adam} forms the
 * scalars). Bit-exact with PyTorch 1.13's {@code _single_tensor_adam} on CPU: see the NOTE below.
 */
public final class AdamKernels {
    private AdamKernels() {}

    /**
     * p, g, expAvg, expAvgSq (and maxExpAvgSq, null without amsgrad) have n elements; p, expAvg, expAvgSq and
     * maxExpAvgSq are updated in place:
     * <pre>
     *   g' = g + wd·p (if wd ≠ 0);  m = β₁·m + (1 − β₁)·g';  v = β₂·v + (1 − β₂)·g'²;  v̂ = max(v̂, v) (amsgrad)
     *   p  = p + negStepSize·m / (√v / bc2Sqrt + eps)
     * </pre>
     * NOTE: PyTorch's CPU kernels (AVX2 build) compute {@code add_(other, alpha)} as fma(alpha, other, self) and
     * {@code addcmul_(a, b, value)} as fma(value·a, b, self), single-rounded; {@code addcdiv_} is
     * self + (value·a)/b. {@link Math#fma} sits at exactly those places; a plain a + b·c differs in ~10% of elements
     * by one ulp. A fast kernel must keep every operation and its order (a vector FMA rounds like Math.fma per lane).
     */
    public static void adamUpdate(float[] p, float[] g, float[] expAvg, float[] expAvgSq, float[] maxExpAvgSq, int n,
                                  float negStepSize, float bc2Sqrt, float beta1, float oneMinusBeta1, float beta2,
                                  float oneMinusBeta2, float eps, float weightDecay) {
        boolean decay = weightDecay != 0f;
        for (int j = 0; j < n; j++) {
            float gj = decay ? Math.fma(weightDecay, p[j], g[j]) : g[j];           // grad.add(param, alpha=wd)
            float m = Math.fma(oneMinusBeta1, gj, expAvg[j] * beta1);               // exp_avg.mul_(β₁).add_(grad, alpha=1-β₁)
            float v = Math.fma(oneMinusBeta2 * gj, gj, expAvgSq[j] * beta2);       // exp_avg_sq.mul_(β₂).addcmul_(g, g, value=1-β₂)
            expAvg[j] = m;
            expAvgSq[j] = v;
            if (maxExpAvgSq != null) {
                v = Math.max(maxExpAvgSq[j], v);                                    // torch.maximum (NaN propagates)
                maxExpAvgSq[j] = v;
            }
            float denom = (float) Math.sqrt(v) / bc2Sqrt + eps;                    // (v.sqrt() / bc2_sqrt).add_(eps)
            p[j] = p[j] + negStepSize * m / denom;                                  // addcdiv_(m, denom, value=-step_size)
        }
    }
}
