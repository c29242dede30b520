package dev.deepshape.cli;

import dev.deepshape.backend.Parallel;
import dev.deepshape.data.Mnist;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Rng;
import dev.deepshape.train.Trainer;
import java.nio.file.Path;

/**
 * The reference training run, stopped after a number of steps: all of MNIST loaded (as {@code deepshape train}
 * does, 60 000 + 10 000 images), CombinedModel, Adam, batch 64, then a checkpoint written. Run in a child JVM with a
 * small {@code -Xmx} by {@link TrainingResourcesTest}. Arguments: steps, run folder.
 */
final class BoundedHeapTraining {
    private BoundedHeapTraining() {}

    static final class Enough extends RuntimeException {
        Enough() { super(null, null, false, false); }
    }

    public static void main(String[] args) throws Exception {
        int steps = Integer.parseInt(args[0]);
        Parallel.setThreads(2);
        Mnist.Dataset train = Mnist.load(Mnist.dataDir(null), true, null);
        Mnist.Dataset test = Mnist.load(Mnist.dataDir(null), false, null);
        Rng.manualSeed(0);
        CombinedModel model = new CombinedModel();
        Trainer.Listener stop = new Trainer.Listener() {
            @Override public void onBatch(int epoch, int batches, int samples, double loss, double accuracy) {
                if (batches == steps) {
                    System.out.printf(java.util.Locale.ROOT, "trained %d steps, running loss %.4f%n", batches, loss);
                    throw new Enough();
                }
            }
        };
        Trainer t = new Trainer(model, new Adam(model.parameters(), 1e-3f), train, test, Trainer.Config.defaults(), Path.of(args[1]), stop);
        try {
            t.run();
        } catch (Enough expected) {
            // stopped mid-epoch on purpose
        }
        t.save();
        System.out.println("saved; max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
    }
}
