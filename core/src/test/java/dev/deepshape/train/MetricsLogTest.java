package dev.deepshape.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Parallel;
import dev.deepshape.data.DataLoader;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.io.Json;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Adam;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics a run writes into its folder: per step, per epoch, the test predictions; flushed as they happen; resumable. */
class MetricsLogTest {
    @TempDir Path dir;

    @BeforeAll
    static void load() throws IOException { TrainerTest.load(); }

    static List<String[]> rows(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        List<String[]> out = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) out.add(l.split(",", -1));
        return out;
    }

    @Test
    void stepsEpochsAndPredictionsAreWrittenAsTheRunGoes() throws IOException {
        Parallel.setThreads(2);
        Path run = dir.resolve("run");
        Module m = TrainerTest.mlp(0);
        List<Integer> linesSeenAtBatch = new ArrayList<>();
        Trainer.Listener peek = new Trainer.Listener() {
            @Override public void onBatch(int epoch, int batchesDone, int samplesDone, double loss, double acc) {
                try {
                    linesSeenAtBatch.add(Files.readAllLines(run.resolve(MetricsLog.STEPS_FILE)).size() - 1);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }
        };
        Trainer.Config c = TrainerTest.config(2);
        Trainer.Result r = new Trainer(m, new Adam(m.parameters(), c.lr()), TrainerTest.train, TrainerTest.test, c, run, peek).run();

        // 512 images in batches of 64: 8 steps an epoch, each on disk before the next batch starts.
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), linesSeenAtBatch);
        assertEquals(MetricsLog.STEPS_HEADER, Files.readAllLines(run.resolve(MetricsLog.STEPS_FILE)).getFirst());
        List<String[]> steps = rows(run.resolve(MetricsLog.STEPS_FILE));
        assertEquals(16, steps.size());
        double[] lossSum = new double[2];
        for (int i = 0; i < 16; i++) {
            String[] s = steps.get(i);
            assertEquals(i / 8 + 1, Integer.parseInt(s[0]), "epoch");
            assertEquals(i + 1, Integer.parseInt(s[1]), "step");
            assertEquals(i % 8 + 1, Integer.parseInt(s[2]), "batch");
            double acc = Double.parseDouble(s[4]);
            assertTrue(acc >= 0 && acc <= 100 && acc * 64 / 100 == Math.rint(acc * 64 / 100), "accuracy of a batch of 64: " + acc);
            assertEquals(1e-3, Double.parseDouble(s[5]), 1e-9, "lr");
            assertTrue(Double.parseDouble(s[6]) > 0, "samples/s");
            lossSum[i / 8] += Double.parseDouble(s[3]);
        }

        // The epoch lines agree with the trainer's results; the test accuracy of the last one is the run's.
        List<String[]> epochs = rows(run.resolve(MetricsLog.EPOCHS_FILE));
        assertEquals(2, epochs.size());
        for (int e = 0; e < 2; e++) {
            String[] row = epochs.get(e);
            Trainer.EpochResult er = r.epochs().get(e);
            assertEquals(e + 1, Integer.parseInt(row[0]));
            assertEquals(er.loss(), Double.parseDouble(row[1]));
            assertEquals(lossSum[e] / 8, Double.parseDouble(row[1]), 1e-9, "the epoch loss is the mean of its steps'");
            assertEquals(er.accuracy(), Double.parseDouble(row[2]));
            assertTrue(Double.parseDouble(row[3]) > 0, "test loss");
            assertEquals(er.seconds(), Double.parseDouble(row[5]));
        }
        assertEquals(r.testAccuracy(), Double.parseDouble(epochs.get(1)[4]), 1e-9);

        // The predictions: one per test image, their accuracy is the run's and Trainer.evaluate's.
        List<String[]> preds = rows(run.resolve(MetricsLog.PREDICTIONS_FILE));
        assertEquals(TrainerTest.test.count(), preds.size());
        int hits = 0;
        for (int i = 0; i < preds.size(); i++) {
            String[] p = preds.get(i);
            assertEquals(i, Integer.parseInt(p[0]));
            assertEquals(TrainerTest.test.labels()[i], Integer.parseInt(p[1]));
            float conf = Float.parseFloat(p[3]);
            assertTrue(conf >= 0.1f && conf <= 1f, "the arg-max of 10 probabilities is at least 1/10: " + conf);
            if (p[1].equals(p[2])) hits++;
        }
        assertEquals(r.testCorrect(), hits);
        assertEquals(Trainer.evaluate(m, TrainerTest.test, 100), hits);

        Map<?, ?> settings = (Map<?, ?>) Json.parse(Files.readString(run.resolve(MetricsLog.RUN_FILE)));
        assertEquals("mlp", settings.get("model"));
        assertEquals(64, ((Number) settings.get("batch_size")).intValue());
        assertEquals(512, ((Number) settings.get("train_count")).intValue());
        assertEquals(m.parameterCount(), ((Number) settings.get("parameters")).longValue());
    }

    @Test
    void evaluationMatchesTheSoftmaxOfTheLogits() {
        Module m = TrainerTest.mlp(3);
        var data = TrainerTest.test.first(37);
        Evaluation e = Evaluation.of(m, data, 10);
        assertEquals(37, e.count());
        var logits = m.forward(new DataLoader(data, 37, false, null).epoch().next().images());
        var probs = dev.deepshape.autograd.Ops.softmax(logits, 1);
        var logp = dev.deepshape.autograd.Ops.logSoftmax(logits, 1);
        double loss = 0;
        for (int i = 0; i < 37; i++) {
            assertEquals(probs.get(i, e.predicted()[i]), e.confidence()[i], 1e-6);
            for (int k = 0; k < 10; k++) assertTrue(probs.get(i, k) <= e.confidence()[i] + 1e-6, "the prediction has the largest probability");
            loss -= logp.get(i, data.labels()[i]);
        }
        assertEquals(loss / 37, e.loss(), 1e-5);
    }

    @Test
    void resumingDropsTheLinesOfTheInterruptedEpoch() throws IOException {
        Parallel.setThreads(2);
        Path full = dir.resolve("full"), part = dir.resolve("part");
        TrainerTest.trainer(TrainerTest.mlp(0), TrainerTest.config(2), full).run();
        TrainerTest.trainer(TrainerTest.mlp(0), TrainerTest.config(1), part).run();
        // What a kill half-way through epoch 2 leaves: some of its steps, the last one cut short.
        Files.writeString(part.resolve(MetricsLog.STEPS_FILE), "2,9,1,2.2,10.0,0.001,1000.0\n2,10,2,2.", java.nio.file.StandardOpenOption.APPEND);
        Trainer t = TrainerTest.trainer(TrainerTest.mlp(0), TrainerTest.config(2), part);
        t.restore(Checkpoint.read(part.resolve(Checkpoint.CHECKPOINT_FILE)));
        t.run();
        for (String f : List.of(MetricsLog.STEPS_FILE, MetricsLog.EPOCHS_FILE)) {
            List<String[]> a = rows(full.resolve(f)), b = rows(part.resolve(f));
            assertEquals(a.size(), b.size(), f);
            for (int i = 0; i < a.size(); i++) {
                // everything but the timing column agrees with the uninterrupted run
                assertArrayEquals(Arrays.copyOf(a.get(i), a.get(i).length - 1), Arrays.copyOf(b.get(i), b.get(i).length - 1), f + " line " + (i + 2));
            }
        }
        assertEquals(Files.readString(full.resolve(MetricsLog.PREDICTIONS_FILE)), Files.readString(part.resolve(MetricsLog.PREDICTIONS_FILE)));
        assertEquals(1, ((Number) ((Map<?, ?>) Json.parse(Files.readString(part.resolve(MetricsLog.RUN_FILE)))).get("resumed_after_epoch")).intValue());
    }
}
