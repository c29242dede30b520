package dev.deepshape.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The reference model's structure, as SEED_MODEL.md states it. */
class CombinedModelTest {
    @Test
    void parameterNamesShapesAndCountAreSeedModels() {
        Rng.manualSeed(0);
        CombinedModel m = new CombinedModel();
        Map<String, int[]> expected = new LinkedHashMap<>();
        expected.put("conv1.weight", new int[] {32, 1, 3, 3});
        expected.put("conv1.bias", new int[] {32});
        expected.put("conv2.weight", new int[] {64, 32, 3, 3});
        expected.put("conv2.bias", new int[] {64});
        expected.put("deconv.weight", new int[] {64, 32, 2, 2});
        expected.put("deconv.bias", new int[] {32});
        expected.put("rnn.weight_ih_l0", new int[] {128, 6272});
        expected.put("rnn.weight_hh_l0", new int[] {128, 128});
        expected.put("rnn.bias_ih_l0", new int[] {128});
        expected.put("rnn.bias_hh_l0", new int[] {128});
        expected.put("gru.weight_ih_l0", new int[] {192, 128});
        expected.put("gru.weight_hh_l0", new int[] {192, 64});
        expected.put("gru.bias_ih_l0", new int[] {192});
        expected.put("gru.bias_hh_l0", new int[] {192});
        expected.put("lstm.weight_ih_l0", new int[] {128, 64});
        expected.put("lstm.weight_hh_l0", new int[] {128, 32});
        expected.put("lstm.bias_ih_l0", new int[] {128});
        expected.put("lstm.bias_hh_l0", new int[] {128});
        expected.put("fc.weight", new int[] {10, 32});
        expected.put("fc.bias", new int[] {10});
        Map<String, Tensor> actual = m.stateDict();
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()));
        for (var e : expected.entrySet()) assertArrayEquals(e.getValue(), actual.get(e.getKey()).shape(), e.getKey());
        assertEquals(896_618, m.parameterCount());
    }

    @Test
    void forwardTakesTheShapesOfTheTutorial() {
        Rng.manualSeed(1);
        CombinedModel m = new CombinedModel();
        List<String> trace = new ArrayList<>();
        Tensor logits = m.forwardTrace(Tensor.randn(new Rng(2), 64, 1, 28, 28), (label, shape) -> trace.add(label + ": " + Shapes.torchSize(shape)));
        assertEquals(List.of(
                "Input shape: torch.Size([64, 1, 28, 28])",
                "After conv1 and pool: torch.Size([64, 32, 14, 14])",
                "After conv2 and pool: torch.Size([64, 64, 7, 7])",
                "After deconv: torch.Size([64, 32, 14, 14])",
                "After flattening: torch.Size([64, 6272])",
                "After unsqueeze for RNN: torch.Size([64, 1, 6272])",
                "After RNN: torch.Size([64, 1, 128])",
                "After GRU: torch.Size([64, 1, 64])",
                "After LSTM: torch.Size([64, 1, 32])",
                "After selecting last time step: torch.Size([64, 32])",
                "Output shape: torch.Size([64, 10])"), trace);
        assertArrayEquals(new int[] {64, 10}, logits.shape());
    }

    @Test
    void aFewAdamStepsLowerTheLossOnAFixedBatch() {
        Rng.manualSeed(3);
        CombinedModel m = new CombinedModel();
        Rng rng = new Rng(4);
        Tensor x = Tensor.randn(rng, 16, 1, 28, 28);
        int[] labels = new int[16];
        for (int i = 0; i < labels.length; i++) labels[i] = i % 10;
        IntTensor y = IntTensor.of(labels);
        CrossEntropyLoss lossFn = new CrossEntropyLoss();
        Adam adam = new Adam(m.parameters(), 1e-3f);
        float first = 0, last = 0;
        for (int step = 0; step < 15; step++) {
            adam.zeroGrad();
            Tensor loss = lossFn.forward(m.forward(x), y);
            loss.backward();
            adam.step();
            if (step == 0) first = loss.item();
            last = loss.item();
        }
        assertTrue(last < 0.5f * first, "loss went from " + first + " to " + last);
    }
}
