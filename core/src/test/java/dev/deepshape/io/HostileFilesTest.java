package dev.deepshape.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.data.IdxReader;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.SpecException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files built to break the readers (issue 7): each must fail with the reader's own exception, naming the file and
 * what is wrong, without allocating more than the file holds. Those marked "found by" were crashes before the fix.
 */
class HostileFilesTest {
    @TempDir Path dir;

    static byte[] safetensors(long claimedHeaderLength, String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(claimedHeaderLength < 0 ? h.length : claimedHeaderLength);
        b.put(h);
        return b.array();
    }

    String safetensorsError(String name, byte[] bytes) throws IOException {
        Path f = dir.resolve(name);
        Files.write(f, bytes);
        String m = assertThrows(SafeTensors.FormatException.class, () -> SafeTensors.readAll(f)).getMessage();
        assertTrue(m.startsWith(f + ": not a valid safetensors file: "), m);
        return m;
    }

    @Test
    void safetensorsHeaderLongerThanTheFile() throws IOException {
        String m = safetensorsError("a.safetensors", safetensors(1L << 40, "{}", 0));
        assertTrue(m.contains("header length 1099511627776 at byte 0 does not fit a file of 10 bytes"), m);
        byte[] negative = safetensors(-1, "{}", 0);
        ByteBuffer.wrap(negative).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -5);
        m = safetensorsError("neg.safetensors", negative);
        assertTrue(m.contains("header length"), m);
    }

    @Test
    void safetensorsOffsetsOutsideTheData() throws IOException {
        String m = safetensorsError("b.safetensors", safetensors(-1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4096]}}", 8));
        assertTrue(m.contains("tensor 'w' data_offsets [0, 4096] lie outside the 8 data bytes"), m);
        m = safetensorsError("c.safetensors", safetensors(-1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-4,4]}}", 8));
        assertTrue(m.contains("lie outside"), m);
    }

    @Test
    void safetensorsOverlappingTensorsAreRejectedBeforeAnythingIsAllocated() throws IOException {
        String m = safetensorsError("d.safetensors", safetensors(-1,
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        assertTrue(m.contains("tensors 'a' [0, 8) and 'b' [4, 12) overlap in the data section at byte"), m);
        // Found by review: 20 000 entries sharing one 1 MiB region were each decoded (20 GiB) before the overlap check.
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; i < 20_000; i++) h.append(i > 0 ? "," : "").append("\"t").append(i).append("\":{\"dtype\":\"U8\",\"shape\":[1048576],\"data_offsets\":[0,1048576]}");
        m = safetensorsError("e.safetensors", safetensors(-1, h.append('}').toString(), 1 << 20));
        assertTrue(m.contains("overlap"), m);
    }

    @Test
    void safetensorsUnknownDtypeAndNonUtf8AndDeepNesting() throws IOException {
        String m = safetensorsError("f.safetensors", safetensors(-1, "{\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        assertTrue(m.contains("tensor 'q' has unknown dtype F8_E4M3 (expected one of F32"), m);
        byte[] bad = safetensors(-1, "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        bad[10] = (byte) 0xC3;
        m = safetensorsError("g.safetensors", bad);
        assertTrue(m.contains("header (bytes 8..") && m.contains("is not UTF-8"), m);
        m = safetensorsError("h.safetensors", safetensors(-1, "{\"a\":" + "[".repeat(100_000) + "]".repeat(100_000) + "}", 0));
        assertTrue(m.contains("JSON nested deeper than 64 levels"), m);
    }

    @Test
    void safetensorsShapeWhoseProductOverflows() throws IOException {
        // 2^16 · 2^16 · 2^16 · 2^16 = 2^64 wraps a long to 0, which would match data_offsets [0, 0].
        String m = safetensorsError("i.safetensors", safetensors(-1, "{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}", 0));
        assertTrue(m.contains("shape (65536, 65536, 65536, 65536) has more than 2^31-1 elements"), m);
    }

    static byte[] idxHeader(int magic, int ndim, int dim) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * ndim);
        b.putInt(magic);
        for (int k = 0; k < ndim; k++) b.putInt(dim);
        return b.array();
    }

    static byte[] gzip(byte[] raw, long zeros) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) {
            z.write(raw);
            byte[] block = new byte[1 << 16];
            for (long left = zeros; left > 0; left -= block.length) z.write(block, 0, (int) Math.min(block.length, left));
        }
        return out.toByteArray();
    }

    @Test
    void idxDimensionsWhoseProductWrapsAround() throws IOException {
        // Found by review: 255 dimensions of 2^30 multiply to 2^7650, which wraps a long to 0 and read as "empty".
        Path f = dir.resolve("wrap");
        ByteBuffer b = ByteBuffer.wrap(idxHeader(0x08FF, 255, 0x40000000));
        Files.write(f, b.array());
        String m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.read(f, 0x08FF)).getMessage();
        assertTrue(m.startsWith(f + ": not a valid IDX file: the header promises 1073741824×") && m.contains("more than the"), m);
    }

    @Test
    void idxSizesThatOverflowBeforeAZeroAreRejected() throws IOException {
        // Found by the fuzzer (ParserFuzzTestInputs/idx/crash-7fcf5e0c...): (2, 1661009920, 0) holds no data, but the
        // sizes overflow int arithmetic in everything that multiplies them (Shapes.numel, the Dataset's checks).
        Path f = dir.resolve("zero");
        Files.write(f, ByteBuffer.allocate(16).putInt(2051).putInt(2).putInt(1661009920).putInt(0).array());
        String m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(f)).getMessage();
        assertTrue(m.contains("the header promises 2×1661009920×0 bytes of data (dimensions 0..1 alone give 3322019840)"), m);
    }

    @Test
    void idxGzipBombsAllocateOnlyWhatIsThere() throws IOException {
        // A 3-dimension header promising 2^31-1 images of 2^31-1 × 2^31-1 in a file of a few dozen bytes.
        Path promise = dir.resolve("promise.gz");
        Files.write(promise, gzip(idxHeader(2051, 3, 0x7FFFFFFF), 0));
        String m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(promise)).getMessage();
        assertTrue(m.contains("more than the"), m);
        // A plausible header (10 × 28 × 28) followed by 256 MiB of zeros, compressed to about 250 KiB: read stops one
        // byte past the promise instead of inflating all of it.
        Path bomb = dir.resolve("bomb.gz");
        ByteBuffer h = ByteBuffer.allocate(16).putInt(2051).putInt(10).putInt(28).putInt(28);
        Files.write(bomb, gzip(h.array(), 256L << 20));
        assertTrue(Files.size(bomb) < 1 << 20, "the bomb is small: " + Files.size(bomb));
        Runtime rt = Runtime.getRuntime();
        long before = rt.totalMemory() - rt.freeMemory();
        long t0 = System.nanoTime();
        m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(bomb)).getMessage();
        assertTrue(m.contains("the header promises 10×28×28 = 7840 bytes of data, ending at byte 7856, but the decompressed file has more bytes after it"), m);
        assertTrue(System.nanoTime() - t0 < 2_000_000_000L, "stopped early instead of inflating 256 MiB");
        assertTrue(rt.totalMemory() - rt.freeMemory() - before < 64L << 20, "allocated far less than the 256 MiB inside");
    }

    @Test
    void jsonIsStrictAboutNumbersAndEscapes() {
        assertEquals("bad \\u escape: expected 4 hex digits at offset 3", assertThrows(Json.ParseException.class, () -> Json.parse("\"\\u+123\"")).getMessage());
        for (String bad : List.of("01", "1.", "-", "1e", ".5", "1e+", "--1", "1-2")) {
            assertThrows(Json.ParseException.class, () -> Json.parse(bad), bad);
        }
        assertEquals(List.of(0L, -3L, 2.5e3, 1.0E30), Json.parse("[0, -3, 2.5e3, 1000000000000000000000000000000]"));
    }

    @Test
    void specTuplesNestedWithoutEndDoNotOverflowTheStack() {
        String text = "Conv2d(1, 2, kernel_size=" + "(".repeat(100_000) + ")".repeat(100_000) + ")";
        SpecException e = assertThrows(SpecException.class, () -> ModelSpec.parse(text, "deep.spec"));
        assertTrue(e.getMessage().startsWith("deep.spec:1:") && e.getMessage().contains("tuples nested deeper than 16 levels"), e.getMessage());
    }

    @Test
    void specFilesAreBoundedAndMustBeUtf8() throws IOException {
        Path latin1 = dir.resolve("latin1.spec");
        Files.write(latin1, "input: (N, 1, 28, 28)\nLinear(784, 10) # caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        SpecException e = assertThrows(SpecException.class, () -> ModelSpec.read(latin1));
        assertEquals(latin1 + ":2: byte 43 (0xe9) is not UTF-8 text", e.getMessage());
        Path big = dir.resolve("big.spec");
        Files.write(big, new byte[(int) ModelSpec.MAX_FILE_BYTES + 1]);
        e = assertThrows(SpecException.class, () -> ModelSpec.read(big));
        assertEquals(big + ":1: the file is 1048577 bytes; a spec is a few lines (at most 1048576 bytes are read)", e.getMessage());
        Path ok = dir.resolve("ok.spec");
        Files.writeString(ok, "input: (N, 1, 28, 28)\nFlatten()\nLinear(784, 10)\n");
        assertEquals(2, ModelSpec.read(ok).layers().size());
    }
}
