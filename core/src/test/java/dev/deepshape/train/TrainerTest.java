package dev.deepshape.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Parallel;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.Flatten;
import dev.deepshape.nn.Linear;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.ReLU;
import dev.deepshape.nn.Sequential;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The training loop with a small MLP on 512 real MNIST images: it learns, and resuming is bit-identical. */
class TrainerTest {
    static Mnist.Dataset train;
    static Mnist.Dataset test;
    @TempDir Path dir;

    @BeforeAll
    static void load() throws IOException {
        Path data = Mnist.dataDir(null);
        train = Mnist.load(data, true, null).first(512);
        test = Mnist.load(data, false, null).first(500);
    }

    static Module mlp(long seed) {
        Rng.manualSeed(seed);
        return new Sequential(new Flatten(), new Linear(784, 32), new ReLU(), new Linear(32, 10));
    }

    static Trainer trainer(Module m, Trainer.Config c, Path runDir) {
        return new Trainer(m, new Adam(m.parameters(), c.lr()), train, test, c, runDir, null);
    }

    static Trainer.Config config(int epochs) { return new Trainer.Config("mlp", epochs, 64, 1e-3f, 0, 0, 0); }

    @Test
    void resumingGivesBitIdenticalWeights() throws IOException {
        Parallel.setThreads(2);
        Module full = mlp(0);
        Trainer.Result r = trainer(full, config(2), dir.resolve("full")).run();
        assertEquals(2, r.epochs().size());
        assertTrue(r.epochs().get(1).loss() < r.epochs().get(0).loss(), "the loss falls: " + r.epochs());
        // NOTE: 16 Adam steps are few: PyTorch's own run of this setting reaches 29 % on these 500 test images, we
        // measured 51 %; the floor only says it learns (chance is 10 %). The accuracy floors live in the MNIST test.
        assertTrue(r.testAccuracy() > 20, "an MLP learns something from 512 images in 2 epochs: " + r.testAccuracy());

        // Interrupted after epoch 1, resumed into a model initialised differently: the checkpoint must restore all.
        trainer(mlp(0), config(1), dir.resolve("part")).run();
        Module resumed = mlp(12345);
        Trainer t = trainer(resumed, config(2), dir.resolve("part"));
        t.restore(Checkpoint.read(dir.resolve("part").resolve(Checkpoint.CHECKPOINT_FILE)));
        assertEquals(1, t.epochsDone());
        Trainer.Result r2 = t.run();

        for (var e : full.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().toArray(), resumed.stateDict().get(e.getKey()).toArray(), e.getKey());
        }
        assertEquals(r.epochs().get(1).loss(), r2.epochs().get(1).loss());
        assertEquals(r.testCorrect(), r2.testCorrect());
        // model.safetensors holds the final state dict under the same keys.
        Map<String, Tensor> saved = Checkpoint.readStateDict(dir.resolve("part").resolve(Checkpoint.MODEL_FILE));
        assertEquals(full.stateDict().keySet(), saved.keySet());
        assertArrayEquals(full.stateDict().get("3.weight").toArray(), saved.get("3.weight").toArray());
    }

    @Test
    void resumingWithOtherSettingsIsRefused() throws IOException {
        trainer(mlp(0), config(1), dir).run();
        Trainer.Config other = new Trainer.Config("mlp", 2, 32, 1e-3f, 0, 0, 0);
        Trainer t = trainer(mlp(0), other, dir);
        String m = assertThrows(IllegalArgumentException.class, () -> t.restore(Checkpoint.read(dir.resolve(Checkpoint.CHECKPOINT_FILE)))).getMessage();
        assertTrue(m.contains("batchSize=64") && m.contains("batchSize=32"), m);
    }

    @Test
    void epochLineHasTheTutorialsFormat() {
        assertEquals("Epoch [1/5], Loss: 0.1805, Accuracy: 94.58%", new Trainer.EpochResult(1, 5, 0.18049, 94.5833, 1, 60000).line());
    }
}
