package dev.deepshape.optim;

import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The base of the optimizers, as {@code torch.optim.Optimizer} with one parameter group: the parameters, the learning
 * rate, {@link #step()} and {@link #zeroGrad()}, and the per-parameter state flattened for checkpoints under the keys
 * PyTorch's {@code optimizer.state_dict()["state"]} uses ({@code state.0.exp_avg}, {@code state.3.momentum_buffer},
 * {@code state.0.step}; the number is the parameter's position in the list).
 *
 * <p>Updates write the parameters' storage in place, outside autograd (as PyTorch's {@code @torch.no_grad} step).
 * Parameters whose gradient is {@code null} are skipped and their state is left as it was.
 */
public abstract class Optimizer {
    protected final List<Tensor> params;
    /** The learning rate as PyTorch holds it: the double the decimal literal denotes (see {@link #exact}). */
    protected double lr;

    protected Optimizer(List<Tensor> params, float lr) {
        if (params == null || params.isEmpty()) {
            throw new IllegalArgumentException(name() + ": optimizer got an empty parameter list; pass model.namedParameters().values()");
        }
        if (!(lr >= 0f)) throw new IllegalArgumentException(name() + ": Invalid learning rate: " + pyRepr(lr) + " (expected lr ≥ 0)");
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p == null) throw new IllegalArgumentException(name() + ": parameter " + i + " is null");
            if (!p.isLeaf()) {
                throw new IllegalArgumentException(name() + ": can't optimize a non-leaf Tensor (parameter " + i + ", shape "
                        + Shapes.str(p.shapeRef()) + "); pass the module's parameters, not results computed from them");
            }
        }
        this.params = List.copyOf(params);
        this.lr = exact(lr);
    }

    /** Applies one update to every parameter that has a gradient. */
    public abstract void step();

    /** Sets every parameter's gradient to {@code null}, as PyTorch's {@code zero_grad(set_to_none=True)}. */
    public void zeroGrad() {
        for (Tensor p : params) p.zeroGrad();
    }

    public List<Tensor> params() { return params; }

    public float lr() { return (float) lr; }

    /** Changes the learning rate for the following steps (what an LR scheduler does). */
    public void setLr(float lr) {
        if (!(lr >= 0f)) throw new IllegalArgumentException(name() + ": Invalid learning rate: " + pyRepr(lr) + " (expected lr ≥ 0)");
        this.lr = exact(lr);
    }

    /** The hyper-parameters as PyTorch's {@code param_groups[0]} names them ({@code lr}, {@code betas}, ...). */
    public abstract Map<String, Object> hyperParameters();

    /**
     * A copy of the optimizer state, flattened as {@code state.{i}.{name}} (e.g. {@code state.0.exp_avg}); parameters
     * that have not been stepped yet have no entries, as in PyTorch.
     */
    public abstract Map<String, Tensor> stateTensors();

    /**
     * Restores state saved by {@link #stateTensors()} (copied in; parameters without entries start fresh). Fails,
     * changing nothing, on a missing, unexpected or mis-shaped entry.
     */
    public abstract void loadStateTensors(Map<String, Tensor> state);

    /** The class name used in messages ({@code Adam}, {@code SGD}). */
    protected String name() { return getClass().getSimpleName(); }

    // ---------------------------------------------------------------- helpers for subclasses

    /**
     * The double a float hyper-parameter stands for: {@code 0.9f} becomes the double {@code 0.9}, as PyTorch's Python
     * literal. NOTE: {@code (double) 0.9f} is 0.89999997615814, which would make {@code 1 − β₁} off by 2e-7 relative.
     */
    protected static double exact(float v) {
        return Float.isFinite(v) ? Double.parseDouble(Float.toString(v)) : v;
    }

    /** A float as Python's {@code repr} prints it ({@code -1.0}, {@code 1e-08}, {@code 0.999}), for PyTorch's messages. */
    public static String pyRepr(float v) {
        if (Float.isNaN(v)) return "nan";
        if (Float.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        if (v == 0f) return 1f / v < 0 ? "-0.0" : "0.0";
        BigDecimal d = new BigDecimal(Float.toString(v)).stripTrailingZeros();
        int exp = d.precision() - d.scale() - 1;
        if (exp < -4 || exp >= 16) {
            String digits = d.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d.signum() < 0 ? "-" : "") + mantissa + "e" + (exp < 0 ? "-" : "+") + String.format("%02d", Math.abs(exp));
        }
        String s = d.toPlainString();
        return s.contains(".") ? s : s + ".0";
    }

    /** The dense storage of parameter {@code i} and a check that its gradient has the same number of elements. */
    protected float[] paramData(int i, float[] grad) {
        Tensor p = params.get(i);
        float[] x = p.data();
        if (grad.length != x.length) {
            throw new IllegalStateException(name() + ": parameter " + i + " of shape " + Shapes.str(p.shapeRef())
                    + " has a gradient of shape " + Shapes.str(p.gradForUpdate().shapeRef()) + "; gradients must match their parameter");
        }
        return x;
    }

    /**
     * Checks a state map before loading: every key is {@code state.{i}.{name}} with i a parameter index and name one
     * of {@code allowed}; returns the problems found (empty when it is loadable).
     */
    protected List<String> unexpectedKeys(Map<String, Tensor> state, List<String> allowed) {
        List<String> problems = new ArrayList<>();
        TreeSet<String> bad = new TreeSet<>();
        for (String key : state.keySet()) {
            String[] parts = key.split("\\.", 3);
            boolean ok = parts.length == 3 && parts[0].equals("state") && allowed.contains(parts[2]);
            if (ok) {
                try {
                    int i = Integer.parseInt(parts[1]);
                    ok = i >= 0 && i < params.size();
                } catch (NumberFormatException e) {
                    ok = false;
                }
            }
            if (!ok) bad.add(key);
        }
        if (!bad.isEmpty()) {
            problems.add("unexpected key(s) " + bad + "; expected state.{i}." + allowed + " with i in [0, " + params.size() + ")");
        }
        return problems;
    }

    /** The entry {@code state.{i}.{name}}, checked to have parameter i's shape; adds a problem and returns null if not. */
    protected float[] stateLike(Map<String, Tensor> state, int i, String name, List<String> problems) {
        String key = "state." + i + "." + name;
        Tensor t = state.get(key);
        int[] shape = params.get(i).shapeRef();
        if (t == null) {
            problems.add("missing key " + key + " (shape " + Shapes.str(shape) + ")");
            return null;
        }
        if (!Arrays.equals(t.shapeRef(), shape)) {
            problems.add("size mismatch for " + key + ": the checkpoint has shape " + Shapes.str(t.shapeRef())
                    + ", parameter " + i + " has shape " + Shapes.str(shape));
            return null;
        }
        return t.toArray();
    }

    protected void failIfAny(List<String> problems) {
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Error(s) in loading optimizer state for " + name() + ":\n\t" + String.join("\n\t", problems));
        }
    }
}
