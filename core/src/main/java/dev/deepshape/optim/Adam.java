package dev.deepshape.optim;

import dev.deepshape.autograd.Ops;
import dev.deepshape.backend.AdamKernels;
import dev.deepshape.backend.Backends;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam (Kingma &amp; Ba), optionally AMSGrad, following PyTorch 1.13's {@code _single_tensor_adam} operation by
 * operation, so that a step matches PyTorch's to the last float bit in nearly every element. For a parameter p with
 * gradient g at step t:
 * <pre>
 *   g ← g + weight_decay·p                       (if weight_decay ≠ 0)
 *   m ← β₁·m + (1 − β₁)·g                        exp_avg
 *   v ← β₂·v + (1 − β₂)·g²                       exp_avg_sq   (amsgrad: v̂ ← max(v̂, v), used below instead of v)
 *   p ← p − (lr / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + eps)
 * </pre>
 * State per parameter (created zero at its first step): {@code step}, {@code exp_avg}, {@code exp_avg_sq}, and
 * {@code max_exp_avg_sq} with amsgrad. Defaults as PyTorch: betas (0.9, 0.999), eps 1e-8, weight_decay 0.
 *
 * <pre>{@code
 * Adam adam = new Adam(List.copyOf(model.namedParameters().values()), 1e-3f);
 * adam.zeroGrad(); loss.backward(); adam.step();
 * }</pre>
 */
public final class Adam extends Optimizer {
    private final double beta1, beta2, eps, weightDecay;
    private final boolean amsgrad;
    private final State[] state;

    /** One parameter's moments; allocated at its first step, then updated in place. */
    private static final class State {
        int step;
        final float[] expAvg, expAvgSq, maxExpAvgSq;

        State(int n, boolean amsgrad) {
            expAvg = new float[n];
            expAvgSq = new float[n];
            maxExpAvgSq = amsgrad ? new float[n] : null;
        }
    }

    /** Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay, no amsgrad. */
    public Adam(List<Tensor> params, float lr) { this(params, lr, 0.9f, 0.999f, 1e-8f, 0f, false); }

    public Adam(List<Tensor> params, float lr, float beta1, float beta2, float eps, float weightDecay, boolean amsgrad) {
        super(params, lr);
        if (!(eps >= 0f)) throw new IllegalArgumentException("Adam: Invalid epsilon value: " + pyRepr(eps) + " (expected eps ≥ 0)");
        if (!(beta1 >= 0f && beta1 < 1f)) {
            throw new IllegalArgumentException("Adam: Invalid beta parameter at index 0: " + pyRepr(beta1) + " (expected 0 ≤ beta1 < 1)");
        }
        if (!(beta2 >= 0f && beta2 < 1f)) {
            throw new IllegalArgumentException("Adam: Invalid beta parameter at index 1: " + pyRepr(beta2) + " (expected 0 ≤ beta2 < 1)");
        }
        if (!(weightDecay >= 0f)) {
            throw new IllegalArgumentException("Adam: Invalid weight_decay value: " + pyRepr(weightDecay) + " (expected weight_decay ≥ 0)");
        }
        this.beta1 = exact(beta1);
        this.beta2 = exact(beta2);
        this.eps = exact(eps);
        this.weightDecay = exact(weightDecay);
        this.amsgrad = amsgrad;
        this.state = new State[this.params.size()];
    }

    @Override
    public void step() {
        for (int i = 0; i < params.size(); i++) {
            Tensor gradient = params.get(i).gradForUpdate();
            if (gradient == null) continue;
            float[] g = Ops.dense(gradient);
            float[] p = paramData(i, g);
            if (state[i] == null) state[i] = new State(p.length, amsgrad);
            State s = state[i];
            s.step++;
            adamUpdate(p, g, s.expAvg, s.expAvgSq, s.maxExpAvgSq, s.step, lr, beta1, beta2, eps, weightDecay);
        }
    }

    /**
     * One Adam step over a parameter's storage, in place, on the current backend's kernel
     * ({@link AdamKernels#adamUpdate} is the reference). All arrays have the parameter's length; maxExpAvgSq is null
     * without amsgrad. The scalars are formed in double as Python does, then rounded to float as PyTorch's kernels
     * take them.
     */
    static void adamUpdate(float[] p, float[] g, float[] expAvg, float[] expAvgSq, float[] maxExpAvgSq, int step,
                           double lr, double beta1, double beta2, double eps, double weightDecay) {
        Scalars s = Scalars.of(step, lr, beta1, beta2, eps, weightDecay);
        Backends.current().adamUpdate(p, g, expAvg, expAvgSq, maxExpAvgSq, p.length, s.negStepSize(), s.bc2Sqrt(), s.beta1(),
                s.oneMinusBeta1(), s.beta2(), s.oneMinusBeta2(), s.eps(), s.weightDecay());
    }

