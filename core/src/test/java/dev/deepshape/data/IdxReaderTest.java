package dev.deepshape.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir Path dir;

    /** An IDX file: magic, dimension sizes, then the data bytes. */
    static byte[] idx(int magic, int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.putInt(magic);
        for (int d : dims) b.putInt(d);
        b.put(data);
        return b.array();
    }

    static byte[] gzip(byte[] raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) { gz.write(raw); }
        return out.toByteArray();
    }

    static byte[] pixels(int n) {
        byte[] p = new byte[n];
        for (int i = 0; i < n; i++) p[i] = (byte) (i * 37);
        return p;
    }

    Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    @Test
    void readsRawAndGzippedImagesAlike() throws IOException {
        byte[] raw = idx(2051, new int[] {3, 4, 5}, pixels(60));
        IdxReader.Idx a = IdxReader.readImages(write("img", raw));
        IdxReader.Idx b = IdxReader.readImages(write("img.gz", gzip(raw)));
        assertArrayEquals(new int[] {3, 4, 5}, a.dims());
        assertArrayEquals(pixels(60), a.data());
        assertArrayEquals(a.data(), b.data());
        assertArrayEquals(a.dims(), b.dims());
    }

    @Test
    void swappedFilesNameTheMagicNumbers() throws IOException {
        Path labels = write("labels", idx(2049, new int[] {3}, new byte[] {1, 2, 3}));
        IOException e = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(labels));
        assertTrue(e.getMessage().contains("labels: not a valid IDX file: magic number at byte 0 is 2049"), e.getMessage());
        assertTrue(e.getMessage().contains("expected 2051") && e.getMessage().contains("swapped"), e.getMessage());
    }

    @Test
    void badMagicAndDtypeAreNamed() throws IOException {
        Path junk = write("junk", "PK\u0003\u0004garbage".getBytes());
        String m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(junk)).getMessage();
        assertTrue(m.contains("magic number at byte 0") && m.contains("two zero bytes"), m);
        Path floats = write("floats", idx(0x0D03, new int[] {1, 1, 1}, new byte[4]));
        m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(floats)).getMessage();
        assertTrue(m.contains("data type byte at offset 2 is 0x0d (float), expected 0x08 (unsigned byte)"), m);
        Path gzNamedRaw = write("plain", gzip(idx(2051, new int[] {1, 1, 1}, new byte[1])));
        m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(gzNamedRaw)).getMessage();
        assertTrue(m.contains("gzipped"), m);
    }

    @Test
    void truncatedDataSaysWhereItEnds() throws IOException {
        byte[] raw = idx(2051, new int[] {10, 28, 28}, pixels(10 * 784));
        Path cut = write("cut", Arrays.copyOf(raw, 16 + 5000));
        String m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(cut)).getMessage();
        assertTrue(m.contains("truncated: the header promises 10×28×28 = 7840 bytes of data from byte 16 (7856 bytes in all), but the file ends at byte 5016"), m);
        Path shortHeader = write("hdr", Arrays.copyOf(raw, 10));
        m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(shortHeader)).getMessage();
        assertTrue(m.contains("too short for the 3 dimension sizes at bytes 4..16"), m);
        Path extra = write("extra", Arrays.copyOf(raw, raw.length + 3));
        m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(extra)).getMessage();
        assertTrue(m.contains("has 3 more bytes"), m);
    }

    @Test
    void truncatedGzipIsReported() throws IOException {
        byte[] gz = gzip(idx(2051, new int[] {10, 28, 28}, pixels(10 * 784)));
        Path cut = write("cut.gz", Arrays.copyOf(gz, gz.length / 2));
        String m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(cut)).getMessage();
        assertTrue(m.contains("cut.gz") && m.contains("truncated"), m);
        Path notGz = write("raw.gz", idx(2051, new int[] {1, 1, 1}, new byte[1]));
        m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readImages(notGz)).getMessage();
        assertTrue(m.contains("not a gzip file"), m);
    }

    @Test
    void imageAndLabelCountsMustAgree() throws IOException {
        Path images = write("train-images-idx3-ubyte", idx(2051, new int[] {3, 2, 2}, pixels(12)));
        Path labels = write("train-labels-idx1-ubyte", idx(2049, new int[] {4}, new byte[] {1, 2, 3, 4}));
        String m = assertThrows(IdxReader.FormatException.class, () -> Mnist.load("train", images, labels)).getMessage();
        assertTrue(m.contains("holds 4 labels") && m.contains("holds 3 images"), m);
    }

    @Test
    void labelsOutsideTheClassesAreRejected() throws IOException {
        Path labels = write("labels", idx(2049, new int[] {3}, new byte[] {1, 10, 3}));
        String m = assertThrows(IdxReader.FormatException.class, () -> IdxReader.readLabels(labels, 10)).getMessage();
        assertTrue(m.contains("label 1 (byte offset 9) is 10, expected a class index in [0, 10)"), m);
    }

    @Test
    void normalisesAsPyTorch() throws IOException {
        Path images = write("i", idx(2051, new int[] {1, 1, 3}, new byte[] {0, (byte) 255, (byte) 128}));
        Path labels = write("l", idx(2049, new int[] {1}, new byte[] {7}));
        Mnist.Dataset d = Mnist.load("x", images, labels);
        // torch: (torch.tensor([0, 255, 128]).float().div(255) - 0.5) / 0.5
        assertArrayEquals(new float[] {-1f, 1f, (128 / 255f - 0.5f) / 0.5f}, d.images());
        assertEquals(7, d.labels()[0]);
    }

    @Test
    void keepsBytesAndNormalisesEachBatchBitForBitAsTheExpression() throws IOException {
        // every pixel value once per image, in a different order in each of 3 images of 16×16
        byte[] px = new byte[3 * 256];
        for (int i = 0; i < 3; i++) for (int p = 0; p < 256; p++) px[i * 256 + p] = (byte) ((p * (2 * i + 1)) % 256);
        Path images = write("i", idx(2051, new int[] {3, 16, 16}, px));
        Path labels = write("l", idx(2049, new int[] {3}, new byte[] {1, 2, 3}));
        Mnist.Dataset d = Mnist.load("x", images, labels);
        float[] batch = new float[2 * 256 + 1];
        d.copyImages(new int[] {9, 2, 0, 9}, 1, 3, batch, 1); // images 2 then 0, after one untouched float
        assertEquals(0f, batch[0]);
        for (int j = 0; j < 2; j++) {
            int image = j == 0 ? 2 : 0;
            for (int p = 0; p < 256; p++) {
                int v = px[image * 256 + p] & 0xFF;
                float expected = (v / 255f - 0.5f) / 0.5f;
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(batch[1 + j * 256 + p]), "pixel value " + v);
            }
        }
        float[] all = d.images();
        assertArrayEquals(Arrays.copyOfRange(all, 2 * 256, 3 * 256), Arrays.copyOfRange(batch, 1, 257));
        Mnist.Dataset two = d.first(2);
        assertEquals(2, two.count());
        assertArrayEquals(Arrays.copyOf(all, 2 * 256), two.images());
    }

    @Test
    void findsFilesInTorchvisionLayoutAndExplainsWhenMissing() throws IOException {
        Path raw = dir.resolve("MNIST").resolve("raw");
        Files.createDirectories(raw);
        Files.write(raw.resolve("t10k-images-idx3-ubyte.gz"), gzip(idx(2051, new int[] {2, 2, 2}, pixels(8))));
        Files.write(raw.resolve("t10k-labels-idx1-ubyte"), idx(2049, new int[] {2}, new byte[] {3, 4}));
        Mnist.Dataset test = Mnist.load(dir, false, null);
        assertEquals(2, test.count());
        String m = assertThrows(Mnist.MissingDataException.class, () -> Mnist.load(dir, true, null)).getMessage();
        assertTrue(m.contains(dir.toAbsolutePath().resolve("train-images-idx3-ubyte") + "[.gz]"), m);
        assertTrue(m.contains("--data DIR") && m.contains("DEEPSHAPE_DATA"), m);
    }

    @Test
    void readsTheRealMnist() throws IOException {
        Path data = Mnist.dataDir(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(Mnist.locate(data, "t10k-labels-idx1-ubyte") != null, "MNIST not found at " + data);
        Mnist.Dataset test = Mnist.load(data, false, null);
        assertEquals(10000, test.count());
        assertEquals(28, test.rows());
        assertArrayEquals(new int[] {7, 2, 1, 0, 4, 1, 4, 9, 5, 9}, Arrays.copyOf(test.labels(), 10));
        int[] counts = new int[10];
        for (int y : test.labels()) counts[y]++;
        assertArrayEquals(new int[] {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, counts);
    }
}
