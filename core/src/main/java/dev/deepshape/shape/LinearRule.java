package dev.deepshape.shape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape rule of {@code Linear}: input (*, in_features), output (*, out_features). Parameters: weight
 * (out_features, in_features), bias (out_features).
 */
public record LinearRule(int inFeatures, int outFeatures, boolean bias) implements ShapeRule {

    public LinearRule {
        if (inFeatures < 0 || outFeatures < 0) throw new IllegalArgumentException("Linear: in_features and out_features must be >= 0, got " + inFeatures + " and " + outFeatures);
    }

    @Override public String type() { return "Linear"; }

    @Override public String repr() { return "Linear(in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias ? "True" : "False") + ")"; }

    @Override
    public int[] outputShape(int[] in) {
        String expected = "(*, " + inFeatures + ")";
        if (in.length < 1) throw new ShapeException(repr(), expected, in, "a 0-d tensor has no feature dimension");
        Rules.concrete(repr(), expected, in, in.length - 1);
        int last = in[in.length - 1];
        if (last != inFeatures) {
            StringBuilder hint = new StringBuilder("the last dimension is " + last + ", so Linear(" + last + ", " + outFeatures + ") would fit");
            // A spatial input whose trailing sizes multiply to in_features was meant to be flattened first.
            for (int from = in.length - 2; from >= 1; from--) {
                long p = 1;
                for (int i = from; i < in.length; i++) p *= in[i];
                if (p == inFeatures) {
                    hint.append("; or Flatten(").append(from).append(") first: ").append(Dims.product(in, from, in.length)).append(" = ").append(inFeatures);
                    break;
                }
            }
            throw new ShapeException(repr(), expected, in, hint.toString());
        }
        int[] out = in.clone();
        out[in.length - 1] = outFeatures;
        return out;
    }

    @Override
    public List<String> explain(int[] in) {
        int[] out = outputShape(in);
        List<String> lines = new ArrayList<>();
        lines.add("y = x·Wᵀ + b: (*, in_features) → (*, out_features) = " + Dims.str(in) + " → " + Dims.str(out));
        lines.add(ShapeRule.paramLine(parameterShapes(), Map.of("weight", "(out_features, in_features)", "bias", "(out_features,)")));
        lines.add(ShapeRule.paramSum(parameterShapes()));
        return lines;
    }

    @Override
    public Map<String, int[]> parameterShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("weight", new int[] {outFeatures, inFeatures});
        if (bias) m.put("bias", new int[] {outFeatures});
        return m;
    }

    /** Every row of the input (all dimensions but the last) costs in·out multiply-adds and out bias additions. */
    @Override
    public Cost cost(int[] in, int[] out) {
        long rows = inFeatures == 0 ? Dims.numel(out) / Math.max(outFeatures, 1) : Dims.numel(in) / inFeatures;
        return new Cost(rows * inFeatures * outFeatures, bias ? rows * outFeatures : 0);
    }
}
