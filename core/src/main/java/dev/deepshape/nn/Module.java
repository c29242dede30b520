package dev.deepshape.nn;

import dev.deepshape.shape.ShapeRule;
import dev.deepshape.shape.ShapeRules;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The base of every unit and model, as {@code torch.nn.Module}: named parameters and child modules (whose dotted
 * names are the state-dict keys), train/eval mode, and PyTorch's repr.
 *
 * <p>Thread safety: a module in eval mode may serve {@link #forward} to any number of threads at once under
 * {@code Autograd.noGrad()} (inference reads the parameters and writes only fresh tensors; results are bit-identical
 * to a single thread's, tested with 16). Training ({@code forward} with grad, {@code backward}, an optimiser step),
 * {@link #train}/{@link #eval}, {@link #loadStateDict} and {@link #zeroGrad} change the module and need one thread,
 * with no inference running meanwhile. See docs/robustness.md.
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;
    private ShapeRule shapeRule;

    /** Applies the module to one input. */
    public abstract Tensor forward(Tensor input);

    /**
     * This unit's shape rule ({@link dev.deepshape.shape}): the output shape, the formulas with the numbers substituted,
     * the parameter shapes and the input checks its forward pass runs. Built on first use from the unit's
     * hyper-parameters, which never change. Containers have no rule of their own.
     */
    public ShapeRule shapeRule() {
        if (shapeRule == null) shapeRule = ShapeRules.of(this);
        return shapeRule;
    }

    /**
     * The output shape for an input shape, without running anything; a {@link dev.deepshape.shape.ShapeException}
     * naming the layer, the expected and the actual shape, and a hint, when the input does not fit.
     */
    public int[] outputShape(int[] inputShape) { return shapeRule().outputShape(inputShape); }

    /** Registers a parameter under {@code name} (it becomes a leaf that requires grad). {@code null} registers nothing. */
    protected Tensor registerParameter(String name, Tensor value) {
        if (value == null) return null;
        value.requiresGrad(true);
        parameters.put(name, value);
        return value;
    }

    protected <M extends Module> M registerModule(String name, M module) {
        children.put(name, module);
        return module;
    }

    /** Replaces a registered parameter's value (used when loading a state dict). */
    protected void replaceParameter(String name, Tensor value) {
        if (!parameters.containsKey(name)) throw new IllegalArgumentException("no parameter " + name);
        value.requiresGrad(true);
        parameters.put(name, value);
        onParameterReplaced(name, value);
    }

    /** Subclasses that keep parameters in fields update them here. */
    protected void onParameterReplaced(String name, Tensor value) {}

    /** This module's own parameters (not its children's), by local name. */
    public Map<String, Tensor> localParameters() { return Collections.unmodifiableMap(parameters); }

    public Map<String, Module> children() { return Collections.unmodifiableMap(children); }

    /** All parameters, by dotted name ({@code conv1.weight}), in registration order. Reused modules appear once. */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out, java.util.Set<Module> seen) {
        if (!seen.add(this)) return;
        for (var e : parameters.entrySet()) out.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().collect(prefix + e.getKey() + ".", out, seen);
    }

    public List<Tensor> parameters() { return new ArrayList<>(namedParameters().values()); }

    /** Number of parameters, as {@code sum(p.numel() for p in model.parameters())}. */
    public long parameterCount() {
        long n = 0;
        for (Tensor p : namedParameters().values()) n += p.numel();
        return n;
    }

    /** Named modules in PyTorch's order (this module first, as {@code ""}). */
    public Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        walk("", out);
        return out;
    }

    private void walk(String prefix, Map<String, Module> out) {
        if (out.containsValue(this)) return;
        out.put(prefix, this);
        for (var e : children.entrySet()) e.getValue().walk(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), out);
    }

    /** The parameters by state-dict key. The tensors are the live parameters (detached views), not copies. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : namedParameters().entrySet()) out.put(e.getKey(), e.getValue().detach());
        return out;
    }

    /**
     * Copies values from a state dict, as {@code load_state_dict}. With {@code strict}, missing or unexpected keys are
     * an error naming them; a wrongly-shaped tensor is always an error naming the key and both shapes.
     */
    public void loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = namedParameters();
        List<String> problems = new ArrayList<>();
        TreeSet<String> missing = new TreeSet<>(own.keySet());
        missing.removeAll(state.keySet());
        TreeSet<String> unexpected = new TreeSet<>(state.keySet());
        unexpected.removeAll(own.keySet());
        if (strict && !missing.isEmpty()) problems.add("Missing key(s) in state_dict: " + quoted(missing));
        if (strict && !unexpected.isEmpty()) problems.add("Unexpected key(s) in state_dict: " + quoted(unexpected));
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) continue;
            if (!Arrays.equals(src.shapeRef(), e.getValue().shapeRef())) {
                problems.add("size mismatch for " + e.getKey() + ": copying a param with shape " + Shapes.str(src.shapeRef())
                        + " from checkpoint, the shape in current model is " + Shapes.str(e.getValue().shapeRef()) + ".");
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("Error(s) in loading state_dict for " + getClass().getSimpleName() + ":\n\t" + String.join("\n\t", problems));
        }
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) continue;
            float[] dst = e.getValue().data();
            float[] v = src.toArray();
            System.arraycopy(v, 0, dst, 0, dst.length);
        }
    }

    public boolean isTraining() { return training; }

    /** Sets training mode here and in every child (dropout reads it). */
    public Module train(boolean mode) {
        training = mode;
        for (Module m : children.values()) m.train(mode);
        return this;
    }

    public Module eval() { return train(false); }

    /** Clears every parameter's gradient. */
    public void zeroGrad() {
        for (Tensor p : namedParameters().values()) p.zeroGrad();
    }

    /** The arguments shown between the parentheses of a leaf module's repr, non-default ones only. */
    public String extraRepr() { return ""; }

    /** PyTorch's repr: {@code Conv2d(1, 32, kernel_size=(3, 3), padding=(1, 1))}, nested for containers. */
    @Override
    public String toString() {
        String name = getClass().getSimpleName();
        if (children.isEmpty()) return name + "(" + extraRepr() + ")";
        StringBuilder sb = new StringBuilder(name).append("(\n");
        String extra = extraRepr();
        if (!extra.isEmpty()) sb.append("  ").append(extra).append('\n');
        for (var e : children.entrySet()) {
            String child = e.getValue().toString().replace("\n", "\n  ");
            sb.append("  (").append(e.getKey()).append("): ").append(child).append('\n');
        }
        return sb.append(')').toString();
    }

    private static String quoted(TreeSet<String> keys) {
        return String.join(", ", keys.stream().map(k -> "\"" + k + "\"").toList()) + ".";
    }
}
