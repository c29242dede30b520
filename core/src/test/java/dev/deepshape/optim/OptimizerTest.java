package dev.deepshape.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Adam and SGD against PyTorch 1.13: three steps on a (2, 3) parameter with fixed gradients. The expected values were
 * printed by (torch 1.13.0, CPU, AVX2):
 * <pre>
 * P0 = [[0.5, -1.5, 2.0], [0.25, -0.125, 1.0]]
 * G = [[[0.1, -0.2, 0.3], [-0.4, 0.5, 0.05]],
 *      [[-0.3, 0.1, 0.2], [0.6, -0.25, 0.01]],
 *      [[0.01, 0.02, -0.03], [0.04, -0.05, 0.005]]]
 * p = torch.tensor(P0, requires_grad=True)
 * opt = torch.optim.Adam([p], lr=0.1)       # or one of the configurations below
 * for g in G:
 *     p.grad = torch.tensor(g); opt.step(); print(p)                          # as "%.9g"
 * print(opt.state_dict()["state"][0])
 * </pre>
 */
class OptimizerTest {
    static final float[] P0 = {0.5f, -1.5f, 2.0f, 0.25f, -0.125f, 1.0f};
    static final float[][] G = {
            {0.1f, -0.2f, 0.3f, -0.4f, 0.5f, 0.05f},
            {-0.3f, 0.1f, 0.2f, 0.6f, -0.25f, 0.01f},
            {0.01f, 0.02f, -0.03f, 0.04f, -0.05f, 0.005f}};

