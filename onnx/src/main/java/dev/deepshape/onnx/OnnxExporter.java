package dev.deepshape.onnx;

import static dev.deepshape.onnx.OnnxGraph.attr;
import static dev.deepshape.onnx.OnnxGraph.ints;
import static dev.deepshape.onnx.OnnxGraph.strings;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.io.AtomicFiles;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Conv2d;
import dev.deepshape.nn.ConvTranspose2d;
import dev.deepshape.nn.Flatten;
import dev.deepshape.nn.GRU;
import dev.deepshape.nn.LSTM;
import dev.deepshape.nn.Linear;
import dev.deepshape.nn.MaxPool2d;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.RNN;
import dev.deepshape.nn.ReLU;
import dev.deepshape.nn.RecurrentBase;
import dev.deepshape.nn.Select;
import dev.deepshape.nn.Sequential;
import dev.deepshape.nn.Unsqueeze;
import dev.deepshape.onnx.proto.OnnxProto.AttributeProto;
import dev.deepshape.onnx.proto.OnnxProto.ModelProto;
import dev.deepshape.onnx.proto.OnnxProto.OperatorSetIdProto;
import dev.deepshape.onnx.proto.OnnxProto.StringStringEntryProto;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Writes a deepshape model as an ONNX model (opset 17, IR version 8) that ONNX Runtime and other ONNX tools run with
 * the same results as deepshape's forward pass in eval mode (dropout off).
 *
 * <p>What each unit becomes: Conv2d → {@code Conv}; MaxPool2d → {@code MaxPool} (ceil_mode as floor mode with the
 * end padding that gives PyTorch's output size); ConvTranspose2d →
 * {@code ConvTranspose} (output_padding, groups, dilation, pads kept); ReLU → {@code Relu}; Linear → {@code Gemm}
 * (2-D input) or {@code MatMul} + {@code Add}; Flatten → {@code Reshape}; Unsqueeze → {@code Unsqueeze}; Select →
 * {@code Gather} with a scalar index; RNN/GRU/LSTM → one ONNX {@code RNN}/{@code GRU}/{@code LSTM} node per layer
 * (both directions in one node), with {@code Transpose} nodes around them for batch_first. Sequential runs its steps in
 * order; {@link CombinedModel} exports exactly its forward: relu(conv1), pool, relu(conv2), pool, deconv, flatten,
 * unsqueeze(1), rnn, gru, lstm, last time step, fc.
 *
 * <p>Weights: every parameter is an initializer named with its state-dict key ({@code conv1.weight},
 * {@code rnn.weight_ih_l0}, ...) holding PyTorch's layout unchanged. ONNX's recurrent nodes want other layouts —
 * gates in ONNX's order (GRU z, r, h where PyTorch has r, z, n; LSTM i, o, f, c where PyTorch has i, f, g, o), a
 * leading direction axis, and {@code B = concat(b_ih, b_hh)} — so the graph rebuilds them from the state-dict
 * initializers with {@code Split}/{@code Concat}/{@code Unsqueeze} nodes (constant-folded by the runtime). GRU uses
 * {@code linear_before_reset=1}, which is PyTorch's formula {@code n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))}.
 *
 * <p>Shapes: the graph input is named {@code input}, the output {@code output}. The batch axis is dynamic (named
 * {@code N}): the axis given as {@code -1} (the spec's {@code N}) in {@code inputShape}, else axis 0, or axis 1 when
 * the model starts with a recurrent unit without batch_first. Every other size is fixed to {@code inputShape}'s.
 *
 * <pre>{@code
 * Rng.manualSeed(0);
 * OnnxExporter.export(new CombinedModel(), new int[] {-1, 1, 28, 28}, Path.of("combined.onnx"));
 * // onnxruntime: session.run({"input": (64, 1, 28, 28) float32}) → "output" (64, 10)
 * }</pre>
 */
public final class OnnxExporter {
    /** The ONNX operator set the graph uses. */
    public static final int OPSET = 17;
    /** The IR version matching opset 17 (ONNX 1.12). */
    public static final int IR_VERSION = 8;

    private final OnnxGraph g;
    private String axis0; // the shared int64 constant [0] for Unsqueeze

    private OnnxExporter(String name) { this.g = new OnnxGraph(name); }

    /** A value in the graph: its name, its shape in the probe run, where the batch axis went, and whether that axis is still exactly N. */
    private record Value(String name, Tensor probe, int batchAxis, boolean pureBatch) {
        int[] shape() { return probe.shapeRef(); }
    }

    /** One step of the forward pass: a leaf unit, the state-dict prefix of its parameters, and a name for its nodes. */
    private record Step(String prefix, String hint, Module module) {}

    /**
     * Writes {@code model} to {@code out} as ONNX, for inputs of {@code inputShape} (the batch axis may be -1, i.e. N);
     * the file is written atomically. Throws IllegalArgumentException for a unit or input that cannot be exported,
     * naming the unit.
     */
    public static void export(Module model, int[] inputShape, Path out) throws IOException {
        byte[] bytes = toProto(model, inputShape).toByteArray();
        AtomicFiles.write(out, o -> o.write(bytes));
    }

    /** The ONNX model as a protobuf message (what {@link #export} writes). */
    @SuppressWarnings("try") // the no-grad scope is only opened and closed
    public static ModelProto toProto(Module model, int[] inputShape) {
        List<Step> steps = new ArrayList<>();
        flatten(model, "", steps);
        int batchAxis = batchAxis(inputShape, steps);
        int probeBatch = inputShape[batchAxis] > 0 ? inputShape[batchAxis] : 1;
        int[] probeShape = inputShape.clone();
        probeShape[batchAxis] = probeBatch;
        for (int d : probeShape) {
            if (d <= 0) throw new IllegalArgumentException("ONNX export: input shape " + Arrays.toString(inputShape) + " has a non-positive size other than the one batch axis N");
        }

        OnnxExporter ex = new OnnxExporter(model.getClass().getSimpleName());
        ex.g.input("input", probeShape, batchAxis, "N");
        Value v = new Value("input", Tensor.zeros(probeShape), batchAxis, true);
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            boolean wasTraining = model.isTraining();
            model.eval(); // dropout off, as the exported graph
            try {
                for (Step s : steps) v = ex.emit(s, v);
            } finally {
                model.train(wasTraining);
            }
        }
        ex.g.output(ex.g.identity(v.name, "output"), v.shape(), v.batchAxis, v.pureBatch ? "N" : null);
        ModelProto.Builder m = ModelProto.newBuilder().setIrVersion(IR_VERSION).setProducerName("deepshape").setProducerVersion("0.1.0")
                .setDocString(model.toString())
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .addMetadataProps(StringStringEntryProto.newBuilder().setKey("input_shape").setValue(shapeText(probeShape, batchAxis)));
        return m.setGraph(ex.g.build()).build();
    }

    /** {@code (N, 1, 28, 28)}: the shape with the dynamic axis named. */
    private static String shapeText(int[] shape, int batchAxis) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) sb.append(i == 0 ? "" : ", ").append(i == batchAxis ? "N" : String.valueOf(shape[i]));
        return sb.append(shape.length == 1 ? ",)" : ")").toString();
    }

    // ---------------------------------------------------------------- the steps of a model

    /** Lists the leaf units in forward order with their state-dict prefixes. */
    private static void flatten(Module m, String prefix, List<Step> steps) {
        if (m instanceof CombinedModel c) {
            // CombinedModel.forwardTrace, step by step; the functional calls become parameterless units.
            steps.add(new Step(prefix + "conv1.", prefix + "conv1", c.conv1));
            steps.add(new Step(prefix, prefix + "relu1", new ReLU()));
            steps.add(new Step(prefix + "pool.", prefix + "pool1", c.pool));
            steps.add(new Step(prefix + "conv2.", prefix + "conv2", c.conv2));
            steps.add(new Step(prefix, prefix + "relu2", new ReLU()));
            steps.add(new Step(prefix + "pool.", prefix + "pool2", c.pool));
            steps.add(new Step(prefix + "deconv.", prefix + "deconv", c.deconv));
            steps.add(new Step(prefix, prefix + "flatten", new Flatten(1, -1)));
            steps.add(new Step(prefix, prefix + "unsqueeze", new Unsqueeze(1)));
            steps.add(new Step(prefix + "rnn.", prefix + "rnn", c.rnn));
            steps.add(new Step(prefix + "gru.", prefix + "gru", c.gru));
            steps.add(new Step(prefix + "lstm.", prefix + "lstm", c.lstm));
            steps.add(new Step(prefix, prefix + "last_step", new Select(1, -1)));
            steps.add(new Step(prefix + "fc.", prefix + "fc", c.fc));
        } else if (m instanceof Sequential seq) {
            List<Module> layers = seq.layers();
            List<String> names = seq.layerNames();
            for (int i = 0; i < layers.size(); i++) flatten(layers.get(i), prefix + names.get(i) + ".", steps);
        } else if (m instanceof Conv2d || m instanceof MaxPool2d || m instanceof ConvTranspose2d || m instanceof RecurrentBase
                || m instanceof Linear || m instanceof ReLU || m instanceof Flatten || m instanceof Unsqueeze || m instanceof Select) {
            String hint = prefix.isEmpty() ? m.getClass().getSimpleName() : prefix.substring(0, prefix.length() - 1);
            steps.add(new Step(prefix, hint, m));
        } else {
            throw new IllegalArgumentException("ONNX export: " + (prefix.isEmpty() ? "" : "layer '" + prefix.substring(0, prefix.length() - 1) + "' ")
                    + m.getClass().getSimpleName() + " is not supported; the exporter knows Conv2d, MaxPool2d, ConvTranspose2d, RNN, GRU, LSTM, "
                    + "Linear, ReLU, Flatten, Unsqueeze, Select, Sequential and CombinedModel");
        }
    }

    /**
     * Which axis of {@code inputShape} the export makes dynamic: the one given as -1 (N), else 0, or 1 when the model
     * starts with a recurrent unit without batch_first.
     */
    public static int batchAxis(Module model, int[] inputShape) {
        List<Step> steps = new ArrayList<>();
        flatten(model, "", steps);
        return batchAxis(inputShape, steps);
    }

    /** The dynamic axis: the one given as -1, else 0, or 1 for a model that starts with a sequence-first recurrent unit. */
    private static int batchAxis(int[] inputShape, List<Step> steps) {
        int found = -1;
        for (int i = 0; i < inputShape.length; i++) {
            if (inputShape[i] == -1) {
                if (found >= 0) throw new IllegalArgumentException("ONNX export: input shape " + Arrays.toString(inputShape) + " has more than one symbolic size; only the batch axis may be N");
                found = i;
            }
        }
        if (inputShape.length < 2) throw new IllegalArgumentException("ONNX export: the input needs a batch axis and at least one more, got shape " + Arrays.toString(inputShape));
        if (found >= 0) return found;
        return !steps.isEmpty() && steps.getFirst().module instanceof RecurrentBase r && !r.batchFirst ? 1 : 0;
    }

    /** Emits the nodes of one step and returns its output value. */
    private Value emit(Step s, Value in) {
        Tensor probe = s.module.forward(in.probe); // the shape check deepshape does anyway, with its error messages
        return switch (s.module) {
            case Conv2d c -> same(in, probe, conv(s, c, in));
            case MaxPool2d p -> same(in, probe, maxPool(s, p, in, probe));
            case ConvTranspose2d c -> same(in, probe, convTranspose(s, c, in));
            case ReLU r -> same(in, probe, g.op("Relu", s.hint, new String[] {in.name}));
            case Linear l -> same(in, probe, linear(s, l, in));
            case RecurrentBase r -> same(in, probe, recurrent(s, r, in));
            case Flatten f -> flattenStep(s, f, in, probe);
            case Unsqueeze u -> {
                int d = Shapes.dim(u.dim, in.shape().length + 1);
                String out = g.op("Unsqueeze", s.hint, new String[] {in.name, g.int64s(s.hint + "/axes", false, d)});
                yield new Value(out, probe, in.batchAxis >= d ? in.batchAxis + 1 : in.batchAxis, in.pureBatch);
            }
            case Select sel -> {
                int d = Shapes.dim(sel.dim, in.shape().length);
                // NOTE: Gather with a scalar index drops the axis, as select does; a negative index counts from the end in both.
                long index = d == in.batchAxis || sel.index >= 0 ? sel.index : sel.index + in.shape()[d];
                String out = g.op("Gather", s.hint, new String[] {in.name, g.int64s(s.hint + "/index", true, index)}, attr("axis", d));
                int b = in.batchAxis < d ? in.batchAxis : in.batchAxis == d ? -1 : in.batchAxis - 1;
                yield new Value(out, probe, b, b >= 0 && in.pureBatch);
            }
            default -> throw new IllegalStateException("unreachable: " + s.module);
        };
    }

    /** A step that keeps the batch axis where it is (convolutions, pooling, Linear, recurrent units). */
    private static Value same(Value in, Tensor probe, String name) { return new Value(name, probe, in.batchAxis, in.pureBatch); }

    private String param(Step s, String local) {
        Tensor t = s.module.localParameters().get(local);
        return t == null ? null : g.initializer(s.prefix + local, t);
    }

    /** Inputs, leaving out a trailing absent (null) bias. */
    private static String[] inputs(String... names) {
        int n = names.length;
        while (n > 0 && names[n - 1] == null) n--;
        return Arrays.copyOf(names, n);
    }

    private static void require4d(Step s, Value in) {
        if (in.shape().length != 4) {
            throw new IllegalArgumentException("ONNX export: " + s.module + " gets an input of shape " + Shapes.str(in.shape())
                    + "; only batched (N, C, H, W) input is exported (add the batch axis to --input)");
        }
    }

    // ---------------------------------------------------------------- convolutions and pooling

    // x is (N, C, H, W), weight is (OC, C/groups, KH, KW), out is (N, OC, OH, OW)
    private String conv(Step s, Conv2d c, Value in) {
        require4d(s, in);
        int[] end = c.padding;
        if ("same".equals(c.paddingMode)) {
            // PyTorch puts the odd one out of dilation·(k − 1) at the bottom/right; ONNX pads are (top, left, bottom, right).
            int th = c.dilation[0] * (c.kernelSize[0] - 1), tw = c.dilation[1] * (c.kernelSize[1] - 1);
            end = new int[] {th - th / 2, tw - tw / 2};
        }
        return g.op("Conv", s.hint, inputs(in.name, param(s, "weight"), param(s, "bias")),
                ints("kernel_shape", c.kernelSize), ints("strides", c.stride), ints("pads", c.padding[0], c.padding[1], end[0], end[1]),
                ints("dilations", c.dilation), attr("group", c.groups));
    }

    // x is (N, C, H, W), out is (N, C, OH, OW); padding counts as −∞ in both PyTorch and ONNX
    private String maxPool(Step s, MaxPool2d p, Value in, Tensor probe) {
        require4d(s, in);
        int[] end = p.padding.clone();
        boolean ceil = p.ceilMode;
        if (ceil) {
            // NOTE: PyTorch's ceil_mode drops a last window that would start in the right padding; ONNX's shape
            // inference at opset 17 does not (ORT's kernel does), so the graph's declared and actual shapes would
            // disagree. Instead: floor mode with just enough extra −∞ padding at the end to give PyTorch's size.
            // ORT wants each pad smaller than the kernel; where that would break, ceil_mode=1 stays.
            int[] endNeeded = new int[2];
            for (int i = 0; i < 2; i++) {
                int inSize = in.shape()[2 + i], outSize = probe.size(2 + i);
                endNeeded[i] = Math.max(0, (outSize - 1) * p.stride[i] + p.dilation[i] * (p.kernelSize[i] - 1) + 1 - inSize - p.padding[i]);
            }
            if (endNeeded[0] < p.kernelSize[0] && endNeeded[1] < p.kernelSize[1]) {
                end = endNeeded;
                ceil = false;
            }
        }
        return g.op("MaxPool", s.hint, new String[] {in.name},
                ints("kernel_shape", p.kernelSize), ints("strides", p.stride), ints("pads", p.padding[0], p.padding[1], end[0], end[1]),
                ints("dilations", p.dilation), attr("ceil_mode", ceil ? 1 : 0));
    }

    // x is (N, C_in, H, W), weight is (C_in, C_out/groups, KH, KW) in both PyTorch and ONNX, out is (N, C_out, OH, OW)
    private String convTranspose(Step s, ConvTranspose2d c, Value in) {
        require4d(s, in);
        return g.op("ConvTranspose", s.hint, inputs(in.name, param(s, "weight"), param(s, "bias")),
                ints("kernel_shape", c.kernelSize), ints("strides", c.stride), ints("pads", c.padding[0], c.padding[1], c.padding[0], c.padding[1]),
                ints("dilations", c.dilation), ints("output_padding", c.outputPadding), attr("group", c.groups));
    }

    // ---------------------------------------------------------------- Linear and the reshapes

    // x is (*, in), weight is (out, in), out is (*, out)
    private String linear(Step s, Linear l, Value in) {
        String w = param(s, "weight"), b = param(s, "bias");
        if (in.shape().length == 2) return g.op("Gemm", s.hint, inputs(in.name, w, b), attr("transB", 1));
        String wt = g.op("Transpose", s.hint, new String[] {w}, ints("perm", 1, 0));
        String y = g.op("MatMul", s.hint, new String[] {in.name, wt});
        return b == null ? y : g.op("Add", s.hint, new String[] {y, b});
    }

    /** Flatten(start, end) as a Reshape to the probe's output shape with −1 where the batch axis went. */
    private Value flattenStep(Step s, Flatten f, Value in, Tensor probe) {
        int rank = in.shape().length;
        int start = Shapes.dim(f.startDim, rank), end = Shapes.dim(f.endDim, rank);
        int b = in.batchAxis;
        int nb = b < 0 ? -1 : b < start ? b : b <= end ? start : b - (end - start);
        boolean pure = in.pureBatch && (b < start || b > end || end == start);
        long[] target = new long[probe.dim()];
        for (int i = 0; i < target.length; i++) target[i] = i == nb ? -1 : probe.size(i);
        String out = g.op("Reshape", s.hint, new String[] {in.name, g.int64s(s.hint + "/shape", false, target)});
        return new Value(out, probe, nb, pure);
    }

    // ---------------------------------------------------------------- recurrent units

    /**
     * One ONNX node per layer, both directions in it. X is (L, N, F); Y is (L, D, N, H), turned into PyTorch's
     * (L, N, D·H) for the next layer by a Transpose and a Reshape; batch_first adds a Transpose before and after.
     */
    private String recurrent(Step s, RecurrentBase r, Value in) {
        if (in.shape().length != 3) {
            throw new IllegalArgumentException("ONNX export: " + s.module + " gets an input of shape " + Shapes.str(in.shape())
                    + "; only batched 3-D input is exported (add the batch axis to --input)");
        }
        String opType = r instanceof LSTM ? "LSTM" : r instanceof GRU ? "GRU" : "RNN";
        // Which PyTorch gate block goes at each ONNX position: GRU (r, z, n) → (z, r, h); LSTM (i, f, g, o) → (i, o, f, c).
        int[] order = r instanceof LSTM ? new int[] {0, 3, 1, 2} : r instanceof GRU ? new int[] {1, 0, 2} : new int[] {0};
        int dirs = r.directions();
        String x = r.batchFirst ? g.op("Transpose", s.hint, new String[] {in.name}, ints("perm", 1, 0, 2)) : in.name;
        for (int layer = 0; layer < r.numLayers; layer++) {
            String[] w = new String[dirs], rec = new String[dirs], b = new String[dirs];
            for (int dir = 0; dir < dirs; dir++) {
                String suffix = layer + (dir == 1 ? "_reverse" : "");
                w[dir] = unsqueeze0(s.hint, gateOrder(s.hint, param(s, "weight_ih_l" + suffix), order));
                rec[dir] = unsqueeze0(s.hint, gateOrder(s.hint, param(s, "weight_hh_l" + suffix), order));
                if (r.bias) {
                    String bi = gateOrder(s.hint, param(s, "bias_ih_l" + suffix), order);
                    String bh = gateOrder(s.hint, param(s, "bias_hh_l" + suffix), order);
                    b[dir] = unsqueeze0(s.hint, g.op("Concat", s.hint, new String[] {bi, bh}, attr("axis", 0)));
                }
            }
            String hint = s.hint + "/l" + layer;
            String[] ins = inputs(x, cat0(hint, w), cat0(hint, rec), r.bias ? cat0(hint, b) : null);
            List<AttributeProto> attrs = new ArrayList<>();
            attrs.add(attr("hidden_size", r.hiddenSize));
            attrs.add(attr("direction", dirs == 2 ? "bidirectional" : "forward"));
            if (r instanceof RNN rnn) {
                String act = rnn.nonlinearity.equals("relu") ? "Relu" : "Tanh";
                attrs.add(dirs == 2 ? strings("activations", act, act) : strings("activations", act));
            }
            if (r instanceof GRU) attrs.add(attr("linear_before_reset", 1));
            String y = g.op(opType, hint, ins, attrs.toArray(AttributeProto[]::new));
            // Y (L, D, N, H) → (L, N, D, H) → (L, N, D·H); the zeros in the shape copy L and the dynamic N.
            String t = g.op("Transpose", hint, new String[] {y}, ints("perm", 0, 2, 1, 3));
            x = g.op("Reshape", hint, new String[] {t, g.int64s(hint + "/shape", false, 0, 0, (long) dirs * r.hiddenSize)});
        }
        return r.batchFirst ? g.op("Transpose", s.hint, new String[] {x}, ints("perm", 1, 0, 2)) : x;
    }

    /** The rows of a (G·H, ...) weight or (G·H) bias re-ordered from PyTorch's gate order to ONNX's. */
    private String gateOrder(String hint, String name, int[] order) {
        if (order.length == 1) return name;
        String[] parts = g.op("Split", hint, new String[] {name}, order.length, attr("axis", 0));
        String[] reordered = new String[order.length];
        for (int i = 0; i < order.length; i++) reordered[i] = parts[order[i]];
        return g.op("Concat", hint, reordered, attr("axis", 0));
    }

    /** Adds the leading direction axis ONNX's W, R and B have. */
    private String unsqueeze0(String hint, String name) {
        if (axis0 == null) axis0 = g.int64s("axes_0", false, 0);
        return g.op("Unsqueeze", hint, new String[] {name, axis0});
    }

    /** Stacks the directions: (1, ...) each → (D, ...). */
    private String cat0(String hint, String[] perDirection) {
        return perDirection.length == 1 ? perDirection[0] : g.op("Concat", hint, perDirection, attr("axis", 0));
    }
}
