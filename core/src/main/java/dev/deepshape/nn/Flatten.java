package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Tensor;

/**
 * Flattens dimensions {@code startDim..endDim} into one, as {@code torch.nn.Flatten} (defaults 1 and -1: keeps the
 * batch dimension). Shape: (N, C, H, W) → (N, C·H·W) with the defaults.
 */
public class Flatten extends Module {
    public final int startDim;
    public final int endDim;

    public Flatten() { this(1, -1); }

    public Flatten(int startDim, int endDim) {
        this.startDim = startDim;
        this.endDim = endDim;
    }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return Ops.flatten(x, startDim, endDim);
    }

    @Override public String extraRepr() { return "start_dim=" + startDim + ", end_dim=" + endDim; }
}
