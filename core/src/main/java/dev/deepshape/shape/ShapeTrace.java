package dev.deepshape.shape;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.Sequential;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A real forward pass of a spec's model on a random batch, layer by layer without gradients, recording the shape each
 * layer really gives and checking it against the rules' prediction. A symbolic batch runs with N = 2.
 *
 * @param shapes the output shape of every layer, as the forward pass produced it
 * @param mismatches one line per layer whose real shape differs from the rule's (empty when all agree)
 */
public record ShapeTrace(int[] input, List<String> names, List<int[]> shapes, List<String> mismatches) {

    /** Builds the model (seeded, so the trace repeats), runs it and compares with {@code analysis}. */
    public static ShapeTrace run(ModelSpec spec, ShapeAnalysis analysis) {
        int[] input = Dims.concrete(analysis.input(), 2);
        Rng rng = new Rng(0);
        Sequential model = ModelBuilder.build(spec);
        model.eval();
        List<Module> layers = model.layers();
        List<String> names = model.layerNames();
        List<int[]> shapes = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        try (var ignored = Autograd.noGrad()) {
            Tensor x = Tensor.randn(rng, input);
            for (int i = 0; i < layers.size(); i++) {
                x = layers.get(i).forward(x);
                shapes.add(x.shape());
                int[] predicted = Dims.concrete(analysis.rows().get(i).out(), 2);
                if (!Arrays.equals(predicted, x.shapeRef())) {
                    mismatches.add("layer " + i + " (" + names.get(i) + "): the rule says " + Dims.str(predicted) + ", the forward pass gave " + Dims.str(x.shapeRef()));
                }
            }
        }
        return new ShapeTrace(input, names, shapes, mismatches);
    }

    /** The trace in PyTorch's format, one line per layer, then the verdict. */
    public String text() {
        StringBuilder sb = new StringBuilder("\nforward pass on a random batch:\n");
        sb.append("Input shape: ").append(torchSize(input)).append('\n');
        for (int i = 0; i < shapes.size(); i++) sb.append("After ").append(names.get(i)).append(": ").append(torchSize(shapes.get(i))).append('\n');
        sb.append(mismatches.isEmpty() ? "all " + shapes.size() + " layers agree with the shape rules\n" : String.join("\n", mismatches) + "\n");
        return sb.toString();
    }

    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_shape", Dims.json(input));
        List<Object> l = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("name", names.get(i));
            r.put("output_shape", Dims.json(shapes.get(i)));
            l.add(r);
        }
        m.put("layers", l);
        m.put("mismatches", mismatches);
        return m;
    }

    private static String torchSize(int[] s) { return "torch.Size(" + Arrays.toString(s) + ")"; }
}
