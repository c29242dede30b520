package dev.deepshape.report;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.ImageIO;
import org.jfree.svg.SVGGraphics2D;

/**
 * One picture of the report, drawn by the same Java2D code onto a raster (PNG) or into JFreeSVG's
 * {@link SVGGraphics2D} (SVG). {@code width} and {@code height} are in CSS pixels; the PNG may be drawn at a larger
 * {@code scale} for high-density screens.
 *
 * @param name    the file name without extension, e.g. {@code loss_steps}
 * @param caption what the picture shows, one sentence (the report's figure caption and the images' alt text)
 */
public record Figure(String name, String caption, int width, int height, Painter painter) {
    static {
        // NOTE: drawing needs no display; headless must be set before AWT initialises.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Draws the picture into a {@code width × height} area at the origin. */
    @FunctionalInterface
    public interface Painter {
        void paint(Graphics2D g, int width, int height);
    }

    /** The picture as PNG bytes, {@code scale} device pixels per CSS pixel. */
    public byte[] png(double scale) {
        BufferedImage img = new BufferedImage((int) Math.round(width * scale), (int) Math.round(height * scale), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(java.awt.Color.WHITE);
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            g.scale(scale, scale);
            painter.paint(g, width, height);
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer in this Java runtime");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + name + ".png: " + e.getMessage(), e);
        }
        return out.toByteArray();
    }

    /** The picture as a standalone SVG document (width and height set, so an {@code <img>} sizes it). */
    public String svg() {
        SVGGraphics2D g = new SVGGraphics2D(width, height);
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, width, height);
        painter.paint(g, width, height);
        // NOTE: getSVGDocument() adds a DOCTYPE that points at the W3C's DTD on the web; the element alone is standalone.
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + g.getSVGElement() + "\n";
    }
}
