package dev.deepshape.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.autograd.GradCheck;
import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Cross entropy against PyTorch 1.13. The expected values were printed by (torch 1.13.0, CPU):
 * <pre>
 * X = [[0.5, -1.25, 2.0, 0.125, -0.75], [1.5, 0.25, -0.5, -2.0, 0.875],
 *      [-0.375, 0.625, 1.125, -1.5, 2.25], [0.0, 3.0, -0.25, 0.75, -1.0]]
 * w = torch.tensor([0.5, -1.0, 2.0, 0.25])
 * for red, eps, ign, t in cases:
 *     x = torch.tensor(X, requires_grad=True)
 *     loss = torch.nn.CrossEntropyLoss(reduction=red, label_smoothing=eps, ignore_index=ign)(x, torch.tensor(t))
 *     (loss * w).sum().backward() if red == "none" else loss.backward()
 *     print(loss, x.grad)        # as "%.9g"
 * </pre>
 */
class CrossEntropyLossTest {
    static final float[] X = {
            0.5f, -1.25f, 2.0f, 0.125f, -0.75f,
            1.5f, 0.25f, -0.5f, -2.0f, 0.875f,
            -0.375f, 0.625f, 1.125f, -1.5f, 2.25f,
            0.0f, 3.0f, -0.25f, 0.75f, -1.0f};
    static final float[] NONE_WEIGHTS = {0.5f, -1.0f, 2.0f, 0.25f};

    static Stream<Arguments> torchCases() {
        return Stream.of(
                Arguments.of("mean", 0.0f, -100, new int[] {1, 0, 4, 2},
                        new float[] {2.06291604f},
                        new float[] {0.0377116129f, -0.243446708f, 0.169011727f, 0.0259187873f, 0.0108045582f, -0.124201104f, 0.0360419862f, 0.0170250274f, 0.00379879819f, 0.0673352927f, 0.0111961048f, 0.030434167f, 0.0501774512f, 0.00363484281f, -0.0954425633f, 0.0102672689f, 0.206223622f, -0.242003843f, 0.0217358079f, 0.00377711793f}),
                Arguments.of("sum", 0.1f, -100, new int[] {1, 0, 4, 2},
                        new float[] {8.36916351f},
                        new float[] {0.130846441f, -0.893786788f, 0.656046808f, 0.0836751387f, 0.0232182276f, -0.416804433f, 0.124167927f, 0.0481001027f, -0.00480480865f, 0.249341145f, 0.0247844178f, 0.101736665f, 0.180709794f, -0.00546062924f, -0.30177024f, 0.021069074f, 0.804894447f, -0.88801533f, 0.0669432282f, -0.00489152875f}),
                Arguments.of("none", 0.1f, -100, new int[] {1, 0, 4, 2},
                        new float[] {3.5039928f, 0.834276378f, 0.663395107f, 3.36749983f},
                        new float[] {0.0654232204f, -0.446893394f, 0.328023404f, 0.0418375693f, 0.0116091138f, 0.416804433f, -0.124167927f, -0.0481001027f, 0.00480480865f, -0.249341145f, 0.0495688356f, 0.20347333f, 0.361419588f, -0.0109212585f, -0.60354048f, 0.00526726851f, 0.201223612f, -0.222003832f, 0.0167358071f, -0.00122288219f}),
                Arguments.of("mean", 0.1f, -100, new int[] {1, -100, 4, 2},
                        new float[] {2.51162934f},
                        new float[] {0.0436154753f, -0.297928929f, 0.218682274f, 0.0278917123f, 0.00773940887f, 0f, 0f, 0f, 0f, 0f, 0.00826147292f, 0.0339122191f, 0.0602365993f, -0.00182020955f, -0.100590073f, 0.00702302344f, 0.268298119f, -0.2960051f, 0.0223144069f, -0.00163050985f}),
                Arguments.of("mean", 0.0f, 4, new int[] {1, 0, 4, 2},
                        new float[] {2.59025645f},
                        new float[] {0.0502821505f, -0.32459563f, 0.225348979f, 0.0345583856f, 0.0144060776f, -0.165601477f, 0.0480559841f, 0.0227000378f, 0.00506506441f, 0.0897803903f, 0f, 0f, 0f, 0f, 0f, 0.0136896921f, 0.274964839f, -0.322671801f, 0.0289810784f, 0.00503615756f}),
                Arguments.of("none", 0.0f, -100, new int[] {3, -100, 0, 1},
                        new float[] {2.26649284f, 0f, 3.10589504f, 0.192499772f},
                        new float[] {0.0754232258f, 0.0131065911f, 0.338023454f, -0.448162436f, 0.0216091163f, 0f, 0f, 0f, 0f, 0f, -1.91043115f, 0.243473336f, 0.40141961f, 0.0290787425f, 1.23645949f, 0.0102672689f, -0.043776378f, 0.00799615681f, 0.0217358079f, 0.00377711793f}));
    }

    @ParameterizedTest(name = "reduction={0} label_smoothing={1} ignore_index={2}")
    @MethodSource("torchCases")
    void matchesPyTorch(String reduction, float smoothing, int ignoreIndex, int[] target, float[] expectedLoss, float[] expectedGrad) {
        Tensor x = new Tensor(X.clone(), 4, 5).requiresGrad(true);
        Tensor loss = new CrossEntropyLoss(reduction, smoothing, ignoreIndex).forward(x, IntTensor.of(target));
        assertEquals("NllLossBackward0", loss.gradFn().op());
        assertEquals("LogSoftmaxBackward0", loss.gradFn().inputs().get(0).gradFn().op());
        if (reduction.equals("none")) Ops.sum(Ops.mul(loss, new Tensor(NONE_WEIGHTS, 4))).backward();
        else loss.backward();
        assertClose(expectedLoss, loss.toArray(), 1e-6, "loss " + reduction);
        assertClose(expectedGrad, x.grad().toArray(), 1e-6, "d logits " + reduction);
    }

