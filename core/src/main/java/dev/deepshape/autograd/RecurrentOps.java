package dev.deepshape.autograd;

import dev.deepshape.backend.RecurrentKernels;
import dev.deepshape.backend.RecurrentKernels.GruSaved;
import dev.deepshape.backend.RecurrentKernels.LstmSaved;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;

/**
 * One time step of RNN, GRU and LSTM as a single fused autograd node each, with the hand-written backward of
 * {@link RecurrentKernels}. The input projection {@code gx = x_t·W_ihᵀ + b_ih} comes in precomputed (the modules
 * compute it for every time step in one GEMM), so a node takes {@code (gx, h_prev, [c_prev], W_hh, b_hh)}.
 * {@code biasHh} may be {@code null} ({@code bias=False}).
 */
public final class RecurrentOps {
    private RecurrentOps() {}

    /**
     * {@code h = act(gx + h_prev·W_hhᵀ + b_hh)}: gx (N, H), hPrev (N, H), weightHh (H, H), biasHh (H) → h (N, H).
     * Label {@code RnnTanhCellBackward} or {@code RnnReluCellBackward}.
     */
    public static Tensor rnnCell(Tensor gx, Tensor hPrev, Tensor weightHh, Tensor biasHh, boolean relu) {
        int hidden = weightHh.size(1);
        int n = check("rnnCell", gx, hPrev, null, weightHh, biasHh, 1, hidden);
        float[] x = Ops.dense(gx), hp = Ops.dense(hPrev), w = Ops.dense(weightHh);
        float[] b = biasHh == null ? null : Ops.dense(biasHh);
        float[] h = Buffers.zeros(n * hidden);
        RecurrentKernels.rnnCellForward(h, x, hp, w, b, relu, n, hidden);
        Tensor out = new Tensor(h, n, hidden);
        return Ops.recordFresh(out, relu ? "RnnReluCellBackward" : "RnnTanhCellBackward",
                Ops.saved("hx", hPrev, "w_hh", weightHh, "result", out), d -> {
                    Grads g = Grads.of(gx, hPrev, null, weightHh, biasHh);
                    RecurrentKernels.rnnCellBackward(g.dgx, g.dhPrev, g.dwhh, g.dbhh, Ops.dense(d), h, hp, w, relu, n, hidden);
                    return g.tensors(gx, hPrev, null, weightHh, biasHh);
                }, gx, hPrev, weightHh, biasHh);
    }

    /**
     * GRU step (gate rows r, z, n): gx (N, 3H), hPrev (N, H), weightHh (3H, H), biasHh (3H) → h (N, H) with
     * {@code n = tanh(gx_n + r ⊙ (W_hn·h_prev + b_hn))}, {@code h = (1 − z) ⊙ n + z ⊙ h_prev}. Label {@code GruCellBackward}.
     */
    public static Tensor gruCell(Tensor gx, Tensor hPrev, Tensor weightHh, Tensor biasHh) {
        int hidden = weightHh.size(1);
        int n = check("gruCell", gx, hPrev, null, weightHh, biasHh, 3, hidden);
        float[] x = Ops.dense(gx), hp = Ops.dense(hPrev), w = Ops.dense(weightHh);
        float[] b = biasHh == null ? null : Ops.dense(biasHh);
        float[] h = Buffers.zeros(n * hidden);
        GruSaved saved = GruSaved.allocate(n, hidden);
        RecurrentKernels.gruCellForward(h, saved, x, hp, w, b, n, hidden);
        Tensor out = new Tensor(h, n, hidden);
        return Ops.recordFresh(out, "GruCellBackward", Ops.saved("hx", hPrev, "w_hh", weightHh, "result", out), d -> {
            Grads g = Grads.of(gx, hPrev, null, weightHh, biasHh);
            RecurrentKernels.gruCellBackward(g.dgx, g.dhPrev, g.dwhh, g.dbhh, Ops.dense(d), saved, hp, w, n, hidden);
            return g.tensors(gx, hPrev, null, weightHh, biasHh);
        }, gx, hPrev, weightHh, biasHh);
    }

