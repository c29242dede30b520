package dev.deepshape.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The Conv2d, ConvTranspose2d and MaxPool2d modules: PyTorch's parameters, init, repr, shapes and errors. */
class ConvModulesTest {
    private static final int[] P1 = {1, 1}, P0 = {0, 0}, P2 = {2, 2};

    @Test
    void referenceModelShapes() {
        Conv2d conv1 = new Conv2d(1, 32, 3, 1, 1);
        MaxPool2d pool = new MaxPool2d(2);
        ConvTranspose2d deconv = new ConvTranspose2d(64, 32, 2, 2);
        assertArrayEquals(new int[] {64, 32, 28, 28}, conv1.outputShape(new int[] {64, 1, 28, 28}));
        assertArrayEquals(new int[] {64, 32, 14, 14}, pool.outputShape(new int[] {64, 32, 28, 28}));
        assertArrayEquals(new int[] {64, 32, 2, 2}, deconv.weight().shape());
        assertArrayEquals(new int[] {64, 32, 14, 14}, deconv.outputShape(new int[] {64, 64, 7, 7}));
        // forward agrees with outputShape
        assertArrayEquals(new int[] {2, 32, 28, 28}, conv1.forward(Tensor.zeros(2, 1, 28, 28)).shape());
        assertArrayEquals(new int[] {2, 32, 14, 14}, pool.forward(Tensor.zeros(2, 32, 28, 28)).shape());
        assertArrayEquals(new int[] {2, 32, 14, 14}, deconv.forward(Tensor.zeros(2, 64, 7, 7)).shape());
    }

    @Test
    void shapesMatchPyTorchOnAwkwardConfigurations() {
        // expected shapes from PyTorch 1.13 with the same configurations
        assertArrayEquals(new int[] {1, 2, 4, 5}, new MaxPool2d(3, 2, 1, 1, true).outputShape(new int[] {1, 2, 7, 8}));
        Conv2d same = new Conv2d(3, 8, new int[] {4, 4}, P1, "same", P1, 1, true);
        assertArrayEquals(new int[] {2, 8, 9, 10}, same.outputShape(new int[] {2, 3, 9, 10}));
        assertArrayEquals(new int[] {2, 8, 9, 10}, same.forward(Tensor.zeros(2, 3, 9, 10)).shape());
        assertArrayEquals(new int[] {1, 1}, same.padding);
        assertArrayEquals(new int[] {8, 5, 5}, new Conv2d(3, 8, 3, 2, 1).outputShape(new int[] {3, 9, 10}));
        ConvTranspose2d t = new ConvTranspose2d(4, 6, new int[] {3, 3}, P2, P1, P1, 2, false, P1);
        assertArrayEquals(new int[] {2, 6, 10, 12}, t.outputShape(new int[] {2, 4, 5, 6}));
        assertArrayEquals(new int[] {2, 6, 10, 12}, t.forward(Tensor.zeros(2, 4, 5, 6)).shape());
    }

    @Test
    void parametersHavePyTorchNamesShapesAndInitBounds() {
        Rng.manualSeed(7);
        Conv2d conv = new Conv2d(4, 6, new int[] {2, 3}, P1, P0, P1, 2, true);
        assertEquals(List.of("weight", "bias"), List.copyOf(conv.namedParameters().keySet()));
        assertArrayEquals(new int[] {6, 2, 2, 3}, conv.weight().shape());
        assertArrayEquals(new int[] {6}, conv.bias().shape());
        assertWithin(conv.weight(), 1 / Math.sqrt(2 * 2 * 3));
        assertWithin(conv.bias(), 1 / Math.sqrt(2 * 2 * 3));

        ConvTranspose2d t = new ConvTranspose2d(64, 32, 2, 2);
        assertEquals(List.of("weight", "bias"), List.copyOf(t.namedParameters().keySet()));
        assertArrayEquals(new int[] {32}, t.bias().shape());
        // PyTorch's fan_in for the (in, out/groups, kh, kw) layout is out/groups·kh·kw = 32·2·2
        assertWithin(t.weight(), 1 / Math.sqrt(32 * 2 * 2));
        assertWithin(t.bias(), 1 / Math.sqrt(32 * 2 * 2));

        assertNull(new Conv2d(3, 4, new int[] {3, 3}, P1, P0, P1, 1, false).bias());
        assertEquals(List.of("weight"), List.copyOf(new ConvTranspose2d(4, 6, new int[] {3, 3}, P2, P1, P1, 2, false, P1).namedParameters().keySet()));
        assertTrue(new MaxPool2d(2).namedParameters().isEmpty());
    }

