package dev.deepshape.cli.graph;

import java.util.List;
import java.util.Locale;

/** Writes the drawing calls as an SVG document (1 SVG user unit = 1 point). */
public final class SvgCanvas implements Canvas {
    private final StringBuilder sb = new StringBuilder();

    public SvgCanvas(double width, double height) {
        sb.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(n(width)).append("pt\" height=\"").append(n(height))
                .append("pt\" viewBox=\"0 0 ").append(n(width)).append(' ').append(n(height)).append("\">\n");
        sb.append("<rect x=\"0\" y=\"0\" width=\"").append(n(width)).append("\" height=\"").append(n(height)).append("\" fill=\"#ffffff\"/>\n");
    }

    /** Starts a group with a class and a title (SVG viewers show it as a tooltip; tests find elements by it). */
    @Override
    public void begin(String cssClass, String title) {
        sb.append("<g class=\"").append(cssClass).append("\"><title>").append(escape(title)).append("</title>\n");
    }

    @Override
    public void end() { sb.append("</g>\n"); }

    @Override
    public void rect(double x, double y, double w, double h, double radius, String fill, String stroke, double strokeWidth) {
        sb.append("<rect x=\"").append(n(x)).append("\" y=\"").append(n(y)).append("\" width=\"").append(n(w)).append("\" height=\"").append(n(h))
                .append("\" rx=\"").append(n(radius)).append("\" fill=\"").append(fill).append("\" stroke=\"").append(stroke)
                .append("\" stroke-width=\"").append(n(strokeWidth)).append("\"/>\n");
    }

    @Override
    public void text(String s, double x, double baseline, Graph.Face face, double size, String color, boolean centred, double measuredWidth) {
        sb.append("<text x=\"").append(n(x)).append("\" y=\"").append(n(baseline)).append('"');
        if (centred) sb.append(" text-anchor=\"middle\"");
        sb.append(" font-family=\"").append(escape(Fonts.cssFamily(face))).append("\" font-size=\"").append(n(size)).append('"');
        if (face == Graph.Face.TITLE) sb.append(" font-weight=\"bold\"");
        // NOTE: the box was sized for the measured width; a viewer without the font squeezes or stretches to fit it.
        sb.append(" textLength=\"").append(n(measuredWidth)).append("\" lengthAdjust=\"spacingAndGlyphs\"");
        sb.append(" fill=\"").append(color).append("\">").append(escape(s)).append("</text>\n");
    }

    @Override
    public void path(List<Layout.Seg> path, String stroke, double strokeWidth, boolean dashed) {
        sb.append("<path d=\"");
        for (Layout.Seg s : path) {
            switch (s) {
                case Layout.Move m -> sb.append('M').append(n(m.x())).append(',').append(n(m.y()));
                case Layout.Line l -> sb.append(" L").append(n(l.x())).append(',').append(n(l.y()));
                case Layout.Cubic c -> sb.append(" C").append(n(c.x1())).append(',').append(n(c.y1())).append(' ')
                        .append(n(c.x2())).append(',').append(n(c.y2())).append(' ').append(n(c.x())).append(',').append(n(c.y()));
            }
        }
        sb.append("\" fill=\"none\" stroke=\"").append(stroke).append("\" stroke-width=\"").append(n(strokeWidth)).append('"');
        if (dashed) sb.append(" stroke-dasharray=\"5,3\"");
        sb.append("/>\n");
    }

    @Override
    public void polygon(List<Layout.Point> points, String fill) {
        sb.append("<polygon points=\"");
        for (int i = 0; i < points.size(); i++) {
            if (i > 0) sb.append(' ');
            sb.append(n(points.get(i).x())).append(',').append(n(points.get(i).y()));
        }
        sb.append("\" fill=\"").append(fill).append("\"/>\n");
    }

    /** The finished document. */
    public String finish() { return sb + "</svg>\n"; }

    private static String n(double v) {
        String s = String.format(Locale.ROOT, "%.2f", v);
        s = s.replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
