package dev.deepshape.golden;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.SafeTensors;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The safetensors files PyTorch's side wrote by hand load with {@link SafeTensors#readAll}: F32 as float tensors, I64
 * as integer tensors, the {@code __metadata__} strings, and shapes that agree with the index and with each other.
 */
class GoldenFilesTest {
    static List<Golden.Config> configs() { return Golden.index(); }

    @Test
    void indexCoversEveryFamily() {
        List<Golden.Config> configs = Golden.index();
        assertTrue(configs.size() >= 30, "only " + configs.size() + " configurations");
        for (String unit : List.of("Conv2d", "MaxPool2d", "ConvTranspose2d", "RNN", "GRU", "LSTM", "Linear", "ReLU", "Flatten", "CrossEntropyLoss")) {
            assertTrue(configs.stream().anyMatch(c -> c.unit().equals(unit)), "no configuration of " + unit);
        }
        assertEquals(configs.size(), configs.stream().map(Golden.Config::name).distinct().count(), "configuration names repeat");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void unitFileLoads(Golden.Config c) {
        SafeTensors.Contents g = Golden.load(c.file());
        assertEquals(c.name(), g.metadata().get("name"));
        assertEquals(c.unit(), g.metadata().get("unit"));
        assertTrue(g.metadata().get("torch_version").startsWith("1.13"), g.metadata().toString());
        Tensor input = g.tensor("input");
        assertArrayEquals(c.inputShape(), input.shapeRef());
        assertArrayEquals(input.shapeRef(), g.tensor("grad.input").shapeRef());
        assertArrayEquals(g.tensor("output").shapeRef(), g.tensor("out_weight").shapeRef());
        for (String k : g.floats().keySet()) {
            if (k.startsWith("param.")) assertArrayEquals(g.tensor(k).shapeRef(), g.tensor("grad." + k).shapeRef(), k);
        }
        if (c.unit().equals("CrossEntropyLoss")) {
            IntTensor target = g.intTensor("target"); // written as I64
            assertArrayEquals(new int[] {input.size(0)}, target.shape());
            for (int t : target.data()) assertTrue(t >= 0 && t < input.size(1), "target " + t);
            assertEquals(0, g.tensor("output").dim(), "a mean or sum loss is a 0-dimensional tensor");
        } else {
            assertTrue(g.ints().isEmpty(), "integer tensors in " + c.file() + ": " + g.ints().keySet());
        }
        if (c.initialState()) assertArrayEquals(g.tensor("h_0").shapeRef(), g.tensor("h_n").shapeRef());
    }

    @Test
    void modelFilesLoadWithPyTorchKeys() throws IOException {
        SafeTensors.Contents b64 = Golden.load("combined_b64.safetensors");
        assertEquals("CombinedModel", b64.metadata().get("model"));
        assertArrayEquals(new int[] {64, 1, 28, 28}, b64.tensor("input").shapeRef());
        assertArrayEquals(new int[] {64}, b64.intTensor("target").shape());
        assertArrayEquals(new int[] {64, 10}, b64.tensor("output").shapeRef());
        long count = 0;
        List<String> keys = new ArrayList<>();
        for (var e : b64.floats().entrySet()) {
            if (!e.getKey().startsWith("param.")) continue;
            keys.add(e.getKey().substring("param.".length()));
            count += e.getValue().numel();
        }
        assertEquals(896_618, count, "CombinedModel's parameter count");
        assertEquals(List.of("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "deconv.weight", "deconv.bias",
                "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
                "gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0",
                "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "fc.weight", "fc.bias"), keys);

        // The trained state dict is exactly what safetensors.torch.save_file(model.state_dict()) writes: plain keys.
        SafeTensors.Contents trained = Golden.load("combined_trained.safetensors");
        assertEquals(keys, List.copyOf(trained.floats().keySet()));
        assertTrue(trained.ints().isEmpty() && trained.metadata().isEmpty());
        Map<?, ?> summary = (Map<?, ?>) dev.deepshape.io.Json.parse(Files.readString(Golden.dataDir().resolve("combined_trained.json")));
        assertEquals(10_000L, summary.get("test_total"));
        assertEquals(10_000, ((String) summary.get("test_predictions")).length());

        SafeTensors.Contents train200 = Golden.load("combined_train200.safetensors");
        assertArrayEquals(new int[] {200}, train200.tensor("losses").shapeRef());
    }
}
