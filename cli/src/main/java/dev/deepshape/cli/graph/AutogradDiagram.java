package dev.deepshape.cli.graph;

import dev.deepshape.autograd.Node;
import dev.deepshape.shape.Dims;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The backward graph of one forward pass, drawn as torchviz's {@code make_dot} draws it: one grey box per backward
 * function ({@code ConvolutionBackward0}, {@code AddmmBackward0}, ...), each parameter as a blue box with its
 * state-dict name and shape feeding an {@code AccumulateGrad} box, the output as a green box with its shape, arrows in
 * the forward direction. With {@code showSaved}, every tensor a node saved for backward is an orange box (its name and
 * shape) joined to the node by a dashed line.
 *
 * <pre>{@code
 * Tensor y = model.forward(x);   // with grad enabled
 * Graph g = AutogradDiagram.of("model", y, model.namedParameters(), false, Graph.Rankdir.TB);
 * }</pre>
 */
public final class AutogradDiagram {
    private AutogradDiagram() {}

    static final String OP = "#d9d9d9", PARAM = "#add8e6", OUTPUT = "#caff70", SAVED = "#ffa500";

    /**
     * @param output the result of the forward pass; it must have a grad_fn (some input or parameter required grad)
     * @param params names for leaf tensors, by identity (e.g. {@code Module.namedParameters()})
     */
    public static Graph of(String model, Tensor output, Map<String, Tensor> params, boolean showSaved, Graph.Rankdir rankdir) {
        if (output.gradFn() == null) {
            throw new IllegalArgumentException("the output " + Dims.str(output.shapeRef())
                    + " has no grad_fn: no parameter or input required grad, or grad mode was off during the forward pass");
        }
        Map<Tensor, String> names = new IdentityHashMap<>();
        for (var e : params.entrySet()) names.put(e.getValue(), e.getKey());

        List<Graph.Box> boxes = new ArrayList<>();
        List<Graph.Edge> edges = new ArrayList<>();
        Map<Node, String> nodeIds = new IdentityHashMap<>();
        Map<Tensor, String> accIds = new IdentityHashMap<>();
        boxes.add(new Graph.Box("output", List.of(Graph.Text.title("output"), Graph.Text.code(Dims.str(output.shapeRef()))), OUTPUT));

        // Depth-first from the output, as make_dot, so the declaration order follows the backward walk.
        Deque<Node> todo = new ArrayDeque<>();
        nodeIds.put(output.gradFn(), "n0");
        todo.push(output.gradFn());
        List<Graph.Edge> pending = new ArrayList<>();
        pending.add(Graph.Edge.flow("n0", "output", null));
        while (!todo.isEmpty()) {
            Node n = todo.pop();
            String id = nodeIds.get(n);
            boxes.add(new Graph.Box(id, List.of(Graph.Text.code(n.op())), OP));
            if (showSaved) {
                int k = 0;
                for (var s : n.saved().entrySet()) {
                    if (s.getValue() == null) continue;
                    String sid = id + ".saved" + k++;
                    boxes.add(new Graph.Box(sid, List.of(Graph.Text.code(s.getKey()), Graph.Text.code(Dims.str(s.getValue().shapeRef()))), SAVED));
                    pending.add(new Graph.Edge(sid, id, null, true, false, 0.5));
                }
            }
            List<Tensor> inputs = n.inputs();
            for (int i = inputs.size() - 1; i >= 0; i--) {
                Tensor t = inputs.get(i);
                if (t == null) continue;
                if (t.gradFn() != null) {
                    String child = nodeIds.get(t.gradFn());
                    if (child == null) {
                        child = "n" + nodeIds.size();
                        nodeIds.put(t.gradFn(), child);
                        todo.push(t.gradFn());
                    }
                    pending.add(new Graph.Edge(child, id, null, false, true, 4)); // the main chain stays straight
                } else if (t.requiresGrad()) {
                    String acc = accIds.get(t);
                    if (acc == null) {
                        acc = "acc" + accIds.size();
                        accIds.put(t, acc);
                        String name = names.getOrDefault(t, t.name() == null ? "" : t.name());
                        List<Graph.Text> lines = new ArrayList<>();
                        if (!name.isEmpty()) lines.add(Graph.Text.title(name));
                        lines.add(Graph.Text.code(Dims.str(t.shapeRef())));
                        boxes.add(new Graph.Box("p" + acc.substring(3), lines, PARAM));
                        boxes.add(new Graph.Box(acc, List.of(Graph.Text.code("AccumulateGrad")), OP));
                        pending.add(Graph.Edge.flow("p" + acc.substring(3), acc, null));
                    }
                    pending.add(Graph.Edge.flow(acc, id, null));
                }
            }
        }
        // Reverse so the arrows read in forward order from the first layer's parameters down to the output.
        edges.addAll(pending.reversed());
        return new Graph(model + ": autograd graph of one forward pass", rankdir, boxes.reversed(), edges);
    }
}
