package dev.deepshape.shape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape rule of {@code RNN}, {@code GRU} and {@code LSTM}: input (L, N, H_in), or (N, L, H_in) with
 * {@code batch_first}, or unbatched (L, H_in); output sequence (L, N, D·H_out) laid out like the input, with D = 2 when
 * bidirectional; final states h_n (and c_n for LSTM) (D·num_layers, N, H_out). Parameters per layer k and direction:
 * {@code weight_ih_lk} (G·hidden_size, input_size for k = 0 else D·hidden_size), {@code weight_hh_lk}
 * (G·hidden_size, hidden_size), {@code bias_ih_lk}, {@code bias_hh_lk} (G·hidden_size), with G gates: 1 for RNN, 3 for
 * GRU (r, z, n), 4 for LSTM (i, f, g, o); the reverse direction's keys end in {@code _reverse}.
 */
public record RecurrentRule(Mode mode, int inputSize, int hiddenSize, int numLayers, boolean bias, boolean batchFirst, float dropout,
                            boolean bidirectional) implements ShapeRule {

    /** The cell: plain RNN with tanh or relu, GRU, LSTM. */
    public enum Mode {
        RNN_TANH("RNN", 1), RNN_RELU("RNN", 1), GRU("GRU", 3), LSTM("LSTM", 4);

        public final String type;
        public final int gates;

        Mode(String type, int gates) {
            this.type = type;
            this.gates = gates;
        }
    }

    public RecurrentRule {
        String t = mode.type;
        if (inputSize <= 0) throw new IllegalArgumentException(t + ": input_size must be positive, got " + inputSize);
        if (hiddenSize <= 0) throw new IllegalArgumentException(t + ": hidden_size must be greater than zero, got " + hiddenSize);
        if (numLayers <= 0) throw new IllegalArgumentException(t + ": num_layers must be greater than or equal to 1, got " + numLayers);
        if (!(dropout >= 0 && dropout <= 1)) {
            throw new IllegalArgumentException(t + ": dropout should be a number in range [0, 1] representing the probability of an element being zeroed, got " + dropout);
        }
    }

    /** The number of directions, D. */
    public int directions() { return bidirectional ? 2 : 1; }

    @Override public String type() { return mode.type; }

    @Override
    public String repr() {
        StringBuilder sb = new StringBuilder(mode.type).append('(').append(inputSize).append(", ").append(hiddenSize);
        if (numLayers != 1) sb.append(", num_layers=").append(numLayers);
        if (!bias) sb.append(", bias=False");
        if (batchFirst) sb.append(", batch_first=True");
        if (dropout != 0) sb.append(", dropout=").append(dropout);
        if (bidirectional) sb.append(", bidirectional=True");
        return sb.append(')').toString();
    }

    private String expected(int rank) {
        if (rank == 2) return "(L, " + inputSize + ")";
        return batchFirst ? "(N, L, " + inputSize + ")" : "(L, N, " + inputSize + ")";
    }

    @Override
    public int[] outputShape(int[] in) {
        if (in.length != 2 && in.length != 3) throw new ShapeException(repr(), expected(3) + " or " + expected(2), in, rankHint(in));
        String expected = expected(in.length);
        Rules.concrete(repr(), expected, in, in.length - 1);
        for (int i = 0; i < in.length; i++) {
            if (in[i] == 0) {
                throw new ShapeException(repr(), expected, in, "dimension " + i + " is 0; the sequence length, the batch and the features must be at least 1");
            }
        }
        int features = in[in.length - 1];
        if (features != inputSize) {
            StringBuilder hint = new StringBuilder("input.size(-1) must equal input_size; the input has " + features + " features"
                    + (inputSize % features == 0 ? " (" + inputSize / features + "× too few)" : "")
                    + (features % inputSize == 0 ? " (" + features / inputSize + "× too many)" : "")
                    + ", so " + withInputSize(features) + " would fit");
            if (in.length == 2) {
                hint.append("; a 2-D input is read as one unbatched sequence (L, H_in); if it is a batch of feature vectors (N, F), add a sequence dimension "
                        + "with unsqueeze(").append(batchFirst ? 1 : 0).append(')');
            } else {
                for (int d = 0; d < 2; d++) {
                    if (in[d] == inputSize) {
                        hint.append("; or else dimension ").append(d).append(" has the ").append(inputSize).append(" features: the dimensions are in the wrong order (")
                                .append(batchFirst ? "batch_first=True expects (N, L, H_in)" : "batch_first=False expects (L, N, H_in)").append(')');
                        break;
                    }
                }
            }
            throw new ShapeException(repr(), expected, in, hint.toString());
        }
        int[] out = in.clone();
        out[in.length - 1] = directions() * hiddenSize;
        return out;
    }

    /** The hint for an input that is neither a 3-D batch of sequences nor a 2-D sequence. */
    private String rankHint(int[] in) {
        if (in.length <= 1) {
            String f = in.length == 1 ? Dims.dim(in[0]) : "1";
            return "a recurrent layer needs a sequence dimension and a feature dimension: reshape it to (1, 1, " + f + ") for one step of one sample";
        }
        long features = Dims.numel(java.util.Arrays.copyOfRange(in, 1, in.length));
        String seq = "unsqueeze(" + (batchFirst ? 1 : 0) + ")";
        if (features == inputSize) {
            long[] fixed = batchFirst ? new long[] {in[0], 1, features} : new long[] {1, in[0], features};
            return "flatten(1) gives (" + Dims.dim(in[0]) + ", " + features + "), then " + seq + " adds the sequence dimension: "
                    + Dims.str(java.util.Arrays.stream(fixed).mapToInt(x -> (int) x).toArray()) + " (Flatten() then Unsqueeze(" + (batchFirst ? 1 : 0) + ") in a spec)";
        }
        return "a " + in.length + "-D input needs its feature dimensions flattened (flatten(1), then " + seq + ") so that the last one is input_size; here that gives "
                + Dims.product(in, 1, in.length) + " = " + (features < 0 ? "?" : String.valueOf(features)) + " features per sample, not " + inputSize
                + (features > 0 && features <= Integer.MAX_VALUE ? ", so " + withInputSize((int) features) + " would fit after them" : "");
    }

    private String withInputSize(int n) {
        return new RecurrentRule(mode, n, hiddenSize, numLayers, bias, batchFirst, dropout, bidirectional).repr();
    }

    @Override
    public void check(int[] in, int batchDim) {
        if (in.length == 2 && batchDim == 0) {
            throw new ShapeException(repr(), expected(3), in, "PyTorch reads a 2-D input as one unbatched sequence of " + Dims.dim(in[0])
                    + " steps, but dimension 0 is the batch; add Unsqueeze(1) before " + mode.type + " to make it a batch of length-1 sequences "
                    + Dims.str(in[0], 1, in[1]));
        }
        check(in);
    }

    /** The shape of the final hidden state h_n (and of c_n for LSTM). */
    public int[] finalStateShape(int[] in) {
        if (in.length == 2) return new int[] {directions() * numLayers, hiddenSize};
        int n = batchFirst ? in[0] : in[1];
        return new int[] {directions() * numLayers, n, hiddenSize};
    }

    @Override
    public List<String> explain(int[] in) {
        int[] out = outputShape(in);
        List<String> lines = new ArrayList<>();
        String layout = in.length == 2 ? "(L, H_in)" : batchFirst ? "(N, L, H_in)" : "(L, N, H_in)";
        lines.add("input " + layout + (in.length == 2 ? " (unbatched)" : batchFirst ? " (batch_first=True)" : " (batch_first=False)") + " = " + Dims.str(in)
                + ", H_in = input_size = " + inputSize);
        String outLayout = in.length == 2 ? "(L, D·H_out)" : batchFirst ? "(N, L, D·H_out)" : "(L, N, D·H_out)";
        lines.add("output " + outLayout + " = " + Dims.str(out) + " with D = " + directions() + ", H_out = hidden_size = " + hiddenSize
                + " (the output sequence; the next layer gets it)");
        lines.add("h_n (D·num_layers, N, H_out) = " + Dims.str(finalStateShape(in)) + (mode == Mode.LSTM ? ", c_n the same" : "") + " (discarded)");
        String gates = switch (mode) {
            case GRU -> "3 gates (r, z, n)";
            case LSTM -> "4 gates (i, f, g, o)";
            default -> "1 gate (" + (mode == Mode.RNN_RELU ? "relu" : "tanh") + ")";
        };
        lines.add(gates + ": weight_ih_l0 (G·hidden_size, input_size), weight_hh_lk (G·hidden_size, hidden_size), biases (G·hidden_size,)"
                + (numLayers > 1 ? ", weight_ih_lk for k > 0 is (G·hidden_size, D·hidden_size)" : ""));
        lines.add(ShapeRule.paramLine(parameterShapes(), Map.of()));
        lines.add(ShapeRule.paramSum(parameterShapes()));
        return lines;
    }

    @Override
    public Map<String, int[]> parameterShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        int g = mode.gates * hiddenSize;
        for (int k = 0; k < numLayers; k++) {
            for (int d = 0; d < directions(); d++) {
                String sfx = "_l" + k + (d == 1 ? "_reverse" : "");
                m.put("weight_ih" + sfx, new int[] {g, k == 0 ? inputSize : directions() * hiddenSize});
                m.put("weight_hh" + sfx, new int[] {g, hiddenSize});
                if (bias) {
                    m.put("bias_ih" + sfx, new int[] {g});
                    m.put("bias_hh" + sfx, new int[] {g});
                }
            }
        }
        return m;
    }

    /** Every time step of every sample multiplies each weight once and adds each bias once. Gate nonlinearities are not counted. */
    @Override
    public Cost cost(int[] in, int[] out) {
        long steps = Dims.numel(in) / inputSize; // N·L
        long w = 0, b = 0;
        for (var e : parameterShapes().entrySet()) {
            if (e.getKey().startsWith("weight")) w += Dims.numel(e.getValue()); else b += Dims.numel(e.getValue());
        }
        return new Cost(steps * w, steps * b);
    }
}
