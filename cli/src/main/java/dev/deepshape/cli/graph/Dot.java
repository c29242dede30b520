package dev.deepshape.cli.graph;

import java.util.ArrayList;
import java.util.List;

/** Writes a {@link Graph} in Graphviz's DOT language, for users who prefer {@code dot -Tpdf}. */
public final class Dot {
    private Dot() {}

    public static String of(Graph g) {
        StringBuilder sb = new StringBuilder("digraph deepshape {\n");
        sb.append("  graph [rankdir=").append(g.rankdir()).append(", nodesep=0.3, ranksep=0.35");
        if (!g.title().isEmpty()) sb.append(", label=").append(quote(g.title())).append(", labelloc=t, labeljust=l");
        sb.append("];\n");
        sb.append("  node [shape=box, style=\"rounded,filled\", fontname=\"DejaVu Sans\", fontsize=11];\n");
        sb.append("  edge [fontname=\"DejaVu Sans Mono\", fontsize=10, color=\"#555555\"];\n");
        for (Graph.Box b : g.boxes()) {
            List<String> lines = new ArrayList<>();
            for (Graph.Text t : b.lines()) lines.add(t.text());
            sb.append("  ").append(quote(b.id())).append(" [label=").append(quote(String.join("\n", lines)))
                    .append(", fillcolor=\"").append(b.fill()).append("\", color=\"").append(b.stroke()).append('"');
            if (b.strokeWidth() != 1.0) sb.append(", penwidth=").append(b.strokeWidth());
            sb.append("];\n");
        }
        for (Graph.Edge e : g.edges()) {
            sb.append("  ").append(quote(e.from())).append(" -> ").append(quote(e.to()));
            List<String> attrs = new ArrayList<>();
            if (e.label() != null && !e.label().isEmpty()) attrs.add("label=" + quote(" " + e.label()));
            if (e.dashed()) attrs.add("style=dashed");
            if (!e.arrow()) attrs.add("arrowhead=none");
            if (!attrs.isEmpty()) sb.append(" [").append(String.join(", ", attrs)).append(']');
            sb.append(";\n");
        }
        return sb.append("}\n").toString();
    }

    /** A DOT string literal: quotes and backslashes escaped, new lines as {@code \n}. */
    static String quote(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
    }
}
