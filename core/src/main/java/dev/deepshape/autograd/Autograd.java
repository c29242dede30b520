package dev.deepshape.autograd;

import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The backward walk and the grad-mode switch. Grad mode and the backward hook are per thread, so one thread can
 * train (recording graphs) while others run inference under {@link #noGrad()}; a backward pass runs on the calling
 * thread and must not run on a graph another thread is still extending or walking.
 */
public final class Autograd {
    private Autograd() {}

    private static final ThreadLocal<boolean[]> GRAD_ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});

    /** Whether operations on this thread record a graph (false inside {@link #noGrad()}). */
    public static boolean isGradEnabled() { return GRAD_ENABLED.get()[0]; }

    /** A scope in which nothing is recorded, as PyTorch's {@code with torch.no_grad():}. Use with try-with-resources. */
    public static Scope noGrad() { return setGradEnabled(false); }

    /** A scope that sets grad mode and restores the previous mode on close. */
    public static Scope setGradEnabled(boolean enabled) {
        boolean[] flag = GRAD_ENABLED.get();
        boolean previous = flag[0];
        flag[0] = enabled;
        return () -> flag[0] = previous;
    }

    /** Closing restores the previous grad mode. */
    public interface Scope extends AutoCloseable {
        @Override void close();
    }

    /**
     * Told, during {@link #backward}, about every gradient a node's backward function produced, before it is added
     * anywhere: what anomaly detection ({@code --detect-anomaly}) uses to name the first op whose gradient is not
     * finite. A hook may throw to stop the pass.
     */
    @FunctionalInterface
    public interface BackwardHook {
        /** {@code gradients[k]} is the gradient for {@code node.inputs().get(k)} (null where none is needed). */
        void onGradients(Node node, Tensor[] gradients);
    }

    private static final ThreadLocal<BackwardHook> BACKWARD_HOOK = new ThreadLocal<>();

    /**
     * Installs a hook for backward passes on this thread until the scope closes. NOTE: zero cost when none is
     * installed: the engine reads the thread-local once per {@link #backward} call, not per node.
     */
    public static Scope withBackwardHook(BackwardHook hook) {
        BackwardHook previous = BACKWARD_HOOK.get();
        BACKWARD_HOOK.set(hook);
        return () -> BACKWARD_HOOK.set(previous);
    }

    /**
     * Reverse-mode pass from {@code root}: walks the recorded graph in reverse topological order and accumulates
     * ({@code +=}) gradients into every leaf that requires one.
     */
    public static void backward(Tensor root, Tensor gradient) {
        if (!root.requiresGrad()) {
            throw new IllegalStateException("element 0 of tensors does not require grad and does not have a grad_fn");
        }
        if (!Arrays.equals(root.shapeRef(), gradient.shapeRef())) {
            throw new IllegalArgumentException("gradient of shape " + Shapes.str(gradient.shapeRef()) + " for output of shape " + Shapes.str(root.shapeRef()));
        }
        if (root.isLeaf()) {
            accumulateLeaf(root, gradient, false);
            return;
        }
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, Tensor> grads = new IdentityHashMap<>();
        // Accumulators the engine allocated itself may be added into in place; gradients returned by ops may not.
        Set<Tensor> owned = Collections.newSetFromMap(new IdentityHashMap<>());
        grads.put(root, gradient);
        BackwardHook hook = BACKWARD_HOOK.get();
        try (Scope ignored = noGrad()) {
            for (int i = order.size() - 1; i >= 0; i--) {
                Tensor t = order.get(i);
                Tensor g = grads.remove(t);
                if (g == null) continue; // not on a path from the root's gradient
                Node node = t.gradFn();
                Tensor[] inputs = node.inputArray();
                if (node.slice() != null) {
                    Tensor in = inputs[0];
                    if (!in.requiresGrad()) continue;
                    Tensor acc = in.isLeaf() ? leafAccumulator(in) : grads.get(in);
                    if (acc == null || (!in.isLeaf() && !owned.contains(acc))) {
                        // NOTE: a leaf's gradient outlives the step, so it never comes from a step's Buffers arena.
                        Tensor fresh = acc != null ? new Tensor(acc.toArray(), in.shapeRef())
                                : new Tensor(in.isLeaf() ? new float[in.numel()] : Buffers.zeros(in.numel()), in.shapeRef());
                        if (!in.isLeaf()) {
                            grads.put(in, fresh);
                            owned.add(fresh);
                        } else {
                            in.adoptGrad(fresh);
                        }
                        acc = fresh;
                    }
                    addSlice(acc, g, node.slice());
                    continue;
                }
                Tensor[] dInputs = node.apply(g);
                if (hook != null) hook.onGradients(node, dInputs);
                boolean fresh = node.freshGradients();
                for (int k = 0; k < inputs.length; k++) {
                    Tensor in = inputs[k];
                    if (in == null || !in.requiresGrad() || dInputs[k] == null) continue;
                    if (in.isLeaf()) {
                        accumulateLeaf(in, dInputs[k], fresh);
                        continue;
                    }
                    Tensor acc = grads.get(in);
                    if (acc == null) {
                        grads.put(in, dInputs[k]);
                        if (fresh) owned.add(dInputs[k]); // nobody else holds it: later gradients may be added into it
                    } else if (owned.contains(acc)) {
                        addInto(acc, dInputs[k]);
                    } else {
                        Tensor sum = sum(acc, dInputs[k]);
                        owned.add(sum);
                        grads.put(in, sum);
                    }
                }
            }
        }
    }

    /** The leaf's gradient tensor to add into, or null when it has none yet. */
    private static Tensor leafAccumulator(Tensor leaf) { return leaf.gradForUpdate(); }

    /** acc[region] += g, where the region is a slice of acc along one dimension (g lacks that dimension if squeezed). */
    private static void addSlice(Tensor acc, Tensor g, Node.SliceGradient s) {
        int[] shape = acc.shapeRef();
        int outer = 1, inner = 1;
        for (int d = 0; d < s.dim(); d++) outer *= shape[d];
        for (int d = s.dim() + 1; d < shape.length; d++) inner *= shape[d];
        float[] a = acc.data();
        float[] src = g.toArray();
        int size = shape[s.dim()];
        int block = s.length() * inner;
        for (int o = 0; o < outer; o++) {
            int dst = (o * size + s.start()) * inner;
            int from = o * block;
            for (int i = 0; i < block; i++) a[dst + i] += src[from + i];
        }
    }

    private static void addInto(Tensor acc, Tensor d) {
        float[] a = acc.data();
        float[] v = d.toArray();
        for (int i = 0; i < a.length; i++) a[i] += v[i];
    }

    /** Tensors with a grad_fn reachable from root, each after all the tensors it depends on. Iterative: deep graphs are fine. */
    public static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        visited.add(root);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            Tensor[] inputs = t.gradFn().inputArray();
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.gradFn() != null && visited.add(in)) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }

    /** {@code leaf.grad += g}; a {@code fresh} gradient (see {@link Node#freshGradients()}) may become the grad itself. */
    private static void accumulateLeaf(Tensor leaf, Tensor g, boolean fresh) {
        Tensor dense = g.isContiguous() && g.offset() == 0 && g.storage().length == g.numel() ? g : new Tensor(g.toArray(), g.shapeRef());
        if (leaf.gradForUpdate() == null) {
            // NOTE: copy, so that a later += into the leaf's grad never writes into a tensor the graph still uses; a
            // fresh gradient is used by nothing else, so it is adopted as it is.
            // An array of a step's Buffers arena goes back to the pool when the step ends, so it is copied, not adopted,
            // unless the leaf's own storage is the arena's too (a leaf detached from an activation inside the step, as
            // bench's per-layer timing makes them): that leaf ends with the step, and its gradient can as well.
            boolean adopt = fresh && dense == g && (!Buffers.handedOut(g.storage()) || Buffers.handedOut(leaf.storage()));
            leaf.adoptGrad(adopt ? new Tensor(g.storage(), leaf.shapeRef()) : new Tensor(dense.data().clone(), leaf.shapeRef()));
        } else {
            float[] acc = leaf.gradForUpdate().data();
            float[] d = dense.data();
            for (int i = 0; i < acc.length; i++) acc[i] += d[i];
        }
    }

    private static Tensor sum(Tensor a, Tensor b) {
        float[] x = a.toArray();
        float[] y = b.toArray();
        for (int i = 0; i < x.length; i++) x[i] += y[i];
        return new Tensor(x, a.shapeRef());
    }
}