    /** Every value inside U(−bound, bound), and the extremes come near the bound (so the bound is not too loose). */
    private static void assertWithin(Tensor t, double bound) {
        float[] v = t.toArray();
        double max = 0;
        for (float f : v) {
            assertTrue(Math.abs(f) <= bound + 1e-7, "value " + f + " outside ±" + bound);
            max = Math.max(max, Math.abs(f));
        }
        assertTrue(max > bound * (1 - 4.0 / v.length), "max |value| " + max + " is far below the bound " + bound);
    }

    @Test
    void reprMatchesPyTorch() {
        // the strings PyTorch 1.13 prints for the same constructor calls
        assertEquals("Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", new Conv2d(1, 32, 3, 1, 1).toString());
        assertEquals("Conv2d(4, 6, kernel_size=(2, 3), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2, bias=False)",
                new Conv2d(4, 6, new int[] {2, 3}, new int[] {2, 1}, new int[] {1, 0}, new int[] {1, 2}, 2, false).toString());
        assertEquals("Conv2d(3, 8, kernel_size=(4, 4), stride=(1, 1), padding=same)",
                new Conv2d(3, 8, new int[] {4, 4}, P1, "same", P1, 1, true).toString());
        assertEquals("Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=valid)",
                new Conv2d(3, 8, new int[] {3, 3}, P1, "valid", P1, 1, true).toString());
        assertEquals("ConvTranspose2d(64, 32, kernel_size=(2, 2), stride=(2, 2))", new ConvTranspose2d(64, 32, 2, 2).toString());
        assertEquals("ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(1, 1))", new ConvTranspose2d(4, 6, 3).toString());
        assertEquals("ConvTranspose2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1), groups=2, bias=False)",
                new ConvTranspose2d(4, 6, new int[] {3, 3}, P2, P1, P1, 2, false, P1).toString());
        assertEquals("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", new MaxPool2d(2).toString());
        assertEquals("MaxPool2d(kernel_size=3, stride=2, padding=0, dilation=1, ceil_mode=False)", new MaxPool2d(3, 2).toString());
        assertEquals("MaxPool2d(kernel_size=(2, 3), stride=(2, 3), padding=(1, 1), dilation=(1, 1), ceil_mode=True)",
                new MaxPool2d(new int[] {2, 3}, null, P1, P1, true).toString());
    }

    @Test
    void unbatchedInputGivesTheBatchedResultWithoutTheBatchDimension() {
        Rng rng = new Rng(3);
        Tensor x = Tensor.randn(rng, 3, 6, 5);
        for (Module m : List.of(new Conv2d(3, 4, 3, 2, 1), new ConvTranspose2d(3, 2, 2, 2), new MaxPool2d(2))) {
            Tensor single = m.forward(x);
            Tensor batched = m.forward(x.unsqueeze(0));
            assertArrayEquals(batched.select(0, 0).toArray(), single.toArray(), 0f, m.toString());
            assertEquals(3, single.dim());
        }
    }

