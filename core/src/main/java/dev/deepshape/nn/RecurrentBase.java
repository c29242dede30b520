package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.shape.RecurrentRule;
import dev.deepshape.shape.ShapeException;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What RNN, GRU and LSTM share, as PyTorch's {@code RNNBase}: the hyper-parameters, the parameters
 * ({@code weight_ih_l{k}[_reverse]}, {@code weight_hh_l{k}[_reverse]}, {@code bias_ih_l{k}[_reverse]},
 * {@code bias_hh_l{k}[_reverse]}, registered layer by layer, forward direction first), the input checks and the
 * loop over layers, directions and time steps.
 *
 * <p>Shape (D = 2 if bidirectional else 1, G = gates per cell: RNN 1, GRU 3, LSTM 4):
 * <ul>
 *   <li>input (N, L, H_in) with batch_first, else (L, N, H_in); or (L, H_in) unbatched</li>
 *   <li>output (N, L, D·H_out) with batch_first, else (L, N, D·H_out); or (L, D·H_out) unbatched</li>
 *   <li>h_0, h_n (and LSTM's c_0, c_n): (D·num_layers, N, H_out), or (D·num_layers, H_out) unbatched</li>
 *   <li>weight_ih_l0 (G·H_out, H_in), weight_ih_l{k>0} (G·H_out, D·H_out), weight_hh_l{k} (G·H_out, H_out),
 *       bias_ih_l{k} and bias_hh_l{k} (G·H_out)</li>
 * </ul>
 * Initialisation as PyTorch: every parameter U(−1/√hidden_size, 1/√hidden_size), drawn from {@link Rng#global()} in
 * registration order.
 *
 * <p>How it runs: per layer and direction, the input projection of all time steps is one GEMM
 * ({@code Ops.linear} over (N·L, in)); each time step is then one fused autograd node
 * ({@link dev.deepshape.autograd.RecurrentOps}). Dropout (training only) is applied to the output of every layer
 * but the last, from {@link Rng#global()}.
 */
public abstract class RecurrentBase extends Module {
    public final int inputSize;
    public final int hiddenSize;
    public final int numLayers;
    public final boolean bias;
    public final boolean batchFirst;
    public final float dropout;
    public final boolean bidirectional;
    private final int gates;

    RecurrentBase(int gates, int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst,
                  float dropout, boolean bidirectional) {
        this.gates = gates;
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.numLayers = numLayers;
        this.bias = bias;
        this.batchFirst = batchFirst;
        this.dropout = dropout;
        this.bidirectional = bidirectional;
        if (inputSize <= 0) throw new IllegalArgumentException(this + ": input_size must be greater than zero, got " + inputSize);
        if (hiddenSize <= 0) throw new IllegalArgumentException(this + ": hidden_size must be greater than zero, got " + hiddenSize);
        if (numLayers <= 0) throw new IllegalArgumentException(this + ": num_layers must be greater than zero, got " + numLayers);
        if (!(dropout >= 0 && dropout <= 1)) {
            throw new IllegalArgumentException(this + ": dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got " + dropout);
        }
        // NOTE: PyTorch warns when dropout > 0 and num_layers == 1 (dropout only acts between layers); we accept it
        // silently: it simply has no effect.
        int g = gates * hiddenSize;
        for (int layer = 0; layer < numLayers; layer++) {
            for (int dir = 0; dir < directions(); dir++) {
                int layerIn = layer == 0 ? inputSize : hiddenSize * directions();
                String suffix = layer + (dir == 1 ? "_reverse" : "");
                registerParameter("weight_ih_l" + suffix, Init.uniformFan(Rng.global(), hiddenSize, g, layerIn));
                registerParameter("weight_hh_l" + suffix, Init.uniformFan(Rng.global(), hiddenSize, g, hiddenSize));
                if (bias) {
                    registerParameter("bias_ih_l" + suffix, Init.uniformFan(Rng.global(), hiddenSize, g));
                    registerParameter("bias_hh_l" + suffix, Init.uniformFan(Rng.global(), hiddenSize, g));
                }
            }
        }
    }

    /** D: 2 when bidirectional, else 1. */
    public int directions() { return bidirectional ? 2 : 1; }

    /** The output sequence only (the hidden state is dropped), which is how a {@link Sequential} uses the module. */
    @Override
    public Tensor forward(Tensor x) { return run(x, null, null).output(); }

    /** One time step of the cell: returns the new hidden state and, for LSTM, the new cell state ({@code {h, c}}). */
    abstract Tensor[] cell(Tensor gx, Tensor h, Tensor c, Tensor weightHh, Tensor biasHh);

    abstract boolean hasCellState();

    /** The loop over layers, directions and time steps; {@code h0} and {@code c0} may be null (zeros). */
    RecurrentOutput run(Tensor x, Tensor h0, Tensor c0) {
        boolean batched = checkInput(x.shapeRef());
        int batchDim = batchFirst ? 0 : 1;
        int timeDim = 1 - batchDim;
        if (!batched) x = Ops.unsqueeze(x, batchDim);
        int n = x.size(batchDim);
        int steps = x.size(timeDim);
        h0 = checkState("h0", h0, batched, n);
        c0 = checkState("c0", c0, batched, n);

        Tensor layerInput = x;
        List<Tensor> hN = new ArrayList<>();
        List<Tensor> cN = new ArrayList<>();
        for (int layer = 0; layer < numLayers; layer++) {
            if (layer > 0 && dropout > 0 && isTraining()) layerInput = Ops.dropout(layerInput, dropout, true, Rng.global());
            List<Tensor> outputs = new ArrayList<>();
            for (int dir = 0; dir < directions(); dir++) {
                String suffix = layer + (dir == 1 ? "_reverse" : "");
                Tensor biasIh = localParameters().get("bias_ih_l" + suffix);
                Tensor biasHh = localParameters().get("bias_hh_l" + suffix);
                Tensor weightHh = localParameters().get("weight_hh_l" + suffix);
                // The input projection of every time step at once: (N, L, G·H) or (L, N, G·H).
                Tensor gx = Ops.linear(layerInput, localParameters().get("weight_ih_l" + suffix), biasIh);
                int index = layer * directions() + dir;
                Tensor h = h0 != null ? Ops.select(h0, 0, index) : Tensor.zeros(n, hiddenSize);
                Tensor c = !hasCellState() ? null : c0 != null ? Ops.select(c0, 0, index) : Tensor.zeros(n, hiddenSize);
                Tensor[] hs = new Tensor[steps];
                for (int s = 0; s < steps; s++) {
                    int t = dir == 0 ? s : steps - 1 - s; // the reverse direction reads the sequence backwards
                    Tensor[] state = cell(Ops.select(gx, timeDim, t), h, c, weightHh, biasHh);
                    h = state[0];
                    c = state[1];
                    hs[t] = h;
                }
                outputs.add(stack(List.of(hs), timeDim));
                hN.add(h);
                if (c != null) cN.add(c);
            }
            layerInput = outputs.size() == 1 ? outputs.getFirst() : Ops.cat(outputs, 2);
        }
        Tensor output = layerInput;
        Tensor hOut = stack(hN, 0);
        Tensor cOut = cN.isEmpty() ? null : stack(cN, 0);
        if (!batched) {
            output = Ops.squeeze(output, batchDim);
            hOut = Ops.squeeze(hOut, 1);
            cOut = cOut == null ? null : Ops.squeeze(cOut, 1);
        }
        return new RecurrentOutput(output, hOut, cOut);
    }

    /** {@code stack}, but a single tensor becomes a view (the reference model's L = 1 copies nothing). */
    private static Tensor stack(List<Tensor> xs, int dim) {
        return xs.size() == 1 ? Ops.unsqueeze(xs.getFirst(), dim) : Ops.stack(xs, dim);
    }

    /** The shape of h_n (and c_n) for an input shape: (D·num_layers, N, hidden_size), or (D·num_layers, hidden_size) unbatched. */
    public int[] stateShape(int[] inputShape) {
        shapeRule().check(inputShape);
        return shapeRule().finalStateShape(inputShape);
    }

    /** This layer's shape rule: the output and state shapes, the formulas with numbers, the parameter shapes and the input checks. */
    @Override
    public RecurrentRule shapeRule() { return (RecurrentRule) super.shapeRule(); }

    /** Returns whether the input is batched (3-D) or one unbatched sequence (2-D); otherwise throws the rule's {@link ShapeException}. */
    private boolean checkInput(int[] s) {
        shapeRule().check(s);
        return s.length == 3;
    }

    /** Checks h0/c0 against the input and adds the batch dimension of an unbatched state. */
    private Tensor checkState(String name, Tensor state, boolean batched, int n) {
        if (state == null) return null;
        int wantRank = batched ? 3 : 2;
        if (state.dim() != wantRank) {
            throw new IllegalArgumentException(this + ": for " + (batched ? "batched 3-D" : "unbatched 2-D") + " input, " + name + " should also be "
                    + wantRank + "-D but got " + state.dim() + "-D tensor " + Shapes.str(state.shapeRef()));
        }
        Tensor s = batched ? state : Ops.unsqueeze(state, 1);
        int[] want = {numLayers * directions(), n, hiddenSize};
        if (!Arrays.equals(s.shapeRef(), want)) {
            String wantStr = batched ? Shapes.str(want) : Shapes.str(want[0], want[2]);
            throw new IllegalArgumentException(this + ": expected " + name + " of shape " + wantStr + " = (num_layers·num_directions, "
                    + (batched ? "N, " : "") + "hidden_size), got " + Shapes.str(state.shapeRef()));
        }
        return s;
    }

    @Override
    /** PyTorch's {@code RNNBase.extra_repr}, non-default arguments only. */
    public String extraRepr() {
        StringBuilder s = new StringBuilder().append(inputSize).append(", ").append(hiddenSize);
        if (numLayers != 1) s.append(", num_layers=").append(numLayers);
        if (!bias) s.append(", bias=False");
        if (batchFirst) s.append(", batch_first=True");
        if (dropout != 0) s.append(", dropout=").append(dropout);
        if (bidirectional) s.append(", bidirectional=True");
        return s.toString();
    }
}
