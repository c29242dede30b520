package dev.deepshape.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Parallel;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Rng;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A too-high learning rate on the reference model: training stops at the first non-finite loss or gradient, names
 * the step and the layer, leaves the weights as they were before that step, and keeps the last good checkpoint.
 */
class NumericalFaultTest {
    static Mnist.Dataset train;
    @TempDir Path dir;

    @BeforeAll
    static void load() throws IOException {
        train = Mnist.load(Mnist.dataDir(null), true, null).first(128);
    }

    static Trainer.Config config(int epochs, float lr) { return new Trainer.Config("combined", epochs, 64, lr, 0, 0, 0); }

    static Trainer trainer(float lr, int epochs, Path runDir) {
        Parallel.setThreads(2);
        Rng.manualSeed(0);
        Module m = new CombinedModel();
        return new Trainer(m, new Adam(m.parameters(), lr), train, null, config(epochs, lr), runDir, null);
    }

    /**
     * lr = 1e10: after one Adam step (each weight moves by about lr) the RNN's input projection sums +∞ and −∞ terms;
     * the loss becomes NaN, the run stops, and the faulty batch is re-run with the detector to name the layer.
     */
    @Test
    void aNanLossStopsTrainingAndNamesTheStepAndTheLayer() throws IOException {
        Trainer t = trainer(1e10f, 3, dir);
        Trainer.NumericalFault f = assertThrows(Trainer.NumericalFault.class, t::run);
        assertTrue(f.getMessage().startsWith("epoch 1, batch 2, step 2: forward: the output (64, 1, 128) of AddmmBackward0 in layer 'rnn' RNN(6272, 128, batch_first=True)"
                + " is the first that is not finite: "), f.getMessage());
        assertTrue(f.getMessage().contains("(the loss is NaN)") && f.getMessage().contains("no checkpoint was written")
                && f.getMessage().endsWith("Lower the learning rate (--lr, now 10000000000.0)"), f.getMessage());
    }

    /**
     * lr = 1e8: the RNN's input projection overflows to ±∞ at step 2, but tanh(±∞) = ±1 hides it from the loss and
     * the gradients (tanh' = 0 there) — only anomaly detection, checking every op's output, sees it.
     */
    @Test
    void detectAnomalyFindsAnOverflowTheLossHides() throws IOException {
        Trainer quiet = trainer(1e8f, 1, null);
        assertEquals(1, quiet.run().epochs().size(), "without the detector the two steps finish");
        Trainer t = trainer(1e8f, 1, null).detectAnomaly(true);
        Trainer.NumericalFault f = assertThrows(Trainer.NumericalFault.class, t::run);
        assertTrue(f.getMessage().startsWith("epoch 1, batch 2, step 2: forward: the output (64, 1, 128) of AddmmBackward0 in layer 'rnn' "
                + "RNN(6272, 128, batch_first=True) is the first that is not finite: 0 NaN and "), f.getMessage());
        assertTrue(f.getMessage().contains("all its inputs were finite (an overflow"), f.getMessage());
        assertTrue(f.getCause() instanceof AnomalyDetector.Anomaly a && a.step == 2 && a.layer.equals("rnn"));
    }

    /** A good epoch, then the learning rate raised: the fault leaves the epoch-1 checkpoint byte for byte. */
    @Test
    void theLastGoodCheckpointIsKept() throws IOException {
        Trainer good = trainer(1e-3f, 1, dir);
        good.run();
        Path ckpt = dir.resolve(Checkpoint.CHECKPOINT_FILE);
        byte[] before = Files.readAllBytes(ckpt);
        byte[] modelBefore = Files.readAllBytes(dir.resolve(Checkpoint.MODEL_FILE));
        Rng.manualSeed(0);
        Module m = new CombinedModel();
        Adam adam = new Adam(m.parameters(), 1e-3f);
        Trainer t = new Trainer(m, adam, train, null, config(3, 1e-3f), dir, null);
        t.restore(Checkpoint.read(ckpt));
        adam.setLr(1e10f);
        Trainer.NumericalFault f = assertThrows(Trainer.NumericalFault.class, t::run);
        assertTrue(f.getMessage().startsWith("epoch 2, batch "), f.getMessage());
        assertTrue(f.getMessage().contains("the last good checkpoint, after epoch 1, is kept in " + ckpt), f.getMessage());
        assertArrayEquals(before, Files.readAllBytes(ckpt));
        assertArrayEquals(modelBefore, Files.readAllBytes(dir.resolve(Checkpoint.MODEL_FILE)));
        assertEquals(1, ((Number) Checkpoint.read(ckpt).meta().get("epoch")).intValue());
        assertEquals(1, t.epochsDone(), "no second epoch was recorded");
        for (var e : m.stateDict().entrySet()) {
            for (float v : e.getValue().toArray()) assertTrue(Float.isFinite(v), "the faulty step never reached the weights: " + e.getKey());
        }
    }
}
