package dev.deepshape.nn;

import static dev.deepshape.nn.RecurrentCellTest.assertClose;
import static dev.deepshape.nn.RecurrentCellTest.weighted;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.autograd.GradCheck;
import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Whole RNN/GRU/LSTM modules: a declarative table of configurations checked by finite differences and against the
 * same network written with plain Ops, PyTorch's parameter names and order, golden values from PyTorch, reprs and
 * error messages.
 */
class RecurrentModuleTest {
    static final int IN = 5;
    static final int H = 4;
    static final int N = 3;

    /** One row of the configuration table. {@code state}: pass h0 (and c0); {@code unbatched}: input (L, in). */
    record Config(String kind, int layers, boolean relu, boolean bias, boolean batchFirst, boolean bidirectional,
                  boolean state, boolean unbatched, int steps) {
        RecurrentBase build() {
            return switch (kind) {
                case "RNN" -> new RNN(IN, H, layers, relu ? "relu" : "tanh", bias, batchFirst, 0f, bidirectional);
                case "GRU" -> new GRU(IN, H, layers, bias, batchFirst, 0f, bidirectional);
                default -> new LSTM(IN, H, layers, bias, batchFirst, 0f, bidirectional);
            };
        }

        int[] inputShape() {
            if (unbatched) return new int[] {steps, IN};
            return batchFirst ? new int[] {N, steps, IN} : new int[] {steps, N, IN};
        }

        int[] stateShape(RecurrentBase m) {
            int ld = layers * m.directions();
            return unbatched ? new int[] {ld, H} : new int[] {ld, N, H};
        }

        @Override public String toString() {
            return build() + (relu ? " relu" : "") + (state ? " with state" : "") + (unbatched ? " unbatched" : "") + " L=" + steps;
        }
    }

    static Stream<Arguments> configs() {
        return Stream.of(
                new Config("RNN", 1, false, true, true, false, false, false, 3),
                new Config("RNN", 2, true, true, false, false, true, false, 4),
                new Config("RNN", 2, false, false, true, true, false, false, 3),
                new Config("RNN", 1, false, true, false, false, true, true, 3),
                new Config("GRU", 1, false, true, true, false, true, false, 4),
                new Config("GRU", 2, false, true, false, true, false, false, 3),
                new Config("GRU", 1, false, false, false, true, true, false, 3),
                new Config("GRU", 2, false, true, true, false, true, true, 4),
                new Config("LSTM", 1, false, true, true, false, true, false, 4),
                new Config("LSTM", 2, false, false, false, true, false, false, 3),
                new Config("LSTM", 2, false, true, true, true, true, false, 3),
                new Config("LSTM", 1, false, true, false, true, true, true, 3)
        ).map(Arguments::of);
    }

    /** Builds a module with seeded parameters, an input and (per config) h0/c0; all are leaves that require grad. */
    record Setup(RecurrentBase module, Tensor x, Tensor h0, Tensor c0) {
        RecurrentOutput run() {
            return module instanceof LSTM l ? l.forward(x, h0, c0)
                    : module instanceof GRU g ? g.forward(x, h0) : ((RNN) module).forward(x, h0);
        }

        /** Every output counts: a weighted sum of the output sequence, h_n and c_n. */
        Tensor loss() {
            RecurrentOutput o = run();
            Tensor s = Ops.add(weighted(o.output()), weighted(Ops.mulScalar(o.hN(), 0.5f)));
            return o.cN() == null ? s : Ops.add(s, weighted(Ops.mulScalar(o.cN(), 0.3f)));
        }

        List<Tensor> leaves() {
            List<Tensor> l = new ArrayList<>(module.parameters());
            l.add(x);
            if (h0 != null) l.add(h0);
            if (c0 != null) l.add(c0);
            return l;
        }
    }

