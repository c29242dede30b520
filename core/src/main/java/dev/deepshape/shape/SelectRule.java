package dev.deepshape.shape;

import java.util.List;

/**
 * The shape rule of {@code Select(dim, index)}, i.e. {@code x.select(dim, index)} or {@code x[:, -1]}: drops dimension
 * {@code dim}, keeping entry {@code index}; (N, L, H) → (N, H) with dim 1, index -1 (the last time step).
 */
public record SelectRule(int dim, int index) implements ShapeRule {
    @Override public String type() { return "Select"; }

    @Override public String repr() { return "Select(dim=" + dim + ", index=" + index + ")"; }

    private int position(int[] in) {
        int d = Dims.wrap(dim, in.length);
        if (d < 0) {
            throw new ShapeException(repr(), "a tensor with at least " + (dim < 0 ? -dim : dim + 1) + " dimensions", in,
                    "dim must be in [" + (-in.length) + ", " + (in.length - 1) + "] for a " + in.length + "-D input"
                            + (in.length == 1 ? "; did a recurrent layer get a 2-D input and return no time axis?" : ""));
        }
        return d;
    }

    @Override
    public int[] outputShape(int[] in) {
        int d = position(in);
        int size = in[d];
        if (size != Dims.N && (index >= size || index < -size)) {
            throw new ShapeException(repr(), "dimension " + d + " of size > " + (index < 0 ? -index - 1 : index), in,
                    "index " + index + " is out of range for dimension " + d + " of size " + size);
        }
        int[] out = new int[in.length - 1];
        for (int i = 0, j = 0; i < in.length; i++) if (i != d) out[j++] = in[i];
        return out;
    }

    @Override
    public int batchDimAfter(int[] in, int batchDim) {
        int d = position(in);
        return batchDim < 0 || batchDim == d ? -1 : batchDim > d ? batchDim - 1 : batchDim;
    }

    @Override
    public List<String> explain(int[] in) {
        int d = position(in);
        return List.of("entry " + index + " of dimension " + d + " (size " + Dims.dim(in[d]) + ") kept, the dimension dropped: " + Dims.str(in) + " → "
                + Dims.str(outputShape(in)), "params = 0");
    }
}
