package dev.deepshape.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON reader and writer (core has no dependencies). Values are {@code Map<String,Object>} (insertion
 * ordered), {@code List<Object>}, {@code String}, {@code Double}/{@code Long}, {@code Boolean} and {@code null}.
 * Nesting is bounded so hostile input cannot overflow the stack.
 */
public final class Json {
    private static final int MAX_DEPTH = 64;

    private final String s;
    private int pos;

    private Json(String s) { this.s = s; }

    /** Thrown for malformed JSON; the message names the character offset. */
    public static final class ParseException extends IllegalArgumentException {
        public final int offset;

        ParseException(String msg, int offset) {
            super(msg + " at offset " + offset);
            this.offset = offset;
        }
    }

    public static Object parse(String text) {
        Json p = new Json(text);
        p.ws();
        Object v = p.value(0);
        p.ws();
        if (p.pos != text.length()) throw new ParseException("unexpected trailing characters", p.pos);
        return v;
    }

    private Object value(int depth) {
        if (depth > MAX_DEPTH) throw new ParseException("JSON nested deeper than " + MAX_DEPTH + " levels", pos);
        if (pos >= s.length()) throw new ParseException("unexpected end of JSON", pos);
        char c = s.charAt(pos);
        return switch (c) {
            case '{' -> object(depth);
            case '[' -> array(depth);
            case '"' -> string();
            case 't' -> literal("true", Boolean.TRUE);
            case 'f' -> literal("false", Boolean.FALSE);
            case 'n' -> literal("null", null);
            default -> {
                if (c == '-' || (c >= '0' && c <= '9')) yield number();
                throw new ParseException("unexpected character '" + c + "'", pos);
            }
        };
    }

    private Map<String, Object> object(int depth) {
        Map<String, Object> m = new LinkedHashMap<>();
        pos++;
        ws();
        if (peek() == '}') {
            pos++;
            return m;
        }
        while (true) {
            ws();
            if (peek() != '"') throw new ParseException("expected a string key", pos);
            String key = string();
            ws();
            expect(':');
            ws();
            if (m.containsKey(key)) throw new ParseException("duplicate key \"" + key + "\"", pos);
            m.put(key, value(depth + 1));
            ws();
            char c = next();
            if (c == '}') return m;
            if (c != ',') throw new ParseException("expected ',' or '}'", pos - 1);
        }
    }

    private List<Object> array(int depth) {
        List<Object> l = new ArrayList<>();
        pos++;
        ws();
        if (peek() == ']') {
            pos++;
            return l;
        }
        while (true) {
            ws();
            l.add(value(depth + 1));
            ws();
            char c = next();
            if (c == ']') return l;
            if (c != ',') throw new ParseException("expected ',' or ']'", pos - 1);
        }
    }

    private String string() {
        expect('"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (pos >= s.length()) throw new ParseException("unterminated string", pos);
            char c = s.charAt(pos++);
            if (c == '"') return sb.toString();
            if (c == '\\') {
                char e = next();
                switch (e) {
                    case '"', '\\', '/' -> sb.append(e);
                    case 'b' -> sb.append('\b');
                    case 'f' -> sb.append('\f');
                    case 'n' -> sb.append('\n');
                    case 'r' -> sb.append('\r');
                    case 't' -> sb.append('\t');
                    case 'u' -> {
                        if (pos + 4 > s.length()) throw new ParseException("truncated \\u escape", pos);
                        int code = 0;
                        for (int i = 0; i < 4; i++) {
                            int digit = Character.digit(s.charAt(pos + i), 16);
                            // NOTE: not Integer.parseInt, which would also take a sign ("\\u+123") or non-ASCII digits.
                            if (digit < 0 || s.charAt(pos + i) > 'f') throw new ParseException("bad \\u escape: expected 4 hex digits", pos);
                            code = code * 16 + digit;
                        }
                        sb.append((char) code);
                        pos += 4;
                    }
                    default -> throw new ParseException("bad escape '\\" + e + "'", pos - 1);
                }
            } else if (c < 0x20) {
                throw new ParseException("control character in string", pos - 1);
            } else {
                sb.append(c);
            }
        }
    }

    /** JSON's number grammar exactly: {@code -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?}. */
    private Object number() {
        int start = pos;
        if (peek() == '-') pos++;
        if (pos < s.length() && s.charAt(pos) == '0') pos++;
        else if (digits() == 0) throw new ParseException("bad number: expected a digit", pos);
        boolean integral = true;
        if (pos < s.length() && s.charAt(pos) == '.') {
            pos++;
            integral = false;
            if (digits() == 0) throw new ParseException("bad number: expected a digit after '.'", pos);
        }
        if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
            pos++;
            integral = false;
            if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) pos++;
            if (digits() == 0) throw new ParseException("bad number: expected a digit in the exponent", pos);
        }
        String t = s.substring(start, pos);
        if (integral) {
            try {
                return Long.parseLong(t);
            } catch (NumberFormatException tooLong) {
                // NOTE: an integer beyond 64 bits is still valid JSON; it reads as a (rounded) Double, which
                // every caller that needs an exact integer rejects as "not an integer".
            }
        }
        return Double.parseDouble(t);
    }

    private int digits() {
        int from = pos;
        while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') pos++;
        return pos - from;
    }

    private Object literal(String word, Object v) {
        if (!s.startsWith(word, pos)) throw new ParseException("expected '" + word + "'", pos);
        pos += word.length();
        return v;
    }

    private void ws() {
        while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
    }

    private char peek() {
        if (pos >= s.length()) throw new ParseException("unexpected end of JSON", pos);
        return s.charAt(pos);
    }

    private char next() {
        char c = peek();
        pos++;
        return c;
    }

    private void expect(char c) {
        if (pos >= s.length() || s.charAt(pos) != c) throw new ParseException("expected '" + c + "'", pos);
        pos++;
    }

    // ---------------------------------------------------------------- writing

    /** Compact JSON for maps, lists, strings, numbers, booleans, null, int[]/long[]/float[]/double[]. */
    public static String write(Object v) {
        StringBuilder sb = new StringBuilder();
        write(sb, v);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object v) {
        switch (v) {
            case null -> sb.append("null");
            case String str -> quote(sb, str);
            case Boolean b -> sb.append(b);
            case Float f -> sb.append(Float.isFinite(f) ? f.toString() : "null");
            case Double d -> sb.append(Double.isFinite(d) ? d.toString() : "null");
            case Number n -> sb.append(n);
            case Map<?, ?> m -> {
                sb.append('{');
                boolean first = true;
                for (var e : m.entrySet()) {
                    if (!first) sb.append(',');
                    first = false;
                    quote(sb, String.valueOf(e.getKey()));
                    sb.append(':');
                    write(sb, e.getValue());
                }
                sb.append('}');
            }
            case Iterable<?> it -> {
                sb.append('[');
                boolean first = true;
                for (Object o : it) {
                    if (!first) sb.append(',');
                    first = false;
                    write(sb, o);
                }
                sb.append(']');
            }
            case int[] a -> { sb.append('['); for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); sb.append(a[i]); } sb.append(']'); }
            case long[] a -> { sb.append('['); for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); sb.append(a[i]); } sb.append(']'); }
            case float[] a -> { sb.append('['); for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); write(sb, a[i]); } sb.append(']'); }
            case double[] a -> { sb.append('['); for (int i = 0; i < a.length; i++) { if (i > 0) sb.append(','); write(sb, a[i]); } sb.append(']'); }
            default -> quote(sb, v.toString());
        }
    }

    private static void quote(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}
