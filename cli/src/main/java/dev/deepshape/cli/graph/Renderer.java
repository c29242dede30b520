package dev.deepshape.cli.graph;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;
import dev.deepshape.io.AtomicFiles;

/**
 * Draws a laid-out graph on a {@link Canvas}, and writes a graph to a file whose extension picks the format:
 * {@code .svg}, {@code .png} (at {@code dpi}) or {@code .dot}.
 */
public final class Renderer {
    private Renderer() {}

    static final String EDGE = "#555555", LABEL = "#333333", TEXT = "#111111";

    public enum Format { DOT, SVG, PNG }

    /** The format for a file name's extension; an error naming the supported ones otherwise. */
    public static Format formatOf(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        String ext = dot < 0 ? "" : name.substring(dot + 1);
        return switch (ext) {
            case "dot", "gv" -> Format.DOT;
            case "svg" -> Format.SVG;
            case "png" -> Format.PNG;
            default -> throw new IllegalArgumentException("cannot tell the format of '" + file + "' from its extension; use .png, .svg or .dot");
        };
    }

    public static void draw(Layout.Result r, Canvas c) {
        Graph g = r.graph();
        if (!g.title().isEmpty()) {
            double asc = Fonts.vertical(Graph.Face.TITLE, Fonts.TITLE_SIZE)[0];
            c.text(g.title(), Layout.MARGIN, Layout.MARGIN + asc, Graph.Face.TITLE, Fonts.TITLE_SIZE, TEXT, false,
                    Fonts.width(g.title(), Graph.Face.TITLE, Fonts.TITLE_SIZE));
        }
        for (Layout.PlacedEdge e : r.edges()) {
            Graph.Edge ge = e.edge();
            c.begin("edge", ge.from() + "->" + ge.to());
            c.path(e.path(), EDGE, ge.dashed() ? 1.0 : 1.2, ge.dashed());
            if (!e.arrow().isEmpty()) c.polygon(e.arrow(), EDGE);
            if (e.label() != null) {
                double asc = Fonts.vertical(Graph.Face.CODE, Fonts.LABEL_SIZE)[0];
                double lh = Fonts.lineHeight(Graph.Face.CODE, Fonts.LABEL_SIZE);
                double[] v = Fonts.vertical(Graph.Face.CODE, Fonts.LABEL_SIZE);
                double baseline = e.label().y() + (lh - v[0] - v[1]) / 2 + asc;
                c.text(ge.label(), e.label().x(), baseline, Graph.Face.CODE, Fonts.LABEL_SIZE, LABEL, false, e.labelW());
            }
            c.end();
        }
        for (Layout.PlacedBox b : r.boxes()) {
            Graph.Box box = b.box();
            c.begin("node", box.id());
            c.rect(b.x(), b.y(), b.w(), b.h(), 5, box.fill(), box.stroke(), box.strokeWidth());
            double block = 0;
            for (Graph.Text t : box.lines()) block += Fonts.lineHeight(t.face(), size(t));
            double y = b.y() + (b.h() - block) / 2;
            for (Graph.Text t : box.lines()) {
                double lh = Fonts.lineHeight(t.face(), size(t));
                double[] v = Fonts.vertical(t.face(), size(t));
                double baseline = y + (lh - v[0] - v[1]) / 2 + v[0];
                c.text(t.text(), b.x() + b.w() / 2, baseline, t.face(), size(t), TEXT, true, Fonts.width(t.text(), t.face(), size(t)));
                y += lh;
            }
            c.end();
        }
    }

    private static double size(Graph.Text t) { return t.face() == Graph.Face.TITLE ? Fonts.TITLE_SIZE : Fonts.TEXT_SIZE; }

    public static String svg(Graph g) {
        Layout.Result r = Layout.of(g);
        SvgCanvas c = new SvgCanvas(r.width(), r.height());
        draw(r, c);
        return c.finish();
    }

    public static BufferedImage png(Graph g, double dpi) {
        Layout.Result r = Layout.of(g);
        PngCanvas c = new PngCanvas(r.width(), r.height(), dpi);
        draw(r, c);
        return c.finish();
    }

    /** Writes {@code g} to {@code file} (atomically) in the format its extension names. */
    public static void write(Graph g, Path file, double dpi) {
        Format f = formatOf(file);
        try {
            switch (f) {
                case DOT -> AtomicFiles.write(file, out -> out.write(Dot.of(g).getBytes(StandardCharsets.UTF_8)));
                case SVG -> AtomicFiles.write(file, out -> out.write(svg(g).getBytes(StandardCharsets.UTF_8)));
                case PNG -> {
                    BufferedImage img = png(g, dpi);
                    AtomicFiles.write(file, out -> {
                        if (!ImageIO.write(img, "png", out)) throw new IOException("no PNG writer in this Java runtime");
                    });
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
