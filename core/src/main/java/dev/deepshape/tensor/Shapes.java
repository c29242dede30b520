package dev.deepshape.tensor;

import java.util.Arrays;

/** Small helpers on shapes given as {@code int[]}: element counts, strides, broadcasting and PyTorch-style printing. */
public final class Shapes {
    private Shapes() {}

    /** Number of elements of a shape; fails on overflow rather than wrapping. */
    public static int numel(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n *= d;
            if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + str(shape) + " has more than 2^31-1 elements");
        }
        return (int) n;
    }

    /** Row-major (C-contiguous) strides of a shape. */
    public static int[] contiguousStrides(int... shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(shape[i], 1);
        }
        return s;
    }

    /** Normalises a possibly negative dimension index against a rank, as PyTorch's {@code dim=-1}. */
    public static int dim(int dim, int rank) {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank) {
            throw new IllegalArgumentException("dimension out of range (expected to be in range of [" + (-rank) + ", " + (rank - 1) + "], but got " + dim + ")");
        }
        return d;
    }

    /** The broadcast shape of two shapes under NumPy/PyTorch rules, or an error naming both shapes. */
    public static int[] broadcast(int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i - (rank - a.length) >= 0 ? a[i - (rank - a.length)] : 1;
            int db = i - (rank - b.length) >= 0 ? b[i - (rank - b.length)] : 1;
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + str(a) + " and " + str(b) + " cannot be broadcast: dimension " + i + " is " + da + " vs " + db);
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** {@code (64, 1, 28, 28)}: the tuple form deepshape prints everywhere. */
    public static String str(int... shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        if (shape.length == 1) sb.append(',');
        return sb.append(')').toString();
    }

    /** {@code torch.Size([64, 1, 28, 28])}: PyTorch's own format, used by the tutorial's shape trace. */
    public static String torchSize(int... shape) {
        return "torch.Size(" + Arrays.toString(shape) + ")";
    }
}
