package dev.deepshape.cli.graph;

import java.util.List;

/**
 * The few drawing calls a laid-out graph needs, in points; {@link SvgCanvas} writes them as SVG text and
 * {@link PngCanvas} paints them with Java2D, so both formats come from the same {@link Renderer} code.
 * Colours are {@code #rrggbb}.
 */
public interface Canvas {
    /** A rectangle with rounded corners ({@code radius} 0 for square ones). */
    void rect(double x, double y, double w, double h, double radius, String fill, String stroke, double strokeWidth);

    /** One line of text, centred on {@code cx} when {@code centred}, else starting at {@code x}; {@code baseline} is its baseline. */
    void text(String s, double x, double baseline, Graph.Face face, double size, String color, boolean centred, double measuredWidth);

    /** An open path (no fill). */
    void path(List<Layout.Seg> path, String stroke, double strokeWidth, boolean dashed);

    /** A filled polygon (arrow heads). */
    void polygon(List<Layout.Point> points, String fill);

    /** Starts a group of calls that draw one thing ({@code node} or {@code edge}) named {@code title}; formats without groups ignore it. */
    default void begin(String kind, String title) {}

    default void end() {}
}
