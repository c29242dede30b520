package dev.deepshape.report;

import dev.deepshape.io.Json;
import dev.deepshape.train.MetricsLog;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run folder's metrics read back: what {@link MetricsLog} wrote ({@value MetricsLog#STEPS_FILE},
 * {@value MetricsLog#EPOCHS_FILE}, {@value MetricsLog#PREDICTIONS_FILE}, {@value MetricsLog#RUN_FILE}).
 * The predictions and the settings are optional (a run without a test set, an older run).
 */
public record RunMetrics(Path dir, Map<String, Object> settings, List<Step> steps, List<Epoch> epochs, List<Prediction> predictions) {
    /** One optimiser step; {@code accuracy} in percent. */
    public record Step(int epoch, int step, int batch, double loss, double accuracy, double lr, double samplesPerSecond) {}

    /** One epoch; the test numbers are NaN without a test set. */
    public record Epoch(int epoch, double trainLoss, double trainAccuracy, double testLoss, double testAccuracy, double seconds) {
        public boolean hasTest() { return !Double.isNaN(testAccuracy); }
    }

    /** The final model's answer for test image {@code index}. */
    public record Prediction(int index, int label, int predicted, double confidence) {
        public boolean correct() { return label == predicted; }
    }

    /**
     * Reads the metrics in {@code dir}. A folder without them fails with a message that says what was looked for; a
     * malformed line fails naming the file, the line and the column.
     */
    public static RunMetrics read(Path dir) throws IOException {
        Path stepsFile = dir.resolve(MetricsLog.STEPS_FILE), epochsFile = dir.resolve(MetricsLog.EPOCHS_FILE);
        if (!Files.isRegularFile(epochsFile) || !Files.isRegularFile(stepsFile)) {
            throw new IllegalArgumentException(dir + " has no training metrics (" + MetricsLog.STEPS_FILE + " and " + MetricsLog.EPOCHS_FILE
                    + "); is it a run folder written by 'deepshape train'?");
        }
        List<Step> steps = new ArrayList<>();
        for (double[] r : table(stepsFile, MetricsLog.STEPS_HEADER)) {
            steps.add(new Step((int) r[0], (int) r[1], (int) r[2], r[3], r[4], r[5], r[6]));
        }
        List<Epoch> epochs = new ArrayList<>();
        for (double[] r : table(epochsFile, MetricsLog.EPOCHS_HEADER)) epochs.add(new Epoch((int) r[0], r[1], r[2], r[3], r[4], r[5]));
        if (epochs.isEmpty()) {
            throw new IllegalArgumentException(epochsFile + " has no epochs yet; the report needs at least one finished epoch");
        }
        List<Prediction> predictions = new ArrayList<>();
        Path predFile = dir.resolve(MetricsLog.PREDICTIONS_FILE);
        if (Files.isRegularFile(predFile)) {
            for (double[] r : table(predFile, MetricsLog.PREDICTIONS_HEADER)) {
                int label = (int) r[1], predicted = (int) r[2];
                if (label < 0 || label > 9 || predicted < 0 || predicted > 9) {
                    throw new IllegalArgumentException(predFile + ": image " + (int) r[0] + ": label " + label + " and prediction " + predicted
                            + " must be digits 0-9");
                }
                predictions.add(new Prediction((int) r[0], label, predicted, r[3]));
            }
        }
        Map<String, Object> settings = new LinkedHashMap<>();
        Path runFile = dir.resolve(MetricsLog.RUN_FILE);
        if (Files.isRegularFile(runFile)) {
            if (!(Json.parse(Files.readString(runFile, StandardCharsets.UTF_8)) instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException(runFile + ": expected a JSON object with the run's settings");
            }
            m.forEach((k, v) -> settings.put(String.valueOf(k), v));
        }
        return new RunMetrics(dir, settings, List.copyOf(steps), List.copyOf(epochs), List.copyOf(predictions));
    }

    /** A setting from {@value MetricsLog#RUN_FILE}, or {@code fallback}. */
    public Object setting(String key, Object fallback) { return settings.getOrDefault(key, fallback); }

    /** The rows of a CSV file with exactly {@code header}'s columns; {@code nan}, {@code inf} and empty cells read as doubles (empty: NaN). */
    static List<double[]> table(Path file, String header) throws IOException {
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        if (lines.isEmpty() || !lines.getFirst().strip().equals(header)) {
            throw new IllegalArgumentException(file + ": line 1: expected the header '" + header + "', got '"
                    + (lines.isEmpty() ? "" : lines.getFirst()) + "'");
        }
        String[] names = header.split(",");
        List<double[]> rows = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            String[] cells = line.split(",", -1);
            if (cells.length != names.length) {
                // NOTE: a run killed while writing leaves its last line cut short; everything before it is still good.
                if (i == lines.size() - 1) break;
                throw new IllegalArgumentException(file + ": line " + (i + 1) + ": expected " + names.length + " values (" + header + "), got "
                        + cells.length + ": '" + line + "'");
            }
            double[] r = new double[cells.length];
            for (int k = 0; k < cells.length; k++) {
                String c = cells[k].strip();
                try {
                    r[k] = switch (c) {
                        case "", "nan" -> Double.NaN;
                        case "inf" -> Double.POSITIVE_INFINITY;
                        case "-inf" -> Double.NEGATIVE_INFINITY;
                        default -> Double.parseDouble(c);
                    };
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException(file + ": line " + (i + 1) + ", column '" + names[k] + "': expected a number, got '" + c + "'");
                }
            }
            rows.add(r);
        }
        return rows;
    }
}
