package dev.deepshape.cli.graph;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.geom.RoundRectangle2D;
import java.awt.image.BufferedImage;
import java.util.List;

/** Paints the drawing calls with Java2D on an RGB image, {@code dpi / 72} pixels per point. */
public final class PngCanvas implements Canvas {
    /** The largest side we agree to paint, in pixels (a bigger image is almost certainly a wrong {@code --dpi}). */
    public static final int MAX_SIDE = 20_000;

    private final BufferedImage image;
    private final Graphics2D g;

    public PngCanvas(double width, double height, double dpi) {
        double scale = dpi / 72.0;
        long w = (long) Math.ceil(width * scale), h = (long) Math.ceil(height * scale);
        if (w > MAX_SIDE || h > MAX_SIDE || w < 1 || h < 1) {
            throw new IllegalArgumentException("a PNG of " + w + "x" + h + " pixels at --dpi " + dpi + " is outside 1.." + MAX_SIDE
                    + " pixels a side; lower --dpi or write an .svg");
        }
        image = new BufferedImage((int) w, (int) h, BufferedImage.TYPE_INT_RGB);
        g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.scale(scale, scale);
    }

    @Override
    public void rect(double x, double y, double w, double h, double radius, String fill, String stroke, double strokeWidth) {
        RoundRectangle2D r = new RoundRectangle2D.Double(x, y, w, h, 2 * radius, 2 * radius);
        g.setColor(Color.decode(fill));
        g.fill(r);
        g.setColor(Color.decode(stroke));
        g.setStroke(new BasicStroke((float) strokeWidth));
        g.draw(r);
    }

    @Override
    public void text(String s, double x, double baseline, Graph.Face face, double size, String color, boolean centred, double measuredWidth) {
        g.setFont(Fonts.font(face, size));
        g.setColor(Color.decode(color));
        g.drawString(s, (float) (centred ? x - measuredWidth / 2 : x), (float) baseline);
    }

    @Override
    public void path(List<Layout.Seg> path, String stroke, double strokeWidth, boolean dashed) {
        Path2D.Double p = new Path2D.Double();
        for (Layout.Seg s : path) {
            switch (s) {
                case Layout.Move m -> p.moveTo(m.x(), m.y());
                case Layout.Line l -> p.lineTo(l.x(), l.y());
                case Layout.Cubic c -> p.curveTo(c.x1(), c.y1(), c.x2(), c.y2(), c.x(), c.y());
            }
        }
        g.setColor(Color.decode(stroke));
        g.setStroke(dashed ? new BasicStroke((float) strokeWidth, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[] {5f, 3f}, 0f)
                : new BasicStroke((float) strokeWidth, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        g.draw(p);
    }

    @Override
    public void polygon(List<Layout.Point> points, String fill) {
        Path2D.Double p = new Path2D.Double();
        for (int i = 0; i < points.size(); i++) {
            if (i == 0) p.moveTo(points.get(i).x(), points.get(i).y()); else p.lineTo(points.get(i).x(), points.get(i).y());
        }
        p.closePath();
        g.setColor(Color.decode(fill));
        g.fill(p);
    }

    /** The finished image (disposes the graphics). */
    public BufferedImage finish() {
        g.dispose();
        return image;
    }
}