    @Test
    void autogradRecordsPyTorchLabelsAndSavedTensors() {
        Tensor x = Tensor.randn(new Rng(4), 1, 1, 4, 4).requiresGrad(true);
        Tensor y = new Conv2d(1, 2, 3).forward(x);
        assertEquals("ConvolutionBackward0", y.gradFn().op());
        assertEquals(List.of("input", "weight"), List.copyOf(y.gradFn().saved().keySet()));
        Tensor z = new ConvTranspose2d(2, 1, 2, 2).forward(y);
        assertEquals("ConvolutionBackward0", z.gradFn().op());
        Tensor p = new MaxPool2d(2).forward(z);
        assertEquals("MaxPool2DWithIndicesBackward0", p.gradFn().op());
        assertEquals(List.of("self", "result1"), List.copyOf(p.gradFn().saved().keySet()));
        p.sum().backward();
        assertArrayEquals(x.shape(), x.grad().shape());
    }

    @Test
    void constructorsRejectBadHyperParametersNamingTheLayer() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 4, new int[] {3, 3}, P1, P0, P1, 2, true));
        assertTrue(e.getMessage().startsWith("Conv2d(3, 4, kernel_size=(3, 3)): in_channels must be divisible by groups"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(4, 6, new int[] {3, 3}, P1, P0, P1, 4, true));
        assertTrue(e.getMessage().contains("out_channels must be divisible by groups"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(1, 2, 0));
        assertTrue(e.getMessage().contains("kernel_size must be >= 1, got (0, 0)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(1, 2, new int[] {3, 3}, P2, "same", P1, 1, true));
        assertTrue(e.getMessage().contains("padding='same' is not supported for strided convolutions"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(1, 2, new int[] {3, 3}, P1, "full", P1, 1, true));
        assertTrue(e.getMessage().contains("invalid padding string 'full'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ConvTranspose2d(2, 2, new int[] {3, 3}, P2, P0, P2, 1, true, P1));
        assertTrue(e.getMessage().contains("output padding must be smaller than either stride or dilation"), e.getMessage());
        // output_padding >= stride is fine while it is smaller than the dilation (PyTorch's rule)
        new ConvTranspose2d(2, 2, new int[] {3, 3}, P1, P0, P1, 1, true, P2);
        e = assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(new int[] {2, 2}, null, P2, P1, false));
        assertTrue(e.getMessage().contains("pad should be at most half of kernel size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(new int[] {2}, null, P0, P1, false));
        assertTrue(e.getMessage().contains("kernel_size must be a (height, width) pair"), e.getMessage());
    }

    @Test
    void forwardRejectsBadInputsWithAHint() {
        Conv2d conv2 = new Conv2d(32, 64, 3, 1, 1);
        var e = assertThrows(IllegalArgumentException.class, () -> conv2.forward(Tensor.zeros(2, 64, 7, 7)));
        assertEquals("Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)): expected input of shape (N, 32, H, W) or (32, H, W), "
                + "got (2, 64, 7, 7): channel 1 is 64; Conv2d(64, ...) would fit", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(1, 32, 3).forward(Tensor.zeros(64, 784)));
        assertTrue(e.getMessage().contains("got (64, 784) (2-D); a 2-D input has lost its image layout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new Conv2d(1, 2, 5).forward(Tensor.zeros(1, 1, 3, 8)));
        assertTrue(e.getMessage().contains("input (1, 1, 3, 8) is too small: H_out = ⌊(3 + 0 − 1·(5 − 1) − 1)/1⌋ + 1 = -1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new ConvTranspose2d(64, 32, 2, 2).forward(Tensor.zeros(1, 32, 7, 7)));
        assertTrue(e.getMessage().startsWith("ConvTranspose2d(64, 32, kernel_size=(2, 2), stride=(2, 2)): expected input of shape (N, 64, H, W)"), e.getMessage());
        assertTrue(e.getMessage().endsWith("ConvTranspose2d(32, ...) would fit"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(2).forward(Tensor.zeros(2, 3, 1, 5)));
        assertTrue(e.getMessage().startsWith("MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False): input (2, 3, 1, 5) is too small"),
                e.getMessage());
    }
}