    static Stream<Arguments> torchRuns() {
        return Stream.of(
                Arguments.of("Adam(p, lr=0.1)",
                        (Function<List<Tensor>, Optimizer>) p -> new Adam(p, 0.1f),
                        new float[][] {
                                {0.400000006f, -1.39999998f, 1.89999998f, 0.349999994f, -0.224999994f, 0.900000036f},
                                {0.449418992f, -1.37336624f, 1.80296481f, 0.325229824f, -0.251633704f, 0.81969595f},
                                {0.485580683f, -1.35855639f, 1.73351645f, 0.302571476f, -0.266443521f, 0.751677275f}},
                        Map.of("state.0.step", new float[] {3f},
                                "state.0.exp_avg", new float[] {-0.0179000013f, -0.00520000048f, 0.0393000022f, 0.0255999994f, 0.0129999975f, 0.00545000052f},
                                "state.0.exp_avg_sq", new float[] {9.99900221e-05f, 5.03100418e-05f, 0.000130680113f, 0.000520920206f, 0.000314437755f, 2.61990272e-06f})),
                Arguments.of("Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True)",
                        (Function<List<Tensor>, Optimizer>) p -> new Adam(p, 0.05f, 0.8f, 0.99f, 1e-6f, 0.01f, true),
                        new float[][] {
                                {0.450000465f, -1.45000029f, 1.95000017f, 0.299999893f, -0.174999908f, 0.950000823f},
                                {0.476442754f, -1.43528736f, 1.90181971f, 0.284513444f, -0.185369179f, 0.907885909f},
                                {0.493843883f, -1.4255451f, 1.86808479f, 0.271249592f, -0.189554468f, 0.870352805f}},
                        Map.of("state.0.step", new float[] {3f},
                                "state.0.exp_avg", new float[] {-0.0308871157f, -0.012710575f, 0.0738836378f, 0.0541690364f, 0.0131892636f, 0.0136157749f},
                                "state.0.exp_avg_sq", new float[] {0.000974706491f, 0.000525741605f, 0.00148181291f, 0.0051667057f, 0.00309234485f, 4.10302237e-05f},
                                "state.0.max_exp_avg_sq", new float[] {0.000982350088f, 0.000530730002f, 0.00149556261f, 0.00520035252f, 0.00309642102f, 4.10302237e-05f})),
                Arguments.of("SGD(p, lr=0.1)",
                        (Function<List<Tensor>, Optimizer>) p -> new SGD(p, 0.1f),
                        new float[][] {
                                {0.49000001f, -1.48000002f, 1.97000003f, 0.289999992f, -0.174999997f, 0.995000005f},
                                {0.520000041f, -1.49000001f, 1.95000005f, 0.229999989f, -0.149999991f, 0.994000018f},
                                {0.519000053f, -1.49199998f, 1.95300007f, 0.225999996f, -0.144999996f, 0.993499994f}},
                        Map.of()),
                Arguments.of("SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)",
                        (Function<List<Tensor>, Optimizer>) p -> new SGD(p, 0.1f, 0.9f, 0.1f, 0.01f, false),
                        new float[][] {
                                {0.489499986f, -1.47850001f, 1.96800005f, 0.28975001f, -0.174875006f, 0.994000018f},
                                {0.50660944f, -1.46681941f, 1.91942883f, 0.271264225f, -0.197105125f, 0.986805439f},
                                {0.520651996f, -1.45678663f, 1.87668729f, 0.250782877f, -0.212434828f, 0.978992164f}},
                        Map.of("state.0.momentum_buffer", new float[] {-0.140425563f, -0.100327216f, 0.427415669f, 0.204813346f, 0.153297067f, 0.0781326517f})),
                Arguments.of("SGD(p, lr=0.05, momentum=0.9, weight_decay=0.001, nesterov=True)",
                        (Function<List<Tensor>, Optimizer>) p -> new SGD(p, 0.05f, 0.9f, 0f, 0.001f, true),
                        new float[][] {
                                {0.490452498f, -1.48085749f, 1.97131002f, 0.287976265f, -0.172488123f, 0.995154977f},
                                {0.514835656f, -1.48205602f, 1.9398917f, 0.247138783f, -0.168966666f, 0.992044926f},
                                {0.522303641f, -1.48046052f, 1.92336965f, 0.233574525f, -0.172289073f, 0.989171445f}},
                        Map.of("state.0.momentum_buffer", new float[] {-0.177638769f, -0.056029819f, 0.398334086f, 0.256708831f, 0.129574507f, 0.0571976788f})));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("torchRuns")
    void threeStepsMatchPyTorch(String name, Function<List<Tensor>, Optimizer> make, float[][] expected, Map<String, float[]> expectedState) {
        Tensor p = new Tensor(P0.clone(), 2, 3).requiresGrad(true);
        Tensor untouched = new Tensor(new float[] {7f, 8f}, 2).requiresGrad(true); // grad stays null: skipped, as PyTorch
        Optimizer opt = make.apply(List.of(p, untouched));
        for (int s = 0; s < 3; s++) {
            p.setGrad(new Tensor(G[s].clone(), 2, 3));
            opt.step();
            assertClose(expected[s], p.toArray(), 1e-6, name + " step " + (s + 1));
        }
        assertArrayEquals(new float[] {7f, 8f}, untouched.toArray());
        Map<String, Tensor> state = opt.stateTensors();
        assertEquals(expectedState.keySet(), state.keySet(), name + ": state keys");
        for (var e : expectedState.entrySet()) assertClose(e.getValue(), state.get(e.getKey()).toArray(), 1e-6, name + " " + e.getKey());
        opt.zeroGrad();
        assertNull(p.grad());
    }

    /** Compares element-wise, relative to max(1, |expected|), and prints the largest difference. */
    static void assertClose(float[] expected, float[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        int at = 0;
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

    static Stream<Arguments> optimizers() {
        return Stream.of(
                Arguments.of("Adam amsgrad", (Function<List<Tensor>, Optimizer>) p -> new Adam(p, 0.05f, 0.8f, 0.99f, 1e-6f, 0.01f, true)),
                Arguments.of("Adam", (Function<List<Tensor>, Optimizer>) p -> new Adam(p, 0.1f)),
                Arguments.of("SGD nesterov", (Function<List<Tensor>, Optimizer>) p -> new SGD(p, 0.05f, 0.9f, 0f, 0.001f, true)));
    }

    /** Two steps, save, load into a fresh optimizer over a copy of the parameter: the third step is bit-identical. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("optimizers")
    void stateRoundTripContinuesIdentically(String name, Function<List<Tensor>, Optimizer> make) {
        Tensor p = new Tensor(P0.clone(), 2, 3).requiresGrad(true);
        Optimizer opt = make.apply(List.of(p));
        for (int s = 0; s < 2; s++) {
            p.setGrad(new Tensor(G[s].clone(), 2, 3));
            opt.step();
        }
        Map<String, Tensor> saved = opt.stateTensors();
        Map<String, float[]> savedValues = new HashMap<>();
        saved.forEach((k, v) -> savedValues.put(k, v.toArray()));
        Tensor q = new Tensor(p.toArray(), 2, 3).requiresGrad(true);
        Optimizer resumed = make.apply(List.of(q));
        resumed.loadStateTensors(saved);
        p.setGrad(new Tensor(G[2].clone(), 2, 3));
        q.setGrad(new Tensor(G[2].clone(), 2, 3));
        opt.step();
        resumed.step();
        assertArrayEquals(p.toArray(), q.toArray(), name + ": resumed step differs");
        // the saved map is a snapshot: stepping did not change it
        assertEquals(saved.keySet(), resumed.stateTensors().keySet());
        saved.forEach((k, v) -> assertArrayEquals(savedValues.get(k), v.toArray(), name + ": " + k + " changed after saving"));
        opt.stateTensors().forEach((k, v) -> assertArrayEquals(v.toArray(), resumed.stateTensors().get(k).toArray(), name + ": " + k));
    }

    @Test
    void loadRejectsMissingMisShapedAndUnexpectedEntriesAndChangesNothing() {
        Tensor p = new Tensor(P0.clone(), 2, 3).requiresGrad(true);
        Adam adam = new Adam(List.of(p), 0.1f, 0.9f, 0.999f, 1e-8f, 0f, true);
        p.setGrad(new Tensor(G[0].clone(), 2, 3));
        adam.step();
        Map<String, Tensor> good = adam.stateTensors();

        Map<String, Tensor> missing = new HashMap<>(good);
        missing.remove("state.0.max_exp_avg_sq");
        var e1 = assertThrows(IllegalArgumentException.class, () -> adam.loadStateTensors(missing));
        assertTrue(e1.getMessage().contains("missing key state.0.max_exp_avg_sq"), e1.getMessage());

        Map<String, Tensor> misShaped = new HashMap<>(good);
        misShaped.put("state.0.exp_avg", Tensor.zeros(3, 2));
        var e2 = assertThrows(IllegalArgumentException.class, () -> adam.loadStateTensors(misShaped));
        assertTrue(e2.getMessage().contains("size mismatch for state.0.exp_avg") && e2.getMessage().contains("(3, 2)")
                && e2.getMessage().contains("(2, 3)"), e2.getMessage());

        Map<String, Tensor> unexpected = new HashMap<>(good);
        unexpected.put("state.1.exp_avg", Tensor.zeros(2, 3));
        unexpected.put("state.0.momentum_buffer", Tensor.zeros(2, 3));
        var e3 = assertThrows(IllegalArgumentException.class, () -> adam.loadStateTensors(unexpected));
        assertTrue(e3.getMessage().contains("state.0.momentum_buffer") && e3.getMessage().contains("state.1.exp_avg"), e3.getMessage());

        Map<String, Tensor> noStep = new HashMap<>(good);
        noStep.remove("state.0.step");
        var e4 = assertThrows(IllegalArgumentException.class, () -> adam.loadStateTensors(noStep));
        assertTrue(e4.getMessage().contains("missing key state.0.step"), e4.getMessage());

        // none of the failed loads changed the state
        assertArrayEquals(good.get("state.0.exp_avg").toArray(), adam.stateTensors().get("state.0.exp_avg").toArray());
        assertEquals(1f, adam.stateTensors().get("state.0.step").item());

        SGD plain = new SGD(List.of(p), 0.1f);
        var e5 = assertThrows(IllegalArgumentException.class, () -> plain.loadStateTensors(Map.of("state.0.momentum_buffer", Tensor.zeros(2, 3))));
        assertTrue(e5.getMessage().contains("momentum=0"), e5.getMessage());
    }

    @Test
    void hyperParametersAreValidatedWithPyTorchsMessages() {
        List<Tensor> p = List.of(Tensor.zeros(2).requiresGrad(true));
        assertMessage("Invalid learning rate: -1.0", () -> new Adam(p, -1f));
        assertMessage("Invalid epsilon value: -1e-08", () -> new Adam(p, 1e-3f, 0.9f, 0.999f, -1e-8f, 0f, false));
        assertMessage("Invalid beta parameter at index 0: 1.0", () -> new Adam(p, 1e-3f, 1f, 0.999f, 1e-8f, 0f, false));
        assertMessage("Invalid beta parameter at index 1: -0.5", () -> new Adam(p, 1e-3f, 0.9f, -0.5f, 1e-8f, 0f, false));
        assertMessage("Invalid weight_decay value: -0.01", () -> new Adam(p, 1e-3f, 0.9f, 0.999f, 1e-8f, -0.01f, false));
        assertMessage("Invalid learning rate: -0.1", () -> new SGD(p, -0.1f));
        assertMessage("Invalid momentum value: -0.9", () -> new SGD(p, 0.1f, -0.9f, 0f, 0f, false));
        assertMessage("Invalid weight_decay value: -1.0", () -> new SGD(p, 0.1f, 0f, 0f, -1f, false));
        assertMessage("Nesterov momentum requires a momentum and zero dampening", () -> new SGD(p, 0.1f, 0f, 0f, 0f, true));
        assertMessage("Nesterov momentum requires a momentum and zero dampening", () -> new SGD(p, 0.1f, 0.9f, 0.1f, 0f, true));
        assertMessage("empty parameter list", () -> new SGD(List.of(), 0.1f));
        Tensor leaf = Tensor.zeros(2).requiresGrad(true);
        assertMessage("can't optimize a non-leaf Tensor", () -> new SGD(List.of(leaf.mul(2f)), 0.1f));
        Adam adam = new Adam(p, 1e-3f);
        assertMessage("Invalid learning rate: -2.0", () -> adam.setLr(-2f));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), () -> "expected \"" + expected + "\" in: " + e.getMessage());
    }

    @Test
    void hyperParametersAndReprUsePyTorchsNamesAndDecimalValues() {
        List<Tensor> p = List.of(Tensor.zeros(2).requiresGrad(true));
        Adam adam = new Adam(p, 1e-3f);
        // NOTE: 0.9f is held as the double 0.9 (what PyTorch's Python literal is), not 0.89999997615814
        assertEquals(Map.of("lr", 0.001, "betas", List.of(0.9, 0.999), "eps", 1e-8, "weight_decay", 0.0, "amsgrad", false), adam.hyperParameters());
        assertEquals("Adam(lr=0.001)", adam.toString());
        assertEquals("Adam(lr=0.05, betas=(0.8, 0.99), eps=1e-06, weight_decay=0.01, amsgrad=True)",
                new Adam(p, 0.05f, 0.8f, 0.99f, 1e-6f, 0.01f, true).toString());
        SGD sgd = new SGD(p, 0.1f, 0.9f, 0f, 0f, true);
        assertEquals(Map.of("lr", 0.1, "momentum", 0.9, "dampening", 0.0, "weight_decay", 0.0, "nesterov", true), sgd.hyperParameters());
        assertEquals("SGD(lr=0.1, momentum=0.9, nesterov=True)", sgd.toString());
        sgd.setLr(0.05f);
        assertEquals(0.05f, sgd.lr());
        assertEquals(0.05, sgd.hyperParameters().get("lr"));
        assertEquals("1e-08", Optimizer.pyRepr(1e-8f));
        assertEquals("12345.0", Optimizer.pyRepr(12345f));
        assertEquals("0.0001", Optimizer.pyRepr(1e-4f));
        assertEquals("1e+20", Optimizer.pyRepr(1e20f));
    }

    @Test
    void setLrTakesEffectOnTheNextStep() {
        Tensor p = new Tensor(new float[] {1f}, 1).requiresGrad(true);
        SGD sgd = new SGD(List.of(p), 0.5f);
        p.setGrad(new Tensor(new float[] {1f}, 1));
        sgd.step();
        assertEquals(0.5f, p.item());
        sgd.setLr(0.25f);
        sgd.step();
        assertEquals(0.25f, p.item());
    }

    @Test
    void gradientOfTheWrongSizeIsReported() {
        Tensor p = Tensor.zeros(2, 3).requiresGrad(true);
        Adam adam = new Adam(List.of(p), 0.1f);
        p.setGrad(Tensor.zeros(3));
        var e = assertThrows(IllegalStateException.class, adam::step);
        assertTrue(e.getMessage().contains("(2, 3)") && e.getMessage().contains("(3,)"), e.getMessage());
    }

    /**
     * The scalars Adam hands its kernel (and a device that keeps the moments itself, CudaEngine) are formed from the
     * learning rate and betas as Python holds them (1e-3, not the float nearest it), and step() uses exactly them.
     */
    @Test
    void adamScalarsArePythonsAndTheStepUsesThem() {
        Tensor w = Tensor.of(new float[] {0.5f, -1.25f, 2f}, 3).requiresGrad(true);
        Adam adam = new Adam(List.of(w), 1e-3f);
        Adam.Scalars s1 = adam.scalars(1);
        assertEquals((float) -(0.001 / (1 - Math.pow(0.9, 1))), s1.negStepSize());
        assertEquals((float) Math.sqrt(1 - Math.pow(0.999, 1)), s1.bc2Sqrt());
        adam.setLr(3e-4f);
        assertEquals((float) -(0.0003 / (1 - Math.pow(0.9, 7))), adam.scalars(7).negStepSize());
        adam.setLr(1e-3f);

        float[] g = {0.1f, -3f, 1e-9f};
        w.setGrad(Tensor.of(g.clone(), 3));
        float[] p = w.toArray(), m = new float[3], v = new float[3];
        dev.deepshape.backend.AdamKernels.adamUpdate(p, g, m, v, null, 3, s1.negStepSize(), s1.bc2Sqrt(), s1.beta1(),
                s1.oneMinusBeta1(), s1.beta2(), s1.oneMinusBeta2(), s1.eps(), s1.weightDecay());
        adam.step();
        assertArrayEquals(p, w.toArray(), "step() is the kernel with these scalars");
    }
}
