package dev.deepshape.nn;

import dev.deepshape.autograd.RecurrentOps;
import dev.deepshape.tensor.Tensor;

/**
 * A multi-layer gated recurrent unit, as {@code torch.nn.GRU}. Gate rows in PyTorch's order (r, z, n):
 * <pre>
 * r = σ(W_ir x + b_ir + W_hr h + b_hr)
 * z = σ(W_iz x + b_iz + W_hz h + b_hz)
 * n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
 * h' = (1 − z) ⊙ n + z ⊙ h
 * </pre>
 *
 * <p>Shape: input (N, L, H_in) with batch_first, else (L, N, H_in), or (L, H_in) unbatched; output (N, L, D·H_out);
 * h_0 and h_n (num_layers·D, N, H_out). Parameters per layer k (and {@code _reverse}): {@code weight_ih_l{k}}
 * (3·H_out, H_in for k = 0, else D·H_out), {@code weight_hh_l{k}} (3·H_out, H_out), {@code bias_ih_l{k}},
 * {@code bias_hh_l{k}} (3·H_out). Initialisation: all U(−1/√hidden_size, 1/√hidden_size).
 *
 * <pre>{@code
 * GRU gru = new GRU(128, 64, true);                      // GRU(128, 64, batch_first=True)
 * Tensor out = gru.forward(Tensor.zeros(64, 1, 128));    // (64, 1, 64)
 * }</pre>
 */
public class GRU extends RecurrentBase {
    public GRU(int inputSize, int hiddenSize) { this(inputSize, hiddenSize, false); }

    public GRU(int inputSize, int hiddenSize, boolean batchFirst) {
        this(inputSize, hiddenSize, 1, true, batchFirst, 0f, false);
    }

    public GRU(int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst, float dropout, boolean bidirectional) {
        super(3, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional);
    }

    /** Output sequence and final hidden state; {@code h0} (num_layers·D, N, H_out) may be null (zeros). */
    public RecurrentOutput forward(Tensor x, Tensor h0) { return run(x, h0, null); }

    @Override
    Tensor[] cell(Tensor gx, Tensor h, Tensor c, Tensor weightHh, Tensor biasHh) {
        return new Tensor[] {RecurrentOps.gruCell(gx, h, weightHh, biasHh), null};
    }

    @Override
    boolean hasCellState() { return false; }
}