    static Setup setup(Config c, long seed) {
        Rng.manualSeed(seed);
        RecurrentBase m = c.build();
        Rng rng = new Rng(seed + 1);
        Tensor x = Tensor.randn(rng, c.inputShape()).requiresGrad(true);
        Tensor h0 = c.state ? Tensor.randn(rng, c.stateShape(m)).mul(0.5f).detach().requiresGrad(true) : null;
        Tensor c0 = c.state && c.kind.equals("LSTM") ? Tensor.randn(rng, c.stateShape(m)).detach().requiresGrad(true) : null;
        return new Setup(m, x, h0, c0);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void modulePassesGradCheck(Config c) {
        Setup s = setup(c, 21);
        // relu's kink makes finite differences unreliable near 0; a smaller step keeps them on one side
        double eps = c.relu ? 1e-3 : 1e-2;
        GradCheck.Result r = GradCheck.check(s::loss, s.leaves(), eps, 40);
        assertTrue(r.passes(5e-3, 1e-2), c + ": " + r);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void shapesFollowPyTorch(Config c) {
        Setup s = setup(c, 22);
        RecurrentOutput o = s.run();
        assertArrayEquals(s.module.outputShape(c.inputShape()), o.output().shape());
        int[] expected = c.inputShape().clone();
        expected[expected.length - 1] = H * s.module.directions();
        assertArrayEquals(expected, o.output().shape());
        assertArrayEquals(c.stateShape(s.module), o.hN().shape());
        assertArrayEquals(s.module.stateShape(c.inputShape()), o.hN().shape());
        if (c.kind.equals("LSTM")) assertArrayEquals(c.stateShape(s.module), o.cN().shape());
        else assertNull(o.cN());
        if (!c.state) assertArrayEquals(o.output().toArray(), s.module.forward(s.x).toArray(), 0f, "forward(x) is the output sequence");
    }

    // ---------------------------------------------------------------- against the plain composition of Ops

    /**
     * The network written the obvious way: per time step, the input projection with {@code Ops.linear} and the
     * readable cell of {@link RecurrentCellTest}; batched input only.
     */
    static RecurrentOutput reference(RecurrentBase m, boolean relu, Tensor x, Tensor h0, Tensor c0) {
        Map<String, Tensor> p = m.localParameters();
        int td = m.batchFirst ? 1 : 0;
        int steps = x.size(td), n = x.size(1 - td);
        Tensor input = x;
        List<Tensor> hs = new ArrayList<>(), cs = new ArrayList<>();
        for (int layer = 0; layer < m.numLayers; layer++) {
            List<Tensor> dirs = new ArrayList<>();
            for (int dir = 0; dir < m.directions(); dir++) {
                String sfx = layer + (dir == 1 ? "_reverse" : "");
                int index = layer * m.directions() + dir;
                Tensor h = h0 != null ? Ops.select(h0, 0, index) : Tensor.zeros(n, m.hiddenSize);
                Tensor c = c0 != null ? Ops.select(c0, 0, index) : Tensor.zeros(n, m.hiddenSize);
                Tensor[] outs = new Tensor[steps];
                for (int s = 0; s < steps; s++) {
                    int t = dir == 0 ? s : steps - 1 - s;
                    Tensor gx = Ops.linear(Ops.select(input, td, t), p.get("weight_ih_l" + sfx), p.get("bias_ih_l" + sfx));
                    Tensor whh = p.get("weight_hh_l" + sfx), bhh = p.get("bias_hh_l" + sfx);
                    if (m instanceof LSTM) {
                        Tensor hc = RecurrentCellTest.lstmReference(gx, h, c, whh, bhh);
                        h = Ops.narrow(hc, 1, 0, m.hiddenSize);
                        c = Ops.narrow(hc, 1, m.hiddenSize, m.hiddenSize);
                    } else if (m instanceof GRU) {
                        h = RecurrentCellTest.gruReference(gx, h, whh, bhh);
                    } else {
                        h = RecurrentCellTest.rnnReference(gx, h, whh, bhh, relu);
                    }
                    outs[t] = h;
                }
                dirs.add(Ops.stack(List.of(outs), td));
                hs.add(h);
                cs.add(c);
            }
            input = Ops.cat(dirs, 2);
        }
        return new RecurrentOutput(input, Ops.stack(hs, 0), m instanceof LSTM ? Ops.stack(cs, 0) : null);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void moduleEqualsOpsComposition(Config c) {
        if (c.unbatched) return; // covered by unbatchedEqualsBatchOfOne
        Setup s = setup(c, 23);
        List<Tensor> leaves = s.leaves();
        RecurrentOutput fused = s.run();
        Tensor fusedLoss = s.loss();
        fusedLoss.backward();
        List<float[]> fusedGrads = leaves.stream().map(t -> t.grad().toArray()).toList();
        leaves.forEach(Tensor::zeroGrad);
        RecurrentOutput ref = reference(s.module, c.relu, s.x, s.h0, s.c0);
        Tensor refLoss = Ops.add(weighted(ref.output()), weighted(Ops.mulScalar(ref.hN(), 0.5f)));
        if (ref.cN() != null) refLoss = Ops.add(refLoss, weighted(Ops.mulScalar(ref.cN(), 0.3f)));
        refLoss.backward();
        assertClose(c + " output", ref.output().toArray(), fused.output().toArray(), 1e-5f);
        assertClose(c + " h_n", ref.hN().toArray(), fused.hN().toArray(), 1e-5f);
        if (ref.cN() != null) assertClose(c + " c_n", ref.cN().toArray(), fused.cN().toArray(), 1e-5f);
        for (int k = 0; k < leaves.size(); k++) {
            assertClose(c + " gradient of leaf " + k, leaves.get(k).grad().toArray(), fusedGrads.get(k), 1e-4f);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void unbatchedEqualsBatchOfOne(Config c) {
        if (!c.unbatched) return;
        Setup s = setup(c, 24);
        RecurrentOutput single = s.run();
        int batchDim = c.batchFirst ? 0 : 1;
        Tensor h0 = s.h0 == null ? null : s.h0.unsqueeze(1);
        Tensor c0 = s.c0 == null ? null : s.c0.unsqueeze(1);
        RecurrentOutput batch = new Setup(s.module, s.x.unsqueeze(batchDim), h0, c0).run();
        assertArrayEquals(batch.output().squeeze(batchDim).toArray(), single.output().toArray(), 0f);
        assertArrayEquals(batch.hN().squeeze(1).toArray(), single.hN().toArray(), 0f);
    }

    // ---------------------------------------------------------------- golden values from PyTorch 1.13

    /*
     * Generated with /usr/bin/python3 (torch 1.13.1); parameters filled in named_parameters() order p with
     * 0.5·sin(1.3·i + 0.7·p + 0.1), inputs seq(shape, a, b)[i] = sin(a·i + b):
     *
     *   lstm = torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True); fill(lstm)
     *   out, (h, c) = lstm(seq((2, 3, 5), 0.9, 0.2), (seq((4, 2, 4), 0.5, 1.0), seq((4, 2, 4), 0.3, -0.5)))
     *   gru = torch.nn.GRU(5, 4, num_layers=2, bidirectional=True); fill(gru)
     *   out, h = gru(seq((3, 2, 5), 0.9, 0.2), seq((4, 2, 4), 0.5, 1.0))
     *   rnn = torch.nn.RNN(5, 4, num_layers=2, bidirectional=True, bias=False); fill(rnn)
     *   out, h = rnn(seq((3, 2, 5), 0.9, 0.2))
     */
    static void fill(Module m) {
        int p = 0;
        for (Tensor t : m.parameters()) {
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) d[i] = (float) (0.5 * Math.sin(1.3 * i + 0.7 * p + 0.1));
            p++;
        }
    }

    static Tensor seq(double a, double b, int... shape) {
        float[] d = new float[dev.deepshape.tensor.Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) Math.sin(a * i + b);
        return new Tensor(d, shape);
    }

    @Test
    void lstmMatchesPyTorch() {
        LSTM lstm = new LSTM(5, 4, 2, true, true, 0f, true);
        fill(lstm);
        RecurrentOutput o = lstm.forward(seq(0.9, 0.2, 2, 3, 5), seq(0.5, 1.0, 4, 2, 4), seq(0.3, -0.5, 4, 2, 4));
        assertClose("output", new float[] {-0.265967f, -0.120055f, -0.164187f, -0.066946f, 0.313265f, -0.040383f, -0.340440f, -0.077704f, -0.260856f, -0.053563f, 0.016718f, -0.036844f, 0.283978f, 0.056664f, -0.245645f, -0.063441f, -0.275099f, 0.060119f, 0.141021f, 0.016559f, 0.202981f, 0.188098f, 0.014210f, 0.027306f, -0.121651f, 0.076925f, 0.162948f, -0.131130f, 0.350180f, -0.077591f, -0.336556f, -0.113148f, -0.203402f, 0.065440f, 0.232497f, -0.003760f, 0.382331f, 0.001978f, -0.298748f, -0.102171f, -0.230900f, 0.095010f, 0.287884f, 0.032812f, 0.407616f, 0.081784f, -0.212206f, -0.024694f},
                o.output().toArray(), 2e-6f);
        assertClose("h_n", new float[] {-0.049480f, 0.232941f, 0.229626f, 0.070573f, -0.143129f, 0.336041f, 0.173349f, 0.017426f, 0.180507f, -0.041851f, -0.248879f, 0.278986f, 0.066545f, -0.118179f, -0.296963f, -0.074802f, -0.275099f, 0.060119f, 0.141021f, 0.016559f, -0.230900f, 0.095010f, 0.287884f, 0.032812f, 0.313265f, -0.040383f, -0.340440f, -0.077704f, 0.350180f, -0.077591f, -0.336556f, -0.113148f},
                o.hN().toArray(), 2e-6f);
        assertClose("c_n", new float[] {-0.112905f, 0.380991f, 0.292657f, 0.100479f, -0.266611f, 0.474569f, 0.198862f, 0.021177f, 0.211034f, -0.051206f, -0.460983f, 0.618429f, 0.083026f, -0.149350f, -0.534899f, -0.133702f, -1.035492f, 0.187205f, 0.223153f, 0.022510f, -0.786899f, 0.263909f, 0.491813f, 0.047683f, 0.527176f, -0.054393f, -0.742611f, -0.401256f, 0.571470f, -0.101315f, -0.802859f, -0.615935f},
                o.cN().toArray(), 2e-6f);
    }

    @Test
    void gruMatchesPyTorch() {
        GRU gru = new GRU(5, 4, 2, true, false, 0f, true);
        fill(gru);
        RecurrentOutput o = gru.forward(seq(0.9, 0.2, 3, 2, 5), seq(0.5, 1.0, 4, 2, 4));
        assertClose("output", new float[] {-0.004463f, -0.071903f, -0.038357f, 0.250767f, 0.512633f, 0.129222f, -0.546720f, -0.119517f, -0.911783f, 0.044129f, 0.051952f, -0.351615f, 0.849480f, -0.481754f, -0.869193f, -0.494802f, -0.343976f, 0.179094f, 0.109266f, 0.076555f, 0.541331f, -0.098614f, -0.320479f, 0.074731f, -0.811294f, 0.181199f, 0.153680f, -0.183760f, 0.724457f, -0.363745f, -0.778180f, -0.662833f, -0.528116f, 0.276334f, 0.159579f, 0.112047f, 0.458466f, 0.225895f, 0.095065f, 0.301655f, -0.690893f, 0.216046f, 0.193026f, 0.020664f, 0.654581f, -0.122497f, -0.645650f, -0.709927f},
                o.output().toArray(), 2e-6f);
        assertClose("h_n", new float[] {-0.416928f, 0.064690f, -0.045544f, -0.459297f, -0.177716f, 0.289333f, 0.536514f, 0.282386f, 0.440388f, -0.108212f, -0.409440f, 0.094711f, 0.325747f, -0.262443f, -0.446920f, 0.284444f, -0.528116f, 0.276334f, 0.159579f, 0.112047f, -0.690893f, 0.216046f, 0.193026f, 0.020664f, 0.512633f, 0.129222f, -0.546720f, -0.119517f, 0.849480f, -0.481754f, -0.869193f, -0.494802f},
                o.hN().toArray(), 2e-6f);
    }

    @Test
    void rnnMatchesPyTorch() {
        RNN rnn = new RNN(5, 4, 2, "tanh", false, false, 0f, true);
        fill(rnn);
        RecurrentOutput o = rnn.forward(seq(0.9, 0.2, 3, 2, 5), null);
        assertClose("output", new float[] {-0.109239f, 0.153446f, -0.063768f, -0.082834f, 0.065994f, 0.048124f, -0.018930f, -0.322874f, 0.307942f, -0.331230f, 0.067818f, 0.261766f, 0.298016f, 0.145846f, -0.341726f, 0.241148f, -0.165282f, 0.194488f, -0.168134f, 0.065071f, -0.346936f, 0.023591f, 0.141143f, -0.156650f, 0.066464f, 0.162032f, 0.119753f, -0.374115f, 0.096254f, -0.107125f, 0.191205f, 0.042124f, 0.234185f, -0.135032f, -0.141845f, 0.279573f, -0.000483f, 0.215390f, -0.240234f, 0.056032f, -0.363040f, -0.157355f, 0.318079f, 0.139257f, 0.108711f, -0.164063f, 0.076461f, 0.079438f},
                o.output().toArray(), 2e-6f);
        assertClose("h_n", new float[] {-0.080060f, -0.264650f, -0.465119f, -0.614287f, -0.790110f, -0.680277f, -0.677743f, -0.751894f, -0.420638f, -0.373380f, -0.420634f, -0.614561f, -0.624386f, -0.518414f, -0.430174f, -0.257971f, 0.234185f, -0.135032f, -0.141845f, 0.279573f, -0.363040f, -0.157355f, 0.318079f, 0.139257f, 0.065994f, 0.048124f, -0.018930f, -0.322874f, 0.298016f, 0.145846f, -0.341726f, 0.241148f},
                o.hN().toArray(), 2e-6f);
    }

    // ---------------------------------------------------------------- parameters, init, repr

    @Test
    void parameterNamesShapesAndOrderMatchPyTorch() {
        // printed by: torch.nn.LSTM(64, 32, num_layers=2, bidirectional=True).state_dict()
        List<String> keys = List.of("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
                "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
                "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse");
        List<int[]> shapes = List.of(new int[] {128, 64}, new int[] {128, 32}, new int[] {128}, new int[] {128},
                new int[] {128, 64}, new int[] {128, 32}, new int[] {128}, new int[] {128},
                new int[] {128, 64}, new int[] {128, 32}, new int[] {128}, new int[] {128},
                new int[] {128, 64}, new int[] {128, 32}, new int[] {128}, new int[] {128});
        Map<String, Tensor> state = new LSTM(64, 32, 2, true, false, 0f, true).stateDict();
        assertEquals(keys, List.copyOf(state.keySet()));
        for (int i = 0; i < keys.size(); i++) assertArrayEquals(shapes.get(i), state.get(keys.get(i)).shape(), keys.get(i));
        assertEquals(List.of("weight_ih_l0", "weight_hh_l0"), List.copyOf(new GRU(3, 2, 1, false, false, 0f, false).stateDict().keySet()));
    }

    @Test
    void referenceModelParameterCounts() {
        assertEquals(819_456, new RNN(6272, 128, true).parameterCount());
        assertEquals(37_248, new GRU(128, 64, true).parameterCount());
        assertEquals(12_544, new LSTM(64, 32, true).parameterCount());
    }

    @Test
    void initIsUniformOneOverSqrtHiddenInRegistrationOrder() {
        Rng.manualSeed(5);
        GRU gru = new GRU(7, 9, 2, true, false, 0f, true);
        Rng.manualSeed(5);
        float bound = (float) (1 / Math.sqrt(9));
        for (var e : gru.namedParameters().entrySet()) {
            Tensor expected = Init.uniformFan(Rng.global(), 9, e.getValue().shape());
            assertArrayEquals(expected.toArray(), e.getValue().toArray(), 0f, e.getKey());
            for (float v : e.getValue().toArray()) assertTrue(Math.abs(v) <= bound, e.getKey() + " value " + v);
        }
    }

    @Test
    void reprShowsNonDefaultArgumentsAsPyTorch() {
        assertEquals("RNN(6272, 128, batch_first=True)", new RNN(6272, 128, true).toString());
        assertEquals("LSTM(64, 32, num_layers=2, bidirectional=True)", new LSTM(64, 32, 2, true, false, 0f, true).toString());
        assertEquals("GRU(5, 4, num_layers=3, bias=False, dropout=0.5)", new GRU(5, 4, 3, false, false, 0.5f, false).toString());
        assertEquals("RNN(3, 4)", new RNN(3, 4, 1, "relu", true, false, 0f, false).toString()); // PyTorch omits nonlinearity too
        assertEquals("GRU(128, 64)", new GRU(128, 64).toString());
    }

    // ---------------------------------------------------------------- dropout and containers

    @Test
    void dropoutActsBetweenLayersInTrainingOnly() {
        Rng.manualSeed(8);
        GRU withDropout = new GRU(IN, H, 2, true, true, 0.5f, false);
        Rng.manualSeed(8);
        GRU without = new GRU(IN, H, 2, true, true, 0f, false);
        Tensor x = Tensor.randn(new Rng(9), N, 3, IN);
        withDropout.eval();
        assertArrayEquals(without.forward(x).toArray(), withDropout.forward(x).toArray(), 0f, "eval: dropout is off");
        withDropout.train(true);
        float[] a = withDropout.forward(x).toArray();
        float[] b = without.forward(x).toArray();
        boolean differs = false;
        for (int i = 0; i < a.length; i++) differs |= a[i] != b[i];
        assertTrue(differs, "training: the second layer sees a dropped-out input");
        // one layer: accepted (PyTorch only warns) and without effect
        Rng.manualSeed(8);
        LSTM single = new LSTM(IN, H, 1, true, true, 0.3f, false);
        Rng.manualSeed(8);
        LSTM plain = new LSTM(IN, H, 1, true, true, 0f, false);
        assertArrayEquals(plain.forward(x).toArray(), single.forward(x).toArray(), 0f);
    }

    @Test
    void worksInsideSequentialAsTheReferenceModelChains() {
        Sequential s = new Sequential(new RNN(12, 8, true), new GRU(8, 6, true), new LSTM(6, 4, true));
        Tensor y = s.forward(Tensor.randn(new Rng(4), 5, 1, 12));
        assertArrayEquals(new int[] {5, 1, 4}, y.shape());
        assertArrayEquals(new int[] {64, 1, 128}, new RNN(6272, 128, true).outputShape(new int[] {64, 1, 6272}));
        assertArrayEquals(new int[] {7, 64, 64}, new LSTM(64, 32, 2, true, false, 0f, true).outputShape(new int[] {7, 64, 64}));
        assertArrayEquals(new int[] {2, 64, 32}, new LSTM(64, 32, 2, true, false, 0f, false).stateShape(new int[] {7, 64, 64}));
    }

    // ---------------------------------------------------------------- errors

    @Test
    void hyperParametersAreChecked() {
        assertMessage(() -> new RNN(5, 4, 1, "sigmoid", true, false, 0f, false), "RNN(5, 4)", "Unknown nonlinearity 'sigmoid'", "'tanh' or 'relu'");
        assertMessage(() -> new GRU(5, 0), "GRU(5, 0)", "hidden_size must be greater than zero");
        assertMessage(() -> new LSTM(5, 4, 0, true, false, 0f, false), "num_layers must be greater than zero");
        assertMessage(() -> new LSTM(0, 4), "input_size must be greater than zero");
        assertMessage(() -> new GRU(5, 4, 2, true, false, 1.5f, false), "dropout should be a number in range [0, 1]", "1.5");
        assertMessage(() -> new GRU(5, 4, 2, true, false, Float.NaN, false), "dropout should be a number in range [0, 1]");
    }

    @Test
    void wrongInputsAreExplained() {
        RNN rnn = new RNN(6272, 128, true);
        assertMessage(() -> rnn.forward(Tensor.zeros(64, 1, 3136)), "RNN(6272, 128, batch_first=True)", "expected input of shape (N, L, 6272)",
                "got (64, 1, 3136)", "input_size=3136 would fit", "RNN(3136, 128, batch_first=True)");
        assertMessage(() -> rnn.forward(Tensor.zeros(64, 3136)), "got (64, 3136)", "add a sequence dimension with unsqueeze(1)");
        assertMessage(() -> rnn.forward(Tensor.zeros(64, 32, 14, 14)), "got (64, 32, 14, 14)", "flatten(1) gives (64, 6272)", "unsqueeze(1)");
        assertMessage(() -> new GRU(8, 4).forward(Tensor.zeros(3, 8, 2)), "GRU(8, 4)", "(L, N, 8)", "dimension 1 has the 8 features");
        assertMessage(() -> new GRU(8, 4).outputShape(new int[] {8}), "(L, N, 8)", "got (8,)", "reshape it to (1, 1, 8)");
    }

    @Test
    void wrongStatesAreExplained() {
        GRU gru = new GRU(IN, H, 2, true, false, 0f, true);
        Tensor x = Tensor.zeros(3, N, IN);
        assertMessage(() -> gru.forward(x, Tensor.zeros(2, N, H)), "GRU(5, 4, num_layers=2, bidirectional=True)",
                "expected h0 of shape (4, 3, 4)", "num_layers·num_directions", "got (2, 3, 4)");
        assertMessage(() -> gru.forward(x, Tensor.zeros(4, H)), "for batched 3-D input, h0 should also be 3-D but got 2-D");
        assertMessage(() -> gru.forward(Tensor.zeros(3, IN), Tensor.zeros(4, N, H)), "for unbatched 2-D input, h0 should also be 2-D");
        LSTM lstm = new LSTM(IN, H);
        assertMessage(() -> lstm.forward(x, Tensor.zeros(1, N, H), null), "pass both h0 and c0");
        assertMessage(() -> lstm.forward(x, Tensor.zeros(1, N, H), Tensor.zeros(1, N, H + 1)), "expected c0 of shape (1, 3, 4)");
    }

    static void assertMessage(Runnable r, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String p : parts) assertTrue(e.getMessage().contains(p), "message lacks '" + p + "': " + e.getMessage());
    }
}