    /** The scalars one step hands the update kernel ({@link dev.deepshape.backend.Backend#adamUpdate}). */
    public record Scalars(float negStepSize, float bc2Sqrt, float beta1, float oneMinusBeta1, float beta2, float oneMinusBeta2,
                          float eps, float weightDecay) {
        static Scalars of(int step, double lr, double beta1, double beta2, double eps, double weightDecay) {
            double biasCorrection1 = 1 - Math.pow(beta1, step);
            double biasCorrection2 = 1 - Math.pow(beta2, step);
            double stepSize = lr / biasCorrection1;
            return new Scalars((float) -stepSize, (float) Math.sqrt(biasCorrection2), (float) beta1, (float) (1 - beta1),
                    (float) beta2, (float) (1 - beta2), (float) eps, (float) weightDecay);
        }
    }

    /**
     * The scalars of this optimiser's step number {@code step} at the current learning rate, exactly as {@link #step}
     * forms them: for a device that keeps the moments itself and runs the same update kernel there.
     */
    public Scalars scalars(int step) { return Scalars.of(step, lr, beta1, beta2, eps, weightDecay); }

    public boolean amsgrad() { return amsgrad; }

    @Override
    public Map<String, Object> hyperParameters() {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("lr", lr);
        h.put("betas", List.of(beta1, beta2));
        h.put("eps", eps);
        h.put("weight_decay", weightDecay);
        h.put("amsgrad", amsgrad);
        return h;
    }

    @Override
    public Map<String, Tensor> stateTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < state.length; i++) {
            State s = state[i];
            if (s == null) continue;
            int[] shape = params.get(i).shape();
            // PyTorch 1.13 keeps step as a float32 scalar tensor
            out.put("state." + i + ".step", Tensor.scalar(s.step));
            out.put("state." + i + ".exp_avg", new Tensor(s.expAvg.clone(), shape));
            out.put("state." + i + ".exp_avg_sq", new Tensor(s.expAvgSq.clone(), shape));
            if (amsgrad) out.put("state." + i + ".max_exp_avg_sq", new Tensor(s.maxExpAvgSq.clone(), shape));
        }
        return out;
    }

    @Override
    public void loadStateTensors(Map<String, Tensor> in) {
        List<String> names = amsgrad ? List.of("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq") : List.of("step", "exp_avg", "exp_avg_sq");
        List<String> problems = new ArrayList<>(unexpectedKeys(in, names));
        State[] loaded = new State[state.length];
        for (int i = 0; i < state.length; i++) {
            String prefix = "state." + i + ".";
            boolean any = false;
            for (String n : names) any |= in.containsKey(prefix + n);
            if (!any) continue;
            Tensor stepT = in.get(prefix + "step");
            int step = 0;
            if (stepT == null) {
                problems.add("missing key " + prefix + "step (a one-element tensor)");
            } else if (stepT.numel() != 1 || !(stepT.toArray()[0] >= 1) || stepT.toArray()[0] != Math.rint(stepT.toArray()[0])) {
                problems.add(prefix + "step must be one element holding a whole number ≥ 1, got " + stepT);
            } else {
                step = (int) stepT.toArray()[0];
            }
            float[] m = stateLike(in, i, "exp_avg", problems);
            float[] v = stateLike(in, i, "exp_avg_sq", problems);
            float[] mx = amsgrad ? stateLike(in, i, "max_exp_avg_sq", problems) : null;
            if (step == 0 || m == null || v == null || (amsgrad && mx == null)) continue;
            State s = new State(m.length, amsgrad);
            s.step = step;
            System.arraycopy(m, 0, s.expAvg, 0, m.length);
            System.arraycopy(v, 0, s.expAvgSq, 0, v.length);
            if (amsgrad) System.arraycopy(mx, 0, s.maxExpAvgSq, 0, mx.length);
            loaded[i] = s;
        }
        failIfAny(problems);
        System.arraycopy(loaded, 0, state, 0, state.length);
    }

    /** PyTorch-style summary of the non-default hyper-parameters. */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder("Adam(lr=").append(pyRepr((float) lr));
        if (beta1 != 0.9 || beta2 != 0.999) sb.append(", betas=(").append(pyRepr((float) beta1)).append(", ").append(pyRepr((float) beta2)).append(')');
        if (eps != 1e-8) sb.append(", eps=").append(pyRepr((float) eps));
        if (weightDecay != 0) sb.append(", weight_decay=").append(pyRepr((float) weightDecay));
        if (amsgrad) sb.append(", amsgrad=True");
        return sb.append(')').toString();
    }
}
