package dev.deepshape.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Backends;
import dev.deepshape.backend.ReferenceBackend;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.shape.Summary;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BenchTest {
    private static final int[] MNIST_BATCH = {64, 1, 28, 28};

    /** The per-layer FLOPs of the reference model, counted by hand from SEED_MODEL.md's shapes. */
    @Test
    void flopsPerLayerOfTheReferenceModel() {
        List<Bench.LayerFlops> f = Bench.flops(ShapeAnalysis.of(ModelSpec.builtin("combined"), MNIST_BATCH));
        assertEquals(14, f.size());
        // conv1: 64·28·28 positions × 32 channels × (1·3·3) MACs, 2 FLOPs each, plus one bias add per output value.
        long conv1Macs = 64L * 28 * 28 * 32 * 9, conv1Out = 64L * 28 * 28 * 32;
        assertEquals(2.0 * conv1Macs + conv1Out, f.get(0).forwardFlops());
        // Its input is the data: no input gradient, only the weight (2/MAC) and bias (1/add) gradients.
        assertEquals(2.0 * conv1Macs + conv1Out, f.get(0).backwardFlops());
        // conv2 (64·14·14 positions, 64 out, 32·9 in): the input gradient too.
        long conv2Macs = 64L * 14 * 14 * 64 * 32 * 9, conv2Out = 64L * 14 * 14 * 64;
        assertEquals(2.0 * conv2Macs + conv2Out, f.get(3).forwardFlops());
        assertEquals(4.0 * conv2Macs + conv2Out, f.get(3).backwardFlops());
        // deconv: every input value (64·7·7 positions × 64 channels) meets 32·2·2 weights (the true count, not torchinfo's).
        assertEquals(2.0 * 64 * 7 * 7 * 64 * 32 * 4 + 64.0 * 32 * 14 * 14, f.get(6).forwardFlops());
        // rnn, one step: x·W_ihᵀ (6272·128) and h·W_hhᵀ (128·128) per sample, two bias vectors.
        assertEquals(2.0 * 64 * (6272 * 128 + 128 * 128) + 2.0 * 64 * 128, f.get(9).forwardFlops());
        // fc: 32·10 per sample.
        assertEquals(2.0 * 64 * 32 * 10 + 64 * 10, f.get(13).forwardFlops());
        // Parameter-free layers do no FLOPs; those after conv1 still have a backward (the gradient flows through them).
        assertEquals(0, f.get(2).forwardFlops());
        assertTrue(f.get(2).hasBackward());
        assertFalse(f.get(0).backwardFlops() == 0);
    }

    /** The per-layer figures add up to the summary's per-sample FLOPs (≈ 10.2 MFLOP forward per sample, SEED_MODEL/PERF_NOTES). */
    @Test
    void flopsAddUpToTheSummary() {
        ShapeAnalysis a = ShapeAnalysis.of(ModelSpec.builtin("combined"), MNIST_BATCH);
        Summary s = new Summary("CombinedModel", a, Set.of());
        double fwd = 0, bwd = 0;
        for (Bench.LayerFlops l : Bench.flops(a)) {
            fwd += l.forwardFlops();
            bwd += l.backwardFlops();
        }
        assertEquals(s.forwardFlopsPerSample * 64, fwd, 1e-6 * fwd);
        assertEquals(s.backwardFlopsPerSample * 64, bwd, 1e-6 * bwd);
        assertEquals(10.2e6, fwd / 64, 0.1e6);
        // Training ≈ 3× forward: an epoch of 60,000 samples ≈ 1.83 TFLOP (PERF_NOTES).
        assertEquals(1.83e12, (fwd + bwd) / 64 * 60_000, 0.02e12);
    }

    /** Before the first layer with parameters nothing needs a gradient: a leading ReLU has no backward. */
    @Test
    void layersBeforeTheFirstParameterHaveNoBackward() {
        ModelSpec spec = ModelSpec.parse("input: (N, 6)\nReLU()\nfc = Linear(6, 4)\nReLU()\nout = Linear(4, 3)\n", "t.spec");
        List<Bench.LayerFlops> f = Bench.flops(ShapeAnalysis.of(spec, new int[] {5, 6}));
        assertFalse(f.get(0).hasBackward());
        assertEquals(2.0 * 5 * 6 * 4 + 5 * 4, f.get(1).backwardFlops()); // weight + bias gradients, no input gradient
        assertTrue(f.get(2).hasBackward());
        assertEquals(4.0 * 5 * 4 * 3 + 5 * 3, f.get(3).backwardFlops()); // and the input gradient
    }

    @Test
    void runTimesEveryLayerOnASmallModel() {
        var before = Backends.current();
        Backends.use(new ReferenceBackend());
        try {
            ModelSpec spec = ModelSpec.parse("input: (N, 1, 8, 8)\nconv = Conv2d(1, 4, 3, padding=1)\nReLU()\nMaxPool2d(2)\nFlatten()\nfc = Linear(64, 10)\n", "small.spec");
            Bench.Result r = Bench.run(spec, new int[] {4, 1, 8, 8}, new Bench.Config(1, 3, 1, 0.02));
            assertEquals(5, r.layers().size());
            for (Bench.LayerTiming t : r.layers()) {
                assertTrue(t.forwardMs() > 0, t.toString());
                assertTrue(t.backwardMs() > 0, t.toString());
            }
            assertTrue(r.trainStepMs() > 0 && r.inferenceMs() > 0 && r.optimizerMs() > 0);
            assertEquals("reference", r.backend());
            assertTrue(r.gemm().gflopsOneThread() > 0);
            assertEquals(r.epochSeconds(), 60_000 / r.trainSamplesPerSecond(), 1e-9);
            assertTrue(r.text().contains("GEMM floor"), r.text());
        } finally {
            Backends.use(before);
        }
    }

    @Test
    void medianOfOddAndEvenCounts() {
        assertEquals(2.0, Bench.median(new double[] {3, 1, 2}));
        assertEquals(2.5, Bench.median(new double[] {4, 1, 3, 2}));
    }
}
