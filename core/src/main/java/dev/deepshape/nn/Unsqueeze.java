package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Tensor;

/** Inserts a dimension of size 1 at {@code dim}, as {@code x.unsqueeze(dim)}: (N, F) → (N, 1, F) with dim 1. */
public class Unsqueeze extends Module {
    public final int dim;

    public Unsqueeze(int dim) { this.dim = dim; }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return Ops.unsqueeze(x, dim);
    }

    @Override public String extraRepr() { return "dim=" + dim; }
}
