package dev.deepshape.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    @TempDir Path dir;

    static Map<String, Tensor> model() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("fc.weight", new Tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        m.put("fc.bias", new Tensor(new float[] {-0.5f, Float.MIN_VALUE}, 2));
        return m;
    }

    @Test
    void roundTripsModelOptimiserAndMetadata() throws IOException {
        Path f = dir.resolve("checkpoint.safetensors");
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("epoch", 3);
        meta.put("loader_rng", new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE});
        meta.put("lr", 1e-3f);
        Checkpoint.write(f, model(), Map.of("0.exp_avg", Tensor.full(0.25f, 2, 3)), meta);
        Checkpoint.Contents c = Checkpoint.read(f);
        assertEquals(List.of("fc.weight", "fc.bias"), List.copyOf(c.model().keySet()));
        assertArrayEquals(model().get("fc.bias").toArray(), c.model().get("fc.bias").toArray());
        assertArrayEquals(new int[] {2, 3}, c.optimizer().get("0.exp_avg").shape());
        assertEquals(3L, c.meta().get("epoch"));
        assertEquals(List.of(Long.MIN_VALUE, -1L, 0L, Long.MAX_VALUE), c.meta().get("loader_rng"));
        assertEquals(1e-3f, ((Number) c.meta().get("lr")).floatValue());
        assertEquals(Checkpoint.FORMAT, c.meta().get("format"));
        // The same file also serves as a state dict.
        assertEquals(List.of("fc.weight", "fc.bias"), List.copyOf(Checkpoint.readStateDict(f).keySet()));
    }

    @Test
    void aPlainStateDictIsReadAsOneButNotResumedFrom() throws IOException {
        Path f = dir.resolve("model.safetensors");
        Checkpoint.writeStateDict(f, model());
        assertArrayEquals(model().get("fc.weight").toArray(), Checkpoint.readStateDict(f).get("fc.weight").toArray());
        String m = assertThrows(IOException.class, () -> Checkpoint.read(f)).getMessage();
        assertTrue(m.contains("not a deepshape training checkpoint") && m.contains("fc.weight"), m);
    }

    @Test
    void aWriteThatDiesHalfwayLeavesThePreviousCheckpoint() throws IOException {
        Path f = dir.resolve("checkpoint.safetensors");
        Checkpoint.write(f, model(), Map.of(), Map.of("epoch", 1));
        byte[] before = Files.readAllBytes(f);
        byte[] next = SafeTensors.encode(model(), Map.of(), Map.of("deepshape", "{}"));
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write(next, 0, next.length / 2);
            throw new IOException("simulated crash");
        }));
        assertEquals("simulated crash", e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(f));
        assertEquals(1L, Checkpoint.read(f).meta().get("epoch"));
        try (var files = Files.list(dir)) { assertEquals(1, files.count(), "the temporary file is removed"); }
    }
}
