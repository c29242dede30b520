package dev.deepshape.shape;

import java.util.List;

/** The shape rule of {@code Unsqueeze(dim)}, i.e. {@code x.unsqueeze(dim)}: inserts a size-1 dimension, (N, F) → (N, 1, F). */
public record UnsqueezeRule(int dim) implements ShapeRule {
    @Override public String type() { return "Unsqueeze"; }

    @Override public String repr() { return "Unsqueeze(dim=" + dim + ")"; }

    private int position(int[] in) {
        int d = Dims.wrap(dim, in.length + 1);
        if (d < 0) {
            throw new ShapeException(repr(), "a tensor with at least " + (dim < 0 ? -dim - 1 : dim) + " dimensions", in,
                    "dim must be in [" + (-in.length - 1) + ", " + in.length + "] for a " + in.length + "-D input");
        }
        return d;
    }

    @Override
    public int[] outputShape(int[] in) {
        int d = position(in);
        int[] out = new int[in.length + 1];
        for (int i = 0, j = 0; i < out.length; i++) out[i] = i == d ? 1 : in[j++];
        return out;
    }

    @Override
    public int batchDimAfter(int[] in, int batchDim) { return batchDim < 0 ? batchDim : batchDim >= position(in) ? batchDim + 1 : batchDim; }

    @Override
    public List<String> explain(int[] in) {
        return List.of("a size-1 dimension inserted at position " + position(in) + ": " + Dims.str(in) + " → " + Dims.str(outputShape(in)), "params = 0");
    }
}
