package dev.deepshape.nn;

import dev.deepshape.autograd.ConvOps;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;

/**
 * 2-D max pooling, as {@code torch.nn.MaxPool2d}: each output pixel is the largest input in its window (padding counts
 * as −∞; the gradient goes to the first maximum).
 *
 * <p>Shape: input (N, C, H_in, W_in) or unbatched (C, H_in, W_in); output (N, C, H_out, W_out) with
 * <pre>  H_out = ⌊(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌋ + 1</pre>
 * (⌈…⌉ with ceil_mode, where the last window must still start inside the input or its left padding). No parameters.
 *
 * <pre>{@code MaxPool2d pool = new MaxPool2d(2);            // MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
 * Tensor y = pool.forward(Tensor.zeros(64, 32, 28, 28)); // (64, 32, 14, 14)}</pre>
 */
public class MaxPool2d extends Module {
    public final int[] kernelSize;
    public final int[] stride;
    public final int[] padding;
    public final int[] dilation;
    public final boolean ceilMode;
    /** Built from single numbers: the repr prints {@code kernel_size=2} rather than {@code (2, 2)}, as PyTorch. */
    private final boolean scalarArgs;

    /** {@code nn.MaxPool2d(kernel_size)}: stride = kernel_size. */
    public MaxPool2d(int kernelSize) { this(kernelSize, kernelSize); }

    /** {@code nn.MaxPool2d(kernel_size, stride)}. */
    public MaxPool2d(int kernelSize, int stride) { this(kernelSize, stride, 0, 1, false); }

    /** {@code nn.MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode=...)} with square sizes. */
    public MaxPool2d(int kernelSize, int stride, int padding, int dilation, boolean ceilMode) {
        this(Conv2d.pair(kernelSize), Conv2d.pair(stride), Conv2d.pair(padding), Conv2d.pair(dilation), ceilMode, true);
    }

    /**
     * {@code nn.MaxPool2d(kernel_size, stride, padding, dilation, ceil_mode=...)}; sizes are (height, width),
     * {@code stride == null} means the kernel size. Padding must be at most half the kernel size.
     */
    public MaxPool2d(int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        this(kernelSize, stride == null ? kernelSize : stride, padding, dilation, ceilMode, false);
    }

    private MaxPool2d(int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode, boolean scalarArgs) {
        String layer = "MaxPool2d(kernel_size=" + (kernelSize == null ? "null" : Shapes.str(kernelSize)) + ")";
        this.kernelSize = Conv2d.requirePair(layer, "kernel_size", kernelSize, 1);
        this.stride = Conv2d.requirePair(layer, "stride", stride, 1);
        this.padding = Conv2d.requirePair(layer, "padding", padding, 0);
        this.dilation = Conv2d.requirePair(layer, "dilation", dilation, 1);
        for (int d = 0; d < 2; d++) {
            if (this.padding[d] > this.kernelSize[d] / 2) {
                throw new IllegalArgumentException(layer + ": pad should be at most half of kernel size, but got pad=" + Shapes.str(this.padding)
                        + " and kernel_size=" + Shapes.str(this.kernelSize) + "; a window made mostly of padding would have no input to take the max of");
            }
        }
        this.ceilMode = ceilMode;
        this.scalarArgs = scalarArgs;
    }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return ConvOps.maxPool2d(x, kernelSize, stride, padding, dilation, ceilMode);
    }

    /**
     * {@code pool(relu(x))} with one fused kernel (forward and backward); the result and the autograd graph are those
     * of {@code forward(Ops.relu(x))}. With {@code inplace} the ReLU overwrites x, as {@code nn.ReLU(inplace=True)}:
     * only for an x that nothing reads afterwards (a layer's temporary output); without a graph to record (no grad)
     * x is left as it was. x is (N, C, H, W) or (C, H, W).
     */
    public Tensor forwardRelu(Tensor x, boolean inplace) {
        shapeRule().check(x.shapeRef());
        return ConvOps.reluMaxPool2d(x, kernelSize, stride, padding, dilation, ceilMode, inplace);
    }

    @Override
    public String extraRepr() {
        return "kernel_size=" + repr(kernelSize) + ", stride=" + repr(stride) + ", padding=" + repr(padding)
                + ", dilation=" + repr(dilation) + ", ceil_mode=" + (ceilMode ? "True" : "False");
    }

    private String repr(int[] v) { return scalarArgs ? String.valueOf(v[0]) : Shapes.str(v); }
}
