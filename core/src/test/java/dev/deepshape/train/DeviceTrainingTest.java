package dev.deepshape.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.ReferenceBackend;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Adam;
import dev.deepshape.optim.Optimizer;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The trainer's device path ({@link DeviceModel}: what the CUDA backend uses) on a machine without a GPU: a device
 * model that computes on the host, op for op as the host path does, must give bit-identical epochs, weights, Adam
 * state, checkpoints and test results. So the loop, the batch order, the syncs before evaluation and checkpoint, and
 * the resume are tested in CI; the CUDA arithmetic itself is tested on the GPU machine (cuda module).
 */
class DeviceTrainingTest {
    @TempDir Path dir;

    @BeforeAll
    static void load() throws IOException { TrainerTest.load(); }

    /** Runs each call on the host model itself (so syncToHost has nothing to copy), counting the calls. */
    static final class HostDevice implements DeviceModel {
        final Module model;
        final Optimizer optimizer;
        int steps, syncs, evaluations;
        boolean closed;

        HostDevice(Module model, Optimizer optimizer) {
            this.model = model;
            this.optimizer = optimizer;
        }

        @Override public String describe() { return "host stand-in"; }

        @Override
        public Step trainStep(Mnist.Dataset data, int[] order, int from, int to) {
            steps++;
            model.train(true);
            float[] x = new float[(to - from) * data.imageSize()];
            data.copyImages(order, from, to, x, 0);
            int[] y = new int[to - from];
            for (int i = 0; i < y.length; i++) y[i] = data.labels()[order[from + i]];
            IntTensor labels = new IntTensor(y, new int[] {y.length});
            optimizer.zeroGrad();
            Tensor logits = model.forward(new Tensor(x, to - from, 1, data.rows(), data.cols()));
            Tensor loss = new CrossEntropyLoss().forward(logits, labels);
            loss.backward();
            optimizer.step();
            return new Step(loss.item(), CrossEntropyLoss.correct(logits, labels), Float.isFinite(loss.item()));
        }

        @Override
        public float[] logits(Mnist.Dataset data) {
            evaluations++;
            boolean was = model.isTraining();
            model.eval();
            float[] x = new float[data.count() * data.imageSize()];
            int[] all = new int[data.count()];
            for (int i = 0; i < all.length; i++) all[i] = i;
            data.copyImages(all, 0, all.length, x, 0);
            try (dev.deepshape.autograd.Autograd.Scope s = dev.deepshape.autograd.Autograd.noGrad()) {
                return model.forward(new Tensor(x, data.count(), 1, data.rows(), data.cols())).toArray();
            } finally {
                model.train(was);
            }
        }

        @Override public void syncToHost() { syncs++; }

        @Override public void close() { closed = true; }
    }

    /** The reference backend, offering a {@link HostDevice} for every model. */
    static final class StandIn extends ReferenceBackend {
        HostDevice last;

        @Override public String name() { return "stand-in"; }

        @Override
        public DeviceModel deviceModel(Module model, Optimizer optimizer) {
            if (optimizer == null) return null; // evaluation alone stays on the host
            last = new HostDevice(model, optimizer);
            return last;
        }
    }

    @Test
    void theDevicePathTrainsExactlyAsTheHostPath() throws IOException {
        Parallel.setThreads(2);
        Backend before = Backends.current();
        try {
            Backends.use(new ReferenceBackend());
            Module host = TrainerTest.mlp(0);
            Trainer.Result r = TrainerTest.trainer(host, TrainerTest.config(2), dir.resolve("host")).run();

            StandIn standIn = new StandIn();
            Backends.use(standIn);
            Module dev = TrainerTest.mlp(0);
            Trainer.Result d = TrainerTest.trainer(dev, TrainerTest.config(2), dir.resolve("device")).run();

            HostDevice hd = standIn.last;
            assertEquals(2 * 8, hd.steps, "512 images in batches of 64, two epochs: every step ran on the device");
            assertTrue(hd.syncs >= 2, "synced before each epoch's evaluation and checkpoint: " + hd.syncs);
            assertEquals(2, hd.evaluations, "each epoch's test evaluation ran on the device");
            assertTrue(hd.closed, "the device model is closed when training ends");
            for (int e = 0; e < 2; e++) {
                assertEquals(r.epochs().get(e).loss(), d.epochs().get(e).loss(), "epoch " + (e + 1) + " loss");
                assertEquals(r.epochs().get(e).accuracy(), d.epochs().get(e).accuracy(), "epoch " + (e + 1) + " accuracy");
            }
            assertEquals(r.testCorrect(), d.testCorrect());
            for (var e : host.stateDict().entrySet()) {
                assertArrayEquals(e.getValue().toArray(), dev.stateDict().get(e.getKey()).toArray(), e.getKey());
            }
            Map<String, Tensor> a = Checkpoint.read(dir.resolve("host").resolve(Checkpoint.CHECKPOINT_FILE)).optimizer();
            Map<String, Tensor> b = Checkpoint.read(dir.resolve("device").resolve(Checkpoint.CHECKPOINT_FILE)).optimizer();
            assertEquals(a.keySet(), b.keySet());
            for (String k : a.keySet()) assertArrayEquals(a.get(k).toArray(), b.get(k).toArray(), k);
        } finally {
            Backends.use(before);
        }
    }
}
