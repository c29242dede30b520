package dev.deepshape.train;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.autograd.Node;
import dev.deepshape.nn.Module;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the first place a NaN or an infinity appears in a training step, as PyTorch's
 * {@code torch.autograd.detect_anomaly()}: in forward, every recorded op's output, in the order they ran; in
 * backward, every gradient each node's backward function produces, through {@link Autograd#withBackwardHook}.
 * Ops are named by their backward label and by the layer they belong to: the module whose parameter they read
 * ({@code conv1}, {@code Conv2d(1, 32, kernel_size=(3, 3), padding=(1, 1))}), or, for ops without parameters
 * (ReLU, pooling, views), the last such layer before them.
 *
 * <pre>{@code
 * AnomalyDetector d = new AnomalyDetector(model);
 * Tensor loss = lossFn.forward(model.forward(x), y);
 * d.checkForward(loss, step);   // throws Anomaly naming the first non-finite output
 * d.backward(loss, step);       // loss.backward(), throwing Anomaly at the first non-finite gradient
 * }</pre>
 *
 * <p>Costs one pass over every intermediate tensor and gradient; off by default ({@code --detect-anomaly}).
 * NOTE: the forward check reads the outputs the graph keeps, after the forward pass; an op that ran in place (the
 * ReLU fused after a convolution) has overwritten its input, so a −∞ it turned into 0 there goes unseen (a NaN or
 * +∞ passes through ReLU and is caught at the convolution).
 */
public final class AnomalyDetector {
    /** A NaN or infinity, with where it first appeared; the message says the step, the pass, the op and the layer. */
    public static final class Anomaly extends ArithmeticException {
        public final long step;
        public final String layer;

        Anomaly(long step, String layer, String message) {
            super(message);
            this.step = step;
            this.layer = layer;
        }
    }

    private final Map<Tensor, String> parameterOwner = new IdentityHashMap<>();
    private final Map<String, Module> modules;

    public AnomalyDetector(Module model) {
        this.modules = model.namedModules();
        for (var e : model.namedParameters().entrySet()) {
            String key = e.getKey();
            int dot = key.lastIndexOf('.');
            parameterOwner.put(e.getValue(), dot < 0 ? "" : key.substring(0, dot));
        }
    }

    /** Checks every op output recorded on the way to {@code root}, in the order they were computed. */
    public void checkForward(Tensor root, long step) {
        if (root.gradFn() == null) {
            String bad = nonFinite(root);
            if (bad != null) throw new Anomaly(step, null, "step " + step + ": forward: the output is not finite: " + bad);
            return;
        }
        String lastLayer = null;
        for (Tensor t : Autograd.topologicalOrder(root)) {
            String layer = layerOf(t.gradFn());
            if (layer != null) lastLayer = layer;
            String bad = nonFinite(t);
            if (bad != null) {
                String where = layer != null ? "in layer " + describe(layer) : lastLayer != null ? "after layer " + describe(lastLayer) : "before the first layer";
                throw new Anomaly(step, layer != null ? layer : lastLayer, "step " + step + ": forward: the output " + Shapes.str(t.shapeRef()) + " of "
                        + t.gradFn().op() + " " + where + " is the first that is not finite: " + bad + inputsNote(t.gradFn()));
            }
        }
    }

    /** {@code root.backward()}, stopping at the first gradient that is not finite. */
    public void backward(Tensor root, long step) {
        try (Autograd.Scope s = Autograd.withBackwardHook((node, grads) -> check(node, grads, step))) {
            root.backward();
        }
    }

    private void check(Node node, Tensor[] grads, long step) {
        List<Tensor> inputs = node.inputs();
        for (int k = 0; k < grads.length; k++) {
            if (grads[k] == null) continue;
            String bad = nonFinite(grads[k]);
            if (bad == null) continue;
            Tensor in = k < inputs.size() ? inputs.get(k) : null;
            String param = in == null ? null : parameterName(in);
            String layer = layerOf(node);
            throw new Anomaly(step, layer, "step " + step + ": backward: " + node.op() + (layer != null ? " in layer " + describe(layer) : "")
                    + " returned the first gradient that is not finite, for its input " + k
                    + (param != null ? " (" + param + ")" : in != null && in.gradFn() != null ? " (the output of " + in.gradFn().op() + ")" : "")
                    + ": " + bad);
        }
    }

    /** The layer whose parameter the op reads, or null. */
    private String layerOf(Node node) {
        for (Tensor in : node.inputs()) {
            String owner = in == null ? null : parameterOwner.get(in);
            if (owner != null) return owner;
        }
        return null;
    }

    private String parameterName(Tensor t) {
        String owner = parameterOwner.get(t);
        if (owner == null) return null;
        Module m = modules.get(owner);
        if (m != null) for (var e : m.localParameters().entrySet()) if (e.getValue() == t) return owner.isEmpty() ? e.getKey() : owner + "." + e.getKey();
        return owner;
    }

    private String describe(String layer) {
        Module m = modules.get(layer);
        String repr = m == null ? "" : m.toString();
        return "'" + (layer.isEmpty() ? "(model)" : layer) + "'" + (repr.isEmpty() || repr.contains("\n") ? "" : " " + repr);
    }

    private static String inputsNote(Node node) {
        for (Tensor in : node.inputs()) if (in != null && nonFinite(in) != null) return " (one of its inputs already was)";
        return "; all its inputs were finite (an overflow: values beyond ±3.4e38, or 0/0, ∞−∞)";
    }

    /** "3 NaN and 0 infinite of 640 values, the first at flat index 17", or null when all are finite. */
    static String nonFinite(Tensor t) {
        float[] d = t.toArray();
        int nan = 0, inf = 0, first = -1;
        for (int i = 0; i < d.length; i++) {
            float v = d[i];
            if (Float.isFinite(v)) continue;
            if (first < 0) first = i;
            if (Float.isNaN(v)) nan++;
            else inf++;
        }
        if (first < 0) return null;
        return nan + " NaN and " + inf + " infinite of " + d.length + " values, the first at flat index " + first + " (" + d[first] + ")";
    }
}