    /**
     * LSTM step (gate rows i, f, g, o): gx (N, 4H), hPrev and cPrev (N, H), weightHh (4H, H), biasHh (4H) → one
     * (N, 2H) tensor whose rows are {@code [h | c]} (the graph has single-output nodes; narrow it for h and c).
     * Label {@code LstmCellBackward}.
     */
    public static Tensor lstmCell(Tensor gx, Tensor hPrev, Tensor cPrev, Tensor weightHh, Tensor biasHh) {
        int hidden = weightHh.size(1);
        int n = check("lstmCell", gx, hPrev, cPrev, weightHh, biasHh, 4, hidden);
        float[] x = Ops.dense(gx), hp = Ops.dense(hPrev), cp = Ops.dense(cPrev), w = Ops.dense(weightHh);
        float[] b = biasHh == null ? null : Ops.dense(biasHh);
        float[] hc = Buffers.zeros(n * 2 * hidden);
        LstmSaved saved = LstmSaved.allocate(n, hidden);
        RecurrentKernels.lstmCellForward(hc, saved, x, hp, cp, w, b, n, hidden);
        Tensor out = new Tensor(hc, n, 2 * hidden);
        return Ops.recordFresh(out, "LstmCellBackward", Ops.saved("hx", hPrev, "cx", cPrev, "w_hh", weightHh), d -> {
            Grads g = Grads.of(gx, hPrev, cPrev, weightHh, biasHh);
            RecurrentKernels.lstmCellBackward(g.dgx, g.dhPrev, g.dcPrev, g.dwhh, g.dbhh, Ops.dense(d), saved, hp, cp, w, n, hidden);
            return g.tensors(gx, hPrev, cPrev, weightHh, biasHh);
        }, gx, hPrev, cPrev, weightHh, biasHh);
    }

    /** Gradient buffers, allocated only for the inputs that require a gradient. */
    private record Grads(float[] dgx, float[] dhPrev, float[] dcPrev, float[] dwhh, float[] dbhh) {
        static Grads of(Tensor gx, Tensor hPrev, Tensor cPrev, Tensor whh, Tensor bhh) {
            // NOTE: plain arrays for the parameters' gradients: the engine adopts them as .grad, which outlives the step.
            return new Grads(buffer(gx), buffer(hPrev), buffer(cPrev), parameterBuffer(whh), parameterBuffer(bhh));
        }

        private static float[] buffer(Tensor t) {
            return t != null && t.requiresGrad() ? Buffers.zeros(t.numel()) : null;
        }

        private static float[] parameterBuffer(Tensor t) {
            return t != null && t.requiresGrad() ? new float[t.numel()] : null;
        }

        Tensor[] tensors(Tensor gx, Tensor hPrev, Tensor cPrev, Tensor whh, Tensor bhh) {
            Tensor dw = wrap(dwhh, whh), db = wrap(dbhh, bhh);
            return cPrev == null
                    ? new Tensor[] {wrap(dgx, gx), wrap(dhPrev, hPrev), dw, db}
                    : new Tensor[] {wrap(dgx, gx), wrap(dhPrev, hPrev), wrap(dcPrev, cPrev), dw, db};
        }

        private static Tensor wrap(float[] d, Tensor like) { return d == null ? null : new Tensor(d, like.shapeRef()); }
    }

    /** Checks the shapes of one cell's inputs (the modules guarantee them; direct callers get a clear message). */
    private static int check(String op, Tensor gx, Tensor hPrev, Tensor cPrev, Tensor whh, Tensor bhh, int gates, int hidden) {
        int g = gates * hidden;
        if (whh.dim() != 2 || whh.size(0) != g) {
            throw new IllegalArgumentException(op + ": expected weight_hh of shape (" + g + ", " + hidden + "), got " + Shapes.str(whh.shapeRef()));
        }
        if (gx.dim() != 2 || gx.size(1) != g) {
            throw new IllegalArgumentException(op + ": expected the input projection of shape (N, " + g + "), got " + Shapes.str(gx.shapeRef()));
        }
        int n = gx.size(0);
        if (hPrev.dim() != 2 || hPrev.size(0) != n || hPrev.size(1) != hidden) {
            throw new IllegalArgumentException(op + ": expected hx of shape (" + n + ", " + hidden + "), got " + Shapes.str(hPrev.shapeRef()));
        }
        if (cPrev != null && (cPrev.dim() != 2 || cPrev.size(0) != n || cPrev.size(1) != hidden)) {
            throw new IllegalArgumentException(op + ": expected cx of shape (" + n + ", " + hidden + "), got " + Shapes.str(cPrev.shapeRef()));
        }
        if (bhh != null && (bhh.dim() != 1 || bhh.size(0) != g)) {
            throw new IllegalArgumentException(op + ": expected bias_hh of shape (" + g + "), got " + Shapes.str(bhh.shapeRef()));
        }
        return n;
    }
}
