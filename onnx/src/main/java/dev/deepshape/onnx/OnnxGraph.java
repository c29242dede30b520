package dev.deepshape.onnx;

import com.google.protobuf.ByteString;
import dev.deepshape.onnx.proto.OnnxProto.AttributeProto;
import dev.deepshape.onnx.proto.OnnxProto.GraphProto;
import dev.deepshape.onnx.proto.OnnxProto.NodeProto;
import dev.deepshape.onnx.proto.OnnxProto.TensorProto;
import dev.deepshape.onnx.proto.OnnxProto.TensorShapeProto;
import dev.deepshape.onnx.proto.OnnxProto.TypeProto;
import dev.deepshape.onnx.proto.OnnxProto.ValueInfoProto;
import dev.deepshape.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

/**
 * A small builder for one ONNX graph: nodes in topological order (the order they are added), initializers, unique
 * value names. Only what the exporter needs; the messages are the classes protoc generates from {@code onnx.proto}.
 */
final class OnnxGraph {
    private final GraphProto.Builder graph = GraphProto.newBuilder();
    private final Set<String> names = new HashSet<>();
    private int counter;

    OnnxGraph(String name) { graph.setName(name); }

    GraphProto build() { return graph.build(); }

    /** A fresh value name: {@code hint}, or {@code hint_2}, {@code hint_3}, ... when taken. */
    String fresh(String hint) {
        String name = hint;
        for (int k = 2; !names.add(name); k++) name = hint + "_" + k;
        return name;
    }

    /** Adds a node with one output (a fresh name from {@code hint}) and returns the output's name. */
    String op(String opType, String hint, String[] inputs, AttributeProto... attributes) {
        return op(opType, hint, inputs, 1, attributes)[0];
    }

    /** Adds a node with {@code outputs} outputs and returns their names. */
    String[] op(String opType, String hint, String[] inputs, int outputs, AttributeProto... attributes) {
        NodeProto.Builder node = NodeProto.newBuilder().setOpType(opType).setName(fresh("node/" + hint + "/" + opType + "#" + counter++));
        for (String in : inputs) node.addInput(in);
        String[] out = new String[outputs];
        for (int i = 0; i < outputs; i++) {
            out[i] = fresh(hint + "/" + opType + (outputs > 1 ? ":" + i : ""));
            node.addOutput(out[i]);
        }
        for (AttributeProto a : attributes) node.addAttribute(a);
        graph.addNode(node);
        return out;
    }

    /** An Identity node whose output carries the fixed name {@code name} (the graph's output). */
    String identity(String input, String name) {
        if (!names.add(name)) throw new IllegalStateException("value name '" + name + "' is already used");
        graph.addNode(NodeProto.newBuilder().setOpType("Identity").setName("node/" + name).addInput(input).addOutput(name));
        return name;
    }

    /** A float32 initializer named {@code name} (a state-dict key), raw little-endian data as ONNX requires. */
    String initializer(String name, Tensor t) {
        if (!names.add(name)) return name; // a module used twice (the pool) or a weight shared between steps: stored once
        float[] data = t.toArray();
        ByteBuffer bytes = ByteBuffer.allocate(data.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(data);
        TensorProto.Builder tp = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .setRawData(ByteString.copyFrom(bytes.array()));
        for (int d : t.shapeRef()) tp.addDims(d);
        graph.addInitializer(tp);
        return name;
    }

    /** An int64 initializer (shapes for Reshape, axes for Unsqueeze, indices for Gather); {@code scalar} for rank 0. */
    String int64s(String hint, boolean scalar, long... values) {
        String name = fresh(hint);
        TensorProto.Builder tp = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE);
        if (!scalar) tp.addDims(values.length);
        for (long v : values) tp.addInt64Data(v);
        graph.addInitializer(tp);
        return name;
    }

    /**
     * A graph input or output: float32 with the given sizes except at {@code dynamicAxis} (-1: none), which is named
     * {@code dynamicName} or, when that is null, left unknown (a size derived from N, such as N·k after a flatten).
     */
    ValueInfoProto valueInfo(String name, int[] shape, int dynamicAxis, String dynamicName) {
        TensorShapeProto.Builder s = TensorShapeProto.newBuilder();
        for (int i = 0; i < shape.length; i++) {
            TensorShapeProto.Dimension.Builder d = TensorShapeProto.Dimension.newBuilder();
            if (i != dynamicAxis) d.setDimValue(shape[i]);
            else if (dynamicName != null) d.setDimParam(dynamicName);
            s.addDim(d);
        }
        TypeProto type = TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(s)).build();
        return ValueInfoProto.newBuilder().setName(name).setType(type).build();
    }

    void input(String name, int[] shape, int dynamicAxis, String dynamicName) {
        names.add(name);
        graph.addInput(valueInfo(name, shape, dynamicAxis, dynamicName));
    }

    void output(String name, int[] shape, int dynamicAxis, String dynamicName) { graph.addOutput(valueInfo(name, shape, dynamicAxis, dynamicName)); }

    // ---------------------------------------------------------------- attributes

    static AttributeProto attr(String name, long value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
    }

    static AttributeProto ints(String name, int... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (int v : values) a.addInts(v);
        return a.build();
    }

    static AttributeProto attr(String name, String value) {
        return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRING).setS(ByteString.copyFromUtf8(value)).build();
    }

    static AttributeProto strings(String name, String... values) {
        AttributeProto.Builder a = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.STRINGS);
        for (String v : values) a.addStrings(ByteString.copyFromUtf8(v));
        return a.build();
    }
}
