package dev.deepshape.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.autograd.ConvOps;
import dev.deepshape.autograd.GradCheck;
import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Finite-difference gradient checks of conv2d, conv_transpose2d and max_pool2d through autograd (input, weight, bias). */
class ConvGradCheckTest {
    /** A fixed, non-symmetric weighting so every output element matters differently. */
    private static Tensor weighted(Tensor y) {
        float[] w = new float[y.numel()];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(0.7 * i + 0.3);
        return Ops.sum(Ops.mul(y, new Tensor(w, y.shape())));
    }

    private static Tensor leaf(Rng rng, int... shape) { return Tensor.randn(rng, shape).requiresGrad(true); }

    private static void check(String what, Supplier<Tensor> f, List<Tensor> leaves) {
        GradCheck.Result r = GradCheck.check(() -> weighted(f.get()), leaves, 1e-2, 150);
        assertTrue(r.passes(5e-3, 1e-2), what + ": " + r);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // name, n, c, h, w, oc, kh, kw, stride, padTop/Left, padBottom/Right, dilation, groups, bias
            "plain,              2, 3, 6, 5, 4, 3, 3, 1, 0, 0, 1, 1, true",
            "no bias,            2, 3, 6, 5, 4, 3, 3, 1, 0, 0, 1, 1, false",
            "stride 2,           2, 2, 7, 6, 3, 3, 3, 2, 0, 0, 1, 1, true",
            "padding 1,          1, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, true",
            "dilation 2,         2, 2, 7, 7, 2, 3, 3, 1, 1, 1, 2, 1, true",
            "groups 2,           2, 4, 5, 6, 6, 3, 2, 1, 1, 1, 1, 2, true",
            "same (even kernel), 2, 2, 5, 6, 3, 2, 2, 1, 0, 1, 1, 1, true",
    })
    void conv2d(String name, int n, int c, int h, int w, int oc, int kh, int kw, int stride, int pad, int padEnd,
                int dilation, int groups, boolean withBias) {
        Rng rng = new Rng(name.hashCode());
        Tensor x = leaf(rng, n, c, h, w), wt = leaf(rng, oc, c / groups, kh, kw);
        Tensor b = withBias ? leaf(rng, oc) : null;
        List<Tensor> leaves = new ArrayList<>(List.of(x, wt));
        if (b != null) leaves.add(b);
        int[] s = {stride, stride}, p = {pad, pad}, pe = {padEnd, padEnd}, d = {dilation, dilation};
        check("conv2d " + name, () -> ConvOps.conv2d(x, wt, b, s, p, pe, d, groups), leaves);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // name, n, cin, h, w, cout, k, stride, padding, output_padding, dilation, groups, bias
            "plain,              2, 3, 3, 4, 2, 3, 1, 0, 0, 1, 1, true",
            "stride 2 (model),   2, 3, 3, 3, 2, 2, 2, 0, 0, 1, 1, true",
            "padding 1,          1, 2, 4, 4, 3, 3, 2, 1, 0, 1, 1, false",
            "output_padding 1,   2, 2, 3, 3, 2, 3, 2, 1, 1, 1, 1, true",
            "groups 2,           2, 4, 3, 3, 6, 3, 2, 1, 1, 1, 2, true",
            "dilation 2,         1, 2, 3, 4, 2, 3, 1, 1, 1, 2, 1, true",
    })
    void convTranspose2d(String name, int n, int cin, int h, int w, int cout, int k, int stride, int pad, int outPad,
                         int dilation, int groups, boolean withBias) {
        Rng rng = new Rng(name.hashCode());
        Tensor x = leaf(rng, n, cin, h, w), wt = leaf(rng, cin, cout / groups, k, k);
        Tensor b = withBias ? leaf(rng, cout) : null;
        List<Tensor> leaves = new ArrayList<>(List.of(x, wt));
        if (b != null) leaves.add(b);
        int[] s = {stride, stride}, p = {pad, pad}, op = {outPad, outPad}, d = {dilation, dilation};
        check("conv_transpose2d " + name, () -> ConvOps.convTranspose2d(x, wt, b, s, p, op, groups, d), leaves);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            // name, n, c, h, w, kh, kw, stride, padding, dilation, ceil_mode
            "2x2 (model),        2, 2, 6, 6, 2, 2, 2, 0, 1, false",
            "3x3 stride 2 pad 1, 2, 2, 7, 6, 3, 3, 2, 1, 1, false",
            "stride > kernel,    1, 3, 9, 8, 2, 2, 3, 0, 1, false",
            "dilation 2,         2, 1, 8, 7, 3, 2, 1, 1, 2, false",
            "ceil_mode,          2, 2, 7, 5, 2, 2, 2, 0, 1, true",
            "ceil_mode padded,   1, 2, 5, 6, 3, 3, 2, 1, 1, true",
    })
    void maxPool2d(String name, int n, int c, int h, int w, int kh, int kw, int stride, int pad, int dilation, boolean ceil) {
        // NOTE: no ties, and neighbours at least 0.05 apart, so the ±0.01 probes never change which element is the max
        int len = n * c * h * w;
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < len; i++) order.add(i);
        java.util.Collections.shuffle(order, new java.util.Random(name.hashCode()));
        float[] v = new float[len];
        for (int i = 0; i < len; i++) v[i] = order.get(i) * 0.05f - len * 0.025f;
        Tensor x = new Tensor(v, n, c, h, w).requiresGrad(true);
        int[] k = {kh, kw}, s = {stride, stride}, p = {pad, pad}, d = {dilation, dilation};
        check("max_pool2d " + name, () -> ConvOps.maxPool2d(x, k, s, p, d, ceil), List.of(x));
    }
}
