package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchCommandTest {
    @Test
    void badFlagsAreOneLineAndExitTwo() {
        for (String[] args : List.of(
                new String[] {"bench", "--batch-size", "0"},
                new String[] {"bench", "--iterations", "0"},
                new String[] {"bench", "--warmup", "-1"},
                new String[] {"bench", "--threads", "0"},
                new String[] {"bench", "--backend", "nope"},
                new String[] {"bench", "--model", "nope"},
                new String[] {"bench", "--data", "/tmp"},
                new String[] {"bench", "--iterations", "two"},
                new String[] {"bench", "--frobnicate"})) {
            ShapeCommandsTest.Result r = ShapeCommandsTest.run(args);
            assertEquals(2, r.status(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().startsWith("deepshape bench: "), r.err());
        }
        ShapeCommandsTest.Result missing = ShapeCommandsTest.run("bench", "--epoch", "--data", "/nonexistent-mnist");
        assertEquals(2, missing.status(), missing.err());
        assertEquals(1, missing.err().strip().lines().count(), missing.err());
        ShapeCommandsTest.Result backend = ShapeCommandsTest.run("bench", "--backend", "nope");
        assertTrue(backend.err().contains("unknown backend 'nope'; available here: [") && backend.err().contains("reference"), backend.err());
        ShapeCommandsTest.Result data = ShapeCommandsTest.run("bench", "--data", "/tmp");
        assertTrue(data.err().contains("--data needs --epoch"), data.err());
    }

    @SuppressWarnings("unchecked")
    @Test
    void jsonHasEveryLayerWithPositiveTimes(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("small.spec");
        Files.writeString(spec, "input: (N, 1, 12, 12)\nconv = Conv2d(1, 4, 3)\nReLU()\npool = MaxPool2d(2)\nFlatten()\nUnsqueeze(1)\n"
                + "gru = GRU(100, 8, batch_first=True)\nSelect(1, -1)\nfc = Linear(8, 3)\n");
        ShapeCommandsTest.Result r = ShapeCommandsTest.run("bench", "--spec", spec.toString(), "--batch-size", "4", "--iterations", "2",
                "--warmup", "1", "--threads", "1", "--gemm-seconds", "0.05", "--json");
        assertEquals(0, r.status(), r.err());
        Map<String, Object> m = (Map<String, Object>) Json.parse(r.out().strip());
        List<Map<String, Object>> layers = (List<Map<String, Object>>) m.get("layers");
        List<String> names = layers.stream().map(l -> (String) l.get("name")).toList();
        assertEquals(List.of("conv", "1", "pool", "3", "4", "gru", "6", "fc"), names);
        for (Map<String, Object> l : layers) {
            assertTrue(((Number) l.get("forward_ms")).doubleValue() > 0, l.toString());
            assertEquals(Boolean.TRUE, l.get("has_backward"), l.toString());
            assertTrue(((Number) l.get("backward_ms")).doubleValue() > 0, l.toString());
        }
        // FLOPs: conv has 4 samples × 4 channels × 10·10 outputs, each 9 MACs (2 FLOPs) + one bias add; its input needs no gradient.
        assertEquals(2.0 * 1600 * 9 + 1600, ((Number) layers.get(0).get("forward_flops")).doubleValue());
        assertEquals(2.0 * 1600 * 9 + 1600, ((Number) layers.get(0).get("backward_flops")).doubleValue());
        assertTrue(((Number) layers.get(0).get("forward_gflops")).doubleValue() > 0);
        assertNull(layers.get(1).get("forward_gflops")); // ReLU: no FLOPs counted, no rate (NaN is written as null)
        for (String k : List.of("optimizer_ms", "train_step_ms", "inference_ms", "train_samples_per_s", "epoch_s", "gemm_floor_s")) {
            assertTrue(((Number) m.get(k)).doubleValue() > 0, k + " in " + m);
        }
        assertEquals("[4, 1, 12, 12]", m.get("input").toString());
        assertEquals(1, ((Number) m.get("threads")).intValue());
        assertTrue(((Number) ((Map<String, Object>) m.get("gemm")).get("gflops")).doubleValue() > 0);
    }
}
