package dev.deepshape.shape;

/**
 * A model spec that cannot be read or built: the message starts with {@code source:line:column} and says what was
 * expected there, or, for a bad argument, names the layer.
 */
public final class SpecException extends IllegalArgumentException {
    public final String source;
    public final int line;
    public final int column;

    public SpecException(String source, int line, int column, String message) {
        super(source + ":" + line + (column > 0 ? ":" + column : "") + ": " + message);
        this.source = source;
        this.line = line;
        this.column = column;
    }
}
