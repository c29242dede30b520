package dev.deepshape.shape;

/** Small helpers shared by the rules: argument checks, PyTorch's tuple printing, the convolution size formulas. */
final class Rules {
    private Rules() {}

    /** {@code (3, 3)}, as PyTorch prints a 2-tuple. */
    static String tuple(int[] a) { return "(" + a[0] + ", " + a[1] + ")"; }

    /** {@code 2} when both entries agree, else {@code (2, 3)}: how MaxPool2d's repr shows what it was given. */
    static String intOrTuple(int[] a) { return a[0] == a[1] ? String.valueOf(a[0]) : tuple(a); }

    static int[] pair(String unit, String name, int[] v) {
        if (v == null || v.length != 2) throw new IllegalArgumentException(unit + ": " + name + " must have 2 entries (height, width), got " + (v == null ? "null" : java.util.Arrays.toString(v)));
        return v.clone();
    }

    static void atLeast(String unit, String name, int[] v, int min) {
        for (int x : v) if (x < min) throw new IllegalArgumentException(unit + ": " + name + " must be >= " + min + ", got " + tuple(v));
    }

    static boolean isZero(int[] a) { return a[0] == 0 && a[1] == 0; }

    static boolean isOne(int[] a) { return a[0] == 1 && a[1] == 1; }

    /** Sizes other than the batch must be concrete. */
    static void concrete(String repr, String expected, int[] in, int from) {
        for (int i = from; i < in.length; i++) {
            if (in[i] == Dims.N) throw new ShapeException(repr, expected, in, "only the batch dimension may be symbolic, but dimension " + i + " is N");
        }
    }

    /** The 4-D or 3-D (unbatched) image input of the 2-d units; returns the index of the channel axis. */
    static int imageInput(String repr, String expected, int[] in, String what) {
        if (in.length != 3 && in.length != 4) {
            String hint = in.length == 2
                    ? "a " + in.length + "-D input has no " + what + " axes (was it flattened too early? put this layer before Flatten)"
                    : "give a 4-D (N, C, H, W) batch or a 3-D (C, H, W) image";
            throw new ShapeException(repr, expected, in, hint);
        }
        int c = in.length - 3;
        concrete(repr, expected, in, c);
        return c;
    }

    /** {@code ⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1}, the sliding-window size formula, with symbols or numbers. */
    static String windowFormula(String in, String p, String d, String k, String s, boolean ceil) {
        return (ceil ? "⌈" : "⌊") + "(" + in + " + 2·" + p + " − " + d + "·(" + k + " − 1) − 1)/" + s + (ceil ? "⌉" : "⌋") + " + 1";
    }

    /** Floor or ceiling division for possibly negative numerators, as PyTorch's pooling_output_shape. */
    static long divRound(long a, long b, boolean ceil) {
        return ceil ? -Math.floorDiv(-a, b) : Math.floorDiv(a, b);
    }

    /** {@code 32·1·3·3} */
    static String times(long... v) {
        StringBuilder sb = new StringBuilder();
        for (long x : v) {
            if (!sb.isEmpty()) sb.append('·');
            sb.append(x);
        }
        return sb.toString();
    }
}
