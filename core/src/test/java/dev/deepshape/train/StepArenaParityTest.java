package dev.deepshape.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The reference model trained a few Adam steps inside {@link Buffers} step scopes ends with the very bits it ends with
 * without them (the scoped run with {@link Buffers#poison}: every output array handed out unfilled is NaN until
 * written, so a kernel that skips an element fails here), and no parameter gradient lives in the arena (a later
 * step's reuse would overwrite it).
 */
class StepArenaParityTest {
    static final int BATCH = 8, STEPS = 4;

    @AfterEach
    void drop() { Buffers.release(); }

    record Run(Map<String, int[]> bits, float[] losses, int[] hits) {}

    static Run train(boolean arena) {
        Rng.manualSeed(7);
        CombinedModel model = new CombinedModel();
        Adam adam = new Adam(model.parameters(), 1e-3f);
        Rng data = new Rng(11);
        float[] losses = new float[STEPS];
        int[] hits = new int[STEPS];
        for (int s = 0; s < STEPS; s++) {
            Tensor x = Tensor.randn(data, BATCH, 1, 28, 28);
            int[] y = new int[BATCH];
            for (int i = 0; i < BATCH; i++) y[i] = (int) (data.nextLong() >>> 33) % 10;
            IntTensor target = new IntTensor(y, new int[] {BATCH});
            try (Buffers.Scope scope = arena ? Buffers.step() : null) {
                adam.zeroGrad();
                Tensor logits = model.forward(x);
                Tensor loss = new CrossEntropyLoss().forward(logits, target);
                loss.backward();
                adam.step();
                losses[s] = loss.item();
                hits[s] = CrossEntropyLoss.correct(logits, target);
            }
        }
        Map<String, int[]> bits = new LinkedHashMap<>();
        model.stateDict().forEach((k, v) -> {
            float[] f = v.toArray();
            int[] b = new int[f.length];
            for (int i = 0; i < f.length; i++) b[i] = Float.floatToRawIntBits(f[i]);
            bits.put(k, b);
        });
        return new Run(bits, losses, hits);
    }

    @Test
    void trainingInStepScopesIsBitIdentical() {
        Run plain = train(false);
        Run pooled;
        Buffers.poison(true); // an output array a kernel leaves partly unwritten then holds NaN there
        try {
            pooled = train(true);
        } finally {
            Buffers.poison(false);
        }
        long[] counts = Buffers.counts();
        assertTrue(counts[0] > 0, "the later steps reuse the first step's arrays: " + counts[0] + " reused, " + counts[1] + " allocated");
        assertArrayEquals(plain.losses(), pooled.losses());
        assertArrayEquals(plain.hits(), pooled.hits());
        assertEquals(plain.bits().keySet(), pooled.bits().keySet());
        plain.bits().forEach((k, b) -> assertArrayEquals(b, pooled.bits().get(k), k));
    }

    @Test
    void parameterGradientsOutliveTheStep() {
        Rng.manualSeed(3);
        CombinedModel model = new CombinedModel();
        CombinedModel other = new CombinedModel();
        Rng data = new Rng(5);
        IntTensor target = new IntTensor(new int[] {1, 2, 3, 4}, new int[] {4});
        try (Buffers.Scope s = Buffers.step()) {
            new CrossEntropyLoss().forward(model.forward(Tensor.randn(data, 4, 1, 28, 28)), target).backward();
        }
        List<float[]> grads = new ArrayList<>();
        for (Tensor p : model.parameters()) grads.add(p.grad().toArray());
        // The next step (here another model's, of the same shapes) reuses the pooled arrays of every length the first
        // asked for, zero-filled and then written: a gradient among them would change.
        try (Buffers.Scope s = Buffers.step()) {
            new CrossEntropyLoss().forward(other.forward(Tensor.randn(data, 4, 1, 28, 28)), target).backward();
        }
        List<Tensor> params = model.parameters();
        for (int i = 0; i < params.size(); i++) {
            assertArrayEquals(grads.get(i), params.get(i).grad().toArray(), "gradient " + i + " was overwritten by a later step");
        }
    }
}
