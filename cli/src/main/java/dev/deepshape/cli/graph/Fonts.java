package dev.deepshape.cli.graph;

import java.awt.Font;
import java.awt.GraphicsEnvironment;
import java.awt.font.FontRenderContext;
import java.awt.font.LineMetrics;
import java.util.Set;

/**
 * The fonts of the pictures and their real metrics (java.awt, headless): boxes are sized to the width the text takes
 * in the font the PNG is drawn with. DejaVu Sans / DejaVu Sans Mono when installed (they are on most Linux systems and
 * close in width to Verdana / Menlo, which the SVG names as fall-backs), else Java's logical SansSerif / Monospaced.
 * Sizes are in points; the layout works in points throughout (1/72 inch, as Graphviz).
 */
public final class Fonts {
    private Fonts() {}

    public static final double TEXT_SIZE = 11;
    public static final double TITLE_SIZE = 12;
    public static final double LABEL_SIZE = 10;

    static {
        // NOTE: font metrics work without a display only in headless mode; set it before AWT initialises.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private static final String SANS = pick("DejaVu Sans", Font.SANS_SERIF);
    private static final String MONO = pick("DejaVu Sans Mono", Font.MONOSPACED);
    // Fractional metrics and no hinting: the widths measured here are the widths drawn, at any scale.
    private static final FontRenderContext FRC = new FontRenderContext(null, true, true);

    private static String pick(String wanted, String fallback) {
        Set<String> families = Set.of(GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames());
        return families.contains(wanted) ? wanted : fallback;
    }

    /** The AWT font for a face at {@code size} points. */
    public static Font font(Graph.Face face, double size) {
        return switch (face) {
            case TITLE -> new Font(SANS, Font.BOLD, 1).deriveFont((float) size);
            case PLAIN -> new Font(SANS, Font.PLAIN, 1).deriveFont((float) size);
            case CODE -> new Font(MONO, Font.PLAIN, 1).deriveFont((float) size);
        };
    }

    /** The CSS font-family list for the SVG: the measured font first. */
    public static String cssFamily(Graph.Face face) {
        return face == Graph.Face.CODE ? "'" + MONO + "', Menlo, Consolas, monospace" : "'" + SANS + "', Verdana, Arial, sans-serif";
    }

    public static double width(String s, Graph.Face face, double size) {
        return font(face, size).getStringBounds(s, FRC).getWidth();
    }

    /** Ascent and descent of the face at {@code size}: {ascent, descent}. */
    public static double[] vertical(Graph.Face face, double size) {
        LineMetrics m = font(face, size).getLineMetrics("Hg(", FRC);
        return new double[] {m.getAscent(), m.getDescent()};
    }

    /** The distance between the baselines of two lines. */
    public static double lineHeight(Graph.Face face, double size) {
        double[] v = vertical(face, size);
        return Math.ceil((v[0] + v[1]) * 1.15 * 10) / 10;
    }
}