    /** Compares element-wise, relative to max(1, |expected|), and prints the largest difference. */
    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]) / Math.max(1.0, Math.abs(expected[i]));
            if (d > max || Double.isNaN(d)) {
                max = d;
                at = i;
            }
        }
        System.out.printf("%s: max difference vs PyTorch %.3g%n", what, max);
        double worst = max;
        int where = at;
        assertTrue(worst <= tol, () -> what + ": element " + where + " expected " + expected[where] + " got " + actual[where]
                + " (difference " + worst + " > " + tol + ")");
    }

    @Test
    void gradCheckWithSmoothingAndIgnoredSample() {
        Tensor x = Tensor.randn(new Rng(7), 5, 6).requiresGrad(true);
        IntTensor target = IntTensor.of(2, 5, -100, 0, 3);
        for (String reduction : List.of("mean", "sum", "none")) {
            CrossEntropyLoss lossFn = new CrossEntropyLoss(reduction, 0.2f);
            GradCheck.Result r = GradCheck.check(() -> {
                Tensor l = lossFn.forward(x, target);
                return reduction.equals("none") ? Ops.sum(Ops.mul(l, new Tensor(new float[] {0.3f, -1.1f, 0.7f, 2.0f, 0.5f}, 5))) : l;
            }, List.of(x), 1e-2, 1000);
            assertTrue(r.passes(5e-3, 1e-2), reduction + ": " + r);
        }
    }

    @Test
    void everySampleIgnoredGivesNaNMeanAndZeroGradient() {
        Tensor x = new Tensor(X.clone(), 4, 5).requiresGrad(true);
        Tensor loss = new CrossEntropyLoss().forward(x, IntTensor.of(-100, -100, -100, -100));
        assertTrue(Float.isNaN(loss.item()));
        Tensor sum = new CrossEntropyLoss("sum", 0.1f).forward(x, IntTensor.of(-100, -100, -100, -100));
        assertEquals(0f, sum.item());
        sum.backward();
        for (float g : x.grad().toArray()) assertEquals(0f, g);
    }

    @Test
    void noGraphWhenNothingRequiresGrad() {
        Tensor loss = new CrossEntropyLoss().forward(new Tensor(X.clone(), 4, 5), IntTensor.of(1, 0, 4, 2));
        assertNull(loss.gradFn());
        assertEquals(2.06291604f, loss.item(), 1e-6f);
    }

    @Test
    void targetOutOfRangeNamesSampleValueAndClassCount() {
        Tensor x = new Tensor(X.clone(), 4, 5);
        var e = assertThrows(IndexOutOfBoundsException.class, () -> new CrossEntropyLoss().forward(x, IntTensor.of(1, 0, 5, 2)));
        assertTrue(e.getMessage().contains("target 5 of sample 2"), e.getMessage());
        assertTrue(e.getMessage().contains("5 classes"), e.getMessage());
        var neg = assertThrows(IndexOutOfBoundsException.class, () -> new CrossEntropyLoss().forward(x, IntTensor.of(-1, 0, 1, 2)));
        assertTrue(neg.getMessage().contains("target -1 of sample 0"), neg.getMessage());
    }

    @Test
    void shapeMismatchNamesBothShapes() {
        Tensor x = new Tensor(X.clone(), 4, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss().forward(x, IntTensor.of(1, 0, 2)));
        assertTrue(e.getMessage().contains("(4, 5)") && e.getMessage().contains("(3,)"), e.getMessage());
        var rank = assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss().forward(x.reshape(4, 5, 1), IntTensor.of(1, 0, 2, 3)));
        assertTrue(rank.getMessage().contains("(N, C)") && rank.getMessage().contains("(4, 5, 1)"), rank.getMessage());
    }

    @Test
    void constructorValidatesLikePyTorch() {
        var r = assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss("avg", 0f));
        assertTrue(r.getMessage().contains("avg is not a valid value for reduction"), r.getMessage());
        var s = assertThrows(IllegalArgumentException.class, () -> new CrossEntropyLoss("mean", 1.5f));
        assertTrue(s.getMessage().contains("label_smoothing must be between 0.0 and 1.0. Got: 1.5"), s.getMessage());
        assertEquals("CrossEntropyLoss()", new CrossEntropyLoss().toString());
        assertEquals("CrossEntropyLoss(reduction='sum', label_smoothing=0.1)", new CrossEntropyLoss("sum", 0.1f).toString());
    }

    @Test
    void correctCountsArgmaxWithFirstMaxOnTies() {
        // row 0: max at 2; row 1: tie between 0 and 3, torch.max picks 0; row 2: NaN counts as the max; row 3: max at 1
        Tensor logits = new Tensor(new float[] {
                0f, 1f, 5f, 2f,
                3f, 1f, 0f, 3f,
                0f, Float.NaN, 9f, 1f,
                -1f, -0.5f, -2f, -3f}, 4, 4);
        assertEquals(4, CrossEntropyLoss.correct(logits, IntTensor.of(2, 0, 1, 1)));
        assertEquals(1, CrossEntropyLoss.correct(logits, IntTensor.of(2, 3, 2, 0)));
        // X argmaxes per row: 2, 0, 4, 1
        assertEquals(3, CrossEntropyLoss.correct(new Tensor(X.clone(), 4, 5), IntTensor.of(2, 0, 0, 1)));
    }
}
