package dev.deepshape.shape;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The summary of the reference model against torchinfo 1.8's figures (SEED_MODEL.md). */
class SummaryTest {
    static final Set<String> FUNCTIONAL = Set.of("1", "4", "7", "8", "12"); // relu, flatten, unsqueeze, select: calls, not modules

    static Summary reference() {
        ModelSpec spec = ModelSpec.builtin("combined");
        return new Summary("CombinedModel", ShapeAnalysis.of(spec, spec.inputShape(null)), FUNCTIONAL);
    }

    @Test
    void referenceModelFiguresMatchTorchinfo() {
        Summary s = reference();
        assertEquals(896_618, s.totalParams);
        assertEquals(896_618, s.trainableParams);
        assertEquals(200_704, s.inputBytes);                 // 64·1·28·28·4
        assertEquals(3_586_472, s.paramBytes);               // 896,618·4
        // 2·4·(64·32·28·28 + 64·64·14·14 + 64·32·14·14 + 64·128 + 64·64 + 64·32 + 64·10): outputs of modules with parameters
        assertEquals(22_598_656, s.forwardBackwardBytes);
        assertEquals(406_884_992, s.torchinfoMultAdds);
        // torchinfo's 103,161,856 for the ConvTranspose2d becomes 64·7·7·64·32·2·2 = 25,690,112 products + 401,408 bias additions
        assertEquals(406_884_992 - 103_161_856 + 25_690_112 + 401_408, s.multAdds);
        String text = s.render(3, Summary.DEFAULT_COLUMNS);
        assertTrue(text.contains("\nTotal params: 896,618\n"), text);
        assertTrue(text.contains("\nTrainable params: 896,618\nNon-trainable params: 0\n"), text);
        assertTrue(text.contains("\nInput size (MB): 0.20\n"), text);
        assertTrue(text.contains("\nForward/backward pass size (MB): 22.60\n"), text);
        assertTrue(text.contains("\nParams size (MB): 3.59\n"), text);
        assertTrue(text.contains("\nEstimated Total Size (MB): 26.39\n"), text);
        assertTrue(text.contains("\nTotal mult-adds (M): 329.81\n"), text);
        assertTrue(text.contains("Mult-adds as torchinfo 1.8 counts them (M): 406.88"), text);
    }

    /** torchinfo 1.8's exact layout for this model (its table, with our corrected mult-adds in the footer). */
    @Test
    void referenceModelLayoutIsTorchinfos() {
        String text = reference().render(3, Summary.DEFAULT_COLUMNS);
        String eq = "=".repeat(90);
        String expected = String.join("\n",
                eq,
                "Layer (type:depth-idx)                   Output Shape              Param #",
                eq,
                "CombinedModel                            [64, 10]                  --",
                "├─Conv2d: 1-1                            [64, 32, 28, 28]          320",
                "├─MaxPool2d: 1-2                         [64, 32, 14, 14]          --",
                "├─Conv2d: 1-3                            [64, 64, 14, 14]          18,496",
                "├─MaxPool2d: 1-4                         [64, 64, 7, 7]            --",
                "├─ConvTranspose2d: 1-5                   [64, 32, 14, 14]          8,224",
                "├─RNN: 1-6                               [64, 1, 128]              819,456",
                "├─GRU: 1-7                               [64, 1, 64]               37,248",
                "├─LSTM: 1-8                              [64, 1, 32]               12,544",
                "├─Linear: 1-9                            [64, 10]                  330",
                eq,
                "Total params: 896,618",
                "Trainable params: 896,618",
                "Non-trainable params: 0",
                "Total mult-adds (M): 329.81",
                eq,
                "Input size (MB): 0.20",
                "Forward/backward pass size (MB): 22.60",
                "Params size (MB): 3.59",
                "Estimated Total Size (MB): 26.39",
                eq);
        assertEquals(expected, text.substring(0, expected.length()));
    }

    @Test
    void columnsAndDepth() {
        Summary s = reference();
        String text = s.render(1, List.of(Summary.Column.INPUT, Summary.Column.OUTPUT, Summary.Column.KERNEL, Summary.Column.MULT_ADDS, Summary.Column.TRAINABLE));
        assertTrue(text.contains("├─Conv2d: 1-1                            [64, 1, 28, 28]           [64, 32, 28, 28]          [3, 3]                    16,056,320                True"), text);
        assertTrue(text.contains("├─MaxPool2d: 1-2                         [64, 32, 28, 28]          [64, 32, 14, 14]          2                         --                        --"), text);
        assertTrue(text.contains("├─ConvTranspose2d: 1-5                   [64, 64, 7, 7]            [64, 32, 14, 14]          [2, 2]                    26,091,520                True"), text);
        String top = s.render(0, Summary.DEFAULT_COLUMNS);
        assertTrue(top.contains("CombinedModel                            [64, 10]                  896,618"), top);
        assertTrue(!top.contains("├─"), top);
    }

    @Test
    void perSampleFlops() {
        Summary s = reference();
        // forward: 2 per product + 1 per bias addition, per sample
        double products = 288 * 784 + 18432 * 196 + 49 * 64 * 32 * 4 + 819_200 + 36_864 + 12_288 + 320;
        double biases = 32 * 784 + 64 * 196 + 32 * 196 + 256 + 384 + 256 + 10;
        assertEquals(2 * products + biases, s.forwardFlopsPerSample, 1e-6);
        // backward: weight and bias gradients everywhere, input gradients for every layer after conv1
        assertEquals(2 * products + biases + 2 * (products - 288 * 784), s.backwardFlopsPerSample, 1e-6);
    }

    @Test
    void sequentialSpecShowsEveryLayer() {
        ModelSpec spec = ModelSpec.builtin("combined");
        String text = new Summary("Sequential", ShapeAnalysis.of(spec, spec.inputShape(null)), Set.of()).render(3, Summary.DEFAULT_COLUMNS);
        assertTrue(text.contains("├─ReLU: 1-2 "), text);
        assertTrue(text.contains("├─Select: 1-13 "), text);
        assertTrue(text.contains("├─Linear: 1-14 "), text);
        assertTrue(text.contains("Forward/backward pass size (MB): 22.60"), text);
    }
}
