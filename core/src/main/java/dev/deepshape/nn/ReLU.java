package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.Tensor;

/** {@code max(0, x)} elementwise, as {@code torch.nn.ReLU}. Shape: any, unchanged. No parameters. */
public class ReLU extends Module {
    @Override public Tensor forward(Tensor x) { return Ops.relu(x); }
}
