package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.deepshape.io.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7's resource limits: the reference model trains in a bounded heap, and a run folder that fills up or is
 * read-only stops the run with a clear error while the previous checkpoint stays as it was.
 */
class TrainingResourcesTest {
    /** The heap the reference model (CombinedModel, batch 64, all of MNIST in memory) trains in; see docs/robustness.md. */
    static final String XMX = "-Xmx160m";
    static final int HEAP_TEST_STEPS = 200;
    @TempDir Path dir;

    static String run(Process p, Path log) throws Exception {
        int code = p.waitFor();
        return code + "\n" + Files.readString(log);
    }

    /** One good epoch on 16 images, in this JVM; returns the run folder. */
    Path firstEpoch(Path data) {
        Path run = dir.resolve("run");
        CliRun r = CliRun.of("train", "--out", run.toString(), "--epochs", "1", "--batch-size", "16", "--seed", "3", "--threads", "1",
                "--data", data.toString(), "--no-download");
        assertEquals(0, r.code(), r.err());
        return run;
    }

    static List<String> tmpFiles(Path run) throws IOException {
        try (Stream<Path> s = Files.list(run)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
        }
    }

    /**
     * A full disk, without root: {@code ulimit -f} caps the size of any file the child writes (the JVM ignores
     * SIGXFSZ, so the write fails with EFBIG, "File too large", as a full disk fails with ENOSPC). 2 MiB lets the
     * run start but not write the 11 MiB checkpoint of epoch 2.
     */
    @Test
    void aDiskThatFillsUpStopsTheRunAndKeepsThePreviousCheckpoint() throws Exception {
        Path data = CrashSafetyTest.smallMnist(dir.resolve("data"), 16);
        Path run = firstEpoch(data);
        Path ckpt = run.resolve(Checkpoint.CHECKPOINT_FILE);
        byte[] before = Files.readAllBytes(ckpt);
        List<String> java = CrashSafetyTest.java("--", "train", "--resume", run.toString(), "--epochs", "2", "--threads", "1",
                "--data", data.toString(), "--no-download");
        String cmd = "ulimit -f 2048 && exec " + String.join(" ", java.stream().map(a -> "'" + a + "'").toList());
        Path log = dir.resolve("full.log");
        String out = run(new ProcessBuilder("bash", "-c", cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start(), log);
        assertTrue(out.startsWith("3\n"), out);
        assertTrue(out.contains("deepshape train: cannot write the checkpoint after epoch 2 to " + ckpt + ": File too large; the previous "
                + "checkpoint.safetensors there is unchanged (resume from it with --resume " + run + "). Free disk space or choose a writable run folder (--out)"), out);
        assertArrayEquals(before, Files.readAllBytes(ckpt));
        assertEquals(1, ((Number) Checkpoint.read(ckpt).meta().get("epoch")).intValue());
        assertEquals(List.of(), tmpFiles(run), "no half-written file is left");
    }

    /** Runs where permissions bind (not as root: root writes into a 0555 folder anyway, and the test says so). */
    @Test
    void aReadOnlyRunFolderIsReportedBeforeTrainingAndTheCheckpointKept() throws Exception {
        Path data = CrashSafetyTest.smallMnist(dir.resolve("data"), 16);
        Path run = firstEpoch(data);
        Path ckpt = run.resolve(Checkpoint.CHECKPOINT_FILE);
        byte[] before = Files.readAllBytes(ckpt);
        Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            Path probe = run.resolve("probe");
            boolean rootWritesAnyway;
            try {
                Files.write(probe, new byte[1]);
                Files.delete(probe);
                rootWritesAnyway = true;
            } catch (IOException expected) {
                rootWritesAnyway = false;
            }
            assumeFalse(rootWritesAnyway, "running as root: a read-only folder cannot be made without mounting one");
            CliRun r = CliRun.of("train", "--resume", run.toString(), "--epochs", "2", "--threads", "1", "--data", data.toString(), "--no-download");
            assertEquals(3, r.code(), r.err());
            assertTrue(r.err().contains("the run folder " + run + " is not writable: permission denied")
                    && r.err().contains("nothing was trained and its checkpoint is unchanged. Choose another folder with --out"), r.err());
            assertArrayEquals(before, Files.readAllBytes(ckpt));
        } finally {
            Files.setPosixFilePermissions(run, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /**
     * The reference run ({@link BoundedHeapTraining}: all 70 000 MNIST images in memory, 55 MB as bytes;
     * CombinedModel; Adam; batch 64) trains {@value #HEAP_TEST_STEPS} steps and writes its checkpoint in a child JVM
     * limited to {@value #XMX}, with the launcher's collector (serial) and the Vector API backend. Measured: 128 MB
     * runs out of memory while loading the data, 144 MB trains 30 steps; 160 MB is the figure we state (the
     * launcher's default, 256 MB, leaves a margin).
     */
    @Test
    void theReferenceModelTrainsInABoundedHeap() throws Exception {
        Path log = dir.resolve("heap.log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), XMX, "-XX:+UseSerialGC",
                "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), BoundedHeapTraining.class.getName(), String.valueOf(HEAP_TEST_STEPS), dir.resolve("heap").toString()));
        long t0 = System.nanoTime();
        String out = run(new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start(), log);
        assertTrue(out.startsWith("0\n") && out.contains("trained " + HEAP_TEST_STEPS + " steps") && out.contains("saved; max heap"), out);
        assertTrue(Files.exists(dir.resolve("heap").resolve(Checkpoint.CHECKPOINT_FILE)));
        System.out.printf("bounded heap: %d steps in %s, %.1f s%n", HEAP_TEST_STEPS, XMX, (System.nanoTime() - t0) / 1e9);
    }
}
