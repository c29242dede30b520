package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Main starts the kernels' warm-up before parsing only where the command is sure to train on the best host backend. */
class EarlyWarmUpTest {
    private static boolean early(String env, String... args) { return Main.warmsUpEarly(args, env); }

    @Test
    void trainingCommandsOnTheDefaultBackendWarmUpEarly() {
        assertTrue(early(null, "train"));
        assertTrue(early(null, "train", "--epochs", "1", "--data", "d"));
        assertTrue(early("", "bench", "--epoch"));
        assertTrue(early(null, "train", "--device", "cpu"));
        assertTrue(early(null, "bench", "--device=cpu", "--threads", "2"));
    }

    @Test
    void anotherCommandOrAChosenBackendOrDeviceDoesNot() {
        assertFalse(early(null));
        assertFalse(early(null, "shapes", "--model", "combined"));
        assertFalse(early(null, "eval"));
        assertFalse(early("reference", "train"));
        assertFalse(early(null, "train", "--device", "cuda"));
        assertFalse(early(null, "train", "--device=cuda"));
        assertFalse(early(null, "train", "--device"));
        assertFalse(early(null, "bench", "--backend", "reference"));
        assertFalse(early(null, "bench", "--backend=simd"));
    }
}
