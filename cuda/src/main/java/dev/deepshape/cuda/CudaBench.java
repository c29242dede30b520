package dev.deepshape.cuda;

import dev.deepshape.data.DataLoader;
import dev.deepshape.data.Mnist;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.Rng;
import dev.deepshape.train.DeviceModel;
import dev.deepshape.train.Evaluation;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The GPU benchmark of the reference model (bench/gpu.sh runs it beside bench/torch_gpu.py): full training epochs at
 * batch 64 (Adam 1e-3, shuffled, seed 0) after an untimed warm-up, each step's wall time (a step ends when its loss
 * is back on the host), the test accuracy, and inference of one batch of 1000 test images (forward only, logits
 * left on the device, each pass waited for), as PyTorch's figures are measured.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp ... dev.deepshape.cuda.CudaBench --data DIR [--epochs 2] [--batch-size 64]</pre>
 */
public final class CudaBench {
    private CudaBench() {}

    private static final String USAGE = "usage: CudaBench [--data DIR] [--epochs N >= 1] [--batch-size N >= 1] [--inference-batch N >= 1]";

    public static void main(String[] args) throws Exception {
        Path data = Mnist.dataDir(null);
        int epochs = 2, batch = 64, inferBatch = 1000;
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--help") || a.equals("-h")) {
                    System.out.println(USAGE);
                    return;
                }
                if (i + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
                String v = args[++i];
                switch (a) {
                    case "--data" -> data = Path.of(v);
                    case "--epochs" -> epochs = positive(a, v);
                    case "--batch-size" -> batch = positive(a, v);
                    case "--inference-batch" -> inferBatch = positive(a, v);
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            run(data, epochs, batch, inferBatch);
        } catch (IllegalArgumentException e) {
            System.err.println("CudaBench: " + e.getMessage() + "; " + USAGE);
            System.exit(2);
        } catch (CudaException | Mnist.MissingDataException e) {
            System.err.println("CudaBench: " + e.getMessage());
            System.exit(1);
        }
    }

    private static int positive(String option, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(option + " must be a whole number >= 1, got '" + value + "'");
    }

    private static void run(Path data, int epochs, int batch, int inferBatch) throws java.io.IOException {
        int warmup = 50, passes = 100;
        Gpu gpu = Gpu.get();
        System.out.println("device: " + gpu.describe());
        Mnist.Dataset train = Mnist.load(data, true, null), test = Mnist.load(data, false, null);
        Rng.manualSeed(0);
        CombinedModel model = new CombinedModel();
        Adam adam = new Adam(model.parameters(), 1e-3f);
        DataLoader loader = new DataLoader(train, batch, true, new Rng(0));
        try (CudaEngine engine = new CudaEngine(gpu, model, adam)) {
            long t = System.nanoTime();
            int[] order = loader.order();
            for (int k = 0; k < warmup; k++) engine.trainStep(train, order, k * batch, (k + 1) * batch);
            System.out.printf(Locale.ROOT, "warm-up: %d steps in %.2f s (data upload and kernel compilation included)%n",
                    warmup, (System.nanoTime() - t) / 1e9);
            double[] epochSeconds = new double[epochs];
            for (int e = 0; e < epochs; e++) {
                order = loader.order();
                int steps = (order.length + batch - 1) / batch;
                double[] stepMs = new double[steps];
                double lossSum = 0;
                long hits = 0;
                long t0 = System.nanoTime();
                for (int k = 0; k < steps; k++) {
                    long s0 = System.nanoTime();
                    DeviceModel.Step s = engine.trainStep(train, order, k * batch, Math.min((k + 1) * batch, order.length));
                    stepMs[k] = (System.nanoTime() - s0) / 1e6;
                    lossSum += s.loss();
                    hits += s.hits();
                }
                gpu.synchronize();
                epochSeconds[e] = (System.nanoTime() - t0) / 1e9;
                Arrays.sort(stepMs);
                System.out.printf(Locale.ROOT, "epoch %d: %.3f s, %d steps, step median %.3f ms (min %.3f), loss %.4f, train accuracy %.2f%%%n",
                        e + 1, epochSeconds[e], steps, stepMs[steps / 2], stepMs[0], lossSum / steps, 100.0 * hits / order.length);
            }
            long te = System.nanoTime();
            Evaluation ev = Evaluation.ofLogits(engine.logits(test), test);
            double evalMs = (System.nanoTime() - te) / 1e6;
            System.out.printf(Locale.ROOT, "test accuracy %.2f%% (10,000 images in %.1f ms, logits copied back)%n", ev.accuracy(), evalMs);

            engine.prepareInference(test, inferBatch);
            for (int k = 0; k < 20; k++) engine.inferPrepared(inferBatch);
            double[] ms = new double[passes];
            for (int k = 0; k < passes; k++) {
                long s0 = System.nanoTime();
                engine.inferPrepared(inferBatch);
                ms[k] = (System.nanoTime() - s0) / 1e6;
            }
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "inference, batch of %d: median %.3f ms, min %.3f ms (%d passes)%n", inferBatch, ms[passes / 2], ms[0], passes);
            double[] parts = engine.profileInference(inferBatch, passes);
            StringBuilder sb = new StringBuilder("inference by part (each waited for, so the sum exceeds the pass):");
            for (int i = 0; i < parts.length; i++) sb.append(String.format(Locale.ROOT, " %s %.3f ms;", CudaEngine.PARTS[i], parts[i]));
            System.out.println(sb);
            double best = Arrays.stream(epochSeconds).min().orElse(0);
            System.out.printf(Locale.ROOT, "{\"device\":\"%s\",\"epoch_s\":%.3f,\"epochs_s\":%s,\"inference_ms_median\":%.4f,\"inference_ms_min\":%.4f,\"test_accuracy\":%.2f}%n",
                    gpu.name, best, Arrays.toString(epochSeconds), ms[passes / 2], ms[0], ev.accuracy());
        }
    }
}
