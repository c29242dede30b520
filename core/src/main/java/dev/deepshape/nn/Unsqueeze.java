package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.shape.ShapeException;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.shape.ShapeRules;
import dev.deepshape.tensor.Tensor;

/** Inserts a dimension of size 1 at {@code dim}, as {@code x.unsqueeze(dim)}: (N, F) → (N, 1, F) with dim 1. */
public class Unsqueeze extends Module {
    public final int dim;
    private ShapeRule rule;

    public Unsqueeze(int dim) { this.dim = dim; }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return Ops.unsqueeze(x, dim);
    }

    /** The output shape: a size-1 dimension inserted at dim; a {@link ShapeException} naming the layer when dim is out of range. */
    public int[] outputShape(int[] inputShape) { return shapeRule().outputShape(inputShape); }

    /** This layer's shape rule. */
    public ShapeRule shapeRule() {
        if (rule == null) rule = ShapeRules.of(this);
        return rule;
    }

    @Override public String extraRepr() { return "dim=" + dim; }
}
