package dev.deepshape.nn;

import dev.deepshape.autograd.RecurrentOps;
import dev.deepshape.tensor.Tensor;

/**
 * A multi-layer Elman RNN, as {@code torch.nn.RNN}: for each layer and time step
 * {@code h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)} with act = tanh or relu.
 *
 * <p>Shape: input (N, L, H_in) with batch_first, else (L, N, H_in), or (L, H_in) unbatched; output (N, L, D·H_out)
 * (D = 2 if bidirectional); h_0 and h_n (num_layers·D, N, H_out). Parameters per layer k (and {@code _reverse}):
 * {@code weight_ih_l{k}} (H_out, H_in for k = 0, else D·H_out), {@code weight_hh_l{k}} (H_out, H_out),
 * {@code bias_ih_l{k}}, {@code bias_hh_l{k}} (H_out). Initialisation: all U(−1/√hidden_size, 1/√hidden_size).
 * See {@link RecurrentBase} for the shared options.
 *
 * <pre>{@code
 * RNN rnn = new RNN(6272, 128, true);                    // RNN(6272, 128, batch_first=True)
 * Tensor out = rnn.forward(Tensor.zeros(64, 1, 6272));   // (64, 1, 128)
 * }</pre>
 */
public class RNN extends RecurrentBase {
    /** "tanh" or "relu". NOTE: PyTorch's repr does not show it, so neither does ours. */
    public final String nonlinearity;

    public RNN(int inputSize, int hiddenSize) { this(inputSize, hiddenSize, false); }

    public RNN(int inputSize, int hiddenSize, boolean batchFirst) {
        this(inputSize, hiddenSize, 1, "tanh", true, batchFirst, 0f, false);
    }

    public RNN(int inputSize, int hiddenSize, int numLayers, String nonlinearity, boolean bias, boolean batchFirst,
               float dropout, boolean bidirectional) {
        if (!"tanh".equals(nonlinearity) && !"relu".equals(nonlinearity)) {
            throw new IllegalArgumentException("RNN(" + inputSize + ", " + hiddenSize + "): Unknown nonlinearity '" + nonlinearity
                    + "'. Select from 'tanh' or 'relu'.");
        }
        this.nonlinearity = nonlinearity;
        super(1, inputSize, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional);
    }

    /** Output sequence and final hidden state; {@code h0} (num_layers·D, N, H_out) may be null (zeros). */
    public RecurrentOutput forward(Tensor x, Tensor h0) { return run(x, h0, null); }

    @Override
    Tensor[] cell(Tensor gx, Tensor h, Tensor c, Tensor weightHh, Tensor biasHh) {
        return new Tensor[] {RecurrentOps.rnnCell(gx, h, weightHh, biasHh, nonlinearity.equals("relu")), null};
    }

    @Override
    boolean hasCellState() { return false; }
}
