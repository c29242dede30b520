package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.autograd.RecurrentOps;
import dev.deepshape.tensor.Tensor;

/**
 * A multi-layer long short-term memory, as {@code torch.nn.LSTM} (without proj_size). Gate rows in PyTorch's order
 * (i, f, g, o):
 * <pre>
 * i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
 * g = tanh(W_ig x + b_ig + W_hg h + b_hg) o = σ(W_io x + b_io + W_ho h + b_ho)
 * c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')
 * </pre>
 *
 * <p>Shape: input (N, L, H_in) with batch_first, else (L, N, H_in), or (L, H_in) unbatched; output (N, L, D·H_out);
 * h_0, c_0, h_n, c_n (num_layers·D, N, H_out). Parameters per layer k (and {@code _reverse}): {@code weight_ih_l{k}}
 * (4·H_out, H_in for k = 0, else D·H_out), {@code weight_hh_l{k}} (4·H_out, H_out), {@code bias_ih_l{k}},
 * {@code bias_hh_l{k}} (4·H_out). Initialisation: all U(−1/√hidden_size, 1/√hidden_size).
 *
 * <pre>{@code
 * LSTM lstm = new LSTM(64, 32, true);                    // LSTM(64, 32, batch_first=True)
 * Tensor out = lstm.forward(Tensor.zeros(64, 1, 64));    // (64, 1, 32)
 * }</pre>
 */
public class LSTM extends RecurrentBase {
    public LSTM(int inputSize, int hiddenSize) { this(inputSize, hiddenSize, false); }

    public LSTM(int inputSize, int hiddenSize, boolean batchFirst) {
        this(inputSize, hiddenSize, 1, true, batchFirst, 0f, false);
    }

    public LSTM(int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst, float dropout, boolean bidirectional) {
        super(4, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional);
    }

    /**
     * Output sequence and final states (h_n, c_n). {@code h0} and {@code c0} (num_layers·D, N, H_out) are both given
     * or both null (zeros), as PyTorch's {@code (h_0, c_0)} tuple.
     */
    public RecurrentOutput forward(Tensor x, Tensor h0, Tensor c0) {
        if ((h0 == null) != (c0 == null)) {
            throw new IllegalArgumentException(this + ": pass both h0 and c0 (PyTorch's (h_0, c_0) tuple) or neither; got only "
                    + (h0 != null ? "h0" : "c0"));
        }
        return run(x, h0, c0);
    }

    @Override
    Tensor[] cell(Tensor gx, Tensor h, Tensor c, Tensor weightHh, Tensor biasHh) {
        // One node computes both states; each row of its output is [h | c] and narrow views split them.
        Tensor hc = RecurrentOps.lstmCell(gx, h, c, weightHh, biasHh);
        return new Tensor[] {Ops.narrow(hc, 1, 0, hiddenSize), Ops.narrow(hc, 1, hiddenSize, hiddenSize)};
    }

    @Override
    boolean hasCellState() { return true; }
}
