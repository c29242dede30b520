package dev.deepshape.backend;

/**
 * Everything a 2-D convolution kernel needs to know about its shapes: x is (n, c, h, w), weight is
 * (oc, c/groups, kh, kw), out is (n, oc, oh, ow).
 *
 * <p>{@code padH}/{@code padW} are the top/left padding. The output size is stored, not derived, so padding may be
 * asymmetric: PyTorch's {@code padding='same'} with an even kernel pads one more row/column at the bottom/right, and
 * that extra padding needs no field because every read outside the input is zero anyway.
 *
 * <p><b>Transposed convolution uses the same record.</b> A transposed convolution x (N, Cin, H, W) → y (N, Cout, OH, OW)
 * is the gradient-with-respect-to-input of the convolution y → x with the same weight. So a {@code ConvTranspose2d}
 * is described by that <i>equivalent convolution</i>: {@code (n=N, c=Cout, h=OH, w=OW, oc=Cin, oh=H, ow=W)}, and its
 * weight (Cin, Cout/groups, KH, KW) is exactly that convolution's weight (oc, c/groups, kh, kw). See
 * {@link #transposed} and {@link ConvTranspose2dKernels}.
 */
public record Conv2dGeometry(int n, int c, int h, int w, int oc, int kh, int kw,
                             int strideH, int strideW, int padH, int padW, int dilH, int dilW,
                             int groups, int oh, int ow) {
    public Conv2dGeometry {
        if (n < 0 || c < 1 || h < 1 || w < 1 || oc < 1 || kh < 1 || kw < 1 || oh < 1 || ow < 1) {
            throw new IllegalArgumentException("convolution sizes must be positive (batch >= 0), got " + describe(n, c, h, w, oc, kh, kw, oh, ow));
        }
        if (strideH < 1 || strideW < 1 || dilH < 1 || dilW < 1 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("convolution needs stride >= 1, dilation >= 1 and padding >= 0, got stride=("
                    + strideH + ", " + strideW + "), padding=(" + padH + ", " + padW + "), dilation=(" + dilH + ", " + dilW + ")");
        }
        if (groups < 1 || c % groups != 0 || oc % groups != 0) {
            throw new IllegalArgumentException("convolution channels " + c + " -> " + oc + " are not divisible by groups=" + groups);
        }
    }

    private static String describe(int n, int c, int h, int w, int oc, int kh, int kw, int oh, int ow) {
        return "x (" + n + ", " + c + ", " + h + ", " + w + "), weight (" + oc + ", ., " + kh + ", " + kw + "), out (" + n + ", " + oc + ", " + oh + ", " + ow + ")";
    }

    /**
     * A convolution over x (n, c, h, w) padded by {@code padBegin} at the top/left and {@code padEnd} at the
     * bottom/right: {@code H_out = ⌊(H + padTop + padBottom − dilation·(kernel − 1) − 1) / stride⌋ + 1}.
     */
    public static Conv2dGeometry conv(int n, int c, int h, int w, int oc, int kh, int kw,
                                      int[] stride, int[] padBegin, int[] padEnd, int[] dilation, int groups) {
        int oh = convOutSize(h, kh, stride[0], padBegin[0] + padEnd[0], dilation[0]);
        int ow = convOutSize(w, kw, stride[1], padBegin[1] + padEnd[1], dilation[1]);
        return new Conv2dGeometry(n, c, h, w, oc, kh, kw, stride[0], stride[1], padBegin[0], padBegin[1],
                dilation[0], dilation[1], groups, oh, ow);
    }

    /**
     * The equivalent convolution of a transposed convolution over x (n, cin, h, w) with weight (cin, cout/groups,
     * kh, kw): {@code H_out = (H − 1)·stride − 2·padding + dilation·(kernel − 1) + output_padding + 1}.
     */
    public static Conv2dGeometry transposed(int n, int cin, int h, int w, int cout, int kh, int kw,
                                            int[] stride, int[] padding, int[] outputPadding, int[] dilation, int groups) {
        int outH = transposedOutSize(h, kh, stride[0], padding[0], outputPadding[0], dilation[0]);
        int outW = transposedOutSize(w, kw, stride[1], padding[1], outputPadding[1], dilation[1]);
        return new Conv2dGeometry(n, cout, outH, outW, cin, kh, kw, stride[0], stride[1], padding[0], padding[1],
                dilation[0], dilation[1], groups, h, w);
    }

    /** {@code ⌊(in + totalPad − dilation·(kernel − 1) − 1) / stride⌋ + 1} (≤ 0 when the kernel does not fit). */
    public static int convOutSize(int in, int kernel, int stride, int totalPad, int dilation) {
        return Math.floorDiv(in + totalPad - dilation * (kernel - 1) - 1, stride) + 1;
    }

    /** {@code (in − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1}. */
    public static int transposedOutSize(int in, int kernel, int stride, int padding, int outputPadding, int dilation) {
        return (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1;
    }

    /** Input channels per group. */
    public int cg() { return c / groups; }

    /** Output channels per group. */
    public int ocg() { return oc / groups; }

    /** Rows of one group's im2col matrix (and columns of its weight matrix): c/groups · kh · kw. */
    public int colRows() { return cg() * kh * kw; }
}
