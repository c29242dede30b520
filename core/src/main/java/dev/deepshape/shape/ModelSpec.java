package dev.deepshape.shape;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A model written as text, one unit per line in PyTorch's constructor syntax, read into a list of layers with their
 * shape rules. Grammar, line by line:
 * <pre>
 * input: (N, 1, 28, 28)                        # the input shape; N is a symbolic batch
 * conv1 = Conv2d(1, 32, kernel_size=3, padding=1)  # a named unit: positional and keyword arguments
 * ReLU()                                       # an unnamed unit, named by its index as in nn.Sequential
 * pool                                         # a bare name reuses the earlier module of that name
 * </pre>
 * Units: Conv2d, ConvTranspose2d, MaxPool2d, RNN, GRU, LSTM, Linear, ReLU, Flatten, Unsqueeze, Select. Values:
 * integers, floats, 'strings', True/False/None and tuples. Recurrent units pass on their output sequence. Errors point
 * at {@code source:line:column}.
 *
 * @param input the shape from the {@code input:} line, or null when the spec has none
 */
public record ModelSpec(String source, int[] input, List<Layer> layers) {

    /**
     * One step of the model.
     *
     * @param index position in the model, from 0
     * @param name the module's name (its state-dict prefix): the given one, or the index for an unnamed unit
     * @param reused true when this line reuses an earlier module by name
     * @param args the arguments as written, by PyTorch's parameter name (for the model builder)
     */
    public record Layer(int index, String name, ShapeRule rule, boolean reused, int line, Map<String, Object> args) {}

    /** The built-in models, by name: {@code combined}, the tutorial's CombinedModel. */
    public static final List<String> BUILTIN = List.of("combined");

