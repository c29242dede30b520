package dev.deepshape.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the IDX files MNIST (and Fashion-MNIST, KMNIST, ...) ship in, raw or gzipped (a name ending in {@code .gz}).
 *
 * <p>Layout, big-endian: a 4-byte magic {@code 0x00 0x00 <dtype> <ndim>}, then {@code ndim} 4-byte dimension sizes,
 * then the data in row-major order. Only dtype {@code 0x08} (unsigned byte) is used by these datasets and supported
 * here. Image files have magic 2051 ({@code 0x00000803}: ubyte, 3 dimensions (N, rows, cols)), label files 2049
 * ({@code 0x00000801}: ubyte, 1 dimension (N)). Every check names the file, the byte offset or field, what was
 * expected and what was found.
 *
 * <pre>{@code IdxReader.Idx images = IdxReader.readImages(Path.of("data/train-images-idx3-ubyte.gz")); // dims [60000, 28, 28]}</pre>
 */
public final class IdxReader {
    private IdxReader() {}

    public static final int IMAGES_MAGIC = 2051;
    public static final int LABELS_MAGIC = 2049;
    private static final int UBYTE = 0x08;

    /** The decoded array: its dimension sizes and the unsigned bytes (read them with {@code & 0xFF}). */
    public record Idx(Path file, int[] dims, byte[] data) {
        public int count() { return dims[0]; }
    }

    /** Thrown for a malformed IDX file; the message names the file, the offset or field, expected and actual. */
    public static final class FormatException extends IOException {
        public FormatException(Path file, String msg) { super(file + ": not a valid IDX file: " + msg); }
    }

    /** An image file: magic 2051, dimensions (N, rows, cols). */
    public static Idx readImages(Path file) throws IOException { return read(file, IMAGES_MAGIC); }

    /** A label file: magic 2049, dimension (N); every label is checked to be below {@code numClasses}. */
    public static Idx readLabels(Path file, int numClasses) throws IOException {
        Idx idx = read(file, LABELS_MAGIC);
        byte[] d = idx.data();
        for (int i = 0; i < d.length; i++) {
            if ((d[i] & 0xFF) >= numClasses) {
                throw new FormatException(file, "label " + i + " (byte offset " + (8 + i) + ") is " + (d[i] & 0xFF)
                        + ", expected a class index in [0, " + numClasses + ")");
            }
        }
        return idx;
    }

    /** Reads a file and checks it against the expected magic number ({@code 0x0800 | ndim} for unsigned bytes). */
    public static Idx read(Path file, int expectedMagic) throws IOException {
        byte[] bytes = readAllBytes(file);
        String what = file.getFileName().toString().endsWith(".gz") ? "decompressed " : "";
        if (bytes.length < 4) {
            throw new FormatException(file, "the " + what + "file is " + bytes.length + " bytes, too short for the 4-byte magic number at byte 0");
        }
        int magic = be32(bytes, 0);
        int expectedNdim = expectedMagic & 0xFF;
        if (bytes[0] != 0 || bytes[1] != 0) {
            throw new FormatException(file, "magic number at byte 0 is " + magic + " (0x" + hex(magic) + "), expected " + expectedMagic
                    + " (0x" + hex(expectedMagic) + "); IDX files start with two zero bytes" + hint(magic));
        }
        int dtype = bytes[2] & 0xFF;
        int ndim = bytes[3] & 0xFF;
        if (dtype != UBYTE) {
            throw new FormatException(file, "data type byte at offset 2 is 0x" + String.format("%02x", dtype) + " (" + dtypeName(dtype)
                    + "), expected 0x08 (unsigned byte), the type MNIST-style datasets use");
        }
        if (magic != expectedMagic) {
            throw new FormatException(file, "magic number at byte 0 is " + magic + " (" + ndim + " dimension(s)), expected " + expectedMagic
                    + " (" + expectedNdim + " dimension(s))" + hint(magic));
        }
        int headerLen = 4 + 4 * ndim;
        if (bytes.length < headerLen) {
            throw new FormatException(file, "the " + what + "file is " + bytes.length + " bytes, too short for the " + ndim
                    + " dimension sizes at bytes 4.." + headerLen);
        }
        int[] dims = new int[ndim];
        long numel = 1;
        for (int d = 0; d < ndim; d++) {
            dims[d] = be32(bytes, 4 + 4 * d);
            if (dims[d] < 0) throw new FormatException(file, "dimension " + d + " (bytes " + (4 + 4 * d) + ".." + (8 + 4 * d) + ") is " + dims[d] + ", expected a size >= 0");
            numel *= dims[d];
        }
        long expectedLen = headerLen + numel;
        if (bytes.length < expectedLen) {
            throw new FormatException(file, "truncated: the header promises " + dimsStr(dims) + " = " + numel + " bytes of data from byte "
                    + headerLen + " (" + expectedLen + " bytes in all), but the " + what + "file ends at byte " + bytes.length);
        }
        if (bytes.length > expectedLen) {
            throw new FormatException(file, "the header promises " + dimsStr(dims) + " = " + numel + " bytes of data, ending at byte "
                    + expectedLen + ", but the " + what + "file has " + (bytes.length - expectedLen) + " more bytes");
        }
        byte[] data = new byte[(int) numel];
        System.arraycopy(bytes, headerLen, data, 0, data.length);
        return new Idx(file, dims, data);
    }

    private static byte[] readAllBytes(Path file) throws IOException {
        if (!file.getFileName().toString().endsWith(".gz")) return Files.readAllBytes(file);
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file), 1 << 16)) {
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(1 << 20);
            byte[] buf = new byte[1 << 16];
            try {
                for (int n; (n = in.read(buf)) > 0; ) out.write(buf, 0, n);
            } catch (EOFException e) {
                throw new FormatException(file, "the gzip stream is truncated after " + out.size() + " decompressed bytes (the download may be incomplete)");
            } catch (ZipException e) {
                throw new FormatException(file, "the gzip stream is corrupt after " + out.size() + " decompressed bytes: " + e.getMessage());
            }
            return out.toByteArray();
        } catch (ZipException e) {
            throw new FormatException(file, "not a gzip file (" + e.getMessage() + "); a name ending in .gz must hold gzip data");
        } catch (EOFException e) {
            throw new FormatException(file, "the gzip header is truncated");
        }
    }

    private static int be32(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    private static String hex(int v) { return String.format("%08x", v); }

    private static String hint(int magic) {
        if (magic == IMAGES_MAGIC) return " — this is an image file; were the image and label file names swapped?";
        if (magic == LABELS_MAGIC) return " — this is a label file; were the image and label file names swapped?";
        if ((magic >>> 16) == 0x1f8b) return " — the data is gzipped; give the file a .gz name";
        return "";
    }

    private static String dtypeName(int dtype) {
        return switch (dtype) {
            case 0x08 -> "unsigned byte";
            case 0x09 -> "signed byte";
            case 0x0B -> "short";
            case 0x0C -> "int";
            case 0x0D -> "float";
            case 0x0E -> "double";
            default -> "not an IDX type";
        };
    }

    private static String dimsStr(int[] dims) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < dims.length; i++) sb.append(i > 0 ? "×" : "").append(dims[i]);
        return sb.toString();
    }
}
