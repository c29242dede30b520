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

    /** In {@code LR} mode a repr is wrapped onto lines of at most this many characters where it can be. */
    static final int LR_WRAP = 24;

    /**
     * {@code text} broken after top-level argument separators ({@code ", "} not inside a tuple) into as few lines of
     * at most {@code max} characters as possible, at most three; when three lines cannot be that short, the three
     * most even ones (the narrowest, then the least sum of squared lengths). {@code Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))} becomes
     * {@code Conv2d(1, 32,} / {@code kernel_size=(3, 3),} / {@code stride=(1, 1), padding=(1, 1))}.
     */
    static List<String> wrap(String text, int max) {
        if (text.length() <= max) return List.of(text);
        // The pieces between top-level separators, each ending with its comma.
        List<String> pieces = new ArrayList<>();
        int depth = 0, start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '(') depth++;
            else if (c == ')') depth--;
            else if (c == ',' && depth == 1 && i + 1 < text.length() && text.charAt(i + 1) == ' ') {
                pieces.add(text.substring(start, i + 1));
                start = i + 2;
            }
        }
        pieces.add(text.substring(start));
        List<String> best = List.of(text);
        int bestWidth = text.length();
        long bestSpread = Long.MAX_VALUE;
        // Few pieces (a repr has at most a dozen arguments): try every way of cutting them into 2 or 3 lines.
        for (int lines = 2; lines <= Math.min(3, pieces.size()); lines++) {
            for (int a = 1; a < pieces.size(); a++) {
                for (int b = lines == 3 ? a + 1 : pieces.size(); b <= pieces.size() - (lines == 3 ? 1 : 0); b++) {
                    List<String> cand = new ArrayList<>();
                    cand.add(String.join(" ", pieces.subList(0, a)));
                    cand.add(String.join(" ", pieces.subList(a, b)));
                    if (lines == 3) cand.add(String.join(" ", pieces.subList(b, pieces.size())));
                    int width = cand.stream().mapToInt(String::length).max().orElseThrow();
                    // Among equally wide cuts, the most even (least sum of squared lengths); then the one that keeps
                    // more arguments on the first line, beside the unit's name.
                    long spread = cand.stream().mapToLong(l -> (long) l.length() * l.length()).sum();
                    boolean tie = width == bestWidth && spread == bestSpread && cand.size() == best.size();
                    if (width < bestWidth || width == bestWidth && spread < bestSpread || tie) {
                        best = cand;
                        bestWidth = width;
                        bestSpread = spread;
                    }
                }
            }
            if (bestWidth <= max) break;
        }
        return best;
    }
}
