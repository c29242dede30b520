package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One short real training run shared by the report tests (2 epochs of CombinedModel on the first 1,200 training
 * images, evaluated on the first 400 test images), made once per test JVM.
 */
final class TrainedRun {
    private TrainedRun() {}

    static final int TRAIN = 1200, TEST = 400, EPOCHS = 2, BATCH = 64;
    private static Path dir;
    private static CliRun result;

    static synchronized Path dir() throws IOException {
        if (dir == null) {
            Path root = Files.createTempDirectory("deepshape-report-run");
            root.toFile().deleteOnExit();
            Path run = root.resolve("run");
            result = CliRun.of("train", "--epochs", String.valueOf(EPOCHS), "--limit-train", String.valueOf(TRAIN),
                    "--limit-test", String.valueOf(TEST), "--threads", "2", "--out", run.toString());
            assertEquals(0, result.code(), result.err());
            dir = run;
        }
        return dir;
    }

    static synchronized CliRun result() throws IOException {
        dir();
        return result;
    }
}
