package dev.deepshape.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.autograd.GradCheck;
import dev.deepshape.autograd.Ops;
import dev.deepshape.autograd.RecurrentOps;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused recurrent cells alone: finite-difference gradient checks, and equality (values and gradients) with the
 * same step written as a plain composition of Ops, the readable reference.
 */
class RecurrentCellTest {
    static final int N = 3;
    static final int H = 4;

    /** A fixed, non-symmetric weighting so every output element matters differently. */
    static Tensor weighted(Tensor y) {
        float[] w = new float[y.numel()];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(0.7 * i + 0.3);
        return Ops.sum(Ops.mul(y, new Tensor(w, y.shape())));
    }

    // ---------------------------------------------------------------- the readable references

    /** h = act(gx + h·W_hhᵀ + b_hh). */
    static Tensor rnnReference(Tensor gx, Tensor h, Tensor whh, Tensor bhh, boolean relu) {
        Tensor pre = Ops.add(gx, Ops.linear(h, whh, bhh));
        return relu ? Ops.relu(pre) : Ops.tanh(pre);
    }

    /** PyTorch's GRU step, gate rows (r, z, n); b_hn inside the r product. */
    static Tensor gruReference(Tensor gx, Tensor h, Tensor whh, Tensor bhh) {
        int hidden = h.size(1);
        Tensor gh = Ops.linear(h, whh, bhh);
        Tensor r = Ops.sigmoid(Ops.add(Ops.narrow(gx, 1, 0, hidden), Ops.narrow(gh, 1, 0, hidden)));
        Tensor z = Ops.sigmoid(Ops.add(Ops.narrow(gx, 1, hidden, hidden), Ops.narrow(gh, 1, hidden, hidden)));
        Tensor n = Ops.tanh(Ops.add(Ops.narrow(gx, 1, 2 * hidden, hidden), Ops.mul(r, Ops.narrow(gh, 1, 2 * hidden, hidden))));
        Tensor oneMinusZ = Ops.addScalar(Ops.mulScalar(z, -1f), 1f);
        return Ops.add(Ops.mul(oneMinusZ, n), Ops.mul(z, h));
    }

    /** PyTorch's LSTM step, gate rows (i, f, g, o); returns [h | c] along dim 1 as the fused cell does. */
    static Tensor lstmReference(Tensor gx, Tensor h, Tensor c, Tensor whh, Tensor bhh) {
        int hidden = h.size(1);
        Tensor pre = Ops.add(gx, Ops.linear(h, whh, bhh));
        Tensor i = Ops.sigmoid(Ops.narrow(pre, 1, 0, hidden));
        Tensor f = Ops.sigmoid(Ops.narrow(pre, 1, hidden, hidden));
        Tensor g = Ops.tanh(Ops.narrow(pre, 1, 2 * hidden, hidden));
        Tensor o = Ops.sigmoid(Ops.narrow(pre, 1, 3 * hidden, hidden));
        Tensor cNext = Ops.add(Ops.mul(f, c), Ops.mul(i, g));
        Tensor hNext = Ops.mul(o, Ops.tanh(cNext));
        return Ops.cat(List.of(hNext, cNext), 1);
    }

    // ---------------------------------------------------------------- the table

    /** A cell under test: its fused form and its reference form over the same leaves (gx, h, [c], W_hh, [b_hh]). */
    record Cell(String name, int gates, boolean lstm, boolean bias, CellFn fused, CellFn reference) {
        @Override public String toString() { return name; }
    }

    interface CellFn { Tensor apply(Tensor gx, Tensor h, Tensor c, Tensor whh, Tensor bhh); }

    static Stream<Arguments> cells() {
        List<Cell> list = new ArrayList<>();
        for (boolean bias : new boolean[] {true, false}) {
            String b = bias ? "" : " bias=False";
            list.add(new Cell("rnn tanh" + b, 1, false, bias,
                    (gx, h, c, w, bb) -> RecurrentOps.rnnCell(gx, h, w, bb, false),
                    (gx, h, c, w, bb) -> rnnReference(gx, h, w, bb, false)));
            list.add(new Cell("rnn relu" + b, 1, false, bias,
                    (gx, h, c, w, bb) -> RecurrentOps.rnnCell(gx, h, w, bb, true),
                    (gx, h, c, w, bb) -> rnnReference(gx, h, w, bb, true)));
            list.add(new Cell("gru" + b, 3, false, bias,
                    (gx, h, c, w, bb) -> RecurrentOps.gruCell(gx, h, w, bb),
                    (gx, h, c, w, bb) -> gruReference(gx, h, w, bb)));
            list.add(new Cell("lstm" + b, 4, true, bias,
                    RecurrentOps::lstmCell,
                    RecurrentCellTest::lstmReference));
        }
        return list.stream().map(Arguments::of);
    }

