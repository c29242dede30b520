package dev.deepshape.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.nn.Conv2d;
import dev.deepshape.nn.MaxPool2d;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code MaxPool2d.forwardRelu} (one fused kernel, optionally in place) against {@code pool(relu(x))} as two ops:
 * the same values, the same gradients, the same graph ({@code ReluBackward0} feeding
 * {@code MaxPool2DWithIndicesBackward0} with its saved {@code self} and {@code result1}); and a finite-difference
 * check through a convolution.
 */
class FusedReluPoolTest {
    @ParameterizedTest(name = "inplace={0}")
    @ValueSource(booleans = {false, true})
    void matchesReluThenPool(boolean inplace) {
        MaxPool2d pool = new MaxPool2d(2, 2);
        Rng rng = new Rng(7);
        Tensor w = Tensor.randn(rng, 2, 3, 7, 6);
        // ties (zeros after the ReLU) and a NaN check PyTorch's first-maximum and NaN rules through the fused kernel
        float[] data = w.toArray();
        for (int i = 0; i < data.length; i += 5) data[i] = -1f;
        data[17] = Float.NaN;
        Tensor a = new Tensor(data.clone(), w.shape()).requiresGrad(true);
        Tensor b = new Tensor(data.clone(), w.shape()).requiresGrad(true);
        Tensor expected = pool.forward(Ops.relu(Ops.mulScalar(a, 1f)));
        Tensor actual = pool.forwardRelu(Ops.mulScalar(b, 1f), inplace); // a non-leaf, as a layer's output
        assertArrayEquals(expected.toArray(), actual.toArray());
        assertEquals("MaxPool2DWithIndicesBackward0", actual.gradFn().op());
        assertEquals(List.of("self", "result1"), List.copyOf(actual.gradFn().saved().keySet()));
        assertArrayEquals(expected.gradFn().saved().get("result1").toArray(), actual.gradFn().saved().get("result1").toArray());
        Tensor relu = actual.gradFn().inputs().getFirst();
        assertEquals("ReluBackward0", relu.gradFn().op());
        assertSame(relu, actual.gradFn().saved().get("self"));
        assertArrayEquals(expected.gradFn().inputs().getFirst().toArray(), relu.toArray());
        assertEquals("MulBackward1", relu.gradFn().inputs().getFirst().gradFn().op());

        Tensor dy = Tensor.randn(new Rng(8), expected.shape());
        expected.backward(dy);
        actual.backward(dy);
        assertArrayEquals(a.grad().toArray(), b.grad().toArray());
    }

    @ParameterizedTest(name = "inplace={0}")
    @ValueSource(booleans = {false, true})
    void withoutAGraphItPoolsFirstWithTheSameValuesAndLeavesXAsItWas(boolean inplace) {
        MaxPool2d pool = new MaxPool2d(2, 2);
        int h = 9, w = 8, plane = h * w;
        float[] data = Tensor.randn(new Rng(12), 2, 3, h, w).toArray();
        for (int i = 0; i < 2 * w; i++) data[i] = i % 3 == 0 ? -0f : -Math.abs(data[i]); // windows of values ≤ 0 only
        for (int i = plane + 2 * w; i < plane + 4 * w; i++) data[i] = -0f;                 // windows of −0 only
        data[2 * plane + 5] = Float.NaN;
        data[3 * plane + 9] = Float.NEGATIVE_INFINITY;
        data[4 * plane + 17] = Float.POSITIVE_INFINITY;
        for (int i = 5 * plane; i < 5 * plane + w; i++) data[i] = 0f;                        // ties at +0 and −0 below
        for (int i = 5 * plane + w; i < 5 * plane + 2 * w; i++) data[i] = -0f;
        Tensor x = new Tensor(data.clone(), 2, 3, h, w);
        try (var ignored = Autograd.noGrad()) {
            Tensor expected = pool.forward(Ops.relu(new Tensor(data.clone(), 2, 3, h, w)));
            assertArrayEquals(expected.toArray(), pool.forwardRelu(x, inplace).toArray()); // −0 and +0 told apart
        }
        assertArrayEquals(data, x.toArray());
        Tensor constant = new Tensor(data.clone(), 2, 3, h, w); // grad on, but x does not require it: no graph either
        Tensor expected = pool.forward(Ops.relu(new Tensor(data.clone(), 2, 3, h, w)));
        assertArrayEquals(expected.toArray(), pool.forwardRelu(constant, inplace).toArray());
        assertArrayEquals(data, constant.toArray());
    }

    @ParameterizedTest(name = "inplace={0}")
    @ValueSource(booleans = {false, true})
    void gradientsThroughAConvolutionPassAFiniteDifferenceCheck(boolean inplace) {
        Rng rng = new Rng(3);
        Rng.manualSeed(11); // the convolution's initial weights
        Conv2d conv = new Conv2d(2, 3, 3, 1, 1);
        MaxPool2d pool = new MaxPool2d(2, 2);
        Tensor x = Tensor.randn(rng, 2, 2, 6, 5).requiresGrad(true);
        List<Tensor> leaves = List.of(x, conv.localParameters().get("weight"), conv.localParameters().get("bias"));
        GradCheck.Result r = GradCheck.check(() -> OpsGradTest.weighted(pool.forwardRelu(conv.forward(x), inplace)), leaves, 1e-2, 400);
        assertTrue(r.passes(5e-3, 1e-2), r.toString());
    }

