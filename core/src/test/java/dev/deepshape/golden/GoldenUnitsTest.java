package dev.deepshape.golden;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.deepshape.autograd.Ops;
import dev.deepshape.io.SafeTensors;
import dev.deepshape.nn.GRU;
import dev.deepshape.nn.LSTM;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.RNN;
import dev.deepshape.nn.RecurrentOutput;
import dev.deepshape.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every unit configuration of {@code golden/data/index.json} against PyTorch 1.13: build the unit from its PyTorch
 * constructor call, load PyTorch's parameters, run forward on PyTorch's input and compare the output (and h_n, c_n);
 * then backward of the same scalar PyTorch differentiated,
 * {@code (output · out_weight).sum() [+ (h_n · hn_weight).sum()] [+ (c_n · cn_weight).sum()]},
 * and compare the gradient of the input, of the initial state and of every parameter.
 */
class GoldenUnitsTest {
    /** The largest difference seen per unit family, printed after the run. */
    private static final Map<String, Double> WORST = new ConcurrentHashMap<>();

    static List<Golden.Config> configs() { return Golden.index(); }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void matchesPyTorch(Golden.Config c) {
        SafeTensors.Contents g = Golden.load(c.file());
        Tensor x = g.tensor("input").copy().requiresGrad(true);
        assertArrayEquals(c.inputShape(), x.shapeRef(), c + ": input shape in the file vs the index");

        Map<String, Tensor> results = new LinkedHashMap<>(); // golden name -> our tensor
        Map<String, Tensor> leaves = new LinkedHashMap<>();  // gradient name -> our leaf
        leaves.put("input", x);
        Module module = null;
        if (c.unit().equals("CrossEntropyLoss")) {
            results.put("output", UnitFactory.loss(c).forward(x, g.intTensor("target")));
        } else {
            module = UnitFactory.module(c);
            Map<String, Tensor> state = new LinkedHashMap<>();
            g.floats().forEach((k, v) -> { if (k.startsWith("param.")) state.put(k.substring("param.".length()), v); });
            module.loadStateDict(state, true);
            if (module instanceof RNN || module instanceof GRU || module instanceof LSTM) {
                Tensor h0 = c.initialState() ? leaf(leaves, "h_0", g) : null;
                RecurrentOutput r = switch (module) {
                    case RNN rnn -> rnn.forward(x, h0);
                    case GRU gru -> gru.forward(x, h0);
                    case LSTM lstm -> lstm.forward(x, h0, c.initialState() ? leaf(leaves, "c_0", g) : null);
                    default -> throw new IllegalStateException();
                };
                results.put("output", r.output());
                results.put("h_n", r.hN());
                if (module instanceof LSTM) results.put("c_n", r.cN());
            } else {
                results.put("output", module.forward(x));
            }
        }

        // Forward: compare, then build PyTorch's scalar from the same weights.
        Map<String, String> weightOf = Map.of("output", "out_weight", "h_n", "hn_weight", "c_n", "cn_weight");
        Tensor scalar = null;
        for (var e : results.entrySet()) {
            note(c, Golden.compare(c + " " + e.getKey(), g.tensor(e.getKey()), e.getValue()));
            Tensor term = Ops.sum(Ops.mul(e.getValue(), g.tensor(weightOf.get(e.getKey()))));
            scalar = scalar == null ? term : Ops.add(scalar, term);
        }
        TreeSet<String> weightsInFile = new TreeSet<>(weightOf.values());
        weightsInFile.retainAll(g.floats().keySet());
        TreeSet<String> weightsUsed = new TreeSet<>();
        for (String k : results.keySet()) weightsUsed.add(weightOf.get(k));
        assertEquals(weightsInFile, weightsUsed, c + ": the terms of PyTorch's scalar vs ours");
        scalar.backward();

        // Backward: the input and initial states, then every parameter, both ways round.
        for (var e : leaves.entrySet()) {
            note(c, Golden.compare(c + " grad." + e.getKey(), g.tensor("grad." + e.getKey()), e.getValue().grad()));
        }
        Map<String, Tensor> params = module == null ? Map.of() : module.namedParameters();
        TreeSet<String> goldenGrads = new TreeSet<>();
        for (String k : g.floats().keySet()) if (k.startsWith("grad.param.")) goldenGrads.add(k.substring("grad.param.".length()));
        assertEquals(goldenGrads, new TreeSet<>(params.keySet()), c + ": parameters with a PyTorch gradient vs ours");
        for (var e : params.entrySet()) {
            assertNotNull(e.getValue().grad(), c + ": no gradient reached " + e.getKey());
            note(c, Golden.compare(c + " grad.param." + e.getKey(), g.tensor("grad.param." + e.getKey()), e.getValue().grad()));
        }
    }

    private static Tensor leaf(Map<String, Tensor> leaves, String name, SafeTensors.Contents g) {
        Tensor t = g.tensor(name).copy().requiresGrad(true);
        leaves.put(name, t);
        return t;
    }

    private static void note(Golden.Config c, double diff) { WORST.merge(c.unit(), diff, Math::max); }

    @AfterAll
    static void printWorst() {
        System.out.println("largest |diff| per unit family:");
        new TreeMap<>(WORST).forEach((unit, d) -> System.out.printf("  %-18s %.3g%n", unit, d));
    }
}
