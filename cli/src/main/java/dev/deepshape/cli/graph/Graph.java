package dev.deepshape.cli.graph;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A picture to draw, before layout: boxes of text and the arrows between them. Both diagrams (the architecture and
 * the autograd graph) build one of these; {@link Layout} places it, {@link Renderer} draws it as SVG or PNG and
 * {@link Dot} writes it for Graphviz.
 *
 * @param title a line drawn above the picture (may be empty)
 * @param rankdir {@code TB} (top to bottom, the default) or {@code LR} (left to right)
 */
public record Graph(String title, Rankdir rankdir, List<Box> boxes, List<Edge> edges) {

    public enum Rankdir { TB, LR }

    /** How a line of text is set: a bold title, plain text, or code (monospace: reprs, shapes, op names). */
    public enum Face { TITLE, PLAIN, CODE }

    public record Text(String text, Face face) {
        public static Text title(String s) { return new Text(s, Face.TITLE); }
        public static Text plain(String s) { return new Text(s, Face.PLAIN); }
        public static Text code(String s) { return new Text(s, Face.CODE); }
    }

    /**
     * One box: its lines of text (centred), its fill colour ({@code #rrggbb}), its border colour and width (a reused
     * module gets a heavy border in its own colour).
     */
    public record Box(String id, List<Text> lines, String fill, String stroke, double strokeWidth) {
        public Box {
            if (lines.isEmpty()) throw new IllegalArgumentException("box " + id + " has no text");
            lines = List.copyOf(lines);
        }

        public Box(String id, List<Text> lines, String fill) { this(id, lines, fill, "#333333", 1.0); }
    }

    /**
     * An arrow from {@code from} to {@code to}, with an optional label ({@code null} for none); dashed for a relation
     * that is not data flow. {@code weight} (as Graphviz's) says how much keeping this edge straight matters.
     */
    public record Edge(String from, String to, String label, boolean dashed, boolean arrow, double weight) {
        public Edge(String from, String to, String label, boolean dashed, boolean arrow) { this(from, to, label, dashed, arrow, 1); }

        public static Edge flow(String from, String to, String label) { return new Edge(from, to, label, false, true); }
    }

    public Graph {
        boxes = List.copyOf(boxes);
        edges = List.copyOf(edges);
        Set<String> ids = new HashSet<>();
        for (Box b : boxes) if (!ids.add(b.id())) throw new IllegalArgumentException("two boxes with id " + b.id());
        for (Edge e : edges) {
            if (!ids.contains(e.from()) || !ids.contains(e.to())) {
                throw new IllegalArgumentException("edge " + e.from() + " -> " + e.to() + " names a box that does not exist");
            }
        }
    }
}
