package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.backend.Parallel;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import dev.deepshape.train.Trainer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One trained model serving {@code predict} from 16 threads at once (the picture reader, the forward pass under
 * {@code noGrad}, the kernels sharing {@link Parallel}'s pool from every caller, softmax) gives, bit for bit, what
 * one thread gives — while another thread trains a second model with grad mode on, which must not leak into the
 * predicting threads (grad mode is thread-local).
 */
class ConcurrentPredictTest {
    static final int THREADS = 16, IMAGES = 24, ROUNDS = 3;
    @TempDir Path dir;

    static float[] predict(Module net, Path image) throws Exception {
        ImageInput.Prepared img = ImageInput.load(image, ImageInput.Invert.AUTO);
        try (Autograd.Scope s = Autograd.noGrad()) {
            Tensor out = net.forward(new Tensor(img.normalised(), 1, 1, ImageInput.SIZE, ImageInput.SIZE)).softmax(1);
            assertTrue(out.gradFn() == null, "no graph is recorded under noGrad on this thread");
            return out.toArray();
        }
    }

    @Test
    void sixteenThreadsPredictExactlyAsOne() throws Exception {
        Parallel.setThreads(2);
        Mnist.Dataset train = Mnist.load(Mnist.dataDir(null), true, null);
        Mnist.Dataset test = Mnist.load(Mnist.dataDir(null), false, null).first(IMAGES);
        Rng.manualSeed(0);
        Module trained = new CombinedModel();
        Trainer.Config config = new Trainer.Config("combined", 1, 64, 1e-3f, 0, 256, 0);
        new Trainer(trained, new Adam(trained.parameters(), 1e-3f), train, null, config, dir.resolve("run"), null).run();
        Module net = new CombinedModel();
        net.loadStateDict(Checkpoint.readStateDict(dir.resolve("run").resolve(Checkpoint.MODEL_FILE)), true);
        net.eval();

        List<Path> images = new ArrayList<>();
        float[] pixels = test.images();
        for (int i = 0; i < IMAGES; i++) {
            float[] g = new float[784];
            for (int p = 0; p < 784; p++) g[p] = Math.round((pixels[i * 784 + p] * 0.5f + 0.5f) * 255f);
            images.add(ImageInputTest.png(dir.resolve("digit" + i + ".png"), g, 28, 28, 3, i % 2 == 0, "png"));
        }
        float[][] expected = new float[IMAGES][];
        for (int i = 0; i < IMAGES; i++) expected[i] = predict(net, images.get(i));

        ExecutorService pool = Executors.newFixedThreadPool(THREADS + 1);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<float[][]>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int offset = t;
                results.add(pool.submit(() -> {
                    start.await();
                    float[][] got = new float[IMAGES][];
                    for (int r = 0; r < ROUNDS; r++) {
                        for (int k = 0; k < IMAGES; k++) {
                            int i = (k + offset) % IMAGES; // every thread in a different order
                            float[] p = predict(net, images.get(i));
                            if (got[i] != null) assertArrayEquals(got[i], p, "the same thread twice");
                            got[i] = p;
                        }
                    }
                    return got;
                }));
            }
            // Meanwhile, training with grad mode on in another thread (its own model, the same shared kernel pool).
            Future<Integer> training = pool.submit(() -> {
                start.await();
                Module other = new CombinedModel();
                Trainer.Config c = new Trainer.Config("combined", 1, 32, 1e-3f, 5, 96, 0);
                return new Trainer(other, new Adam(other.parameters(), 1e-3f), train, null, c, null, null).run().epochs().size();
            });
            start.countDown();
            for (Future<float[][]> f : results) {
                float[][] got = f.get();
                for (int i = 0; i < IMAGES; i++) assertArrayEquals(expected[i], got[i], "image " + i + " from a concurrent thread");
            }
            assertEquals(1, training.get(), "the concurrent training run finished its epoch");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(PredictCommand.top3(expected[0]), PredictCommand.top3(predict(net, images.get(0))));
    }
}
