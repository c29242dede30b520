package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Tensor;

/**
 * Takes one index along a dimension and drops that dimension, as {@code x.select(dim, index)} or {@code x[:, -1, :]}:
 * (N, L, H) → (N, H) with dim 1, index -1 (the last time step).
 */
public class Select extends Module {
    public final int dim;
    public final int index;

    public Select(int dim, int index) {
        this.dim = dim;
        this.index = index;
    }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return Ops.select(x, dim, index);
    }

    @Override public String extraRepr() { return "dim=" + dim + ", index=" + index; }
}
