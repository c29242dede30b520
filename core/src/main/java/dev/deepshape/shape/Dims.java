package dev.deepshape.shape;

import java.util.ArrayList;
import java.util.List;

/**
 * Shapes as the shape rules see them: {@code int[]} sizes where {@link #N} stands for a symbolic batch size. Only the
 * batch dimension may be symbolic; a rule that needs a concrete size (channels, height, features) rejects it.
 */
public final class Dims {
    private Dims() {}

    /** The symbolic batch size, printed as {@code N}. */
    public static final int N = -1;

    /** {@code (N, 1, 28, 28)}: the tuple form, with {@code N} for a symbolic size. */
    public static String str(int... shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(dim(shape[i]));
        }
        if (shape.length == 1) sb.append(',');
        return sb.append(')').toString();
    }

    /** {@code [64, 1, 28, 28]}: torchinfo's list form. */
    public static String list(int... shape) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(dim(shape[i]));
        }
        return sb.append(']').toString();
    }

    /** One size: the number, or {@code N}. */
    public static String dim(int d) { return d == N ? "N" : String.valueOf(d); }

    /** The shape as JSON values: numbers, and the string "N" for the symbolic size. */
    public static List<Object> json(int... shape) {
        List<Object> out = new ArrayList<>();
        for (int d : shape) out.add(d == N ? (Object) "N" : (Object) d);
        return out;
    }

    /** Product of the sizes; {@link #N} if any is symbolic. */
    public static long numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d == N) return N;
            n *= d;
        }
        return n;
    }

    /** Product with a concrete batch size substituted for {@link #N}. */
    public static long numel(int[] shape, int batch) {
        long n = 1;
        for (int d : shape) n *= d == N ? batch : d;
        return n;
    }

    /** The shape with {@link #N} replaced by {@code batch}. */
    public static int[] concrete(int[] shape, int batch) {
        int[] out = shape.clone();
        for (int i = 0; i < out.length; i++) if (out[i] == N) out[i] = batch;
        return out;
    }

    /** {@code 64·7·7}: the factors of a flattened size, for hints. */
    public static String product(int[] shape, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) {
            if (i > from) sb.append('·');
            sb.append(dim(shape[i]));
        }
        return sb.toString();
    }

    /** Normalises a possibly negative dimension index as PyTorch does, or returns -1 when out of range. */
    static int wrap(int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        return d < 0 || d >= rank ? -1 : d;
    }
}
