package dev.deepshape.autograd;

import dev.deepshape.tensor.Tensor;
import java.util.List;
import java.util.function.Supplier;

/**
 * Finite-difference gradient checking, as {@code torch.autograd.gradcheck} but in float32: perturbs each input
 * element by ±eps, differentiates the scalar {@code f()} numerically (central difference) and compares with the
 * gradient autograd accumulated.
 */
public final class GradCheck {
    private GradCheck() {}

    /** The largest difference found, with where it was. */
    public record Result(double maxAbsError, double maxRelError, String where) {
        public boolean passes(double atol, double rtol) { return maxAbsError <= atol || maxRelError <= rtol; }
    }

    /**
     * Checks d f / d input for every tensor in {@code inputs} (each must be a dense leaf that requires grad).
     * {@code f} must rebuild the graph on each call. Elements are sampled with a stride so big tensors stay cheap.
     */
    public static Result check(Supplier<Tensor> f, List<Tensor> inputs, double eps, int maxElementsPerInput) {
        for (Tensor t : inputs) t.zeroGrad();
        Tensor out = f.get();
        out.backward();
        double maxAbs = 0, maxRel = 0;
        String where = "";
        for (int k = 0; k < inputs.size(); k++) {
            Tensor t = inputs.get(k);
            float[] data = t.data();
            float[] analytic = t.grad() == null ? new float[data.length] : t.grad().toArray();
            int step = Math.max(1, data.length / Math.max(1, maxElementsPerInput));
            for (int i = 0; i < data.length; i += step) {
                float orig = data[i];
                double plus, minus;
                try (Autograd.Scope s = Autograd.noGrad()) {
                    data[i] = (float) (orig + eps);
                    plus = f.get().item();
                    data[i] = (float) (orig - eps);
                    minus = f.get().item();
                } finally {
                    data[i] = orig;
                }
                double numeric = (plus - minus) / (2 * eps);
                double abs = Math.abs(numeric - analytic[i]);
                double rel = abs / Math.max(1e-6, Math.max(Math.abs(numeric), Math.abs(analytic[i])));
                if (abs > maxAbs) {
                    maxAbs = abs;
                    where = "input " + k + " element " + i + ": numeric " + numeric + " vs autograd " + analytic[i];
                }
                // relative error only matters where the gradient is not tiny (float32 noise dominates there)
                if (Math.abs(numeric) > 1e-2) maxRel = Math.max(maxRel, rel);
            }
        }
        return new Result(maxAbs, maxRel, where);
    }
}
