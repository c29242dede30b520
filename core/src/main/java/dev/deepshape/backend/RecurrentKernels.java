package dev.deepshape.backend;

import dev.deepshape.tensor.Buffers;

/**
 * One time step of the recurrent cells (Elman RNN, GRU, LSTM), forward beside backward, with PyTorch's formulas and
 * gate order. The input projection {@code gx = x_t·W_ihᵀ + b_ih} is computed for all time steps at once outside
 * (one GEMM); a cell adds the hidden projection {@code h_prev·W_hhᵀ + b_hh} (through the backend's sgemm) and applies
 * the gate nonlinearities in one pass.
 *
 * <p>Conventions: arrays are dense row-major; outputs first; gradients {@code d…} are accumulated with {@code +=}
 * and may be {@code null} when not needed; {@code bhh} is {@code null} for {@code bias=False}. What backward needs
 * from forward is an explicit {@code Saved} record the caller allocates and forward fills.
 */
public final class RecurrentKernels {
    private RecurrentKernels() {}

    /**
     * Batch rows per chunk of the gate loops, which run over the thread pool: a row of GRU's gates is ~5 µs of
     * exp and tanh, and on one thread the cells' forward was ~10 % of an inference batch with the other core idle.
     */
    static final int ROW_GRAIN = 8;

    // ================================================================ Elman RNN
    // gx is (N, H), hPrev is (N, H), whh is (H, H), bhh is (H), hOut is (N, H)
    //   h = act(gx + hPrev·W_hhᵀ + b_hh), act = tanh or relu

    /** Computes {@code h}; the output itself is all backward needs (tanh' = 1 − h², relu' = [h > 0]). */
    public static void rnnCellForward(float[] hOut, float[] gx, float[] hPrev, float[] whh, float[] bhh,
                                      boolean relu, int n, int hidden) {
        System.arraycopy(gx, 0, hOut, 0, n * hidden);
        hiddenProjection(hOut, hPrev, whh, bhh, n, hidden, hidden);
        Backends.current().rnnCellGates(hOut, relu, n, hidden);
    }

