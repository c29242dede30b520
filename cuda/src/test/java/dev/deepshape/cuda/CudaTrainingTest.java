package dev.deepshape.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Tensor;
import dev.deepshape.train.Trainer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer on the GPU, end to end: a run is reproducible bit for bit, and a run interrupted after its first epoch
 * and resumed from the checkpoint (weights and Adam's state back on the device) ends with the weights of the
 * uninterrupted run.
 */
class CudaTrainingTest {
    @TempDir Path dir;

    private Trainer.Result train(CombinedModel m, int epochs, String run, Checkpoint.Contents resume) throws Exception {
        Mnist.Dataset train = GpuRequired.data(600, 3), test = GpuRequired.data(100, 4); // 600: the last batch of each epoch is partial
        Trainer t = new Trainer(m, new Adam(m.parameters(), 1e-3f), train, test,
                new Trainer.Config("combined", epochs, 64, 1e-3f, 0, 0, 0), dir.resolve(run), null);
        if (resume != null) t.restore(resume);
        return t.run();
    }

    @Test
    void reproducibleAndResumable() throws Exception {
        GpuRequired.gpu();
        Backend before = Backends.current();
        try {
            Backends.use(new CudaBackend());
            CombinedModel a = GpuRequired.model(0), b = GpuRequired.model(0);
            Trainer.Result ra = train(a, 2, "a", null), rb = train(b, 2, "b", null);
            assertEquals(ra.epochs().get(1).loss(), rb.epochs().get(1).loss(), "the same run twice: the same losses");
            Map<String, Tensor> wa = a.stateDict();
            for (var e : wa.entrySet()) assertArrayEquals(e.getValue().toArray(), b.stateDict().get(e.getKey()).toArray(), "rerun: " + e.getKey());

            train(GpuRequired.model(0), 1, "part", null);
            CombinedModel r = GpuRequired.model(12345); // initialised differently: the checkpoint must restore everything
            Trainer.Result rr = train(r, 2, "part", Checkpoint.read(dir.resolve("part").resolve(Checkpoint.CHECKPOINT_FILE)));
            assertEquals(2, rr.epochs().size());
            for (var e : wa.entrySet()) assertArrayEquals(e.getValue().toArray(), r.stateDict().get(e.getKey()).toArray(), "resumed: " + e.getKey());
            assertEquals(ra.testCorrect(), rr.testCorrect());
            assertTrue(ra.epochs().get(1).loss() < ra.epochs().get(0).loss() + 1, "finite losses: " + ra.epochs());
        } finally {
            Backends.use(before);
        }
    }
}
