package dev.deepshape.shape;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Each class of mistake gives one message naming the layer, its repr, expected and actual shapes, and a computed hint. */
class ShapeErrorsTest {
    static final String REF = ModelSpecTestText.REFERENCE;

    static ShapeException analyze(String spec) {
        ModelSpec s = ModelSpec.parse(spec, "test.spec");
        return assertThrows(ShapeException.class, () -> ShapeAnalysis.of(s, s.inputShape(null)));
    }

    @Test
    void channelMismatch() {
        ShapeException e = analyze(REF.replace("input: (64, 1, 28, 28)", "input: (64, 3, 28, 28)"));
        assertEquals(0, e.layerIndex);
        assertEquals("layer 0 (conv1) Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)): expected input of shape (N, 1, H, W), got (64, 3, 28, 28); "
                + "hint: the input has 3 channels, so Conv2d(3, 32, ...) would fit", e.getMessage());
    }

    @Test
    void missingChannelAxis() {
        ShapeException e = analyze(REF.replace("input: (64, 1, 28, 28)", "input: (64, 28, 28)"));
        assertTrue(e.getMessage().startsWith("layer 0 (conv1) Conv2d(1, 32"), e.getMessage());
        assertTrue(e.getMessage().contains("add Unsqueeze(1) to make it (N, 1, H, W)"), e.getMessage());
    }

    @Test
    void rnnInputSizeNotFeatures() {
        // Without the ConvTranspose2d, the flattened features are 64·7·7 = 3136, not 6272.
        ShapeException e = analyze(REF.replace("deconv = ConvTranspose2d(64, 32, kernel_size=2, stride=2)\n", ""));
        assertEquals("rnn", e.layerName);
        assertEquals("layer 8 (rnn) RNN(6272, 128, batch_first=True): expected input of shape (N, L, 6272), got (64, 1, 3136); "
                + "hint: input.size(-1) must equal input_size; the input has 3136 features (2× too few), so RNN(3136, 128, batch_first=True) would fit", e.getMessage());
    }

    @Test
    void linearInNotLastDim() {
        ShapeException e = analyze("input: (N, 64, 7, 7)\nfc = Linear(3136, 10)");
        assertEquals("layer 0 (fc) Linear(in_features=3136, out_features=10, bias=True): expected input of shape (*, 3136), got (N, 64, 7, 7); "
                + "hint: the last dimension is 7, so Linear(7, 10) would fit; or Flatten(1) first: 64·7·7 = 3136", e.getMessage());
    }

    @Test
    void spatialSizeBelowOne() {
        ShapeException e = analyze("input: (N, 1, 28, 28)\np = MaxPool2d(4)\np\nconv = Conv2d(1, 4, 3)");
        assertEquals(2, e.layerIndex);
        assertEquals("layer 2 (conv) Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1)): expected input of shape (N, 1, H, W), got (N, 1, 1, 1); "
                + "hint: H_out = ⌊(1 + 2·0 − 1·(3 − 1) − 1)/1⌋ + 1 = -1 < 1: the padded input (1) is smaller than the kernel's reach "
                + "dilation·(kernel_size − 1) + 1 = 3; the input needs H >= 3 (remove a pooling layer before it, or add padding)", e.getMessage());
        ShapeException pool = analyze("input: (N, 1, 28, 28)\np = MaxPool2d(4)\np\np\np");
        assertTrue(pool.getMessage().startsWith("layer 2 (p) MaxPool2d(kernel_size=4, stride=4, padding=0, dilation=1, ceil_mode=False): expected input of shape (N, C, H, W), got (N, 1, 1, 1); hint: H_out = "), pool.getMessage());
        assertTrue(pool.getMessage().contains("the input needs H >= 4"), pool.getMessage());
    }

    @Test
    void flattenBeforeRnnWithoutUnsqueeze() {
        ShapeException e = analyze(REF.replace("Unsqueeze(1)\n", ""));
        assertEquals("layer 8 (rnn) RNN(6272, 128, batch_first=True): expected input of shape (N, L, 6272), got (64, 6272); "
                + "hint: PyTorch reads a 2-D input as one unbatched sequence of 64 steps, but dimension 0 is the batch; "
                + "add Unsqueeze(1) before RNN to make it a batch of length-1 sequences (64, 1, 6272)", e.getMessage());
    }

    @Test
    void badArgumentNamesTheLayer() {
        SpecException e = assertThrows(SpecException.class, () -> ModelSpec.parse("input: (N, 6, 8, 8)\nconv = Conv2d(6, 4, 3, groups=4)", "model.spec"));
        assertEquals("model.spec:2:8: layer 0 (conv): Conv2d: in_channels must be divisible by groups, got in_channels=6, groups=4", e.getMessage());
        SpecException kw = assertThrows(SpecException.class, () -> ModelSpec.parse("rnn = RNN(4, 8, hidden=3)", "m.spec"));
        assertEquals("m.spec:1:7: layer 0 (rnn): RNN() got an unexpected keyword argument 'hidden'", kw.getMessage());
        SpecException pair = assertThrows(SpecException.class, () -> ModelSpec.parse("MaxPool2d(kernel_size=(2, 2, 2))", "m.spec"));
        assertEquals("m.spec:1:1: layer 0 (0): MaxPool2d: kernel_size must be an int or a pair of ints, got (2, 2, 2)", pair.getMessage());
        SpecException same = assertThrows(SpecException.class, () -> ModelSpec.parse("c = Conv2d(1, 2, 3, stride=2, padding='same')", "m.spec"));
        assertTrue(same.getMessage().contains("padding='same' is not supported for strided convolutions"), same.getMessage());
    }

    @Test
    void syntaxErrorsPointAtLineAndColumn() {
        SpecException e = assertThrows(SpecException.class, () -> ModelSpec.parse("input: (N, 1, 28, 28)\nconv1 = Conv2d(1, 32, kernel_size=3 stride=1)", "m.spec"));
        assertEquals("m.spec:2:37: expected ',' or ')' after an argument, found 's'", e.getMessage());
        assertEquals(2, e.line);
        assertEquals(37, e.column);
        SpecException unknown = assertThrows(SpecException.class, () -> ModelSpec.parse("\n\nx = Conv3d(1, 2, 3)", "m.spec"));
        assertTrue(unknown.getMessage().startsWith("m.spec:3:5: unknown unit 'Conv3d'; known units: Conv2d, "), unknown.getMessage());
        SpecException reuse = assertThrows(SpecException.class, () -> ModelSpec.parse("pool = MaxPool2d(2)\npol", "m.spec"));
        assertEquals("m.spec:2:1: 'pol' is not an earlier layer's name (names so far: pool)", reuse.getMessage());
        SpecException unclosed = assertThrows(SpecException.class, () -> ModelSpec.parse("Linear(3, 4", "m.spec"));
        assertEquals("m.spec:1:12: expected ',' or ')' after an argument, found the end of the line", unclosed.getMessage());
    }

    @Test
    void ruleCheckOutsideAModelHasNoLayerPrefix() {
        ShapeRule rule = new LinearRule(32, 10, true);
        ShapeException e = assertThrows(ShapeException.class, () -> rule.check(new int[] {64, 16}));
        assertTrue(e.getMessage().startsWith("Linear(in_features=32, out_features=10, bias=True): expected input of shape (*, 32), got (64, 16)"), e.getMessage());
    }
}
