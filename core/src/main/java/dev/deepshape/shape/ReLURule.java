package dev.deepshape.shape;

import java.util.List;

/** The shape rule of {@code ReLU}: any shape, unchanged. No parameters. */
public record ReLURule() implements ShapeRule {
    @Override public String type() { return "ReLU"; }

    @Override public String repr() { return "ReLU()"; }

    @Override public int[] outputShape(int[] in) { return in.clone(); }

    @Override public List<String> explain(int[] in) { return List.of("max(0, x) elementwise: shape unchanged " + Dims.str(in), "params = 0"); }
}
