package dev.deepshape.io;

import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format, as PyTorch users exchange weights: an 8-byte little-endian header length, a JSON header
 * mapping each name to {@code dtype}, {@code shape} and {@code data_offsets}, then the raw little-endian data.
 *
 * <p>Floating dtypes (F32, F64, F16, BF16) load as float32 {@link Tensor}s; integer dtypes (I64, I32, I16, I8, U8,
 * BOOL) as {@link IntTensor}s. Writing uses F32 and I64 and is atomic. Reading checks every field against the file's
 * size before allocating, and errors name the file and the tensor.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** The contents of a file: float tensors, integer tensors and the free-form {@code __metadata__}. */
    public record Contents(Map<String, Tensor> floats, Map<String, IntTensor> ints, Map<String, String> metadata) {
        public Tensor tensor(String name) {
            Tensor t = floats.get(name);
            if (t == null) throw new IllegalArgumentException("no float tensor '" + name + "' (have " + floats.keySet() + ")");
            return t;
        }

        public IntTensor intTensor(String name) {
            IntTensor t = ints.get(name);
            if (t == null) throw new IllegalArgumentException("no integer tensor '" + name + "' (have " + ints.keySet() + ")");
            return t;
        }
    }

    /** Thrown for a file that is not valid safetensors; the message names the file and the problem. */
    public static final class FormatException extends IOException {
        public FormatException(Path file, String msg) { super(file + ": not a valid safetensors file: " + msg); }
    }

    private static final long MAX_HEADER = 100L * 1024 * 1024; // the reference implementation's limit

    public static Map<String, Tensor> read(Path file) throws IOException { return readAll(file).floats(); }

    public static Contents readAll(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) throw new FormatException(file, "file is " + size + " bytes, shorter than the 8-byte header length");
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > size - 8 || headerLen > MAX_HEADER) {
                throw new FormatException(file, "header length " + headerLen + " at byte 0 does not fit a file of " + size + " bytes");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8, file);
            String json;
            try {
                json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(hb.flip()).toString();
            } catch (CharacterCodingException e) {
                throw new FormatException(file, "header (bytes 8.." + (8 + headerLen) + ") is not UTF-8");
            }
            Object parsed;
            try {
                parsed = Json.parse(json.strip());
            } catch (Json.ParseException e) {
                throw new FormatException(file, "header JSON: " + e.getMessage() + " (header starts at byte 8)");
            }
            if (!(parsed instanceof Map<?, ?> header)) throw new FormatException(file, "header is not a JSON object");
            long dataStart = 8 + headerLen;
            long dataLen = size - dataStart;
            Map<String, Tensor> floats = new LinkedHashMap<>();
            Map<String, IntTensor> ints = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            // First every entry is checked against the file, overlaps included, and only then is anything allocated:
            // memory stays bounded by the file's size even when many entries claim the same bytes.
            record Entry(String name, String dtype, int[] shape, int numel, long begin, long end) {}
            List<Entry> entries = new ArrayList<>();
            for (var e : header.entrySet()) {
                String name = (String) e.getKey();
                if (name.equals("__metadata__")) {
                    if (!(e.getValue() instanceof Map<?, ?> md)) throw new FormatException(file, "__metadata__ is not an object");
                    for (var m : md.entrySet()) {
                        if (!(m.getValue() instanceof String sv)) throw new FormatException(file, "__metadata__ value of '" + m.getKey() + "' is not a string");
                        metadata.put((String) m.getKey(), sv);
                    }
                    continue;
                }
                if (!(e.getValue() instanceof Map<?, ?> info)) throw new FormatException(file, "entry '" + name + "' is not an object");
                String dtype = info.get("dtype") instanceof String d ? d : null;
                int width = dtype == null ? -1 : width(dtype);
                if (width < 0) throw new FormatException(file, "tensor '" + name + "' has unknown dtype " + info.get("dtype") + " (expected one of F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL)");
                int[] shape = longList(file, name, "shape", info.get("shape"), -1);
                long[] offsets = toLongs(file, name, info.get("data_offsets"));
                long numel = 1;
                for (int d : shape) {
                    numel *= d; // numel <= 2^31 - 1 and d < 2^31 before this step: no overflow
                    if (numel > Integer.MAX_VALUE) throw new FormatException(file, "tensor '" + name + "' shape " + Shapes.str(shape) + " has more than 2^31-1 elements");
                }
                if (offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] > dataLen) {
                    throw new FormatException(file, "tensor '" + name + "' data_offsets [" + offsets[0] + ", " + offsets[1] + "] lie outside the " + dataLen + " data bytes");
                }
                if (offsets[1] - offsets[0] != numel * width) {
                    throw new FormatException(file, "tensor '" + name + "' of dtype " + dtype + " and shape " + Shapes.str(shape) + " needs "
                            + numel * width + " bytes but data_offsets give " + (offsets[1] - offsets[0]));
                }
                entries.add(new Entry(name, dtype, shape, (int) numel, offsets[0], offsets[1]));
            }
            List<Entry> byOffset = new ArrayList<>(entries);
            byOffset.sort(Comparator.comparingLong(Entry::begin));
            for (int i = 1; i < byOffset.size(); i++) {
                Entry prev = byOffset.get(i - 1), cur = byOffset.get(i);
                if (cur.begin() < prev.end()) {
                    throw new FormatException(file, "tensors '" + prev.name() + "' [" + prev.begin() + ", " + prev.end() + ") and '" + cur.name() + "' ["
                            + cur.begin() + ", " + cur.end() + ") overlap in the data section at byte " + (dataStart + cur.begin()));
                }
            }
            for (Entry e : entries) {
                ByteBuffer raw = ByteBuffer.allocate((int) (e.end() - e.begin())).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, raw, dataStart + e.begin(), file);
                raw.flip();
                if (e.dtype().startsWith("F") || e.dtype().equals("BF16")) floats.put(e.name(), new Tensor(decodeFloats(e.dtype(), raw, e.numel()), e.shape()));
                else ints.put(e.name(), new IntTensor(decodeInts(file, e.name(), e.dtype(), raw, e.numel()), e.shape()));
            }
            return new Contents(floats, ints, metadata);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long at, Path file) throws IOException {
        long p = at;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, p);
            if (n < 0) throw new FormatException(file, "truncated at byte " + p);
            p += n;
        }
    }

    private static int width(String dtype) {
        return switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32", "I32" -> 4;
            case "F16", "BF16", "I16" -> 2;
            case "I8", "U8", "BOOL" -> 1;
            default -> -1;
        };
    }

    private static float[] decodeFloats(String dtype, ByteBuffer b, int n) {
        float[] out = new float[n];
        switch (dtype) {
            case "F32" -> b.asFloatBuffer().get(out);
            case "F64" -> { for (int i = 0; i < n; i++) out[i] = (float) b.getDouble(i * 8); }
            case "F16" -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(b.getShort(i * 2)); }
            case "BF16" -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat((b.getShort(i * 2) & 0xFFFF) << 16); }
            default -> throw new IllegalStateException(dtype);
        }
        return out;
    }

    private static int[] decodeInts(Path file, String name, String dtype, ByteBuffer b, int n) throws FormatException {
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            long v = switch (dtype) {
                case "I64" -> b.getLong(i * 8);
                case "I32" -> b.getInt(i * 4);
                case "I16" -> b.getShort(i * 2);
                case "I8" -> b.get(i);
                case "U8", "BOOL" -> b.get(i) & 0xFF;
                default -> throw new IllegalStateException(dtype);
            };
            if (v != (int) v) throw new FormatException(file, "tensor '" + name + "' element " + i + " = " + v + " does not fit in 32 bits");
            out[i] = (int) v;
        }
        return out;
    }

    private static int[] longList(Path file, String name, String field, Object v, int expectedLen) throws FormatException {
        if (!(v instanceof List<?> list)) throw new FormatException(file, "tensor '" + name + "' field " + field + " is not a list");
        if (expectedLen >= 0 && list.size() != expectedLen) throw new FormatException(file, "tensor '" + name + "' field " + field + " has " + list.size() + " entries, expected " + expectedLen);
        if (list.size() > 16) throw new FormatException(file, "tensor '" + name + "' has " + list.size() + " dimensions (at most 16 supported)");
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Long l) || l < 0 || l > Integer.MAX_VALUE) {
                throw new FormatException(file, "tensor '" + name + "' " + field + "[" + i + "] = " + list.get(i) + " is not a dimension size");
            }
            out[i] = (int) (long) l;
        }
        return out;
    }

    private static long[] toLongs(Path file, String name, Object v) throws FormatException {
        if (!(v instanceof List<?> list) || list.size() != 2 || !(list.get(0) instanceof Long a) || !(list.get(1) instanceof Long b)) {
            throw new FormatException(file, "tensor '" + name + "' data_offsets is not a pair of integers: " + v);
        }
        return new long[] {a, b};
    }

    // ---------------------------------------------------------------- writing

    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        write(file, tensors, Map.of(), Map.of());
    }

    /** Writes float tensors as F32 and integer tensors as I64, atomically, names in the order given. */
    public static void write(Path file, Map<String, Tensor> floats, Map<String, IntTensor> ints, Map<String, String> metadata) throws IOException {
        AtomicFiles.write(file, encode(floats, ints, metadata));
    }

    public static byte[] encode(Map<String, Tensor> floats, Map<String, IntTensor> ints, Map<String, String> metadata) {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) header.put("__metadata__", metadata);
        long at = 0;
        for (var e : floats.entrySet()) {
            long len = 4L * e.getValue().numel();
            header.put(e.getKey(), entry("F32", e.getValue().shapeRef(), at, at + len));
            at += len;
        }
        for (var e : ints.entrySet()) {
            long len = 8L * e.getValue().numel();
            header.put(e.getKey(), entry("I64", e.getValue().shape(), at, at + len));
            at += len;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int pad = (8 - json.length % 8) % 8; // the data section starts 8-byte aligned, as the reference writer does
        int headerLen = json.length + pad;
        ByteBuffer buf = ByteBuffer.allocate((int) (8 + headerLen + at)).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(headerLen);
        buf.put(json);
        for (int i = 0; i < pad; i++) buf.put((byte) ' ');
        for (Tensor t : floats.values()) for (float f : t.toArray()) buf.putFloat(f);
        for (IntTensor t : ints.values()) for (int v : t.data()) buf.putLong(v);
        return buf.array();
    }

    private static Map<String, Object> entry(String dtype, int[] shape, long begin, long end) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("dtype", dtype);
        m.put("shape", shape);
        m.put("data_offsets", new long[] {begin, end});
        return m;
    }

}
