package dev.deepshape.cli.graph;

import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ShapeAnalysis;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The layer-level picture of a model: an input box, one box per row of its {@link ShapeAnalysis} (name, repr,
 * parameter count), an output box, and arrows labelled with the shape flowing between the layers (symbolic batch
 * {@code N} or concrete, as the analysis was run; nothing is executed). A module used by several steps (the tutorial's
 * {@code pool}) gets a colour of its own on every box that uses it, "(reused)" on the later ones, and a dashed
 * "same module" line back to its first use.
 *
 * <pre>{@code Graph g = ArchitectureDiagram.of("CombinedModel", ShapeAnalysis.of(ModelSpec.builtin("combined"), new int[] {Dims.N, 1, 28, 28}), Graph.Rankdir.TB);}</pre>
 */
public final class ArchitectureDiagram {
    private ArchitectureDiagram() {}

    /** Colours by kind of unit (pastel, so black text stays legible). */
    static String fillFor(String unit) {
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

    /**
     * The diagram of {@code a}'s rows: one box per row, an arrow per step labelled with the shape it carries. In
     * {@code LR} mode a long repr is wrapped onto two lines so the boxes stay narrow.
     */
    public static Graph of(String model, ShapeAnalysis a, Graph.Rankdir rankdir) {
        List<Graph.Box> boxes = new ArrayList<>();
        List<Graph.Edge> edges = new ArrayList<>();
        Map<String, String> reuseColour = new HashMap<>();
        Map<String, String> firstUse = new HashMap<>();
        for (ShapeAnalysis.Row r : a.rows()) if (r.reused() && !reuseColour.containsKey(r.name())) reuseColour.put(r.name(), REUSE[reuseColour.size() % REUSE.length]);

        boxes.add(new Graph.Box("input", List.of(Graph.Text.title("input"), Graph.Text.code(Dims.str(a.input()))), "#d9f2d0"));
        String prev = "input";
        for (int i = 0; i < a.rows().size(); i++) {
            ShapeAnalysis.Row r = a.rows().get(i);
            String id = "L" + i, repr = r.rule().repr();
            String reused = r.reused() ? "  (reused)" : "";
            List<Graph.Text> lines = new ArrayList<>();
            // An unnamed unit is named by its index, as in nn.Sequential; its repr is then the title.
            boolean named = !r.name().chars().allMatch(Character::isDigit);
            List<String> reprLines = rankdir == Graph.Rankdir.LR ? wrap(repr, LR_WRAP) : List.of(repr);
            if (named) {
                lines.add(Graph.Text.title(r.name() + reused));
                for (String l : reprLines) lines.add(Graph.Text.code(l));
            } else {
                for (int k = 0; k < reprLines.size(); k++) lines.add(Graph.Text.title(reprLines.get(k) + (k == reprLines.size() - 1 ? reused : "")));
            }
            if (r.params() > 0) lines.add(Graph.Text.plain((r.reused() ? "shares " : "") + String.format("%,d", r.params()) + " parameters"));
            String colour = reuseColour.get(r.name());
            String fill = fillFor(r.rule().type());
            boxes.add(colour == null ? new Graph.Box(id, lines, fill) : new Graph.Box(id, lines, fill, colour, 2.5));
            // The first arrow leaves the input box, which already shows the shape.
            edges.add(Graph.Edge.flow(prev, id, prev.equals("input") ? null : Dims.str(r.in())));
            if (colour != null) {
                String first = firstUse.putIfAbsent(r.name(), id);
                if (first != null) edges.add(new Graph.Edge(first, id, "same module", true, false, 0.001));
            }
            prev = id;
        }
        boxes.add(new Graph.Box("output", List.of(Graph.Text.title("output"), Graph.Text.code(Dims.str(a.output())),
                Graph.Text.plain(String.format("%,d", a.totalParams()) + " parameters in all")), "#d9f2d0"));
        edges.add(Graph.Edge.flow(prev, "output", null));
        return new Graph(model + ": architecture, input " + Dims.str(a.input()), rankdir, boxes, edges);
    }

    /** Reprs longer than this many characters are wrapped in {@code LR} mode. */
    static final int LR_WRAP = 34;

    /**
     * {@code text} as one line, or as two lines broken after the argument separator ({@code ", "}) nearest its middle
     * when it is longer than {@code max} characters and has one.
     */
    static List<String> wrap(String text, int max) {
        if (text.length() <= max) return List.of(text);
        int best = -1;
        for (int i = text.indexOf(", "); i >= 0; i = text.indexOf(", ", i + 1)) {
            if (best < 0 || Math.abs(i - text.length() / 2) < Math.abs(best - text.length() / 2)) best = i;
        }
        if (best < 0) return List.of(text);
        return List.of(text.substring(0, best + 1), text.substring(best + 2));
    }
}
