package dev.deepshape.nn;

import dev.deepshape.autograd.ConvOps;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;

/**
 * A 2-D convolution (cross-correlation) over (N, C, H, W) images, as {@code torch.nn.Conv2d}.
 *
 * <p>Shape: input (N, C_in, H_in, W_in) or unbatched (C_in, H_in, W_in); output (N, C_out, H_out, W_out) with
 * <pre>  H_out = ⌊(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌋ + 1</pre>
 * (W likewise; with {@code padding="same"} the output keeps H_in × W_in and an even kernel pads one more row/column at
 * the bottom/right, as PyTorch). Parameters: {@code weight} (out_channels, in_channels/groups, kH, kW), {@code bias}
 * (out_channels). Initialisation: weight kaiming_uniform(a=√5), i.e. U(−1/√fan_in, 1/√fan_in); bias
 * U(−1/√fan_in, 1/√fan_in), fan_in = in_channels/groups·kH·kW.
 *
 * <pre>{@code Conv2d conv1 = new Conv2d(1, 32, 3, 1, 1);    // Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
 * Tensor y = conv1.forward(Tensor.zeros(64, 1, 28, 28)); // (64, 32, 28, 28)}</pre>
 */
public class Conv2d extends ConvModule {
    public final int inChannels;
    public final int outChannels;
    public final int[] kernelSize;
    public final int[] stride;
    /** The resolved top/left padding (for "same" with an even kernel the bottom/right gets one more). */
    public final int[] padding;
    /** {@code null} when padding was given as numbers, else {@code "same"} or {@code "valid"}. */
    public final String paddingMode;
    public final int[] dilation;
    public final int groups;
    private final int[] paddingEnd;

    /** {@code nn.Conv2d(in, out, kernel_size)}: stride 1, no padding. */
    public Conv2d(int inChannels, int outChannels, int kernelSize) {
        this(inChannels, outChannels, kernelSize, 1, 0);
    }

    /** {@code nn.Conv2d(in, out, kernel_size, stride, padding)} with square sizes. */
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding) {
        this(inChannels, outChannels, pair(kernelSize), pair(stride), pair(padding), pair(1), 1, true);
    }

    /** {@code nn.Conv2d(in, out, kernel_size, stride, padding, dilation, groups, bias)}; sizes are (height, width). */
    public Conv2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernelSize, stride, padding, null, dilation, groups, bias);
    }

    /** As the full constructor with PyTorch's string padding: {@code "same"} (needs stride 1) or {@code "valid"} (none). */
    public Conv2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, String padding, int[] dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernelSize, stride, null, padding, dilation, groups, bias);
    }

    private Conv2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, String paddingMode,
                   int[] dilation, int groups, boolean bias) {
        String layer = "Conv2d(" + inChannels + ", " + outChannels + ", kernel_size=" + (kernelSize == null ? "null" : Shapes.str(kernelSize)) + ")";
        this.kernelSize = requirePair(layer, "kernel_size", kernelSize, 1);
        this.stride = requirePair(layer, "stride", stride, 1);
        this.dilation = requirePair(layer, "dilation", dilation, 1);
        checkChannels(layer, inChannels, outChannels, groups);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.groups = groups;
        if (paddingMode == null) {
            this.padding = requirePair(layer, "padding", padding, 0);
            this.paddingEnd = this.padding;
        } else if (paddingMode.equals("valid")) {
            this.padding = pair(0);
            this.paddingEnd = this.padding;
        } else if (paddingMode.equals("same")) {
            if (this.stride[0] != 1 || this.stride[1] != 1) {
                throw new IllegalArgumentException(layer + ": padding='same' is not supported for strided convolutions, got stride="
                        + Shapes.str(this.stride) + "; use stride=1 or numeric padding");
            }
            // total padding dilation·(k − 1) per dimension, the odd one out at the bottom/right (as PyTorch)
            int totalH = this.dilation[0] * (this.kernelSize[0] - 1), totalW = this.dilation[1] * (this.kernelSize[1] - 1);
            this.padding = new int[] {totalH / 2, totalW / 2};
            this.paddingEnd = new int[] {totalH - totalH / 2, totalW - totalW / 2};
        } else {
            throw new IllegalArgumentException(layer + ": invalid padding string '" + paddingMode + "', should be one of {'valid', 'same'}");
        }
        this.paddingMode = paddingMode;
        int[] wShape = {outChannels, inChannels / groups, this.kernelSize[0], this.kernelSize[1]};
        initParameters(wShape, outChannels, bias);
    }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return ConvOps.conv2d(x, weight, bias, stride, padding, paddingEnd, dilation, groups);
    }

    /**
     * {@code pool(F.relu(this(x)))}, the reference model's conv-then-pool: the same result as
     * {@code pool.forwardRelu(forward(x), true)}, through one fused call where no graph is recorded (see
     * {@link ConvOps#conv2dReluMaxPool2d}).
     */
    public Tensor forwardReluPool(Tensor x, MaxPool2d pool) {
        int[] convOut = shapeRule().outputShape(x.shapeRef());
        pool.shapeRule().check(convOut);
        return ConvOps.conv2dReluMaxPool2d(x, weight, bias, stride, padding, paddingEnd, dilation, groups,
                pool.kernelSize, pool.stride, pool.padding, pool.dilation, pool.ceilMode);
    }

    @Override
    public String extraRepr() {
        StringBuilder s = new StringBuilder(inChannels + ", " + outChannels + ", kernel_size=" + Shapes.str(kernelSize) + ", stride=" + Shapes.str(stride));
        if (paddingMode != null) s.append(", padding=").append(paddingMode);
        else if (padding[0] != 0 || padding[1] != 0) s.append(", padding=").append(Shapes.str(padding));
        if (dilation[0] != 1 || dilation[1] != 1) s.append(", dilation=").append(Shapes.str(dilation));
        if (groups != 1) s.append(", groups=").append(groups);
        if (bias == null) s.append(", bias=False");
        return s.toString();
    }

    // ---------------------------------------------------------------- helpers shared by the spatial units

    static int[] pair(int v) { return new int[] {v, v}; }

    /** A (height, width) pair, each at least {@code min}; returns a copy so callers cannot change the layer. */
    static int[] requirePair(String layer, String name, int[] v, int min) {
        if (v == null || v.length != 2) {
            throw new IllegalArgumentException(layer + ": " + name + " must be a (height, width) pair, got "
                    + (v == null ? "null" : java.util.Arrays.toString(v)));
        }
        if (v[0] < min || v[1] < min) {
            throw new IllegalArgumentException(layer + ": " + name + " must be >= " + min + ", got " + Shapes.str(v));
        }
        return v.clone();
    }

    static void checkChannels(String layer, int in, int out, int groups) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException(layer + ": in_channels and out_channels must be positive, got " + in + " and " + out);
        }
        if (groups < 1) throw new IllegalArgumentException(layer + ": groups must be a positive integer, got " + groups);
        if (in % groups != 0) {
            throw new IllegalArgumentException(layer + ": in_channels must be divisible by groups, got in_channels=" + in + ", groups=" + groups);
        }
        if (out % groups != 0) {
            throw new IllegalArgumentException(layer + ": out_channels must be divisible by groups, got out_channels=" + out + ", groups=" + groups);
        }
    }
}