    /** The Elman cell's nonlinearity in place: {@code h = act(h)} over (N, H), act = tanh or relu (a NaN stays NaN, as torch.relu). */
    public static void rnnGates(float[] h, boolean relu, int n, int hidden) {
        Parallel.forRange(n * hidden, ROW_GRAIN * hidden, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                float v = h[i];
                h[i] = relu ? (v <= 0 ? 0f : v) : (float) Math.tanh(v);
            }
        });
    }

    public static void rnnCellBackward(float[] dgx, float[] dhPrev, float[] dwhh, float[] dbhh,
                                       float[] dh, float[] h, float[] hPrev, float[] whh,
                                       boolean relu, int n, int hidden) {
        // step 1: through the nonlinearity, dPre = dh · act'(pre), written with the saved output
        float[] dpre = Buffers.zeros(n * hidden);
        for (int i = 0; i < n * hidden; i++) {
            dpre[i] = relu ? (h[i] > 0 ? dh[i] : 0f) : dh[i] * (1 - h[i] * h[i]);
        }
        // step 2: pre = gx + hPrev·W_hhᵀ + b_hh distributes dPre to all four inputs
        if (dgx != null) for (int i = 0; i < n * hidden; i++) dgx[i] += dpre[i];
        hiddenProjectionBackward(dhPrev, dwhh, dbhh, dpre, hPrev, whh, n, hidden, hidden);
    }

    // ================================================================ GRU
    // gx is (N, 3H) with rows (r, z, n) of x·W_ihᵀ + b_ih, hPrev is (N, H), whh is (3H, H), bhh is (3H), hOut is (N, H)
    //   gh = hPrev·W_hhᵀ + b_hh
    //   r = σ(gx_r + gh_r),  z = σ(gx_z + gh_z),  n = tanh(gx_n + r ⊙ gh_n)
    //   h = (1 − z) ⊙ n + z ⊙ hPrev
    // NOTE: b_hn sits inside the r ⊙ (...) product, as in PyTorch (and cuDNN); that is why GRU keeps two biases.

    /** What GRU backward needs: the gates r, z, n and the hidden projection of the candidate gh_n, each (N, H). */
    public record GruSaved(float[] r, float[] z, float[] n, float[] ghn) {
        public static GruSaved allocate(int n, int hidden) {
            int s = n * hidden;
            return new GruSaved(Buffers.zeros(s), Buffers.zeros(s), Buffers.zeros(s), Buffers.zeros(s));
        }
    }

    public static void gruCellForward(float[] hOut, GruSaved saved, float[] gx, float[] hPrev, float[] whh, float[] bhh,
                                      int n, int hidden) {
        int g3 = 3 * hidden;
        float[] gh = Buffers.zeros(n * g3);
        hiddenProjection(gh, hPrev, whh, bhh, n, hidden, g3);
        Backends.current().gruCellGates(hOut, saved, gx, gh, hPrev, n, hidden);
    }

    /**
     * The GRU cell's gates and output from both projections ({@code gx} and {@code gh = hPrev·W_hhᵀ + b_hh}, each
     * (N, 3H) in (r, z, n) order): {@code hOut} (N, H) and the saved r, z, n and gh_n.
     */
    public static void gruGates(float[] hOut, GruSaved saved, float[] gx, float[] gh, float[] hPrev, int n, int hidden) {
        Parallel.forRange(n, ROW_GRAIN, (b0, b1) -> { // rows apart: the same values on any thread count
            for (int b = b0; b < b1; b++) gruGatesRow(hOut, saved, gx, gh, hPrev, b, 0, hidden, hidden);
        });
    }

    /** {@link #gruGates} on elements [j0, j1) of batch row b (what simd's kernel leaves past its last whole vector). */
    public static void gruGatesRow(float[] hOut, GruSaved saved, float[] gx, float[] gh, float[] hPrev, int b, int j0, int j1, int hidden) {
        int row = b * 3 * hidden;
        for (int j = j0; j < j1; j++) {
            int o = b * hidden + j;
            float r = sigmoid(gx[row + j] + gh[row + j]);
            float z = sigmoid(gx[row + hidden + j] + gh[row + hidden + j]);
            float ghn = gh[row + 2 * hidden + j];
            float c = (float) Math.tanh(gx[row + 2 * hidden + j] + r * ghn);
            hOut[o] = (1 - z) * c + z * hPrev[o];
            saved.r[o] = r;
            saved.z[o] = z;
            saved.n[o] = c;
            saved.ghn[o] = ghn;
        }
    }

    public static void gruCellBackward(float[] dgx, float[] dhPrev, float[] dwhh, float[] dbhh,
                                       float[] dh, GruSaved saved, float[] hPrev, float[] whh, int n, int hidden) {
        int g3 = 3 * hidden;
        // dgh is the gradient of gh = hPrev·W_hhᵀ + b_hh; dgx differs from it only in the n block (no r there)
        float[] dgh = Buffers.zeros(n * g3);
        Backends.current().gruCellGatesBackward(dgh, dgx, dhPrev, dh, saved, hPrev, n, hidden);
        hiddenProjectionBackward(dhPrev, dwhh, dbhh, dgh, hPrev, whh, n, hidden, g3);
    }

    /**
     * The GRU gates' backward, elementwise: dgh (N, 3H) receives the gradient of gh = hPrev·W_hhᵀ + b_hh, dgx (or
     * null) gains that of gx, dhPrev (or null) the direct path's d·z; the hidden projection's part is the caller's.
     */
    public static void gruGatesBackward(float[] dgh, float[] dgx, float[] dhPrev, float[] dh, GruSaved saved, float[] hPrev, int n, int hidden) {
        Parallel.forRange(n, ROW_GRAIN, (b0, b1) -> { // rows apart: the same values on any thread count
            for (int b = b0; b < b1; b++) gruGatesBackwardRow(dgh, dgx, dhPrev, dh, saved, hPrev, b, 0, hidden, hidden);
        });
    }

    /** {@link #gruGatesBackward} on elements [j0, j1) of batch row b. */
    public static void gruGatesBackwardRow(float[] dgh, float[] dgx, float[] dhPrev, float[] dh, GruSaved saved, float[] hPrev, int b, int j0, int j1, int hidden) {
        int row = b * 3 * hidden;
        for (int j = j0; j < j1; j++) {
            int o = b * hidden + j;
            float r = saved.r[o], z = saved.z[o], c = saved.n[o];
            float d = dh[o];
            float dPreN = d * (1 - z) * (1 - c * c); // through h = (1−z)·n + z·hPrev, then tanh
            float dPreZ = d * (hPrev[o] - c) * z * (1 - z);
            float dPreR = dPreN * saved.ghn[o] * r * (1 - r);
            dgh[row + j] = dPreR;
            dgh[row + hidden + j] = dPreZ;
            dgh[row + 2 * hidden + j] = dPreN * r;
            if (dgx != null) {
                dgx[row + j] += dPreR;
                dgx[row + hidden + j] += dPreZ;
                dgx[row + 2 * hidden + j] += dPreN;
            }
            if (dhPrev != null) dhPrev[o] += d * z; // the direct path z ⊙ hPrev
        }
    }

    // ================================================================ LSTM
    // gx is (N, 4H) with rows (i, f, g, o) of x·W_ihᵀ + b_ih, hPrev and cPrev are (N, H), whh is (4H, H), bhh is (4H)
    // hcOut is (N, 2H): each row is [h | c]
    //   (i, f, g, o) = (σ, σ, tanh, σ)(gx + hPrev·W_hhᵀ + b_hh)
    //   c = f ⊙ cPrev + i ⊙ g,  h = o ⊙ tanh(c)

    /** What LSTM backward needs: the activated gates (N, 4H) in (i, f, g, o) order and tanh(c) (N, H). */
    public record LstmSaved(float[] gates, float[] tanhC) {
        public static LstmSaved allocate(int n, int hidden) {
            return new LstmSaved(Buffers.zeros(n * 4 * hidden), Buffers.zeros(n * hidden));
        }
    }

    public static void lstmCellForward(float[] hcOut, LstmSaved saved, float[] gx, float[] hPrev, float[] cPrev,
                                       float[] whh, float[] bhh, int n, int hidden) {
        int g4 = 4 * hidden;
        float[] a = saved.gates;
        System.arraycopy(gx, 0, a, 0, n * g4);
        hiddenProjection(a, hPrev, whh, bhh, n, hidden, g4);
        Backends.current().lstmCellGates(hcOut, saved, cPrev, n, hidden);
    }

    /**
     * The LSTM cell's gates and output from its pre-activations, which {@code saved.gates()} (N, 4H) holds in (i, f,
     * g, o) order and receives activated: {@code hcOut} (N, 2H) rows [h | c], and the saved tanh(c).
     */
    public static void lstmGates(float[] hcOut, LstmSaved saved, float[] cPrev, int n, int hidden) {
        Parallel.forRange(n, ROW_GRAIN, (b0, b1) -> { // rows apart: the same values on any thread count
            for (int b = b0; b < b1; b++) lstmGatesRow(hcOut, saved, cPrev, b, 0, hidden, hidden);
        });
    }

    /** {@link #lstmGates} on elements [j0, j1) of batch row b. */
    public static void lstmGatesRow(float[] hcOut, LstmSaved saved, float[] cPrev, int b, int j0, int j1, int hidden) {
        int row = b * 4 * hidden;
        float[] a = saved.gates;
        for (int j = j0; j < j1; j++) {
            int o = b * hidden + j;
            float ig = sigmoid(a[row + j]);
            float fg = sigmoid(a[row + hidden + j]);
            float gg = (float) Math.tanh(a[row + 2 * hidden + j]);
            float og = sigmoid(a[row + 3 * hidden + j]);
            a[row + j] = ig;
            a[row + hidden + j] = fg;
            a[row + 2 * hidden + j] = gg;
            a[row + 3 * hidden + j] = og;
            float c = fg * cPrev[o] + ig * gg;
            float tc = (float) Math.tanh(c);
            saved.tanhC[o] = tc;
            hcOut[b * 2 * hidden + j] = og * tc;
            hcOut[b * 2 * hidden + hidden + j] = c;
        }
    }

    /** {@code dhc} is the gradient of the (N, 2H) output: each row [dh | dc]. */
    public static void lstmCellBackward(float[] dgx, float[] dhPrev, float[] dcPrev, float[] dwhh, float[] dbhh,
                                        float[] dhc, LstmSaved saved, float[] hPrev, float[] cPrev, float[] whh,
                                        int n, int hidden) {
        int g4 = 4 * hidden;
        float[] dpre = Buffers.zeros(n * g4);
        Backends.current().lstmCellGatesBackward(dpre, dcPrev, dhc, saved, cPrev, n, hidden);
        if (dgx != null) for (int i = 0; i < n * g4; i++) dgx[i] += dpre[i];
        hiddenProjectionBackward(dhPrev, dwhh, dbhh, dpre, hPrev, whh, n, hidden, g4);
    }

    /**
     * The LSTM gates' backward, elementwise: dpre (N, 4H) receives the gradient of the (i, f, g, o) pre-activations
     * from dhc's rows [dh | dc], and dcPrev (or null) gains the path through f ⊙ cPrev.
     */
    public static void lstmGatesBackward(float[] dpre, float[] dcPrev, float[] dhc, LstmSaved saved, float[] cPrev, int n, int hidden) {
        Parallel.forRange(n, ROW_GRAIN, (b0, b1) -> { // rows apart: the same values on any thread count
            for (int b = b0; b < b1; b++) lstmGatesBackwardRow(dpre, dcPrev, dhc, saved, cPrev, b, 0, hidden, hidden);
        });
    }

    /** {@link #lstmGatesBackward} on elements [j0, j1) of batch row b. */
    public static void lstmGatesBackwardRow(float[] dpre, float[] dcPrev, float[] dhc, LstmSaved saved, float[] cPrev, int b, int j0, int j1, int hidden) {
        int row = b * 4 * hidden;
        float[] a = saved.gates;
        for (int j = j0; j < j1; j++) {
            int o = b * hidden + j;
            float ig = a[row + j], fg = a[row + hidden + j], gg = a[row + 2 * hidden + j], og = a[row + 3 * hidden + j];
            float tc = saved.tanhC[o];
            float dh = dhc[b * 2 * hidden + j];
            // c reaches the loss directly (c_n, the next step) and through h = o ⊙ tanh(c)
            float dc = dhc[b * 2 * hidden + hidden + j] + dh * og * (1 - tc * tc);
            dpre[row + j] = dc * gg * ig * (1 - ig);
            dpre[row + hidden + j] = dc * cPrev[o] * fg * (1 - fg);
            dpre[row + 2 * hidden + j] = dc * ig * (1 - gg * gg);
            dpre[row + 3 * hidden + j] = dh * tc * og * (1 - og);
            if (dcPrev != null) dcPrev[o] += dc * fg;
        }
    }

    // ================================================================ shared: the hidden projection
    // out is (N, G), hPrev is (N, H), whh is (G, H), bhh is (G) or null

    /** {@code out += hPrev·W_hhᵀ + b_hh}. */
    static void hiddenProjection(float[] out, float[] hPrev, float[] whh, float[] bhh, int n, int hidden, int g) {
        if (bhh != null) {
            for (int b = 0; b < n; b++) for (int j = 0; j < g; j++) out[b * g + j] += bhh[j];
        }
        Backends.current().sgemm(false, true, n, g, hidden, hPrev, 0, hidden, whh, 0, hidden, out, 0, g, true);
    }

    /** Given {@code dOut} of {@code out = hPrev·W_hhᵀ + b_hh}: dhPrev += dOut·W_hh, dW_hh += dOutᵀ·hPrev, db_hh += Σ_N dOut. */
    static void hiddenProjectionBackward(float[] dhPrev, float[] dwhh, float[] dbhh, float[] dout, float[] hPrev,
                                         float[] whh, int n, int hidden, int g) {
        Backend be = Backends.current();
        if (dhPrev != null) be.sgemm(false, false, n, hidden, g, dout, 0, g, whh, 0, hidden, dhPrev, 0, hidden, true);
        if (dwhh != null) be.sgemm(true, false, g, hidden, n, dout, 0, g, hPrev, 0, hidden, dwhh, 0, hidden, true);
        if (dbhh != null) {
            for (int b = 0; b < n; b++) for (int j = 0; j < g; j++) dbhh[j] += dout[b * g + j];
        }
    }

    /** The logistic function, without overflow for large |v| (same as {@code Ops.sigmoid}). */
    public static float sigmoid(float v) {
        if (v >= 0) return (float) (1.0 / (1.0 + Math.exp(-v)));
        double e = Math.exp(v);
        return (float) (e / (1.0 + e));
    }
}
