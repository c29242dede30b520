package dev.deepshape.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.deepshape.data.IdxReader;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.io.Json;
import dev.deepshape.io.SafeTensors;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.SpecException;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;

/**
 * Coverage-guided fuzz targets (Jazzer) for every parser in core: IDX, safetensors (and the checkpoint metadata in
 * it), JSON and model specs. The contract each checks: any input either parses, or fails with the parser's own
 * exception whose message names the file (or the source) — never another exception, an {@link OutOfMemoryError} or
 * a {@link StackOverflowError}.
 *
 * <p>In a normal build each target runs over its seed corpus in {@code ParserFuzzTestInputs/<target>/} (regression
 * mode). {@code JAZZER_FUZZ=1} fuzzes one target for its {@code maxDuration} (see {@code scripts/fuzz.sh}); each
 * crash it finds is kept as a new corpus file, so the regression run repeats it forever.
 */
class ParserFuzzTest {
    private static final AtomicLong IDX = new AtomicLong(), SAFETENSORS = new AtomicLong(), JSON = new AtomicLong(), SPEC = new AtomicLong();
    private static final ThreadLocal<Path> DIR = ThreadLocal.withInitial(() -> {
        try {
            Path d = Files.createTempDirectory("deepshape-fuzz");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    });

    @AfterAll
    static void report() {
        System.out.printf("fuzz inputs: idx %d, safetensors %d, json %d, spec %d%n", IDX.get(), SAFETENSORS.get(), JSON.get(), SPEC.get());
    }

    /** First byte: bit 0 = gzipped (the file is named {@code .gz}), bit 1 = read as labels instead of images. */
    @FuzzTest(maxDuration = "20s")
    void idx(byte[] input) throws IOException {
        IDX.incrementAndGet();
        if (input.length == 0) return;
        boolean gz = (input[0] & 1) != 0, labels = (input[0] & 2) != 0;
        Path file = write(gz ? "fuzz-idx.gz" : "fuzz-idx", Arrays.copyOfRange(input, 1, input.length));
        try {
            IdxReader.Idx idx = labels ? IdxReader.readLabels(file, 10) : IdxReader.readImages(file);
            assertEquals(Shapes.numel(idx.dims()), idx.data().length, "data length = product of the dimensions");
        } catch (IdxReader.FormatException e) {
            named(e, file);
        }
    }

    @FuzzTest(maxDuration = "20s")
    void safetensors(byte[] input) throws IOException {
        SAFETENSORS.incrementAndGet();
        Path file = write("fuzz.safetensors", input);
        try {
            SafeTensors.Contents c = SafeTensors.readAll(file);
            long bytes = 0;
            for (Tensor t : c.floats().values()) bytes += t.numel();
            for (var t : c.ints().values()) bytes += t.data().length;
            assertTrue(bytes <= input.length, "decoded " + bytes + " elements from a file of " + input.length + " bytes");
        } catch (SafeTensors.FormatException e) {
            named(e, file);
        }
        try {
            Checkpoint.read(file);
        } catch (SafeTensors.FormatException e) {
            named(e, file);
        }
    }

    /** Parses; whatever parses must write back to JSON that parses to the same value. */
    @FuzzTest(maxDuration = "20s")
    void json(byte[] input) {
        JSON.incrementAndGet();
        String text = new String(input, StandardCharsets.UTF_8);
        Object v;
        try {
            v = Json.parse(text);
        } catch (Json.ParseException e) {
            assertTrue(e.offset >= 0 && e.offset <= text.length(), "offset " + e.offset + " within the text: " + e.getMessage());
            return;
        }
        String written = Json.write(v);
        if (!written.contains("NaN") && !written.contains("Infinity")) assertEquals(Json.write(Json.parse(written)), written, "round trip");
    }

    @FuzzTest(maxDuration = "20s")
    void spec(byte[] input) {
        SPEC.incrementAndGet();
        String text = new String(input, StandardCharsets.UTF_8);
        try {
            ModelSpec spec = ModelSpec.parse(text, "fuzz.spec");
            assertTrue(!spec.layers().isEmpty());
        } catch (SpecException e) {
            assertTrue(e.getMessage().startsWith("fuzz.spec:" + e.line), "message names the source and line: " + e.getMessage());
        }
    }

    static Path write(String name, byte[] bytes) throws IOException {
        Path file = DIR.get().resolve(name);
        Files.write(file, bytes);
        return file;
    }

    static void named(Exception e, Path file) {
        if (e.getMessage() == null || !e.getMessage().startsWith(file.toString())) fail("the error does not name the file: " + e.getMessage(), e);
    }
}
