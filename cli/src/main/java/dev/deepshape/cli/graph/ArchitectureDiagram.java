package dev.deepshape.cli.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The layer-level picture of a model: an input box, one box per step (name, repr, parameter count), an output box,
 * and arrows labelled with the shape flowing between the steps. A module used by several steps (the tutorial's
 * {@code pool}) gets a colour of its own on every box that uses it, "(reused)" on the later ones, and a dashed
 * "same module" line back to its first use.
 *
 * <pre>{@code Graph g = ArchitectureDiagram.of("CombinedModel", input, layers, Graph.Rankdir.TB);}</pre>
 */
public final class ArchitectureDiagram {
    private ArchitectureDiagram() {}

    /** Colours by kind of unit (pastel, so black text stays legible). */
    static String fillFor(String repr) {
        String unit = repr.contains("(") ? repr.substring(0, repr.indexOf('(')) : repr;
        return switch (unit) {
            case "Conv2d", "ConvTranspose2d" -> "#cfe2f3";
            case "MaxPool2d", "AvgPool2d" -> "#d9ead3";
            case "RNN", "GRU", "LSTM" -> "#fce5cd";
            case "Linear" -> "#e6d7f0";
            case "ReLU", "Tanh", "Sigmoid" -> "#fff2cc";
            default -> "#eeeeee";
        };
    }

    /** Heavy borders that mark reused modules, one colour per module. */
    private static final String[] REUSE = {"#c2185b", "#00838f", "#ef6c00", "#5e35b1"};

    public static Graph of(String model, int[] input, List<LayerBox> layers, Graph.Rankdir rankdir) {
        List<Graph.Box> boxes = new ArrayList<>();
        List<Graph.Edge> edges = new ArrayList<>();
        Map<String, String> reuseColour = new HashMap<>();
        Map<String, String> firstUse = new HashMap<>();
        for (LayerBox l : layers) if (l.reused() && !reuseColour.containsKey(l.name())) reuseColour.put(l.name(), REUSE[reuseColour.size() % REUSE.length]);

        long total = 0;
        boxes.add(new Graph.Box("input", List.of(Graph.Text.title("input"), Graph.Text.code(shape(input))), "#d9f2d0"));
        String prev = "input";
        int[] prevShape = input;
        for (int i = 0; i < layers.size(); i++) {
            LayerBox l = layers.get(i);
            String id = "L" + i;
            List<Graph.Text> lines = new ArrayList<>();
            boolean named = !l.name().chars().allMatch(Character::isDigit);
            if (named) lines.add(Graph.Text.title(l.name() + (l.reused() ? "  (reused)" : "")));
            lines.add(named ? Graph.Text.code(l.repr()) : Graph.Text.title(l.repr() + (l.reused() ? "  (reused)" : "")));
            if (l.reused() && l.params() > 0) lines.add(Graph.Text.plain("shares " + String.format("%,d", l.params()) + " parameters"));
            else if (l.params() > 0) lines.add(Graph.Text.plain(String.format("%,d", l.params()) + " parameters"));
            if (!l.reused()) total += l.params();
            String colour = reuseColour.get(l.name());
            boxes.add(colour == null ? new Graph.Box(id, lines, fillFor(l.repr())) : new Graph.Box(id, lines, fillFor(l.repr()), colour, 2.5));
            // The first arrow leaves the input box, which already shows the shape.
            edges.add(Graph.Edge.flow(prev, id, prev.equals("input") ? null : shape(l.inShape())));
            if (colour != null) {
                String first = firstUse.putIfAbsent(l.name(), id);
                if (first != null) edges.add(new Graph.Edge(first, id, "same module", true, false, 0.001));
            }
            prev = id;
            prevShape = l.outShape();
        }
        boxes.add(new Graph.Box("output", List.of(Graph.Text.title("output"), Graph.Text.code(shape(prevShape)),
                Graph.Text.plain(String.format("%,d", total) + " parameters in all")), "#d9f2d0"));
        edges.add(Graph.Edge.flow(prev, "output", null));
        return new Graph(model + ": architecture, input " + shape(input), rankdir, boxes, edges);
    }

    /** {@code (N, 32, 14, 14)}: PyTorch's tuple form with N for the symbolic batch. */
    static String shape(int[] s) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < s.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(s[i] < 0 ? "N" : String.valueOf(s[i]));
        }
        if (s.length == 1) sb.append(',');
        return sb.append(')').toString();
    }
}
