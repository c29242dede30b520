package dev.deepshape.autograd;

import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.function.Function;

/**
 * The fused spatial primitives with autograd, as {@code torch.nn.functional.conv2d}, {@code conv_transpose2d} and
 * {@code max_pool2d}: the forward pass calls the backend's kernel, and the backward closure right below it calls the
 * backend's backward kernel. Inputs are (N, C, H, W) or unbatched (C, H, W); sizes are {@code {height, width}} pairs.
 * Graph labels are PyTorch's: {@code ConvolutionBackward0} (both convolutions) and {@code MaxPool2DWithIndicesBackward0}.
 */
public final class ConvOps {
    private ConvOps() {}

    private static final int[] ZERO = {0, 0};

    /**
     * {@code F.conv2d(x, weight, bias, stride, padding, dilation, groups)} with symmetric padding: x is (N, C, H, W),
     * weight (OC, C/groups, KH, KW), bias (OC) or null; the result is (N, OC, H_out, W_out) with
     * {@code H_out = ⌊(H + 2·padding − dilation·(KH − 1) − 1) / stride⌋ + 1}.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] dilation, int groups) {
        return conv2d(x, weight, bias, stride, padding, padding, dilation, groups);
    }

    /**
     * As {@link #conv2d(Tensor, Tensor, Tensor, int[], int[], int[], int)} with {@code padding} at the top/left and
     * {@code paddingEnd} at the bottom/right (PyTorch's {@code padding='same'} with an even kernel pads one more at
     * the end).
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] paddingEnd, int[] dilation, int groups) {
        if (x.dim() == 3) return unbatched(x, t -> conv2d(t, weight, bias, stride, padding, paddingEnd, dilation, groups));
        Conv2dGeometry g = convGeometry(x, weight, bias, stride, padding, paddingEnd, dilation, groups);
        float[] xv = Ops.dense(x), wv = Ops.dense(weight), bv = bias != null ? Ops.dense(bias) : null;
        float[] out = Buffers.uninitialized(g.n() * g.oc() * g.oh() * g.ow()); // the backend writes every element
        Backends.current().conv2dForward(out, xv, wv, bv, g);
        Tensor result = new Tensor(out, g.n(), g.oc(), g.oh(), g.ow());
        return Ops.recordFresh(result, "ConvolutionBackward0", Ops.saved("input", x, "weight", weight), dOut -> {
            float[] dy = Ops.dense(dOut);
            float[] dx = x.requiresGrad() ? Buffers.uninitialized(xv.length) : null; // the backend overwrites it
            // NOTE: plain arrays for the parameters' gradients: the engine adopts them as .grad, which outlives the step.
            float[] dw = weight.requiresGrad() ? new float[wv.length] : null;
            float[] db = bias != null && bias.requiresGrad() ? new float[bv.length] : null;
            Backends.current().conv2dBackwardInto(dx, dw, db, dy, xv, wv, g);
            return new Tensor[] {wrap(dx, x), wrap(dw, weight), wrap(db, bias)};
        }, x, weight, bias);
    }

    /** conv2d's checks, in PyTorch's words, and its geometry for a 4-D x. */
    private static Conv2dGeometry convGeometry(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] paddingEnd, int[] dilation,
                                               int groups) {
        checkConvArgs("conv2d", x, weight, bias, groups, weight.size(1) * groups, weight.size(0));
        int[] xs = x.shapeRef();
        int kh = weight.size(2), kw = weight.size(3);
        int paddedH = xs[2] + padding[0] + paddingEnd[0], paddedW = xs[3] + padding[1] + paddingEnd[1];
        if (Conv2dGeometry.convOutSize(xs[2], kh, stride[0], padding[0] + paddingEnd[0], dilation[0]) < 1
                || Conv2dGeometry.convOutSize(xs[3], kw, stride[1], padding[1] + paddingEnd[1], dilation[1]) < 1) {
            throw new IllegalArgumentException("conv2d: calculated padded input size per channel: (" + paddedH + " x " + paddedW + "). Kernel size: ("
                    + (dilation[0] * (kh - 1) + 1) + " x " + (dilation[1] * (kw - 1) + 1) + "). Kernel size can't be greater than actual input size");
        }
        return Conv2dGeometry.conv(xs[0], xs[1], xs[2], xs[3], weight.size(0), kh, kw, stride, padding, paddingEnd, dilation, groups);
    }

    /**
     * {@code F.max_pool2d(F.relu(F.conv2d(x, weight, bias, ...)), kernelSize, poolStride, poolPadding, poolDilation,
     * ceilMode)} (arguments as {@link #conv2d(Tensor, Tensor, Tensor, int[], int[], int[], int[], int)} and
     * {@link #maxPool2d}). Where a graph is recorded it is those three ops (the ReLU in place on the convolution's
     * fresh output); where none is (no grad, or nothing requires it) it is one backend call,
     * {@link dev.deepshape.backend.Backend#conv2dReluMaxPool2dForward}, which need not keep the convolution's output
     * (in inference, 6.4 MB per batch of 64 for the reference model's conv1) and gives the same values.
     */
    public static Tensor conv2dReluMaxPool2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] paddingEnd, int[] dilation,
                                             int groups, int[] kernelSize, int[] poolStride, int[] poolPadding, int[] poolDilation, boolean ceilMode) {
        boolean graph = Autograd.isGradEnabled() && (x.requiresGrad() || weight.requiresGrad() || (bias != null && bias.requiresGrad()));
        if (graph || x.dim() != 4) {
            Tensor y = conv2d(x, weight, bias, stride, padding, paddingEnd, dilation, groups);
            return reluMaxPool2d(y, kernelSize, poolStride, poolPadding, poolDilation, ceilMode, true);
        }
        Conv2dGeometry cg = convGeometry(x, weight, bias, stride, padding, paddingEnd, dilation, groups);
        Pool2dGeometry pg = poolGeometry(new int[] {cg.n(), cg.oc(), cg.oh(), cg.ow()}, kernelSize, poolStride, poolPadding, poolDilation, ceilMode);
        float[] out = Buffers.uninitialized(pg.n() * pg.c() * pg.oh() * pg.ow()); // the backend writes every element
        Backends.current().conv2dReluMaxPool2dForward(out, Ops.dense(x), Ops.dense(weight), bias != null ? Ops.dense(bias) : null, cg, pg);
        return new Tensor(out, pg.n(), pg.c(), pg.oh(), pg.ow());
    }

    /**
     * {@code F.conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups, dilation)}: x is
     * (N, Cin, H, W), weight (Cin, Cout/groups, KH, KW), bias (Cout) or null; the result is (N, Cout, H_out, W_out) with
     * {@code H_out = (H − 1)·stride − 2·padding + dilation·(KH − 1) + output_padding + 1}.
     */
    public static Tensor convTranspose2d(Tensor x, Tensor weight, Tensor bias, int[] stride, int[] padding, int[] outputPadding, int groups, int[] dilation) {
        if (x.dim() == 3) return unbatched(x, t -> convTranspose2d(t, weight, bias, stride, padding, outputPadding, groups, dilation));
        checkConvArgs("conv_transpose2d", x, weight, bias, groups, weight.size(0), weight.size(1) * groups);
        int[] xs = x.shapeRef();
        int cout = weight.size(1) * groups;
        int outH = Conv2dGeometry.transposedOutSize(xs[2], weight.size(2), stride[0], padding[0], outputPadding[0], dilation[0]);
        int outW = Conv2dGeometry.transposedOutSize(xs[3], weight.size(3), stride[1], padding[1], outputPadding[1], dilation[1]);
        if (outH < 1 || outW < 1) {
            throw new IllegalArgumentException("conv_transpose2d: input " + Shapes.str(xs) + " gives an output of size (" + outH + " x " + outW
                    + "), which is too small; reduce padding");
        }
        Conv2dGeometry g = Conv2dGeometry.transposed(xs[0], xs[1], xs[2], xs[3], cout, weight.size(2), weight.size(3),
                stride, padding, outputPadding, dilation, groups);
        float[] xv = Ops.dense(x), wv = Ops.dense(weight), bv = bias != null ? Ops.dense(bias) : null;
        float[] out = Buffers.uninitialized(g.n() * g.c() * g.h() * g.w()); // the backend writes every element
        Backends.current().convTranspose2dForward(out, xv, wv, bv, g);
        Tensor result = new Tensor(out, g.n(), g.c(), g.h(), g.w());
        return Ops.recordFresh(result, "ConvolutionBackward0", Ops.saved("input", x, "weight", weight), dOut -> {
            float[] dy = Ops.dense(dOut);
            float[] dx = x.requiresGrad() ? Buffers.zeros(xv.length) : null;
            // NOTE: plain arrays for the parameters' gradients: the engine adopts them as .grad, which outlives the step.
            float[] dw = weight.requiresGrad() ? new float[wv.length] : null;
            float[] db = bias != null && bias.requiresGrad() ? new float[bv.length] : null;
            Backends.current().convTranspose2dBackward(dx, dw, db, dy, xv, wv, g);
            return new Tensor[] {wrap(dx, x), wrap(dw, weight), wrap(db, bias)};
        }, x, weight, bias);
    }

    /**
     * {@code F.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)}: x is (N, C, H, W), the result
     * (N, C, H_out, W_out) with {@code H_out = ⌊(H + 2·padding − dilation·(kernel − 1) − 1 [+ stride − 1]) / stride⌋ + 1}
     * (the bracket with ceil_mode, whose last window must start inside the input or its left padding). Saves the
     * argmax indices ({@code result1}) for the backward pass.
     */
    public static Tensor maxPool2d(Tensor x, int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        if (x.dim() == 3) return unbatched(x, t -> maxPool2d(t, kernelSize, stride, padding, dilation, ceilMode));
        Pool2dGeometry g = poolGeometry(x, kernelSize, stride, padding, dilation, ceilMode);
        int[] xs = x.shape();
        float[] xv = Ops.dense(x);
        int outN = g.n() * g.c() * g.oh() * g.ow();
        float[] out = Buffers.zeros(outN);
        int[] idx = new int[outN];
        Backends.current().maxPool2dForward(out, idx, xv, g);
        Tensor result = new Tensor(out, g.n(), g.c(), g.oh(), g.ow());
        if (!Autograd.isGradEnabled() || !x.requiresGrad()) return result;
        return Ops.recordFresh(result, "MaxPool2DWithIndicesBackward0", Ops.saved("self", x, "result1", indexTensor(idx, g)), dOut -> {
            float[] dx = Buffers.zeros(xv.length);
            Backends.current().maxPool2dBackward(dx, Ops.dense(dOut), idx, g);
            return new Tensor[] {new Tensor(dx, xs)};
        }, x);
    }

    /**
     * {@code F.max_pool2d(F.relu(x), ...)} (arguments as {@link #maxPool2d}) with one backend kernel for both, forward
     * and backward. The graph is the one the two calls would record: a {@code ReluBackward0} node whose result feeds a
     * {@code MaxPool2DWithIndicesBackward0} node. With {@code inplace} (as {@code F.relu(x, inplace=True)}) the ReLU
     * overwrites x's storage instead of allocating its result: only for an x that nothing else reads afterwards.
     * Where no graph is recorded (no grad, or x does not require it) x is not written at all.
     */
    public static Tensor reluMaxPool2d(Tensor x, int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode,
                                       boolean inplace) {
        if (x.dim() == 3) return unbatched(x, t -> reluMaxPool2d(t, kernelSize, stride, padding, dilation, ceilMode, inplace));
        Pool2dGeometry g = poolGeometry(x, kernelSize, stride, padding, dilation, ceilMode);
        if (inplace && x.isLeaf() && x.requiresGrad() && Autograd.isGradEnabled()) {
            throw new IllegalArgumentException("relu: a leaf tensor that requires grad cannot be used in an in-place operation; "
                    + "use inplace=false, or apply it to a layer's output");
        }
        int[] xs = x.shape();
        float[] xv = Ops.dense(x);
        int outN = g.n() * g.c() * g.oh() * g.ow();
        if (!Autograd.isGradEnabled() || !x.requiresGrad()) {
            // NOTE: no graph, so nothing reads the rectified input or the indices: pool first, then rectify the result
            // (a quarter of the size for 2×2). The same values: ReLU is monotone, relu(max) = max(relu) = +0 for a
            // window of values ≤ 0 (−0 included), and both keep a NaN. In inference this saves the ReLU's pass over
            // conv1's 6.4 MB output and the indices' store. x is left as it was.
            float[] out = Buffers.uninitialized(outN);
            Backends.current().maxPool2dForward(out, null, xv, g);
            Backends.current().relu(out, out, outN);
            return new Tensor(out, g.n(), g.c(), g.oh(), g.ow());
        }
        float[] r = inplace ? xv : Buffers.uninitialized(xv.length); // the backend writes every rectified value
        float[] out = Buffers.uninitialized(outN); // the backend writes every pooled value and its index
        float[] idx = Buffers.uninitialized(outN); // PyTorch saves an int64 tensor; floats are exact below 2^24 per plane
        Backends.current().reluMaxPool2dForward(r, out, idx, xv, g);
        Tensor result = new Tensor(out, g.n(), g.c(), g.oh(), g.ow());
        Tensor relu = new Tensor(r, xs);
        // NOTE: relu is internal, so the pool node below is its only consumer, and that node's backward kernel already
        // applies ReLU's mask (it routes dout only where the pooled value is > 0). ReLU's node passes it on unchanged.
        Ops.record(relu, "ReluBackward0", Ops.saved("result", relu), d -> new Tensor[] {d}, x);
        Tensor indices = new Tensor(idx, g.n(), g.c(), g.oh(), g.ow());
        return Ops.recordFresh(result, "MaxPool2DWithIndicesBackward0", Ops.saved("self", relu, "result1", indices), dOut -> {
            float[] dx = Buffers.uninitialized(xv.length); // the backend writes every element
            Backends.current().reluMaxPool2dBackwardInto(dx, Ops.dense(dOut), out, idx, g);
            return new Tensor[] {new Tensor(dx, xs)};
        }, relu);
    }

    private static Pool2dGeometry poolGeometry(Tensor x, int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        if (x.dim() != 4) {
            throw new IllegalArgumentException("max_pool2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got " + Shapes.str(x.shapeRef()));
        }
        return poolGeometry(x.shapeRef(), kernelSize, stride, padding, dilation, ceilMode);
    }

    private static Pool2dGeometry poolGeometry(int[] xs, int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        try {
            return Pool2dGeometry.of(xs[0], xs[1], xs[2], xs[3], kernelSize, stride, padding, dilation, ceilMode);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("max_pool2d: input " + Shapes.str(xs) + " is too small for kernel_size (" + kernelSize[0] + ", "
                    + kernelSize[1] + "), padding (" + padding[0] + ", " + padding[1] + "), dilation (" + dilation[0] + ", " + dilation[1]
                    + "): " + e.getMessage(), e);
        }
    }

    /** The argmax indices as the saved {@code result1} tensor (PyTorch's is int64; a float copy is exact below 2^24 per plane). */
    private static Tensor indexTensor(int[] idx, Pool2dGeometry g) {
        float[] idxF = Buffers.zeros(idx.length);
        for (int i = 0; i < idx.length; i++) idxF[i] = idx[i];
        return new Tensor(idxF, g.n(), g.c(), g.oh(), g.ow());
    }

    private static Tensor unbatched(Tensor x, Function<Tensor, Tensor> op) {
        return Ops.squeeze(op.apply(Ops.unsqueeze(x, 0)), 0);
    }

    private static Tensor wrap(float[] d, Tensor like) {
        return d == null ? null : new Tensor(d, like.shape());
    }

    /** The checks PyTorch's convolution makes, in its words. */
    private static void checkConvArgs(String op, Tensor x, Tensor weight, Tensor bias, int groups, int expectedIn, int outChannels) {
        if (x.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got " + Shapes.str(x.shapeRef()));
        }
        if (weight.dim() != 4) {
            throw new IllegalArgumentException(op + ": expected a 4-D weight, got " + Shapes.str(weight.shapeRef()));
        }
        if (groups < 1) throw new IllegalArgumentException(op + ": groups must be a positive integer, got " + groups);
        if (x.size(1) != expectedIn) {
            throw new IllegalArgumentException(op + ": given groups=" + groups + ", weight of size " + Shapes.str(weight.shapeRef())
                    + ", expected input " + Shapes.str(x.shapeRef()) + " to have " + expectedIn + " channels, but got " + x.size(1) + " channels instead");
        }
        if (bias != null && (bias.dim() != 1 || bias.size(0) != outChannels)) {
            throw new IllegalArgumentException(op + ": expected bias of shape (" + outChannels + "), got " + Shapes.str(bias.shapeRef()));
        }
        if (outChannels % groups != 0) {
            throw new IllegalArgumentException(op + ": " + outChannels + " output channels are not divisible by groups=" + groups);
        }
    }
}
