package dev.deepshape.nn;

import dev.deepshape.autograd.ConvOps;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;

/**
 * A 2-D transposed convolution (the gradient of Conv2d with respect to its input; "deconvolution"), as
 * {@code torch.nn.ConvTranspose2d}. With kernel 2 and stride 2 it doubles H and W.
 *
 * <p>Shape: input (N, C_in, H_in, W_in) or unbatched (C_in, H_in, W_in); output (N, C_out, H_out, W_out) with
 * <pre>  H_out = (H_in − 1)·stride[0] − 2·padding[0] + dilation[0]·(kernel_size[0] − 1) + output_padding[0] + 1</pre>
 * (W likewise). Parameters: {@code weight} (in_channels, out_channels/groups, kH, kW), {@code bias} (out_channels).
 * Initialisation (PyTorch's, whose fan_in is computed from this weight layout, i.e. fan_in = out_channels/groups·kH·kW):
 * weight kaiming_uniform(a=√5) = U(−1/√fan_in, 1/√fan_in); bias U(−1/√fan_in, 1/√fan_in).
 *
 * <pre>{@code ConvTranspose2d up = new ConvTranspose2d(64, 32, 2, 2); // ConvTranspose2d(64, 32, kernel_size=(2, 2), stride=(2, 2))
 * Tensor y = up.forward(Tensor.zeros(64, 64, 7, 7));             // (64, 32, 14, 14)}</pre>
 */
public class ConvTranspose2d extends ConvModule {
    public final int inChannels;
    public final int outChannels;
    public final int[] kernelSize;
    public final int[] stride;
    public final int[] padding;
    public final int[] outputPadding;
    public final int groups;
    public final int[] dilation;

    /** {@code nn.ConvTranspose2d(in, out, kernel_size)}: stride 1, no padding. */
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, 1);
    }

    /** {@code nn.ConvTranspose2d(in, out, kernel_size, stride)} with square sizes. */
    public ConvTranspose2d(int inChannels, int outChannels, int kernelSize, int stride) {
        this(inChannels, outChannels, Conv2d.pair(kernelSize), Conv2d.pair(stride), Conv2d.pair(0), Conv2d.pair(0), 1, true, Conv2d.pair(1));
    }

    /**
     * {@code nn.ConvTranspose2d(in, out, kernel_size, stride, padding, output_padding, groups, bias, dilation)} in
     * PyTorch's argument order; sizes are (height, width). output_padding must be smaller than stride or dilation.
     */
    public ConvTranspose2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] outputPadding,
                           int groups, boolean bias, int[] dilation) {
        String layer = "ConvTranspose2d(" + inChannels + ", " + outChannels + ", kernel_size="
                + (kernelSize == null ? "null" : Shapes.str(kernelSize)) + ")";
        this.kernelSize = Conv2d.requirePair(layer, "kernel_size", kernelSize, 1);
        this.stride = Conv2d.requirePair(layer, "stride", stride, 1);
        this.padding = Conv2d.requirePair(layer, "padding", padding, 0);
        this.outputPadding = Conv2d.requirePair(layer, "output_padding", outputPadding, 0);
        this.dilation = Conv2d.requirePair(layer, "dilation", dilation, 1);
        Conv2d.checkChannels(layer, inChannels, outChannels, groups);
        for (int d = 0; d < 2; d++) {
            if (this.outputPadding[d] >= this.stride[d] && this.outputPadding[d] >= this.dilation[d]) {
                throw new IllegalArgumentException(layer + ": output padding must be smaller than either stride or dilation, but got output_padding="
                        + Shapes.str(this.outputPadding) + ", stride=" + Shapes.str(this.stride) + ", dilation=" + Shapes.str(this.dilation)
                        + "; output_padding only picks among the output sizes a stride > 1 makes ambiguous");
            }
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.groups = groups;
        int[] wShape = {inChannels, outChannels / groups, this.kernelSize[0], this.kernelSize[1]};
        initParameters(wShape, outChannels, bias);
    }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return ConvOps.convTranspose2d(x, weight, bias, stride, padding, outputPadding, groups, dilation);
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder(inChannels + ", " + outChannels + ", kernel_size=" + Shapes.str(kernelSize) + ", stride=" + Shapes.str(stride));
        if (padding[0] != 0 || padding[1] != 0) s.append(", padding=").append(Shapes.str(padding));
        if (dilation[0] != 1 || dilation[1] != 1) s.append(", dilation=").append(Shapes.str(dilation));
        if (outputPadding[0] != 0 || outputPadding[1] != 0) s.append(", output_padding=").append(Shapes.str(outputPadding));
        if (groups != 1) s.append(", groups=").append(groups);
        if (bias == null) s.append(", bias=False");
        return s.toString();
    }
}
