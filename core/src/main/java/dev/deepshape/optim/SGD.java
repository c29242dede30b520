package dev.deepshape.optim;

import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent with optional momentum, dampening, weight decay and Nesterov momentum, following
 * PyTorch 1.13's {@code _single_tensor_sgd} operation by operation. For a parameter p with gradient g:
 * <pre>
 *   d ← g + weight_decay·p                                  (if weight_decay ≠ 0)
 *   b ← d at the first step, else momentum·b + (1 − dampening)·d      momentum_buffer (if momentum ≠ 0)
 *   d ← d + momentum·b  (nesterov)   or   d ← b
 *   p ← p − lr·d
 * </pre>
 * State per parameter (with momentum only): {@code momentum_buffer}. Defaults as PyTorch: momentum 0, dampening 0,
 * weight_decay 0, nesterov false; Nesterov needs momentum &gt; 0 and dampening 0.
 */
public final class SGD extends Optimizer {
    private final double momentum, dampening, weightDecay;
    private final boolean nesterov;
    private final float[][] momentumBuffer;

    /** Plain SGD: {@code p ← p − lr·g}. */
    public SGD(List<Tensor> params, float lr) { this(params, lr, 0f, 0f, 0f, false); }

    public SGD(List<Tensor> params, float lr, float momentum, float dampening, float weightDecay, boolean nesterov) {
        super(params, lr);
        if (!(momentum >= 0f)) throw new IllegalArgumentException("SGD: Invalid momentum value: " + pyRepr(momentum) + " (expected momentum ≥ 0)");
        if (!(weightDecay >= 0f)) {
            throw new IllegalArgumentException("SGD: Invalid weight_decay value: " + pyRepr(weightDecay) + " (expected weight_decay ≥ 0)");
        }
        if (nesterov && (momentum <= 0f || dampening != 0f)) {
            throw new IllegalArgumentException("SGD: Nesterov momentum requires a momentum and zero dampening (got momentum="
                    + pyRepr(momentum) + ", dampening=" + pyRepr(dampening) + ")");
        }
        this.momentum = exact(momentum);
        this.dampening = exact(dampening);
        this.weightDecay = exact(weightDecay);
        this.nesterov = nesterov;
        this.momentumBuffer = new float[this.params.size()][];
    }

    @Override
    public void step() {
        for (int i = 0; i < params.size(); i++) {
            Tensor gradient = params.get(i).gradForUpdate();
            if (gradient == null) continue;
            float[] g = Ops.dense(gradient);
            float[] p = paramData(i, g);
            boolean first = false;
            if (momentum != 0 && momentumBuffer[i] == null) {
                momentumBuffer[i] = new float[p.length];
                first = true;
            }
            sgdUpdate(p, g, momentumBuffer[i], first, lr, momentum, dampening, weightDecay, nesterov);
        }
    }

    /**
     * One SGD step over a parameter's storage, in place; buf is null without momentum, and is set to the (decayed)
     * gradient when {@code first}. NOTE: PyTorch's {@code add_(other, alpha)} is fma(alpha, other, self) on its AVX2
     * CPU kernels; we use {@link Math#fma} at the same places (see {@link Adam}).
     */
    static void sgdUpdate(float[] p, float[] g, float[] buf, boolean first, double lr, double momentum, double dampening,
                          double weightDecay, boolean nesterov) {
        float negLr = (float) -lr;
        float wd = (float) weightDecay, mom = (float) momentum, oneMinusDamp = (float) (1 - dampening);
        boolean decay = weightDecay != 0;
        for (int j = 0; j < p.length; j++) {
            float d = decay ? Math.fma(wd, p[j], g[j]) : g[j];                 // d_p.add(param, alpha=wd)
            if (buf != null) {
                float b = first ? d : Math.fma(oneMinusDamp, d, buf[j] * mom);   // buf.mul_(m).add_(d_p, alpha=1-dampening)
                buf[j] = b;
                d = nesterov ? Math.fma(mom, b, d) : b;                           // d_p.add(buf, alpha=momentum)
            }
            p[j] = Math.fma(negLr, d, p[j]);                                      // param.add_(d_p, alpha=-lr)
        }
    }

    @Override
    public Map<String, Object> hyperParameters() {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("lr", lr);
        h.put("momentum", momentum);
        h.put("dampening", dampening);
        h.put("weight_decay", weightDecay);
        h.put("nesterov", nesterov);
        return h;
    }

    @Override
    public Map<String, Tensor> stateTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < momentumBuffer.length; i++) {
            if (momentumBuffer[i] != null) out.put("state." + i + ".momentum_buffer", new Tensor(momentumBuffer[i].clone(), params.get(i).shape()));
        }
        return out;
    }

    @Override
    public void loadStateTensors(Map<String, Tensor> in) {
        List<String> problems = new ArrayList<>(unexpectedKeys(in, List.of("momentum_buffer")));
        if (momentum == 0 && !in.isEmpty()) problems.add("this SGD has momentum=0 and keeps no state, but the checkpoint has " + in.keySet());
        float[][] loaded = new float[momentumBuffer.length][];
        for (int i = 0; i < loaded.length; i++) {
            if (in.containsKey("state." + i + ".momentum_buffer")) loaded[i] = stateLike(in, i, "momentum_buffer", problems);
        }
        failIfAny(problems);
        System.arraycopy(loaded, 0, momentumBuffer, 0, loaded.length);
    }

    @Override public String toString() {
        StringBuilder sb = new StringBuilder("SGD(lr=").append(pyRepr((float) lr));
        if (momentum != 0) sb.append(", momentum=").append(pyRepr((float) momentum));
        if (dampening != 0) sb.append(", dampening=").append(pyRepr((float) dampening));
        if (weightDecay != 0) sb.append(", weight_decay=").append(pyRepr((float) weightDecay));
        if (nesterov) sb.append(", nesterov=True");
        return sb.append(')').toString();
    }
}
