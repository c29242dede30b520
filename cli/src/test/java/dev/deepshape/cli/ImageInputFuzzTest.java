package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;

/**
 * Fuzz target (Jazzer) for {@code predict}'s picture reader: any bytes either become a 28×28 input of finite values
 * or fail with an {@link IOException} that names the file; never another exception, and never a decode of more
 * than {@link ImageInput#MAX_PIXELS} pixels. Seeds: {@code ImageInputFuzzTestInputs/image/}.
 */
class ImageInputFuzzTest {
    private static final AtomicLong INPUTS = new AtomicLong();
    private static final ThreadLocal<Path> FILE = ThreadLocal.withInitial(() -> {
        try {
            Path d = Files.createTempDirectory("deepshape-fuzz");
            d.toFile().deleteOnExit();
            return d.resolve("fuzz-image");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    });

    @AfterAll
    static void report() { System.out.printf("fuzz inputs: image %d%n", INPUTS.get()); }

    @FuzzTest(maxDuration = "20s")
    void image(byte[] input) throws IOException {
        INPUTS.incrementAndGet();
        Path file = FILE.get();
        Files.write(file, input);
        ImageInput.Prepared p;
        try {
            p = ImageInput.load(file, ImageInput.Invert.AUTO);
        } catch (IOException e) {
            if (e.getMessage() == null || !e.getMessage().startsWith(file.toString())) fail("the error does not name the file: " + e.getMessage(), e);
            return;
        }
        assertEquals(ImageInput.SIZE * ImageInput.SIZE, p.pixels().length);
        for (float v : p.normalised()) assertTrue(v >= -1 && v <= 1, "normalised pixel " + v);
    }
}