    /** The leaves of one cell: gx, h, c (LSTM only), W_hh, b_hh (with bias only); absent ones are null. */
    static Tensor[] leaves(Cell cell, long seed) {
        Rng rng = new Rng(seed);
        int g = cell.gates * H;
        Tensor gx = Tensor.randn(rng, N, g).requiresGrad(true);
        Tensor h = Tensor.randn(rng, N, H).requiresGrad(true);
        Tensor c = cell.lstm ? Tensor.randn(rng, N, H).requiresGrad(true) : null;
        Tensor w = Tensor.uniform(rng, -0.5f, 0.5f, g, H).requiresGrad(true);
        Tensor b = cell.bias ? Tensor.uniform(rng, -0.5f, 0.5f, g).requiresGrad(true) : null;
        if (cell.name.startsWith("rnn relu")) awayFromKink(gx, h, w, b);
        return new Tensor[] {gx, h, c, w, b};
    }

    /**
     * Moves every pre-activation at least 0.05 away from relu's kink at 0: a central difference with eps = 1e-2 that
     * straddles the kink measures half a slope and would fail a correct gradient.
     */
    static void awayFromKink(Tensor gx, Tensor h, Tensor w, Tensor b) {
        try (var ignored = dev.deepshape.autograd.Autograd.noGrad()) {
            float[] pre = Ops.add(gx, Ops.linear(h, w, b)).toArray();
            float[] x = gx.data();
            for (int i = 0; i < pre.length; i++) if (Math.abs(pre[i]) < 0.05f) x[i] += pre[i] >= 0 ? 0.1f : -0.1f;
        }
    }

    static List<Tensor> present(Tensor[] t) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor x : t) if (x != null) out.add(x);
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void fusedCellPassesGradCheck(Cell cell) {
        Tensor[] l = leaves(cell, 11);
        GradCheck.Result r = GradCheck.check(() -> weighted(cell.fused.apply(l[0], l[1], l[2], l[3], l[4])), present(l), 1e-2, 200);
        assertTrue(r.passes(5e-3, 1e-2), cell + ": " + r);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cells")
    void fusedCellEqualsOpsComposition(Cell cell) {
        Tensor[] l = leaves(cell, 12);
        List<Tensor> leaves = present(l);
        Tensor fused = cell.fused.apply(l[0], l[1], l[2], l[3], l[4]);
        weighted(fused).backward();
        List<float[]> fusedGrads = leaves.stream().map(t -> t.grad().toArray()).toList();
        leaves.forEach(Tensor::zeroGrad);
        Tensor reference = cell.reference.apply(l[0], l[1], l[2], l[3], l[4]);
        weighted(reference).backward();
        assertClose(cell + " forward", reference.toArray(), fused.toArray(), 1e-6f);
        for (int k = 0; k < leaves.size(); k++) {
            assertClose(cell + " gradient of input " + k, leaves.get(k).grad().toArray(), fusedGrads.get(k), 1e-5f);
        }
    }

    @Test
    void nodesCarryPyTorchStyleLabels() {
        Rng rng = new Rng(3);
        Tensor w1 = Tensor.randn(rng, H, H).requiresGrad(true);
        Tensor w3 = Tensor.randn(rng, 3 * H, H).requiresGrad(true);
        Tensor w4 = Tensor.randn(rng, 4 * H, H).requiresGrad(true);
        Tensor h = Tensor.zeros(N, H);
        assertEquals("RnnTanhCellBackward", RecurrentOps.rnnCell(Tensor.zeros(N, H), h, w1, null, false).gradFn().op());
        assertEquals("RnnReluCellBackward", RecurrentOps.rnnCell(Tensor.zeros(N, H), h, w1, null, true).gradFn().op());
        assertEquals("GruCellBackward", RecurrentOps.gruCell(Tensor.zeros(N, 3 * H), h, w3, null).gradFn().op());
        Tensor hc = RecurrentOps.lstmCell(Tensor.zeros(N, 4 * H), h, h, w4, null);
        assertEquals("LstmCellBackward", hc.gradFn().op());
        assertEquals(List.of(N, 2 * H), List.of(hc.size(0), hc.size(1)));
        assertNotNull(hc.gradFn().saved().get("w_hh"));
    }

    @Test
    void wrongShapesAreNamed() {
        Tensor w = Tensor.zeros(3 * H, H);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RecurrentOps.gruCell(Tensor.zeros(N, 4 * H), Tensor.zeros(N, H), w, null));
        assertTrue(e.getMessage().contains("gruCell") && e.getMessage().contains("(N, 12)") && e.getMessage().contains("(3, 16)"), e.getMessage());
    }

    static void assertClose(String what, float[] expected, float[] actual, float tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        float max = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            float d = Math.abs(expected[i] - actual[i]);
            if (d > max) { max = d; at = i; }
        }
        assertTrue(max <= tol, what + ": max difference " + max + " at " + at + " (expected " + (at >= 0 ? expected[at] : 0)
                + ", got " + (at >= 0 ? actual[at] : 0) + ")");
    }
}
