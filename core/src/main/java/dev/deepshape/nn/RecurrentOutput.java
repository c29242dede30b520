package dev.deepshape.nn;

import dev.deepshape.tensor.Tensor;

/**
 * What a recurrent module returns, as PyTorch's {@code output, h_n} (RNN, GRU) or {@code output, (h_n, c_n)} (LSTM).
 *
 * @param output the top layer's hidden state at every time step: (N, L, D·H) with batch_first, else (L, N, D·H);
 *               (L, D·H) for an unbatched input
 * @param hN     the final hidden state of every layer and direction: (num_layers·D, N, H), layer-major and
 *               direction-minor ({@code [l0, l0_reverse, l1, ...]}); (num_layers·D, H) unbatched
 * @param cN     the LSTM's final cell state, shaped as {@code hN}; {@code null} for RNN and GRU
 */
public record RecurrentOutput(Tensor output, Tensor hN, Tensor cN) {}
