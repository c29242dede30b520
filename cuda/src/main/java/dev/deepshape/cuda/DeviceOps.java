package dev.deepshape.cuda;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import java.util.List;

/**
 * The units' kernels on device memory, composed from kernels.cu and cuBLAS: what {@link CudaBackend} runs for one
 * call and {@link CudaEngine} for a whole training step. Pointers are device addresses; shapes as the reference
 * kernels' ({@link dev.deepshape.backend.Conv2dKernels} and friends), whose +=/overwrite convention each method states.
 *
 * <p>Convolution is im2col + one strided-batched GEMM per group: col (N, C·KH·KW, OH·OW), out[n] = W·col[n]. Its data
 * gradient is dcol[n] = Wᵀ·dout[n] then col2im (a gather: no atomics, the same sum every run); its weight gradient
 * is dW = Σₙ dout[n]·col[n]ᵀ, one GEMM per sample into a (N, OC, C·KH·KW) buffer summed over n in a fixed order.
 * The engine's convolutions use the batch-wide layout instead ({@code cn}: col (C·KH·KW, N·OH·OW), out (OC, N·OH·OW)),
 * where each of the three products is one large GEMM.
 */
final class DeviceOps {
    private DeviceOps() {}

    /** Every kernel of kernels.cu launched from Java (KernelSourceTest checks each is in the PTX). */
    static final List<String> KERNELS = List.of("im2col", "im2col_rows", "col2im_acc", "add_bias_planes", "fill_bias_planes",
            "bias_grad_planes", "sum_rows_acc", "add_bias_rows", "relu_fwd", "relu_bwd", "maxpool_fwd", "maxpool_bwd_acc",
            "rnn_tanh_fwd", "rnn_tanh_bwd", "gru_fwd", "gru_bwd", "lstm_fwd", "lstm_bwd", "cross_entropy",
            "count_nonfinite", "gather_batch", "adam");

    private static int i(boolean b) { return b ? 1 : 0; }

    // ---------------------------------------------------------------- convolution

