package dev.deepshape.shape;

import java.util.List;

/**
 * The shape rule of {@code Flatten(start_dim=1, end_dim=-1)}: merges dimensions start_dim..end_dim into their product,
 * (N, C, H, W) → (N, C·H·W) with the defaults. No parameters.
 */
public record FlattenRule(int startDim, int endDim) implements ShapeRule {
    @Override public String type() { return "Flatten"; }

    @Override public String repr() { return "Flatten(start_dim=" + startDim + ", end_dim=" + endDim + ")"; }

    private int[] range(int[] in) {
        int rank = Math.max(in.length, 1);
        int s = Dims.wrap(startDim, rank), e = Dims.wrap(endDim, rank);
        String expected = "a tensor with at least " + Math.max(startDim < 0 ? -startDim : startDim + 1, endDim < 0 ? -endDim : endDim + 1) + " dimensions";
        if (s < 0 || e < 0) {
            throw new ShapeException(repr(), expected, in, "start_dim " + startDim + " or end_dim " + endDim + " is out of range for a " + in.length + "-D input");
        }
        if (s > e) throw new ShapeException(repr(), expected, in, "start_dim " + startDim + " comes after end_dim " + endDim + " for a " + in.length + "-D input");
        return new int[] {s, e};
    }

    @Override
    public int[] outputShape(int[] in) {
        if (in.length == 0) return new int[] {1};
        int[] r = range(in);
        int[] out = new int[in.length - (r[1] - r[0])];
        for (int i = 0; i < r[0]; i++) out[i] = in[i];
        long p = Dims.numel(java.util.Arrays.copyOfRange(in, r[0], r[1] + 1));
        if (p > Integer.MAX_VALUE) throw new ShapeException(repr(), "at most 2^31-1 elements per dimension", in, "the flattened size " + p + " is too large");
        out[r[0]] = (int) p;
        for (int i = r[1] + 1; i < in.length; i++) out[i - (r[1] - r[0])] = in[i];
        return out;
    }

    @Override
    public int batchDimAfter(int[] in, int batchDim) {
        if (batchDim < 0 || in.length == 0) return batchDim;
        int[] r = range(in);
        if (batchDim < r[0]) return batchDim;
        if (batchDim > r[1]) return batchDim - (r[1] - r[0]);
        return r[0] == r[1] ? r[0] : -1;
    }

    @Override
    public List<String> explain(int[] in) {
        int[] out = outputShape(in);
        if (in.length == 0) return List.of("a 0-d tensor becomes (1,)", "params = 0");
        int[] r = range(in);
        return List.of("dimensions " + r[0] + ".." + r[1] + " merged: " + Dims.product(in, r[0], r[1] + 1) + " = " + Dims.dim(out[r[0]]) + ", "
                + Dims.str(in) + " → " + Dims.str(out), "params = 0");
    }
}
