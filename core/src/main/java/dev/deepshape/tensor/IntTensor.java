package dev.deepshape.tensor;

import java.util.Arrays;

/** An integer tensor (class labels, pooling indices); contiguous, no autograd. */
public record IntTensor(int[] data, int[] shape) {
    public IntTensor {
        if (Shapes.numel(shape) != data.length) {
            throw new IllegalArgumentException("IntTensor: " + data.length + " values do not fill shape " + Shapes.str(shape));
        }
    }

    public static IntTensor of(int... values) {
        return new IntTensor(values, new int[] {values.length});
    }

    public int numel() { return data.length; }

    public int get(int i) { return data[i]; }

    @Override public String toString() { return "IntTensor" + Shapes.str(shape) + Arrays.toString(data.length > 16 ? Arrays.copyOf(data, 16) : data); }

    @Override public boolean equals(Object o) {
        return o instanceof IntTensor t && Arrays.equals(data, t.data) && Arrays.equals(shape, t.shape);
    }

    @Override public int hashCode() { return 31 * Arrays.hashCode(data) + Arrays.hashCode(shape); }
}