    /** Reads a built-in model's spec (kept as a resource beside this class). */
    public static ModelSpec builtin(String name) {
        if (!BUILTIN.contains(name)) throw new IllegalArgumentException("unknown model '" + name + "'; built-in models: " + String.join(", ", BUILTIN));
        try (InputStream in = ModelSpec.class.getResourceAsStream(name + ".spec")) {
            if (in == null) throw new IllegalStateException("resource " + name + ".spec missing from the classpath");
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), name + ".spec");
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the built-in model " + name, e);
        }
    }

    /** The input shape, with {@code override} (from {@code --input}) taking precedence; an error if neither is given. */
    public int[] inputShape(int[] override) {
        if (override != null) return override.clone();
        if (input == null) throw new IllegalArgumentException(source + ": no 'input: (N, C, H, W)' line; give the input shape with --input");
        return input.clone();
    }

    /** The total number of parameters; reused modules count once. */
    public long params() {
        long n = 0;
        for (Layer l : layers) if (!l.reused) n += l.rule.params();
        return n;
    }

    /** A spec is a few lines; a larger file is not read into memory. */
    public static final long MAX_FILE_BYTES = 1 << 20;

    /**
     * Reads and parses a spec file (UTF-8, at most {@link #MAX_FILE_BYTES}); a file too large or not UTF-8 is a
     * {@link SpecException} naming the file and the line of the first bad byte.
     */
    public static ModelSpec read(java.nio.file.Path file) throws IOException {
        return parse(readText(file), file.toString());
    }

    /** A spec file's text, checked as {@link #read} does (size, UTF-8), for callers that keep the text. */
    public static String readText(java.nio.file.Path file) throws IOException {
        String source = file.toString();
        long size = java.nio.file.Files.size(file);
        if (size > MAX_FILE_BYTES) throw new SpecException(source, 1, 0, "the file is " + size + " bytes; a spec is a few lines (at most " + MAX_FILE_BYTES + " bytes are read)");
        byte[] bytes = java.nio.file.Files.readAllBytes(file);
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(bytes);
        java.nio.CharBuffer out = java.nio.CharBuffer.allocate(bytes.length);
        java.nio.charset.CoderResult r = StandardCharsets.UTF_8.newDecoder().onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT).decode(in, out, true);
        if (r.isError()) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) if (bytes[i] == '\n') line++;
            throw new SpecException(source, line, 0, "byte " + in.position() + " (0x" + String.format("%02x", bytes[in.position()] & 0xFF) + ") is not UTF-8 text");
        }
        return out.flip().toString();
    }

    /** Parses {@code text}; {@code source} names it in error messages (a file name, or {@code combined.spec}). */
    public static ModelSpec parse(String text, String source) {
        int[] input = null;
        List<Layer> layers = new ArrayList<>();
        Map<String, Layer> named = new HashMap<>();
        String[] lines = text.split("\r?\n", -1);
        for (int ln = 0; ln < lines.length; ln++) {
            Lexer lx = new Lexer(lines[ln], source, ln + 1);
            lx.skipWs();
            if (lx.atEnd()) continue;
            int startCol = lx.col();
            String ident = lx.ident("a unit such as Conv2d(...), a name, or 'input:'");
            lx.skipWs();
            if (ident.equals("input") && lx.peek() == ':') {
                if (input != null) throw lx.error(startCol, "a second 'input:' line");
                lx.next();
                lx.skipWs();
                input = lx.shape();
                lx.end();
                continue;
            }
            String name = null;
            if (lx.peek() == '=') {
                name = ident;
                if (named.containsKey(name)) throw lx.error(startCol, "name '" + name + "' is already defined at line " + named.get(name).line + "; write the bare name to reuse it");
                lx.next();
                lx.skipWs();
                startCol = lx.col();
                ident = lx.ident("a unit such as Conv2d(...)");
                lx.skipWs();
            }
            int index = layers.size();
            if (lx.atEnd() && name == null) {
                Layer earlier = named.get(ident);
                if (earlier == null) {
                    throw lx.error(startCol, Units.ALL.contains(ident) ? "'" + ident + "' needs parentheses: " + ident + "(...)"
                            : "'" + ident + "' is not an earlier layer's name" + (named.isEmpty() ? "" : " (names so far: " + String.join(", ", named.keySet()) + ")"));
                }
                layers.add(new Layer(index, earlier.name, earlier.rule, true, ln + 1, earlier.args));
                continue;
            }
            if (lx.peek() != '(') throw lx.error(lx.col(), "expected '(' after " + ident);
            if (!Units.ALL.contains(ident)) throw lx.error(startCol, "unknown unit '" + ident + "'; known units: " + String.join(", ", Units.ALL));
            lx.next();
            List<Object> positional = new ArrayList<>();
            Map<String, Object> keywords = new LinkedHashMap<>();
            lx.arguments(positional, keywords);
            lx.end();
            String layerName = name != null ? name : String.valueOf(index);
            Map<String, Object> args;
            ShapeRule rule;
            try {
                args = Units.bind(ident, positional, keywords);
                rule = Units.rule(ident, args);
            } catch (IllegalArgumentException e) {
                throw new SpecException(source, ln + 1, startCol, "layer " + index + " (" + layerName + "): " + e.getMessage());
            }
            Layer layer = new Layer(index, layerName, rule, false, ln + 1, args);
            layers.add(layer);
            if (name != null) named.put(name, layer);
        }
        if (layers.isEmpty()) throw new SpecException(source, Math.max(lines.length, 1), 0, "the spec has no layers");
        return new ModelSpec(source, input, List.copyOf(layers));
    }

    /** Parses a shape such as {@code (64, 1, 28, 28)}, {@code 64,1,28,28} or {@code (N, 1, 28, 28)} (for {@code --input}). */
    public static int[] parseShape(String text) {
        Lexer lx = new Lexer(text.strip(), "--input", 1);
        int[] s = lx.peek() == '(' ? lx.shape() : lx.bareShape();
        lx.end();
        return s;
    }

    @Override public String toString() { return "ModelSpec[" + source + ", input=" + (input == null ? "none" : Dims.str(input)) + ", " + layers.size() + " layers]"; }

    /** A one-line tokenizer that knows its column, for errors that point at the character. */
    private static final class Lexer {
        private final String s;
        private final String source;
        private final int line;
        private int pos;
        private int nesting;
        private static final int MAX_NESTING = 16;

        Lexer(String s, String source, int line) {
            // A '#' outside quotes starts a comment.
            int cut = s.length();
            char quote = 0;
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (quote != 0) { if (c == quote) quote = 0; } else if (c == '\'' || c == '"') quote = c; else if (c == '#') { cut = i; break; }
            }
            this.s = s.substring(0, cut);
            this.source = source;
            this.line = line;
        }

        int col() { return pos + 1; }

        boolean atEnd() { skipWs(); return pos >= s.length(); }

        char peek() { return pos < s.length() ? s.charAt(pos) : '\0'; }

        void next() { pos++; }

        void skipWs() { while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++; }

        SpecException error(int column, String msg) { return new SpecException(source, line, column, msg); }

        private String found() { return pos < s.length() ? "'" + s.charAt(pos) + "'" : "the end of the line"; }

        void expect(char c, String what) {
            skipWs();
            if (peek() != c) throw error(col(), "expected '" + c + "' " + what + ", found " + found());
            pos++;
        }

        void end() {
            skipWs();
            if (pos < s.length()) throw error(col(), "unexpected " + found() + " after the end of the statement");
        }

        String ident(String what) {
            skipWs();
            int start = pos;
            if (pos < s.length() && (Character.isLetter(s.charAt(pos)) || s.charAt(pos) == '_')) {
                while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '_')) pos++;
                return s.substring(start, pos);
            }
            throw error(col(), "expected " + what + ", found " + found());
        }

        /** {@code (64, 1, 28, 28)} with N allowed. */
        int[] shape() {
            expect('(', "to open the input shape");
            List<Integer> dims = new ArrayList<>();
            skipWs();
            while (peek() != ')') {
                dims.add(dim());
                skipWs();
                if (peek() == ',') { pos++; skipWs(); } else if (peek() != ')') throw error(col(), "expected ',' or ')' in the shape, found " + found());
            }
            pos++;
            if (dims.isEmpty()) throw error(col() - 1, "the input shape is empty");
            return dims.stream().mapToInt(Integer::intValue).toArray();
        }

        int[] bareShape() {
            List<Integer> dims = new ArrayList<>();
            while (true) {
                dims.add(dim());
                skipWs();
                if (peek() != ',' && peek() != 'x') break;
                pos++;
            }
            return dims.stream().mapToInt(Integer::intValue).toArray();
        }

        private int dim() {
            skipWs();
            int c = col();
            if (peek() == 'N' || peek() == 'B') {
                pos++;
                return Dims.N;
            }
            Object v = value();
            if (v instanceof Long l && l > 0 && l <= Integer.MAX_VALUE) return (int) (long) l;
            throw error(c, "a dimension must be a positive integer or N, got " + show(v));
        }

        void arguments(List<Object> positional, Map<String, Object> keywords) {
            skipWs();
            while (peek() != ')') {
                if (pos >= s.length()) throw error(col(), "expected ')' to close the arguments, found the end of the line");
                int c = col();
                int save = pos;
                String key = null;
                if (Character.isLetter(peek()) || peek() == '_') {
                    String id = ident("an argument");
                    skipWs();
                    if (peek() == '=') { pos++; key = id; } else pos = save;
                }
                Object v = value();
                if (key != null) {
                    if (keywords.containsKey(key)) throw error(c, "keyword argument repeated: " + key);
                    keywords.put(key, v);
                } else {
                    if (!keywords.isEmpty()) throw error(c, "positional argument follows keyword argument");
                    positional.add(v);
                }
                skipWs();
                if (peek() == ',') { pos++; skipWs(); } else if (peek() != ')') throw error(col(), "expected ',' or ')' after an argument, found " + found());
            }
            pos++;
        }

        /** An int (Long), float (Double), string, True/False, None (the NONE marker) or a tuple (List). */
        Object value() {
            skipWs();
            int start = pos;
            char c = peek();
            if (c == '(') {
                // NOTE: tuples nest by recursion; a hostile line of 100 000 '(' must not overflow the stack.
                if (nesting >= MAX_NESTING) throw error(col(), "tuples nested deeper than " + MAX_NESTING + " levels");
                nesting++;
                pos++;
                List<Object> items = new ArrayList<>();
                skipWs();
                while (peek() != ')') {
                    if (pos >= s.length()) throw error(col(), "expected ')' to close the tuple, found the end of the line");
                    items.add(value());
                    skipWs();
                    if (peek() == ',') { pos++; skipWs(); } else if (peek() != ')') throw error(col(), "expected ',' or ')' in the tuple, found " + found());
                }
                pos++;
                nesting--;
                return items;
            }
            if (c == '\'' || c == '"') {
                int end = s.indexOf(c, pos + 1);
                if (end < 0) throw error(col(), "unterminated string");
                pos = end + 1;
                return s.substring(start + 1, end);
            }
            if (c == '-' || c == '+' || c == '.' || Character.isDigit(c)) {
                pos++;
                while (pos < s.length() && (Character.isLetterOrDigit(s.charAt(pos)) || s.charAt(pos) == '.'
                        || ((s.charAt(pos) == '-' || s.charAt(pos) == '+') && (s.charAt(pos - 1) == 'e' || s.charAt(pos - 1) == 'E')))) pos++;
                String num = s.substring(start, pos).replace("_", "");
                try {
                    return Long.parseLong(num.startsWith("+") ? num.substring(1) : num);
                } catch (NumberFormatException e) {
                    try {
                        return Double.parseDouble(num);
                    } catch (NumberFormatException e2) {
                        throw error(start + 1, "not a number: " + num);
                    }
                }
            }
            if (Character.isLetter(c)) {
                String id = ident("a value");
                return switch (id) {
                    case "True" -> Boolean.TRUE;
                    case "False" -> Boolean.FALSE;
                    case "None" -> Units.NONE;
                    default -> throw error(start + 1, "expected a value (a number, 'string', True, False, None or a tuple), found " + id);
                };
            }
            throw error(col(), "expected a value, found " + found());
        }

        static String show(Object v) {
            return v instanceof List<?> l ? "(" + String.join(", ", l.stream().map(Lexer::show).toList()) + ")" : v == Units.NONE ? "None" : String.valueOf(v);
        }
    }
}