    /** col (N, C·KH·KW, OH·OW) = im2col(x (N, C, H, W)); with {@code cn}, col (C·KH·KW, N·OH·OW) instead. */
    static void im2col(Gpu gpu, long col, long x, Conv2dGeometry g, boolean cn) {
        if (cn) {
            gpu.launch2d("im2col_rows", (long) g.n() * g.oh() * g.ow(), g.c() * g.kh() * g.kw(), x, col, g.n(), g.c(), g.h(),
                    g.w(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padH(), g.padW(), g.dilH(), g.dilW(), g.oh(), g.ow());
            return;
        }
        gpu.launch("im2col", colFloats(g), x, col, g.n(), g.c(), g.h(), g.w(), g.kh(), g.kw(), g.strideH(), g.strideW(),
                g.padH(), g.padW(), g.dilH(), g.dilW(), g.oh(), g.ow());
    }

    /**
     * x (N, C, H, W) (+)= col2im(col), col in im2col's layout ({@code cn} or per sample); without {@code accumulate}
     * x = bias (may be 0) + col2im(col), the transposed convolution's forward in one pass.
     */
    static void col2im(Gpu gpu, long x, long col, long bias, Conv2dGeometry g, boolean cn, boolean accumulate) {
        gpu.launch("col2im_acc", (long) g.n() * g.c() * g.h() * g.w(), col, x, bias, g.n(), g.c(), g.h(), g.w(), g.kh(),
                g.kw(), g.strideH(), g.strideW(), g.padH(), g.padW(), g.dilH(), g.dilW(), g.oh(), g.ow(), i(cn), i(accumulate));
    }

    static long colFloats(Conv2dGeometry g) {
        return (long) g.n() * g.c() * g.kh() * g.kw() * g.oh() * g.ow();
    }

    /**
     * out (N, OC, OH, OW) = W·col (+ bias, may be 0) where col = im2col(x) is already in {@code col}; with
     * {@code accumulate} the product is added to out (the bias is then not added: the transposed convolution's
     * data gradient uses it that way).
     */
    static void convForwardCol(Gpu gpu, long out, long col, long weight, long bias, Conv2dGeometry g, boolean accumulate) {
        int ohw = g.oh() * g.ow(), ckk = g.colRows(), ocg = g.ocg();
        for (int grp = 0; grp < g.groups(); grp++) {
            gpu.gemmBatched(false, false, ocg, ohw, ckk,
                    weight + 4L * grp * ocg * ckk, ckk, 0,
                    col + 4L * grp * ckk * ohw, ohw, (long) g.c() * g.kh() * g.kw() * ohw,
                    out + 4L * grp * ocg * ohw, ohw, (long) g.oc() * ohw, accumulate ? 1f : 0f, g.n());
        }
        if (bias != 0) gpu.launch("add_bias_planes", (long) g.n() * g.oc() * ohw, out, bias, g.n(), g.oc(), (long) ohw);
    }

    /** dx (N, C, H, W) (+)= the convolution's data gradient of dout (N, OC, OH, OW); dcol is scratch of colFloats. */
    static void convBackwardData(Gpu gpu, long dx, long dout, long weight, long dcol, Conv2dGeometry g, boolean accumulate) {
        int ohw = g.oh() * g.ow(), ckk = g.colRows(), ocg = g.ocg();
        for (int grp = 0; grp < g.groups(); grp++) {
            gpu.gemmBatched(true, false, ckk, ohw, ocg,
                    weight + 4L * grp * ocg * ckk, ckk, 0,
                    dout + 4L * grp * ocg * ohw, ohw, (long) g.oc() * ohw,
                    dcol + 4L * grp * ckk * ohw, ohw, (long) g.c() * g.kh() * g.kw() * ohw, 0f, g.n());
        }
        col2im(gpu, dx, dcol, 0, g, false, accumulate);
    }

    /**
     * dweight (OC, C/groups, KH, KW) (+)= Σₙ dout[n]·col[n]ᵀ, col = im2col(x) already in {@code col}; perSample is
     * scratch of N·OC·C/groups·KH·KW floats.
     */
    static void convBackwardWeight(Gpu gpu, long dweight, long dout, long col, long perSample, Conv2dGeometry g, boolean accumulate) {
        int ohw = g.oh() * g.ow(), ckk = g.colRows(), ocg = g.ocg();
        long wsize = (long) g.oc() * ckk;
        for (int grp = 0; grp < g.groups(); grp++) {
            gpu.gemmBatched(false, true, ocg, ckk, ohw,
                    dout + 4L * grp * ocg * ohw, ohw, (long) g.oc() * ohw,
                    col + 4L * grp * ckk * ohw, ohw, (long) g.c() * g.kh() * g.kw() * ohw,
                    perSample + 4L * grp * ocg * ckk, ckk, wsize, 0f, g.n());
        }
        gpu.launch("sum_rows_acc", wsize, perSample, dweight, g.n(), wsize, i(accumulate));
    }

    /** dbias[c] (+)= Σ over n and the plane of dout (N, C, plane). */
    static void biasGradPlanes(Gpu gpu, long dbias, long dout, int n, int c, long plane, boolean accumulate) {
        gpu.launchBlocks("bias_grad_planes", c, 256, dout, dbias, n, c, plane, i(accumulate));
    }

    // ---------------------------------------------------------------- pooling

    /**
     * out, and the window maxima's indices (int or float, either may be 0), of max pooling of x + bias (bias per
     * channel, may be 0: a convolution's, added here instead of in a pass of its own), or of relu of that. x is
     * (N, C, H, W), or (C, N, H, W) with {@code inCN}; out and the indices likewise with {@code outCN}.
     */
    static void maxPoolForward(Gpu gpu, long out, long idxInt, long idxFloat, long x, long bias, boolean relu,
                               Pool2dGeometry g, boolean inCN, boolean outCN) {
        gpu.launch("maxpool_fwd", (long) g.n() * g.c() * g.oh() * g.ow(), x, bias, out, idxInt, idxFloat, i(relu), g.n(), g.c(),
                g.h(), g.w(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padH(), g.padW(), g.dilH(), g.dilW(), g.oh(), g.ow(),
                i(inCN), i(outCN));
    }

    /**
     * dx (+)= max pooling's gradient; with relu, only where the pooled value {@code out} is not ≤ 0. dx in x's layout
     * ({@code inCN}), dout, the indices and out in out's ({@code outCN}).
     */
    static void maxPoolBackward(Gpu gpu, long dx, long dout, long idxInt, long idxFloat, long out, boolean relu,
                                Pool2dGeometry g, boolean inCN, boolean outCN, boolean accumulate) {
        gpu.launch("maxpool_bwd_acc", (long) g.n() * g.c() * g.h() * g.w(), dout, idxInt, idxFloat, out, dx, i(relu),
                g.n(), g.c(), g.h(), g.w(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padH(), g.padW(), g.dilH(),
                g.dilW(), g.oh(), g.ow(), i(inCN), i(outCN), i(accumulate));
    }

    /** out (rows, cols) (+)= Σ over rows, into (cols): the bias gradient of row-major activations. */
    static void sumRows(Gpu gpu, long out, long m, int rows, long cols, boolean accumulate) {
        gpu.launch("sum_rows_acc", cols, m, out, rows, cols, i(accumulate));
    }
}
