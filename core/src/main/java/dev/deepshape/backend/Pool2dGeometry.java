package dev.deepshape.backend;

/**
 * The shapes of a 2-D pooling kernel: x is (n, c, h, w), out and indices are (n, c, oh, ow); the window is kh×kw
 * with the given stride, (symmetric) padding and dilation. The output size is stored so ceil_mode needs no field.
 */
public record Pool2dGeometry(int n, int c, int h, int w, int kh, int kw, int strideH, int strideW,
                             int padH, int padW, int dilH, int dilW, int oh, int ow) {
    public Pool2dGeometry {
        if (n < 0 || c < 0 || h < 1 || w < 1 || kh < 1 || kw < 1 || oh < 1 || ow < 1
                || strideH < 1 || strideW < 1 || dilH < 1 || dilW < 1 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("pooling needs positive sizes, stride and dilation and padding >= 0, got x (" + n + ", " + c
                    + ", " + h + ", " + w + "), kernel (" + kh + ", " + kw + "), stride (" + strideH + ", " + strideW + "), padding ("
                    + padH + ", " + padW + "), dilation (" + dilH + ", " + dilW + "), out (" + oh + ", " + ow + ")");
        }
    }

    /**
     * PyTorch's {@code pooling_output_shape}: {@code ⌊(in + 2·pad − dilation·(kernel − 1) − 1 [+ stride − 1 with
     * ceil_mode]) / stride⌋ + 1}, and with ceil_mode the last window must start inside the input or its left padding
     * ({@code if ((out − 1)·stride >= in + pad) --out}). May return ≤ 0 when the window does not fit.
     */
    public static int outSize(int in, int kernel, int stride, int pad, int dilation, boolean ceilMode) {
        int out = Math.floorDiv(in + 2 * pad - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0), stride) + 1;
        if (ceilMode && (out - 1) * stride >= in + pad) out--;
        return out;
    }

    public static Pool2dGeometry of(int n, int c, int h, int w, int[] kernel, int[] stride, int[] padding, int[] dilation, boolean ceilMode) {
        int oh = outSize(h, kernel[0], stride[0], padding[0], dilation[0], ceilMode);
        int ow = outSize(w, kernel[1], stride[1], padding[1], dilation[1], ceilMode);
        return new Pool2dGeometry(n, c, h, w, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                dilation[0], dilation[1], oh, ow);
    }
}
