package dev.deepshape.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.train.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading a run folder back: what it needs, what it forgives (a line cut short by a kill), and what it names when a file is broken. */
class RunMetricsTest {
    @TempDir Path dir;

    void write(String steps, String epochs) throws IOException {
        Files.writeString(dir.resolve(MetricsLog.STEPS_FILE), MetricsLog.STEPS_HEADER + "\n" + steps);
        Files.writeString(dir.resolve(MetricsLog.EPOCHS_FILE), MetricsLog.EPOCHS_HEADER + "\n" + epochs);
    }

    @Test
    void readsWhatMetricsLogWrites() throws IOException {
        write("1,1,1,2.3,12.5,0.001,640.0\n1,2,2,2.1,25.0,0.001,700.0\n2,3,1,1.9,30.0,0.001,nan\n2,4,2,1.",
                "1,2.2,18.75,2.0,40.0,1.5\n2,1.9,30.0,,,1.25\n");
        RunMetrics m = RunMetrics.read(dir);
        assertEquals(3, m.steps().size(), "the last step line, cut short, is dropped");
        assertEquals(new RunMetrics.Step(1, 2, 2, 2.1, 25.0, 0.001, 700.0), m.steps().get(1));
        assertTrue(Double.isNaN(m.steps().get(2).samplesPerSecond()));
        assertEquals(2, m.epochs().size());
        assertTrue(m.epochs().get(0).hasTest());
        assertTrue(!m.epochs().get(1).hasTest(), "empty test columns: no test set");
        assertTrue(m.predictions().isEmpty());
        assertTrue(m.settings().isEmpty());
    }

    @Test
    void errorsNameTheFileLineAndColumn() throws IOException {
        String none = assertThrows(IllegalArgumentException.class, () -> RunMetrics.read(dir)).getMessage();
        assertEquals(dir + " has no training metrics (metrics_steps.csv and metrics_epochs.csv); is it a run folder written by 'deepshape train'?", none);

        write("1,1,1,2.3,12.5,0.001,640.0\n1,2,2,x,25.0,0.001,700.0\n1,3,3,2.0,25.0,0.001,700.0\n", "1,2.2,18.75,2.0,40.0,1.5\n");
        String bad = assertThrows(IllegalArgumentException.class, () -> RunMetrics.read(dir)).getMessage();
        assertEquals(dir.resolve(MetricsLog.STEPS_FILE) + ": line 3, column 'loss': expected a number, got 'x'", bad);

        write("", "1,2.2\n1,2.2,18.75,2.0,40.0,1.5\n");
        String shortLine = assertThrows(IllegalArgumentException.class, () -> RunMetrics.read(dir)).getMessage();
        assertTrue(shortLine.startsWith(dir.resolve(MetricsLog.EPOCHS_FILE) + ": line 2: expected 6 values"), shortLine);

        write("", "");
        String noEpoch = assertThrows(IllegalArgumentException.class, () -> RunMetrics.read(dir)).getMessage();
        assertTrue(noEpoch.endsWith("has no epochs yet; the report needs at least one finished epoch"), noEpoch);

        Files.writeString(dir.resolve(MetricsLog.EPOCHS_FILE), "epoch,loss\n1,2\n");
        String header = assertThrows(IllegalArgumentException.class, () -> RunMetrics.read(dir)).getMessage();
        assertEquals(dir.resolve(MetricsLog.EPOCHS_FILE) + ": line 1: expected the header '" + MetricsLog.EPOCHS_HEADER + "', got 'epoch,loss'", header);
    }
}
