package dev.deepshape.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Finite-difference checks of every composable op, and the autograd engine's bookkeeping. */
class OpsGradTest {
    private static Tensor leaf(Rng rng, int... shape) { return Tensor.randn(rng, shape).requiresGrad(true); }

    /** A fixed, non-symmetric weighting so every output element matters differently. */
    static Tensor weighted(Tensor y) {
        float[] w = new float[y.numel()];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(0.7 * i + 0.3);
        return Ops.sum(Ops.mul(y, new Tensor(w, y.shape())));
    }

    static Stream<Arguments> unaryOps() {
        return Stream.of(
                Arguments.of("tanh", (Function<Tensor, Tensor>) Ops::tanh),
                Arguments.of("sigmoid", (Function<Tensor, Tensor>) Ops::sigmoid),
                Arguments.of("relu", (Function<Tensor, Tensor>) Ops::relu),
                Arguments.of("exp", (Function<Tensor, Tensor>) Ops::exp),
                Arguments.of("logSoftmax(1)", (Function<Tensor, Tensor>) t -> Ops.logSoftmax(t, 1)),
                Arguments.of("logSoftmax(0)", (Function<Tensor, Tensor>) t -> Ops.logSoftmax(t, 0)),
                Arguments.of("sum(1)", (Function<Tensor, Tensor>) t -> Ops.sum(t, 1, false)),
                Arguments.of("sum(0, keep)", (Function<Tensor, Tensor>) t -> Ops.sum(t, 0, true)),
                Arguments.of("mean", (Function<Tensor, Tensor>) Ops::mean),
                Arguments.of("transpose+contiguous", (Function<Tensor, Tensor>) t -> Ops.contiguous(Ops.transpose(t, 0, 2))),
                Arguments.of("select", (Function<Tensor, Tensor>) t -> Ops.select(t, 1, -1)),
                Arguments.of("narrow", (Function<Tensor, Tensor>) t -> Ops.narrow(t, 2, 1, 2)),
                Arguments.of("flatten+unsqueeze", (Function<Tensor, Tensor>) t -> Ops.unsqueeze(Ops.flatten(t, 1, -1), 1)),
                Arguments.of("mulScalar+addScalar", (Function<Tensor, Tensor>) t -> Ops.addScalar(Ops.mulScalar(t, 3f), 1f)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("unaryOps")
    void unaryGradients(String name, Function<Tensor, Tensor> op) {
        Tensor x = leaf(new Rng(1), 2, 3, 4);
        GradCheck.Result r = GradCheck.check(() -> weighted(op.apply(x)), List.of(x), 1e-2, 1000);
        assertTrue(r.passes(2e-3, 1e-2), name + ": " + r);
    }

    @Test
    void broadcastBinaryGradients() {
        Rng rng = new Rng(2);
        Tensor a = leaf(rng, 2, 3, 4);
        Tensor b = leaf(rng, 3, 1);
        Tensor c = Tensor.uniform(rng, 0.5f, 2f, 4).requiresGrad(true);
        GradCheck.Result r = GradCheck.check(
                () -> weighted(Ops.div(Ops.sub(Ops.mul(Ops.add(a, b), a), b), c)), List.of(a, b, c), 1e-2, 1000);
        assertTrue(r.passes(5e-3, 1e-2), r.toString());
    }

    @Test
    void matmulAndLinearGradients() {
        Rng rng = new Rng(3);
        Tensor x = leaf(rng, 2, 5, 7);
        Tensor w = leaf(rng, 3, 7);
        Tensor bias = leaf(rng, 3);
        Tensor m = leaf(rng, 3, 4);
        GradCheck.Result r = GradCheck.check(
                () -> weighted(Ops.matmul(Ops.linear(x, w, bias), m)), List.of(x, w, bias, m), 1e-2, 1000);
        assertTrue(r.passes(5e-3, 1e-2), r.toString());
    }

    @Test
    void catAndStackGradients() {
        Rng rng = new Rng(4);
        Tensor a = leaf(rng, 2, 3);
        Tensor b = leaf(rng, 2, 3);
        GradCheck.Result r = GradCheck.check(
                () -> weighted(Ops.cat(List.of(Ops.stack(List.of(a, b), 1), Ops.stack(List.of(b, a), 1)), 2)), List.of(a, b), 1e-2, 100);
        assertTrue(r.passes(2e-3, 1e-2), r.toString());
    }

    @Test
    void manySlicesOfOneTensorMixedWithOtherUses() {
        // Slice gradients are added in place by the engine; mixing them with ordinary gradients must still sum right.
        Rng rng = new Rng(5);
        Tensor x = leaf(rng, 3, 4, 2);
        Tensor w = leaf(rng, 3, 4, 2);
        GradCheck.Result r = GradCheck.check(() -> {
            Tensor y = Ops.mul(x, w); // non-leaf: its gradient mixes slice and ordinary contributions
            Tensor acc = Ops.tanh(y);
            for (int t = 0; t < 4; t++) acc = Ops.add(acc, Ops.unsqueeze(Ops.mul(Ops.select(y, 1, t), Ops.select(x, 1, 3 - t)), 1));
            acc = Ops.add(acc, Ops.narrow(y, 1, 1, 1));
            return weighted(Ops.add(acc, Ops.narrow(x, 1, 0, 1)));
        }, List.of(x, w), 1e-2, 1000);
        assertTrue(r.passes(5e-3, 1e-2), r.toString());
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Ops.sum(Ops.mulScalar(x, 2f)).backward();
        Ops.sum(Ops.mulScalar(x, 2f)).backward();
        assertArrayEquals(new float[] {4, 4, 4}, x.grad().toArray());
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void sharedSubexpressionGetsBothContributions() {
        Tensor x = Tensor.of(new float[] {0.5f, -1f}, 2).requiresGrad(true);
        Tensor y = Ops.tanh(x);
        Ops.sum(Ops.mul(y, y)).backward(); // d/dx tanh² = 2·tanh·(1 − tanh²)
        for (int i = 0; i < 2; i++) {
            double t = Math.tanh(x.get(i));
            assertEquals(2 * t * (1 - t * t), x.grad().get(i), 1e-6);
        }
    }

    @Test
    void noGradRecordsNothing() {
        Tensor x = Tensor.ones(2).requiresGrad(true);
        try (Autograd.Scope s = Autograd.noGrad()) {
            Tensor y = Ops.mulScalar(x, 2f);
            assertNull(y.gradFn());
            assertTrue(!y.requiresGrad());
        }
        assertTrue(Ops.mulScalar(x, 2f).requiresGrad());
    }

    @Test
    void graphRecordsLabelsInputsAndSaved() {
        Tensor x = Tensor.ones(2, 3).requiresGrad(true);
        Tensor w = Tensor.ones(4, 3).requiresGrad(true);
        Tensor b = Tensor.ones(4).requiresGrad(true);
        Tensor y = Ops.relu(Ops.linear(x, w, b));
        assertEquals("ReluBackward0", y.gradFn().op());
        Tensor lin = y.gradFn().inputs().getFirst();
        assertEquals("AddmmBackward0", lin.gradFn().op());
        assertEquals(List.of(x, w, b), lin.gradFn().inputs());
        assertTrue(y.gradFn().saved().containsKey("result"));
    }

    @Test
    void viewsShareStorage() {
        Tensor x = Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 2, 3);
        Tensor t = x.transpose(0, 1);
        assertEquals(3f, t.get(0, 1));
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.contiguous().toArray());
        assertArrayEquals(new float[] {3, 4, 5}, x.select(0, -1).toArray());
        assertArrayEquals(new int[] {2, 1, 3}, x.unsqueeze(1).shape());
        assertArrayEquals(new int[] {3, 2}, x.reshape(-1, 2).shape());
        assertThrows(IllegalArgumentException.class, () -> x.reshape(4, -1));
    }
}