    @org.junit.jupiter.api.Test
    void inPlaceGradientsThroughAConvolutionEqualTheCopyingOnes() {
        float[][] grads = new float[2][];
        for (int run = 0; run < 2; run++) {
            Rng.manualSeed(5);
            Conv2d conv = new Conv2d(3, 4, 3, 1, 1);
            Tensor x = Tensor.randn(new Rng(6), 2, 3, 8, 9).requiresGrad(true);
            Tensor y = new MaxPool2d(2).forwardRelu(conv.forward(x), run == 1);
            y.backward(Tensor.randn(new Rng(9), y.shape()));
            float[] dw = conv.localParameters().get("weight").grad().toArray(), dx = x.grad().toArray();
            grads[run] = new float[dw.length + dx.length];
            System.arraycopy(dw, 0, grads[run], 0, dw.length);
            System.arraycopy(dx, 0, grads[run], dw.length, dx.length);
        }
        assertArrayEquals(grads[0], grads[1]);
    }

    @org.junit.jupiter.api.Test
    void sequentialFusesReluThenPoolWithTheSameValuesGraphAndGradients() {
        float[][] results = new float[2][];
        String[] graphs = new String[2];
        for (int run = 0; run < 2; run++) {
            Rng.manualSeed(21);
            dev.deepshape.nn.Sequential seq = new dev.deepshape.nn.Sequential(new Conv2d(2, 3, 3, 1, 1), new dev.deepshape.nn.ReLU(),
                    new MaxPool2d(2), new dev.deepshape.nn.ReLU(), new MaxPool2d(2));
            Tensor x = Tensor.randn(new Rng(22), 2, 2, 8, 8).requiresGrad(true);
            Tensor y = run == 0 ? seq.forward(x) : unfused(seq, x); // run 0: Sequential.forward (fused); run 1: layer by layer
            y.backward(Tensor.randn(new Rng(23), y.shape()));
            float[] w = seq.namedParameters().get("0.weight").grad().toArray();
            results[run] = concat(y.toArray(), x.grad().toArray(), w);
            StringBuilder g = new StringBuilder();
            for (Tensor t = y; t.gradFn() != null; t = t.gradFn().inputs().getFirst()) g.append(t.gradFn().op()).append(' ');
            graphs[run] = g.toString();
        }
        assertArrayEquals(results[1], results[0]);
        assertEquals(graphs[1], graphs[0]);
        assertEquals("MaxPool2DWithIndicesBackward0 ReluBackward0 MaxPool2DWithIndicesBackward0 ReluBackward0 ConvolutionBackward0 ", graphs[0]);
        // without a graph, conv + ReLU + pool is one fused call: the same values
        Rng.manualSeed(21);
        dev.deepshape.nn.Sequential seq = new dev.deepshape.nn.Sequential(new Conv2d(2, 3, 3, 1, 1), new dev.deepshape.nn.ReLU(),
                new MaxPool2d(2), new dev.deepshape.nn.ReLU(), new MaxPool2d(2));
        Tensor x = Tensor.randn(new Rng(22), 2, 2, 8, 8);
        try (var ignored = Autograd.noGrad()) {
            assertArrayEquals(unfused(seq, x).toArray(), seq.forward(x).toArray());
        }
    }

    private static Tensor unfused(dev.deepshape.nn.Sequential seq, Tensor x) {
        for (dev.deepshape.nn.Module m : seq.layers()) x = m.forward(x);
        return x;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    @ParameterizedTest(name = "inplace={0}")
    @ValueSource(booleans = {true})
    void inPlaceOnALeafThatRequiresGradIsRefused(boolean inplace) {
        Tensor x = Tensor.randn(new Rng(1), 1, 1, 4, 4).requiresGrad(true);
        var e = assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(2).forwardRelu(x, inplace));
        assertTrue(e.getMessage().contains("in-place"), e.getMessage());
    }

    @org.junit.jupiter.api.Test
    void convThenReluPoolIsTheThreeOpsWithAndWithoutAGraph() {
        Rng.manualSeed(21);
        Conv2d conv = new Conv2d(3, 4, 3, 1, 1);
        MaxPool2d pool = new MaxPool2d(2, 2);
        float[] data = Tensor.randn(new Rng(22), 2, 3, 9, 8).toArray();
        data[40] = Float.NaN; // a NaN keeps its windows NaN, with or without the graph
        // with a graph: the same nodes and gradients as pool.forwardRelu(conv.forward(x), true)
        Tensor a = new Tensor(data.clone(), 2, 3, 9, 8).requiresGrad(true);
        Tensor b = new Tensor(data.clone(), 2, 3, 9, 8).requiresGrad(true);
        Tensor expected = pool.forwardRelu(conv.forward(a), true);
        Tensor actual = conv.forwardReluPool(b, pool);
        assertArrayEquals(expected.toArray(), actual.toArray());
        assertEquals("MaxPool2DWithIndicesBackward0", actual.gradFn().op());
        assertEquals("ReluBackward0", actual.gradFn().inputs().getFirst().gradFn().op());
        assertEquals("ConvolutionBackward0", actual.gradFn().inputs().getFirst().gradFn().inputs().getFirst().gradFn().op());
        Tensor dy = Tensor.randn(new Rng(23), expected.shape());
        expected.backward(dy);
        actual.backward(dy);
        assertArrayEquals(a.grad().toArray(), b.grad().toArray());
        // without one: the fused backend call, the same values, no graph
        try (var ignored = Autograd.noGrad()) {
            Tensor fused = conv.forwardReluPool(new Tensor(data.clone(), 2, 3, 9, 8), pool);
            assertArrayEquals(expected.toArray(), fused.toArray());
            assertEquals(null, fused.gradFn());
        }
        // and the layers' shape checks still speak first
        assertThrows(RuntimeException.class, () -> conv.forwardReluPool(Tensor.zeros(2, 5, 9, 8), pool));
        assertThrows(RuntimeException.class, () -> conv.forwardReluPool(Tensor.zeros(2, 3, 1, 1), new MaxPool2d(3, 3)));
    }
}
