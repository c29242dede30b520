package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.SafeTensors;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.onnx.proto.OnnxProto.ModelProto;
import dev.deepshape.onnx.proto.OnnxProto.TensorProto;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code deepshape export}: the file holds the checkpoint's weights under their keys; bad flags exit 2 with one line. */
class ExportCommandTest {
    static ShapeCommandsTest.Result run(String... args) { return ShapeCommandsTest.run(args); }

    static Map<String, float[]> floatInitializers(Path onnx) throws Exception {
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(onnx));
        Map<String, float[]> out = new HashMap<>();
        for (TensorProto t : m.getGraph().getInitializerList()) {
            if (t.getDataType() != TensorProto.DataType.FLOAT_VALUE) continue;
            float[] v = new float[t.getRawData().size() / 4];
            ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
            out.put(t.getName(), v);
        }
        return out;
    }

    @Test
    void exportsTheCombinedModelWithTheCheckpointsWeights(@TempDir Path dir) throws Exception {
        Rng.manualSeed(11);
        Map<String, Tensor> state = new CombinedModel().stateDict();
        Path ckpt = dir.resolve("weights.safetensors");
        SafeTensors.write(ckpt, state);
        Path out = dir.resolve("model.onnx");
        var r = run("export", "--checkpoint", ckpt.toString(), "-o", out.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("CombinedModel, ONNX opset 17, input \"input\" (N, 1, 28, 28)"), r.out());
        assertTrue(r.out().contains("896,618 parameters"), r.out());
        ModelProto m = ModelProto.parseFrom(Files.readAllBytes(out));
        assertEquals("CombinedModel", m.getGraph().getName());
        Map<String, float[]> init = floatInitializers(out);
        assertEquals(state.keySet(), init.keySet());
        for (var e : state.entrySet()) assertArrayEquals(e.getValue().toArray(), init.get(e.getKey()), e.getKey());
    }

    @Test
    void exportsASpecWithItsInputShape(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("rnn.spec");
        Files.writeString(spec, "input: (6, N, 5)\nrnn = GRU(5, 4, num_layers=2, bidirectional=True)\nSelect(0, -1)\nfc = Linear(8, 3)\n");
        Rng.manualSeed(12);
        Module model = ModelBuilder.build(ModelSpec.parse(Files.readString(spec), "rnn.spec"));
        Path ckpt = dir.resolve("w.safetensors");
        SafeTensors.write(ckpt, model.stateDict());
        Path out = dir.resolve("rnn.onnx");
        var r = run("export", "--spec", spec.toString(), "--checkpoint", ckpt.toString(), "--output", out.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("Sequential, ONNX opset 17, input \"input\" (6, N, 5)"), r.out());
        assertEquals(model.stateDict().keySet(), floatInitializers(out).keySet());
        assertTrue(floatInitializers(out).containsKey("rnn.weight_hh_l1_reverse"));
    }

    @Test
    void badFlagsExitTwoWithOneLine(@TempDir Path dir) throws Exception {
        Path ckpt = dir.resolve("w.safetensors");
        Rng.manualSeed(1);
        SafeTensors.write(ckpt, new CombinedModel().stateDict());
        String[][] cases = {
                {"export", "-o", dir.resolve("a.onnx").toString()},                                            // no --checkpoint
                {"export", "--checkpoint", ckpt.toString()},                                                     // no -o
                {"export", "--checkpoint", ckpt.toString(), "-o", "x.onnx", "--model", "lenet"},                 // unknown model
                {"export", "--checkpoint", ckpt.toString(), "-o", "x.onnx", "--input", "64,1,twenty,28"},        // bad shape
                {"export", "--checkpoint", ckpt.toString(), "-o", "x.onnx", "--frobnicate"},                     // unknown flag
                {"export", "--checkpoint", ckpt.toString(), "-o", dir.toString()},                               // a directory
        };
        for (String[] c : cases) {
            var r = run(c);
            assertEquals(2, r.status(), String.join(" ", c) + " → " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("deepshape export: "), r.err());
        }
    }

    @Test
    void aCheckpointThatDoesNotFitExitsOneNamingTheKeys(@TempDir Path dir) throws Exception {
        Rng.manualSeed(1);
        Map<String, Tensor> state = new HashMap<>(new CombinedModel().stateDict());
        state.remove("fc.bias");
        state.put("fc.weight", Tensor.zeros(10, 31));
        Path ckpt = dir.resolve("bad.safetensors");
        SafeTensors.write(ckpt, state);
        Path out = dir.resolve("m.onnx");
        var r = run("export", "--checkpoint", ckpt.toString(), "-o", out.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("fc.bias") && r.err().contains("size mismatch for fc.weight"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(out));
        var missing = run("export", "--checkpoint", dir.resolve("nope.safetensors").toString(), "-o", out.toString());
        assertEquals(1, missing.status());
        assertTrue(missing.err().contains("nope.safetensors") && missing.err().contains("no such file"), missing.err());
    }
}
