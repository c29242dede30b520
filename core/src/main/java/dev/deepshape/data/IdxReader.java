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
        Content content = readBounded(file);
        byte[] bytes = content.head;
        long length = content.length;
        String what = file.getFileName().toString().endsWith(".gz") ? "decompressed " : "";
        if (length < 4) {
            throw new FormatException(file, "the " + what + "file is " + length + " bytes, too short for the 4-byte magic number at byte 0");
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
        if (length < headerLen) {
            throw new FormatException(file, "the " + what + "file is " + length + " bytes, too short for the " + ndim
                    + " dimension sizes at bytes 4.." + headerLen);
        }
        int[] dims = dims(file, bytes, ndim);
        long numel = numel(file, dims);
        long expectedLen = headerLen + numel;
        if (length < expectedLen) {
            throw new FormatException(file, "truncated: the header promises " + dimsStr(dims) + " = " + numel + " bytes of data from byte "
                    + headerLen + " (" + expectedLen + " bytes in all), but the " + what + "file ends at byte " + length);
        }
        if (length > expectedLen) {
            // NOTE: a gzipped file is read only one byte past what the header promises (memory stays bounded by the
            // header and the file), so for it the count of extra bytes is a lower bound.
            String more = what.isEmpty() ? (length - expectedLen) + " more bytes" : "more bytes after it";
            throw new FormatException(file, "the header promises " + dimsStr(dims) + " = " + numel + " bytes of data, ending at byte "
                    + expectedLen + ", but the " + what + "file has " + more);
        }
        // NOTE: the data was read straight into an array of exactly its size (no copy of the whole file next to it):
        // MNIST's 47 MB of training pixels would otherwise be held twice, and more while a buffer doubled.
        return new Idx(file, dims, content.data);
    }

    /** The largest data section a Java array can hold next to the header. */
    private static final long MAX_DATA = Integer.MAX_VALUE - 8 - 4 * 255L;

    private static int[] dims(Path file, byte[] bytes, int ndim) throws FormatException {
        int[] dims = new int[ndim];
        for (int d = 0; d < ndim; d++) {
            dims[d] = be32(bytes, 4 + 4 * d);
            if (dims[d] < 0) throw new FormatException(file, "dimension " + d + " (bytes " + (4 + 4 * d) + ".." + (8 + 4 * d) + ") is " + dims[d] + ", expected a size >= 0");
        }
        return dims;
    }

    /**
     * The product of the dimension sizes, checked at every step so 255 large sizes cannot wrap around. NOTE: every
     * leading product must fit, even when a later size is 0 (found by the fuzzer: 2×1661009920×0 read as an empty
     * file whose sizes then overflowed int arithmetic downstream, e.g. {@code Shapes.numel}).
     */
    private static long numel(Path file, int[] dims) throws FormatException {
        long numel = 1;
        for (int d = 0; d < dims.length; d++) {
            numel *= dims[d]; // both factors < 2^31 before the check below, so this cannot overflow
            if (numel > MAX_DATA) {
                throw new FormatException(file, "the header promises " + dimsStr(dims) + " bytes of data (dimensions 0.." + d
                        + " alone give " + numel + "), more than the " + MAX_DATA + " one array can hold");
            }
        }
        return numel;
    }

    /**
     * The file's header and data, read apart: the header into a small array, the data (once the header has given its
     * size) straight into an array of exactly that size. A raw file's data is allocated only when the file is long
     * enough to hold it; a gzipped one is decompressed only as far as its header promises plus one byte, into an array
     * no larger than the file could inflate to (DEFLATE's ratio is at most 1032:1), growing only as data arrives beyond
     * that, so a small file that inflates without end (a "gzip bomb") or whose header promises more than it holds
     * never allocates more than the data actually present.
     */
    private static Content readBounded(Path file) throws IOException {
        boolean gz = file.getFileName().toString().endsWith(".gz");
        long fileSize = Files.size(file);
        try (InputStream in = gz ? new GZIPInputStream(Files.newInputStream(file), 1 << 16) : Files.newInputStream(file)) {
            Content out = new Content();
            try {
                out.readHead(in, 4);
                if (out.headSize < 4 || out.head[0] != 0 || out.head[1] != 0) return out.finish(gz, fileSize);
                int ndim = out.head[3] & 0xFF;
                int headerLen = 4 + 4 * ndim;
                out.readHead(in, headerLen);
                if (out.headSize < headerLen || (out.head[2] & 0xFF) != UBYTE) return out.finish(gz, fileSize);
                long numel = numel(file, dims(file, out.head, ndim));
                long plausible = gz ? Math.max(1 << 16, fileSize * 1032) : fileSize - headerLen;
                if (!gz && numel > plausible) return out.finish(false, fileSize); // truncated: reported from the size
                out.readData(in, numel, plausible);
                if (gz && out.dataSize == numel && in.read() >= 0) out.extra = 1;
            } catch (EOFException e) {
                throw new FormatException(file, "the gzip stream is truncated after " + out.length() + " decompressed bytes (the download may be incomplete)");
            } catch (ZipException e) {
                throw new FormatException(file, "the gzip stream is corrupt after " + out.length() + " decompressed bytes: " + e.getMessage());
            }
            return out.finish(gz, fileSize);
        } catch (ZipException e) {
            throw new FormatException(file, "not a gzip file (" + e.getMessage() + "); a name ending in .gz must hold gzip data");
        } catch (EOFException e) {
            throw new FormatException(file, "the gzip header is truncated");
        }
    }

    /** What {@link #readBounded} read: the header bytes, the data bytes, and the length of the (decompressed) file. */
    private static final class Content {
        final byte[] head = new byte[4 + 4 * 255];
        int headSize;
        byte[] data = new byte[0];
        int dataSize;
        int extra; // 1 when a gzipped file holds at least one byte after the data its header promises
        long length;

        long length() { return headSize + dataSize + extra; }

        /** A raw file's length is its size; a gzipped one's is what was decompressed (at most one byte past the data). */
        Content finish(boolean gz, long fileSize) {
            length = gz ? length() : fileSize;
            return this;
        }

        /** Reads until {@code total} header bytes are held or the stream ends. */
        void readHead(InputStream in, int total) throws IOException {
            while (headSize < total) {
                int n = in.read(head, headSize, total - headSize);
                if (n < 0) return;
                headSize += n;
            }
        }

        /** Reads until {@code numel} data bytes are held or the stream ends, starting with room for {@code min(numel, plausible)}. */
        void readData(InputStream in, long numel, long plausible) throws IOException {
            data = new byte[(int) Math.min(numel, plausible)];
            while (dataSize < numel) {
                if (dataSize == data.length) data = java.util.Arrays.copyOf(data, (int) Math.min(numel, Math.min((long) data.length * 2, Integer.MAX_VALUE - 8)));
                int n = in.read(data, dataSize, data.length - dataSize);
                if (n < 0) return;
                dataSize += n;
            }
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
