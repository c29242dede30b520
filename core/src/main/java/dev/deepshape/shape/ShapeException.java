package dev.deepshape.shape;

/**
 * A layer that cannot take its input. The message names the layer (index and name when known), its repr, the input
 * shape it expected and the one it got, and a hint computed from the shapes:
 * <pre>
 * layer 9 (rnn) RNN(6272, 128, batch_first=True): expected input of shape (N, L, 6272), got (64, 1, 3136);
 * hint: 3136 = 64·7·7, so RNN(3136, 128, batch_first=True) would fit
 * </pre>
 * It is an {@link IllegalArgumentException}, so the command line reports it on one line with exit status 1.
 */
public final class ShapeException extends IllegalArgumentException {
    /** Position of the layer in its model, or -1 when checked outside a model. */
    public final int layerIndex;
    /** Name of the layer in its model ({@code conv1}), or null. */
    public final String layerName;
    /** PyTorch's repr of the unit. */
    public final String repr;
    /** The expected input, in symbols: {@code (N, L, 6272)}. */
    public final String expected;
    /** The input shape that came. */
    public final int[] actual;
    /** A fix computed from the shapes, or "" when none is known. */
    public final String hint;

    public ShapeException(String repr, String expected, int[] actual, String hint) {
        this(-1, null, repr, expected, actual, hint);
    }

    private ShapeException(int layerIndex, String layerName, String repr, String expected, int[] actual, String hint) {
        super(message(layerIndex, layerName, repr, expected, actual, hint));
        this.layerIndex = layerIndex;
        this.layerName = layerName;
        this.repr = repr;
        this.expected = expected;
        this.actual = actual.clone();
        this.hint = hint == null ? "" : hint;
    }

    /** The same error, placed at a layer of a model. */
    public ShapeException at(int index, String name) {
        ShapeException e = new ShapeException(index, name, repr, expected, actual, hint);
        e.setStackTrace(getStackTrace());
        return e;
    }

    private static String message(int index, String name, String repr, String expected, int[] actual, String hint) {
        StringBuilder sb = new StringBuilder();
        if (index >= 0) sb.append("layer ").append(index).append(name != null ? " (" + name + ")" : "").append(' ');
        sb.append(repr).append(": expected input of shape ").append(expected).append(", got ").append(Dims.str(actual));
        if (hint != null && !hint.isEmpty()) sb.append("; hint: ").append(hint);
        return sb.toString();
    }
}
