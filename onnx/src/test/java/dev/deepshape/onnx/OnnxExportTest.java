package dev.deepshape.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.autograd.Autograd;
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
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The exported graph run by ONNX Runtime gives deepshape's outputs (max |Δ| ≤ 1e-4): the reference model on real
 * MNIST test images, random and trained weights, and a table of unit configurations (2-layer bidirectional recurrent
 * units of every kind in both layouts, convolutions with groups/dilation/output_padding, ceil-mode pooling, the
 * reshapes), each run at two batch sizes to prove the dynamic batch axis.
 */
class OnnxExportTest {
    static final float TOLERANCE = 1e-4f;

    static Path goldenData() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("golden/data"))) p = p.getParent();
        assertNotNull(p, "golden/data not found above " + Path.of("").toAbsolutePath());
        return p.resolve("golden/data");
    }

    @SuppressWarnings("try")
    static Tensor deepshape(Module m, Tensor x) {
        m.eval();
        try (Autograd.Scope ignored = Autograd.noGrad()) {
            return m.forward(x);
        }
    }

    /** Exports, runs ORT on each input, and returns the largest difference to deepshape's output over all of them. */
    static float compare(String what, Module model, int[] exportShape, Tensor... inputs) throws Exception {
        byte[] onnx = OnnxExporter.toProto(model, exportShape).toByteArray();
        float max = 0;
        try (OrtRunner ort = new OrtRunner(onnx)) {
            for (Tensor x : inputs) {
                float d = OrtRunner.maxAbsDiff(ort.run(x), deepshape(model, x));
                System.out.printf("%s, input %s: max |onnxruntime − deepshape| = %.3g%n", what, java.util.Arrays.toString(x.shapeRef()), d);
                max = Math.max(max, d);
            }
        }
        return max;
    }

    @Test
    void combinedModelRandomInitMatchesOnMnist() throws Exception {
        Path data = MnistTestImages.dataDir();
        Assumptions.assumeTrue(data != null, "DEEPSHAPE_DATA does not point at the MNIST files");
        Rng.manualSeed(0);
        CombinedModel model = new CombinedModel();
        float d = compare("CombinedModel (seed 0)", model, new int[] {-1, 1, 28, 28}, MnistTestImages.read(data, 0, 64), MnistTestImages.read(data, 64, 7));
        assertTrue(d <= TOLERANCE, "max difference " + d);
    }

    @Test
    void combinedModelTrainedMatchesOnMnist() throws Exception {
        Path data = MnistTestImages.dataDir();
        Assumptions.assumeTrue(data != null, "DEEPSHAPE_DATA does not point at the MNIST files");
        Path trained = goldenData().resolve("combined_trained.safetensors");
        Assumptions.assumeTrue(Files.isRegularFile(trained), "no trained checkpoint at " + trained
                + " yet (written by the training-parity work); the random-init case covers the graph meanwhile");
        Rng.manualSeed(0);
        CombinedModel model = new CombinedModel();
        model.loadStateDict(SafeTensors.read(trained), true);
        float d = compare("CombinedModel (trained)", model, new int[] {-1, 1, 28, 28}, MnistTestImages.read(data, 0, 64), MnistTestImages.read(data, 9990, 10));
        assertTrue(d <= TOLERANCE, "max difference " + d);
    }

    /** Specs whose first line is the export shape; each runs at batch 3 and batch 2. */
    static Stream<Arguments> configurations() {
        return Stream.of(
                Arguments.of("RNN tanh, 2 layers, bidirectional, batch_first",
                        "input: (N, 6, 5)\nRNN(5, 4, num_layers=2, batch_first=True, bidirectional=True)"),
                Arguments.of("RNN relu, 2 layers, bidirectional, sequence first",
                        "input: (6, N, 5)\nRNN(5, 4, num_layers=2, nonlinearity='relu', bidirectional=True)"),
                Arguments.of("GRU, 2 layers, bidirectional, batch_first",
                        "input: (N, 6, 5)\nGRU(5, 4, num_layers=2, batch_first=True, bidirectional=True)"),
                Arguments.of("GRU, 2 layers, bidirectional, sequence first",
                        "input: (6, N, 5)\nGRU(5, 4, num_layers=2, bidirectional=True)"),
                Arguments.of("LSTM, 2 layers, bidirectional, batch_first",
                        "input: (N, 6, 5)\nLSTM(5, 4, num_layers=2, batch_first=True, bidirectional=True)"),
                Arguments.of("LSTM, 2 layers, bidirectional, sequence first",
                        "input: (6, N, 5)\nLSTM(5, 4, num_layers=2, bidirectional=True)"),
                Arguments.of("RNN relu, GRU, LSTM stacked without bias, then the last step and Linear",
                        "input: (N, 6, 5)\nRNN(5, 4, nonlinearity='relu', bias=False, batch_first=True)\n"
                                + "GRU(4, 3, num_layers=2, bias=False, batch_first=True)\nLSTM(3, 5, bias=False, batch_first=True, bidirectional=True)\n"
                                + "Select(1, -1)\nLinear(10, 2)"),
                Arguments.of("Conv2d groups/dilation/stride/asymmetric padding, ceil-mode MaxPool2d, ConvTranspose2d output_padding/groups/dilation",
                        "input: (N, 4, 9, 11)\nConv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=2)\nReLU()\n"
                                + "MaxPool2d(3, stride=2, padding=1, ceil_mode=True)\n"
                                + "ConvTranspose2d(6, 4, kernel_size=3, stride=2, padding=1, output_padding=1, groups=2, dilation=2)\nFlatten()\nLinear(576, 5)"),
                Arguments.of("ceil-mode MaxPool2d whose last window would start in the padding",
                        "input: (N, 2, 5, 6)\nMaxPool2d(2, stride=2, padding=1, ceil_mode=True)"),
                Arguments.of("ceil-mode MaxPool2d with stride > kernel (kept as ceil_mode=1)",
                        "input: (N, 2, 7, 8)\nMaxPool2d(2, stride=3, ceil_mode=True)"),
                Arguments.of("Conv2d padding='same' with an even kernel, dilated MaxPool2d, Flatten(2, 3), Linear on 3-D input, Unsqueeze, Select",
                        "input: (N, 3, 7, 6)\nConv2d(3, 4, kernel_size=4, padding='same')\nMaxPool2d(2, stride=3, dilation=2)\nFlatten(2, 3)\n"
                                + "Linear(4, 3)\nUnsqueeze(0)\nSelect(2, -1)\nFlatten(0, 1)\nReLU()"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configurations")
    void configurationMatchesOnnxRuntime(String name, String specText) throws Exception {
        Rng.manualSeed(3);
        ModelSpec spec = ModelSpec.parse(specText, name);
        Module model = ModelBuilder.build(spec);
        int[] shape = spec.input();
        float d = compare(name, model, shape, randomInput(shape, 3), randomInput(shape, 2));
        assertTrue(d <= TOLERANCE, "max difference " + d);
    }

    private static Tensor randomInput(int[] shape, int batch) {
        int[] s = shape.clone();
        for (int i = 0; i < s.length; i++) if (s[i] == -1) s[i] = batch;
        return Tensor.uniform(Rng.global(), -2f, 2f, s);
    }

    @Test
    void initializersAreTheStateDictUnderItsKeys() {
        Rng.manualSeed(1);
        CombinedModel model = new CombinedModel();
        ModelProto proto = OnnxExporter.toProto(model, new int[] {64, 1, 28, 28});
        assertEquals(OnnxExporter.OPSET, proto.getOpsetImport(0).getVersion());
        assertEquals("N", proto.getGraph().getInput(0).getType().getTensorType().getShape().getDim(0).getDimParam());
        assertEquals("N", proto.getGraph().getOutput(0).getType().getTensorType().getShape().getDim(0).getDimParam());
        assertEquals(10, proto.getGraph().getOutput(0).getType().getTensorType().getShape().getDim(1).getDimValue());
        Map<String, TensorProto> floats = new HashMap<>();
        for (TensorProto t : proto.getGraph().getInitializerList()) {
            if (t.getDataType() == TensorProto.DataType.FLOAT_VALUE) floats.put(t.getName(), t);
        }
        Map<String, Tensor> state = model.stateDict();
        assertEquals(state.keySet(), floats.keySet(), "float initializers are exactly the state-dict keys");
        for (var e : state.entrySet()) {
            TensorProto t = floats.get(e.getKey());
            assertArrayEquals(e.getValue().shape(), t.getDimsList().stream().mapToInt(Long::intValue).toArray(), e.getKey());
            float[] values = new float[e.getValue().numel()];
            ByteBuffer.wrap(t.getRawData().toByteArray()).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            assertArrayEquals(e.getValue().toArray(), values, e.getKey());
        }
        assertEquals(896_618, floats.values().stream().mapToLong(t -> t.getDimsList().stream().reduce(1L, (a, b) -> a * b)).sum());
    }

    @Test
    void exportWritesAFileOnnxRuntimeLoads(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Rng.manualSeed(2);
        Module model = ModelBuilder.build(ModelSpec.parse("input: (N, 3)\nLinear(3, 2)\nReLU()", "test"));
        Path file = dir.resolve("linear.onnx");
        OnnxExporter.export(model, new int[] {-1, 3}, file);
        Tensor x = new Tensor(new float[] {1, -2, 0.5f, 3, 0, -1}, 2, 3);
        try (OrtRunner ort = new OrtRunner(Files.readAllBytes(file))) {
            assertTrue(OrtRunner.maxAbsDiff(ort.run(x), deepshape(model, x)) <= TOLERANCE);
        }
    }

    @Test
    void unsupportedInputsAreRejectedWithTheLayerNamed() {
        Rng.manualSeed(2);
        Module conv = ModelBuilder.build(ModelSpec.parse("c = Conv2d(1, 2, 3)", "test"));
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> OnnxExporter.toProto(conv, new int[] {-1, 5, 5}));
        assertTrue(e.getMessage().contains("Conv2d"), e.getMessage());
        var two = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> OnnxExporter.toProto(conv, new int[] {-1, 1, -1, 5}));
        assertTrue(two.getMessage().contains("only the batch axis may be N"), two.getMessage());
    }
}
