package dev.deepshape.autograd;

import dev.deepshape.tensor.Tensor;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One recorded operation of the autograd graph: a PyTorch-style label ({@code ConvolutionBackward0}), the inputs it
 * read, the tensors it saved for the backward pass (by name, for pictures) and the backward function itself.
 */
public final class Node {
    /** Maps the gradient of the node's output to the gradients of its inputs ({@code null} where none is needed). */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor dOut);
    }

    /**
     * The gradient of a view op's single input is the output gradient placed into a region of it (select, narrow).
     * The engine adds it into the input's gradient in place, so taking L slices of one tensor costs O(L·slice)
     * in backward instead of O(L·whole).
     */
    public record SliceGradient(int dim, int start, int length, boolean squeezed) {}

    private final String op;
    private final Tensor[] inputs;
    private final Map<String, Tensor> saved;
    private final Backward backward;
    private final SliceGradient slice;
    private final boolean freshGradients;

    public Node(String op, Tensor[] inputs, Map<String, Tensor> saved, Backward backward) {
        this(op, inputs, saved, backward, null, false);
    }

    Node(String op, Tensor[] inputs, Map<String, Tensor> saved, Backward backward, SliceGradient slice) {
        this(op, inputs, saved, backward, slice, false);
    }

    Node(String op, Tensor[] inputs, Map<String, Tensor> saved, Backward backward, SliceGradient slice, boolean freshGradients) {
        this.op = op;
        this.inputs = inputs;
        this.saved = saved == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(saved));
        this.backward = backward;
        this.slice = slice;
        this.freshGradients = freshGradients;
    }

    /**
     * True when every gradient the backward function returns is a dense tensor it has just allocated and keeps no
     * reference to (the fused kernels' nodes): the engine may then adopt it as a leaf's {@code .grad} or add into it
     * in place instead of copying it.
     */
    boolean freshGradients() { return freshGradients; }

    /** Non-null for view ops whose backward scatters into a region of the input. */
    SliceGradient slice() { return slice; }

    /** PyTorch's name of the backward function, e.g. {@code AddmmBackward0}. */
    public String op() { return op; }

    public List<Tensor> inputs() { return List.of(inputs); }

    Tensor[] inputArray() { return inputs; }

    /** What the forward pass saved for backward, e.g. {@code self}, {@code weight}, {@code result1} (indices). */
    public Map<String, Tensor> saved() { return saved; }

    Tensor[] apply(Tensor dOut) { return backward.apply(dOut); }

    @Override public String toString() { return op; }
}
