package dev.deepshape.train;

import dev.deepshape.io.AtomicFiles;
import dev.deepshape.io.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A training run's numbers, written into the run folder as they happen, one CSV line at a time and flushed, so a
 * killed run keeps everything up to its last step:
 * <ul>
 *   <li>{@value #STEPS_FILE}: {@value #STEPS_HEADER}, one line per optimiser step (the batch's own loss and
 *       accuracy in percent, the learning rate, and the step's throughput);</li>
 *   <li>{@value #EPOCHS_FILE}: {@value #EPOCHS_HEADER}, one line per epoch (the test columns are empty without a
 *       test set);</li>
 *   <li>{@value #PREDICTIONS_FILE}: {@value #PREDICTIONS_HEADER}, the final model's answer for every test image
 *       (written by {@link #writePredictions}, also by {@code eval --out});</li>
 *   <li>{@value #RUN_FILE}: the settings, as JSON.</li>
 * </ul>
 * When a run resumes after epoch {@code e}, the lines of later epochs (from the interrupted attempt) are dropped
 * first, so the files always describe the run the checkpoint continues.
 */
public final class MetricsLog implements AutoCloseable {
    public static final String STEPS_FILE = "metrics_steps.csv";
    public static final String EPOCHS_FILE = "metrics_epochs.csv";
    public static final String PREDICTIONS_FILE = "test_predictions.csv";
    public static final String RUN_FILE = "run.json";
    public static final String STEPS_HEADER = "epoch,step,batch,loss,accuracy,lr,samples_per_s";
    public static final String EPOCHS_HEADER = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,seconds";
    public static final String PREDICTIONS_HEADER = "index,label,predicted,confidence";

    private final Writer steps;
    private final Writer epochs;

    private MetricsLog(Writer steps, Writer epochs) {
        this.steps = steps;
        this.epochs = epochs;
    }

    /**
     * Opens the two metrics files in {@code runDir} for a run that has finished {@code epochsDone} epochs (0: a new
     * run, the files start empty), and writes {@code settings} to {@value #RUN_FILE}.
     */
    public static MetricsLog open(Path runDir, int epochsDone, Map<String, Object> settings) throws IOException {
        Files.createDirectories(runDir);
        AtomicFiles.write(runDir.resolve(RUN_FILE), (Json.write(settings) + "\n").getBytes(StandardCharsets.UTF_8));
        Writer s = append(runDir.resolve(STEPS_FILE), STEPS_HEADER, epochsDone);
        try {
            return new MetricsLog(s, append(runDir.resolve(EPOCHS_FILE), EPOCHS_HEADER, epochsDone));
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** One optimiser step: {@code step} counts from 1 over the whole run, {@code batch} from 1 within the epoch. */
    public void step(int epoch, int step, int batch, double loss, double accuracy, double lr, double samplesPerSecond) {
        line(steps, String.format(Locale.ROOT, "%d,%d,%d,%s,%s,%s,%s", epoch, step, batch, num(loss), num(accuracy), num(lr),
                num(samplesPerSecond)));
    }

    /** One epoch: its mean training loss and accuracy, the test set's (null: no test set), and its training time. */
    public void epoch(Trainer.EpochResult train, Evaluation test) {
        line(epochs, String.format(Locale.ROOT, "%d,%s,%s,%s,%s,%s", train.epoch(), num(train.loss()), num(train.accuracy()),
                test == null ? "" : num(test.loss()), test == null ? "" : num(test.accuracy()), num(train.seconds())));
    }

    /** Writes {@value #PREDICTIONS_HEADER} for every example of {@code e} to {@code file} (atomically). */
    public static void writePredictions(Path file, Evaluation e) throws IOException {
        StringBuilder sb = new StringBuilder(PREDICTIONS_HEADER).append('\n');
        for (int i = 0; i < e.count(); i++) {
            sb.append(i).append(',').append(e.labels()[i]).append(',').append(e.predicted()[i]).append(',')
                    .append(String.format(Locale.ROOT, "%.6f", e.confidence()[i])).append('\n');
        }
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() throws IOException {
        try (steps; epochs) {
            // both closed, the first failure reported
        }
    }

    /** Shortest round-trip text for finite values; NaN and infinities as {@code nan}, {@code inf}, {@code -inf}. */
    private static String num(double v) {
        if (Double.isNaN(v)) return "nan";
        if (Double.isInfinite(v)) return v > 0 ? "inf" : "-inf";
        return Double.toString(v);
    }

    private static void line(Writer w, String text) {
        try {
            w.write(text);
            w.write('\n');
            w.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the training metrics: " + e.getMessage(), e);
        }
    }

    /** The file with its header and the lines of epochs up to {@code keepEpochs}, open for appending. */
    private static Writer append(Path file, String header, int keepEpochs) throws IOException {
        List<String> kept = new ArrayList<>();
        kept.add(header);
        if (keepEpochs > 0 && Files.exists(file)) {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int i = 1; i < lines.size(); i++) {
                String l = lines.get(i);
                int comma = l.indexOf(',');
                // NOTE: a line cut short by a kill (no comma, or a broken number) belongs to the interrupted epoch.
                try {
                    if (comma > 0 && Integer.parseInt(l.substring(0, comma)) <= keepEpochs) kept.add(l);
                } catch (NumberFormatException ignored) {
                    // dropped, as above
                }
            }
        }
        AtomicFiles.write(file, (String.join("\n", kept) + "\n").getBytes(StandardCharsets.UTF_8));
        BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        return w;
    }
}
