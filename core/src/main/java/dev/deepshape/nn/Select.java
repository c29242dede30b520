package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.shape.ShapeException;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.shape.ShapeRules;
import dev.deepshape.tensor.Tensor;

/**
 * Takes one index along a dimension and drops that dimension, as {@code x.select(dim, index)} or {@code x[:, -1, :]}:
 * (N, L, H) → (N, H) with dim 1, index -1 (the last time step).
 */
public class Select extends Module {
    public final int dim;
    public final int index;
    private ShapeRule rule;

    public Select(int dim, int index) {
        this.dim = dim;
        this.index = index;
    }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return Ops.select(x, dim, index);
    }

    /** The output shape: dimension dim dropped; a {@link ShapeException} naming the layer when dim or index is out of range. */
    public int[] outputShape(int[] inputShape) { return shapeRule().outputShape(inputShape); }

    /** This layer's shape rule. */
    public ShapeRule shapeRule() {
        if (rule == null) rule = ShapeRules.of(this);
        return rule;
    }

    @Override public String extraRepr() { return "dim=" + dim + ", index=" + index; }
}
