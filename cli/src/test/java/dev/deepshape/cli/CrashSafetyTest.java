package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.data.IdxReader;
import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 7's crash test: a training process is killed with SIGKILL 24 times, half of them while a checkpoint file is
 * being written (a test-only pause inside {@code AtomicFiles.write} holds the temporary file open), half at random
 * moments (start-up, data loading, a step, a write). After every kill the latest checkpoint and state dict load;
 * the epoch never goes back; and {@code --resume} then finishes with weights bit-identical to an uninterrupted run
 * with the same seed and thread count.
 *
 * <p>Kept cheap for CI: 16 real MNIST images in one batch (one step an epoch), one thread, 30 epochs.
 */
class CrashSafetyTest {
    static final int KILLS = 24;
    @TempDir Path dir;

    /** The first {@code n} training and test images and labels of MNIST, as raw IDX files. */
    static Path smallMnist(Path to, int n) throws IOException {
        Path src = Mnist.dataDir(null);
        Files.createDirectories(to);
        for (int k = 0; k < 4; k++) {
            String name = Mnist.FILES.get(k);
            boolean images = name.contains("images");
            IdxReader.Idx idx = images ? IdxReader.readImages(Mnist.locate(src, name)) : IdxReader.readLabels(Mnist.locate(src, name), 10);
            int per = images ? idx.dims()[1] * idx.dims()[2] : 1;
            ByteBuffer b = ByteBuffer.allocate(4 + 4 * idx.dims().length + n * per);
            b.putInt(images ? IdxReader.IMAGES_MAGIC : IdxReader.LABELS_MAGIC).putInt(n);
            for (int d = 1; d < idx.dims().length; d++) b.putInt(idx.dims()[d]);
            b.put(idx.data(), 0, n * per);
            Files.write(to.resolve(name), b.array());
        }
        return to;
    }

    static List<String> java(String... jvmAndArgs) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC",
                "--enable-native-access=ALL-UNNAMED")); // the cuda module on the class path probes for the driver
        int main = Arrays.asList(jvmAndArgs).indexOf("--");
        cmd.addAll(Arrays.asList(jvmAndArgs).subList(0, main));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(Arrays.asList(jvmAndArgs).subList(main + 1, jvmAndArgs.length));
        return cmd;
    }

    List<String> train(Path data, Path run, boolean resume) {
        List<String> args = new ArrayList<>(List.of("-Ddeepshape.debug.atomicWritePauseMs=150", "--", "train"));
        if (resume) args.addAll(List.of("--resume", run.toString()));
        else args.addAll(List.of("--out", run.toString(), "--epochs", "30", "--batch-size", "16", "--seed", "3"));
        args.addAll(List.of("--threads", "1", "--data", data.toString(), "--no-download"));
        return java(args.toArray(String[]::new));
    }

    static boolean writing(Path run) throws IOException {
        if (!Files.isDirectory(run)) return false;
        try (Stream<Path> s = Files.list(run)) {
            return s.anyMatch(p -> p.getFileName().toString().contains(".tmp-"));
        }
    }

    @Test
    void killedTwentyFourTimesThenResumedGivesTheUninterruptedWeights() throws Exception {
        long t0 = System.nanoTime();
        Path data = smallMnist(dir.resolve("data"), 16);
        Path straight = dir.resolve("straight");
        Process p = new ProcessBuilder(train(data, straight, false)).redirectErrorStream(true).redirectOutput(dir.resolve("straight.log").toFile()).start();
        while (p.isAlive() && !writing(straight)) Thread.sleep(5);
        double startup = (System.nanoTime() - t0) / 1e9; // JVM start, data, model, first epoch: until the first write
        assertEquals(0, p.waitFor(), Files.readString(dir.resolve("straight.log")));
        double epochSeconds = ((System.nanoTime() - t0) / 1e9 - startup) / 29;

        Path run = dir.resolve("killed");
        Path ckpt = run.resolve(Checkpoint.CHECKPOINT_FILE);
        SplittableRandom rnd = new SplittableRandom(7);
        int duringWrite = 0, lastEpoch = 0;
        StringBuilder log = new StringBuilder();
        for (int kill = 0; kill < KILLS; kill++) {
            Process child = new ProcessBuilder(train(data, run, Files.exists(ckpt))).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            boolean atWrite = kill % 2 == 0;
            if (atWrite) {
                // Wait for a temporary checkpoint file, then kill somewhere inside the 150 ms pause (or the write after it).
                long deadline = System.nanoTime() + 60_000_000_000L;
                while (child.isAlive() && !writing(run) && System.nanoTime() < deadline) Thread.sleep(2);
                Thread.sleep(rnd.nextInt(0, 120));
                if (writing(run)) duringWrite++;
            } else {
                // Anywhere from JVM start-up to two epochs past the first checkpoint.
                Thread.sleep((long) (rnd.nextDouble(0, startup + 2 * epochSeconds) * 1000));
            }
            assertTrue(child.isAlive(), "kill " + kill + ": the run was not to finish before being killed (epochs too few for the kills)");
            child.destroyForcibly(); // SIGKILL on Linux
            child.waitFor();
            if (Files.exists(ckpt)) {
                Checkpoint.Contents c = Checkpoint.read(ckpt);
                int epoch = ((Number) c.meta().get("epoch")).intValue();
                assertTrue(epoch >= lastEpoch, "kill " + kill + ": the checkpoint went back from epoch " + lastEpoch + " to " + epoch);
                lastEpoch = epoch;
                // NOTE: model.safetensors is written after the checkpoint, so a kill between the two leaves it one
                // epoch behind (or, after the first epoch, absent); whenever it exists it is complete.
                Path stateDict = run.resolve(Checkpoint.MODEL_FILE);
                if (Files.exists(stateDict)) {
                    Map<String, Tensor> model = Checkpoint.readStateDict(stateDict);
                    assertEquals(c.model().keySet(), model.keySet());
                }
            }
            log.append(atWrite ? 'W' : 'R').append(lastEpoch).append(' ');
        }
        assertTrue(duringWrite >= KILLS / 2 - 2, "most write-timed kills landed while a temporary file existed: " + duringWrite + " (" + log + ")");

        // NOTE: the random kills may all land before the first checkpoint is complete (most of their window is start-up);
        // then there is nothing to resume, and the run starts over in the same folder, as a user would
        Process resume = new ProcessBuilder(train(data, run, Files.exists(ckpt))).redirectErrorStream(true).redirectOutput(dir.resolve("resume.log").toFile()).start();
        assertEquals(0, resume.waitFor(), Files.readString(dir.resolve("resume.log")));
        assertArrayEquals(Files.readAllBytes(straight.resolve(Checkpoint.MODEL_FILE)), Files.readAllBytes(run.resolve(Checkpoint.MODEL_FILE)),
                "bit-identical final weights after " + KILLS + " kills: " + log);
        assertEquals(Checkpoint.read(straight.resolve(Checkpoint.CHECKPOINT_FILE)).model().keySet(), Checkpoint.read(ckpt).model().keySet());
        try (Stream<Path> s = Files.list(run)) {
            assertEquals(List.of(), s.map(x -> x.getFileName().toString()).filter(n -> n.contains(".tmp-")).toList(), "stale temporary files were removed");
        }
        System.out.printf("crash test: %d kills (%d during a checkpoint write), epochs after each: %s; %.1f s%n", KILLS, duringWrite, log, (System.nanoTime() - t0) / 1e9);
    }
}
