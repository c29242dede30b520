import dev.deepshape.io.Json;
import dev.deepshape.io.SafeTensors;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Tensor;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

/**
 * Writes the fuzzers' seed corpora (committed under src/test/resources/.../ParserFuzzTestInputs and
 * ImageInputFuzzTestInputs): small valid files of every kind plus the hostile cases of issue 7, so that the
 * regression run covers them and the fuzzer starts from structure rather than from nothing.
 *
 * <pre>{@code
 * mvn -o -q -pl core compile
 * java -cp core/target/classes scripts/FuzzSeeds.java
 * }</pre>
 */
public class FuzzSeeds {
    static final Path CORE = Path.of("core/src/test/resources/dev/deepshape/fuzz/ParserFuzzTestInputs");
    static final Path CLI = Path.of("cli/src/test/resources/dev/deepshape/cli/ImageInputFuzzTestInputs/image");

    public static void main(String[] args) throws Exception {
        idx();
        safetensors();
        json();
        spec();
        images();
    }

    // The IDX target reads the first byte as a switch: bit 0 set = the rest is gzipped, bit 1 = a label file.
    static void idx() throws Exception {
        Path d = CORE.resolve("idx");
        byte[] images = idxFile(2051, new int[] {2, 3, 3}, 18);
        byte[] labels = idxFile(2049, new int[] {4}, 4);
        put(d, "images-raw", 0, images);
        put(d, "images-gz", 1, gzip(images));
        put(d, "labels-raw", 2, labels);
        put(d, "labels-gz", 3, gzip(labels));
        put(d, "truncated", 0, java.util.Arrays.copyOf(images, 12));
        put(d, "wrap-around-dims", 0, idxHeader(0x08FF, 255, 0x40000000)); // 255 dims of 2^30: a product that wraps a long
        put(d, "huge-promise-gz", 1, gzip(idxHeader(2051, 3, 0x7FFFFFFF))); // 2^93 bytes promised by a few bytes
        put(d, "zero-count", 0, idxFile(2051, new int[] {0, 28, 28}, 0));
    }

    static void safetensors() throws Exception {
        Path d = CORE.resolve("safetensors");
        Map<String, Tensor> f = new LinkedHashMap<>();
        f.put("weight", new Tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        f.put("bias", new Tensor(new float[] {0.5f, -1}, 2));
        Map<String, IntTensor> i = new LinkedHashMap<>();
        i.put("step", new IntTensor(new int[] {7}, new int[] {1}));
        Files.createDirectories(d);
        Files.write(d.resolve("valid"), SafeTensors.encode(f, i, Map.of("format", "pt")));
        Files.write(d.resolve("header-longer-than-file"), st(1L << 40, "{}", 0));
        Files.write(d.resolve("offsets-outside"), st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4096]}}", 8));
        Files.write(d.resolve("overlap"), st("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12));
        Files.write(d.resolve("unknown-dtype"), st("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1));
        Files.write(d.resolve("shape-overflow"), st("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}", 0));
        Files.write(d.resolve("deep-nesting"), st("{\"a\":" + "[".repeat(5000) + "]".repeat(5000) + "}", 0));
        byte[] bad = st("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4);
        bad[10] = (byte) 0xC3; // a lone UTF-8 lead byte in the key
        Files.write(d.resolve("not-utf8"), bad);
        Files.write(d.resolve("all-dtypes"), st("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},"
                + "\"c\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[10,12]},\"d\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[12,20]},"
                + "\"e\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[20,22]},\"f\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[22,24]}}", 24));
    }

    static void json() throws Exception {
        Path d = CORE.resolve("json");
        text(d, "object", "{\"a\": [1, -2.5e3, true, false, null], \"b\": {\"c\": \"\\u00e9\\n\"}}");
        text(d, "numbers", "[0, -0, 1e10, 1E-5, 123456789012345678901234567890, 0.5]");
        text(d, "metadata", Json.write(Map.of("format", "deepshape-checkpoint/1", "epoch", 2, "history", java.util.List.of(Map.of("loss", 0.25)))));
        text(d, "deep", "[".repeat(100) + "]".repeat(100));
        text(d, "bad-escape", "\"\\u+123\"");
    }

    static void spec() throws Exception {
        Path d = CORE.resolve("spec");
        text(d, "combined", new String(FuzzSeeds.class.getClassLoader().getResourceAsStream("dev/deepshape/shape/combined.spec").readAllBytes(), StandardCharsets.UTF_8));
        text(d, "small", "input: (N, 1, 8, 8)\nc = Conv2d(1, 2, kernel_size=(3, 3), padding='same')\nReLU()\nMaxPool2d(2, ceil_mode=True)\nFlatten()\nLinear(32, 10)\n");
        text(d, "recurrent", "input: (4, 5, 6)\nLSTM(6, 3, num_layers=2, bidirectional=True, batch_first=True)\nSelect(1, -1)\nLinear(6, 2)\n");
        text(d, "deep-tuple", "Conv2d(1, 2, kernel_size=" + "(".repeat(2000) + ")".repeat(2000) + ")\n");
    }

    static void images() throws Exception {
        Files.createDirectories(CLI);
        BufferedImage img = new BufferedImage(12, 9, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, 12, 9);
        g.setColor(Color.BLACK);
        g.drawLine(6, 1, 6, 7);
        g.dispose();
        for (String fmt : new String[] {"png", "jpg", "bmp", "gif"}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, fmt, out);
            Files.write(CLI.resolve("digit." + fmt), out.toByteArray());
        }
        BufferedImage grey = new BufferedImage(28, 28, BufferedImage.TYPE_BYTE_GRAY);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(grey, "png", out);
        byte[] png = out.toByteArray();
        Files.write(CLI.resolve("mnist-size.png"), png);
        // The same PNG with its IHDR claiming 100000×100000 pixels (CRC left stale: the reader must refuse either way).
        byte[] bomb = png.clone();
        ByteBuffer.wrap(bomb, 16, 8).putInt(100000).putInt(100000);
        Files.write(CLI.resolve("bomb-header.png"), bomb);
    }

    static byte[] idxFile(int magic, int[] dims, int n) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + n);
        b.putInt(magic);
        for (int x : dims) b.putInt(x);
        for (int k = 0; k < n; k++) b.put((byte) (k * 37 % 10));
        return b.array();
    }

    static byte[] idxHeader(int magic, int ndim, int dim) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * ndim);
        b.putInt(magic);
        for (int k = 0; k < ndim; k++) b.putInt(dim);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream z = new GZIPOutputStream(out)) { z.write(raw); }
        return out.toByteArray();
    }

    static byte[] st(String header, int dataBytes) { return st(-1, header, dataBytes); }

    static byte[] st(long claimedLength, String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(claimedLength >= 0 ? claimedLength : h.length);
        b.put(h);
        return b.array();
    }

    static void put(Path dir, String name, int selector, byte[] body) throws Exception {
        Files.createDirectories(dir);
        byte[] out = new byte[body.length + 1];
        out[0] = (byte) selector;
        System.arraycopy(body, 0, out, 1, body.length);
        Files.write(dir.resolve(name), out);
    }

    static void text(Path dir, String name, String s) throws Exception {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(name), s);
    }
}
