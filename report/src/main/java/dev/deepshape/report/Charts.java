package dev.deepshape.report;

import dev.deepshape.data.Mnist;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.GraphicsEnvironment;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.labels.StandardXYItemLabelGenerator;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The report's pictures: the curves with JFreeChart, the confusion matrix and the digit grid with plain Java2D; each a
 * {@link Figure}, so PNG and SVG come from the same drawing.
 */
public final class Charts {
    private Charts() {}

    static final Color STEP = new Color(0xA6C8E4), SMOOTH = new Color(0x1F5A99), TRAIN = new Color(0x1F77B4),
            TEST = new Color(0xE6550D), GRID = new Color(0xDDDDDD), INK = new Color(0x222222), MUTED = new Color(0x777777);
    static final String SANS = pickFont("DejaVu Sans", Font.SANS_SERIF);

    private static String pickFont(String wanted, String fallback) {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        Set<String> families = Set.of(GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames());
        return families.contains(wanted) ? wanted : fallback;
    }

    static Font font(int style, float size) { return new Font(SANS, style, 1).deriveFont(size); }

    // ------------------------------------------------------------------ curves

    /**
     * The training loss of every step, a smoothed line through it (a centred moving average over about 1/30 of the
     * run, narrower at the ends), each epoch's mean training loss (drawn mid-epoch) and its test loss at the epoch's
     * last step.
     */
    public static Figure lossPerStep(RunMetrics m) {
        List<RunMetrics.Step> finite = m.steps().stream().filter(s -> Double.isFinite(s.loss())).toList();
        int n = finite.size();
        int half = Math.max(1, Math.min(50, n / 60));
        XYSeries raw = new XYSeries("loss per step", false, true), smooth = new XYSeries("moving average over " + (2 * half + 1) + " steps", false, true);
        double[] mean = centredMean(finite.stream().mapToDouble(RunMetrics.Step::loss).toArray(), half);
        for (int i = 0; i < n; i++) {
            raw.add(finite.get(i).step(), finite.get(i).loss());
            smooth.add(finite.get(i).step(), mean[i]);
        }
        XYSeries epochTrain = new XYSeries("epoch mean (train, drawn mid-epoch)", false, true), epochTest = new XYSeries("test loss after the epoch", false, true);
        int perEpoch = perEpochSteps(m);
        for (RunMetrics.Epoch e : m.epochs()) {
            // NOTE: the mean of an epoch's steps belongs in the middle of the epoch, where the smoothed line passes it.
            epochTrain.add((e.epoch() - 0.5) * perEpoch, e.trainLoss());
            if (e.hasTest()) epochTest.add(e.epoch() * perEpoch, e.testLoss());
        }
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(raw);
        data.addSeries(smooth);
        data.addSeries(epochTrain);
        if (!epochTest.isEmpty()) data.addSeries(epochTest);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer();
        line(r, 0, STEP, 1f, false);
        line(r, 1, SMOOTH, 2.2f, false);
        line(r, 2, TRAIN.darker(), 1.2f, true);
        r.setSeriesStroke(2, new BasicStroke(1.2f, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND, 1f, new float[] {5f, 4f}, 0f));
        r.setSeriesShape(2, new Rectangle2D.Double(-4, -4, 8, 8));
        if (!epochTest.isEmpty()) {
            line(r, 3, TEST, 1.2f, true);
            r.setSeriesLinesVisible(3, epochTest.getItemCount() > 1);
        }
        r.setSeriesLinesVisible(2, epochTrain.getItemCount() > 1);
        NumberAxis x = axis("step (batches of " + m.setting("batch_size", "?") + ")", true);
        NumberAxis y = axis("cross-entropy loss", false);
        y.setAutoRangeIncludesZero(true);
        XYPlot plot = plot(data, x, y, r);
        for (RunMetrics.Epoch e : m.epochs()) {
            if (e.epoch() == m.epochs().getLast().epoch()) continue;
            ValueMarker mk = new ValueMarker(e.epoch() * perEpoch, GRID.darker(), new BasicStroke(1f));
            mk.setLabel("epoch " + (e.epoch() + 1));
            mk.setLabelFont(font(Font.PLAIN, 10f));
            mk.setLabelPaint(MUTED);
            mk.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
            mk.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            mk.setLabelBackgroundColor(new Color(255, 255, 255, 0));
            plot.addDomainMarker(mk);
        }
        JFreeChart chart = chart("Training loss per step", plot);
        return new Figure("loss_steps", "The training loss of every step (light), its moving average (dark), and each epoch's mean training loss and test loss.",
                1060, 420, (g, w, h) -> chart.draw(g, new Rectangle2D.Double(0, 0, w, h)));
    }

    /**
     * The mean of {@code v[i−h .. i+h]} for each i, with h = {@code half} shrunk near the ends so the window stays
     * centred. NOTE: a trailing average (TensorBoard's EMA) lags the fast early descent by half its window; this does not.
     */
    static double[] centredMean(double[] v, int half) {
        int n = v.length;
        double[] prefix = new double[n + 1];
        for (int i = 0; i < n; i++) prefix[i + 1] = prefix[i] + v[i];
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            int h = Math.min(half, Math.min(i, n - 1 - i));
            out[i] = (prefix[i + h + 1] - prefix[i - h]) / (2 * h + 1);
        }
        return out;
    }

    /** Mean training loss and test loss per epoch. */
    public static Figure lossPerEpoch(RunMetrics m) {
        XYSeries train = new XYSeries("train (mean over the epoch)"), test = new XYSeries("test (after the epoch)");
        for (RunMetrics.Epoch e : m.epochs()) {
            train.add(e.epoch(), e.trainLoss());
            if (e.hasTest()) test.add(e.epoch(), e.testLoss());
        }
        Figure.Painter p = epochChart("Loss per epoch", "cross-entropy loss", m, train, test, new DecimalFormat("0.0000"), false);
        return new Figure("loss_epochs", "Each epoch's mean training loss and the test loss after it.", 520, 380, p);
    }

    /** Training accuracy (over the epoch, while learning) and test accuracy (after the epoch) per epoch, in percent. */
    public static Figure accuracyPerEpoch(RunMetrics m) {
        XYSeries train = new XYSeries("train (over the epoch)"), test = new XYSeries("test (after the epoch)");
        for (RunMetrics.Epoch e : m.epochs()) {
            train.add(e.epoch(), e.trainAccuracy());
            if (e.hasTest()) test.add(e.epoch(), e.testAccuracy());
        }
        Figure.Painter p = epochChart("Accuracy per epoch", "accuracy (%)", m, train, test, new DecimalFormat("0.00'%'"), true);
        return new Figure("accuracy_epochs", "Training accuracy over each epoch and test accuracy after it.", 520, 380, p);
    }

    private static Figure.Painter epochChart(String title, String yLabel, RunMetrics m, XYSeries train, XYSeries test, DecimalFormat fmt, boolean percent) {
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(train);
        if (!test.isEmpty()) data.addSeries(test);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer();
        line(r, 0, TRAIN, 2f, true);
        if (!test.isEmpty()) line(r, 1, TEST, 2f, true);
        int epochs = m.epochs().size();
        if (epochs <= 12) {
            // Few points: print their values beside them.
            r.setDefaultItemLabelGenerator(new StandardXYItemLabelGenerator("{2}", new DecimalFormat("0"), fmt));
            r.setDefaultItemLabelsVisible(true);
            r.setDefaultItemLabelFont(font(Font.PLAIN, 10f));
        }
        NumberAxis x = axis("epoch", true);
        int first = m.epochs().getFirst().epoch(), last = m.epochs().getLast().epoch();
        x.setRange(first - 0.5, last + 0.5);
        NumberAxis y = axis(yLabel, false);
        y.setAutoRangeIncludesZero(false);
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (XYSeries s : List.of(train, test)) {
            if (s.isEmpty()) continue;
            lo = Math.min(lo, s.getMinY());
            hi = Math.max(hi, s.getMaxY());
        }
        if (Double.isFinite(lo) && Double.isFinite(hi)) {
            // room above and below for the value labels; accuracy never drawn past 100 %
            double pad = Math.max((hi - lo) * 0.25, percent ? 1.0 : Math.max(0.02, hi * 0.1));
            double top = percent ? Math.min(100 + pad * 0.6, hi + pad) : hi + pad;
            y.setRange(Math.max(0, lo - pad), top);
        }
        XYPlot plot = plot(data, x, y, r);
        JFreeChart chart = chart(title, plot);
        return (g, w, h) -> chart.draw(g, new Rectangle2D.Double(0, 0, w, h));
    }

    /** How many steps an epoch has: from the settings, else from the steps of the first epoch. */
    static int perEpochSteps(RunMetrics m) {
        if (m.setting("batches_per_epoch", null) instanceof Number n && n.intValue() > 0) return n.intValue();
        int c = 0;
        for (RunMetrics.Step s : m.steps()) if (s.epoch() == m.epochs().getFirst().epoch()) c++;
        return Math.max(1, c);
    }

    private static void line(XYLineAndShapeRenderer r, int series, Color c, float width, boolean shapes) {
        r.setSeriesPaint(series, c);
        r.setSeriesStroke(series, new BasicStroke(width, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        r.setSeriesShapesVisible(series, shapes);
        r.setSeriesLinesVisible(series, true);
        if (shapes) r.setSeriesShape(series, new java.awt.geom.Ellipse2D.Double(-4, -4, 8, 8));
    }

    private static NumberAxis axis(String label, boolean integers) {
        NumberAxis a = new NumberAxis(label);
        a.setLabelFont(font(Font.PLAIN, 12f));
        a.setTickLabelFont(font(Font.PLAIN, 11f));
        a.setLabelPaint(INK);
        a.setTickLabelPaint(INK);
        a.setAxisLinePaint(MUTED);
        a.setTickMarkPaint(MUTED);
        if (integers) a.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        return a;
    }

    private static XYPlot plot(XYSeriesCollection data, NumberAxis x, NumberAxis y, XYLineAndShapeRenderer r) {
        XYPlot plot = new XYPlot(data, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(GRID);
        plot.setRangeGridlinePaint(GRID);
        plot.setDomainGridlineStroke(new BasicStroke(0.8f));
        plot.setRangeGridlineStroke(new BasicStroke(0.8f));
        plot.setOutlineVisible(false);
        plot.setAxisOffset(new RectangleInsets(4, 4, 4, 4));
        return plot;
    }

    private static JFreeChart chart(String title, XYPlot plot) {
        JFreeChart c = new JFreeChart(title, font(Font.BOLD, 15f), plot, true);
        c.setBackgroundPaint(Color.WHITE);
        c.setAntiAlias(true);
        c.setTextAntiAlias(true);
        c.setPadding(new RectangleInsets(8, 8, 8, 14));
        TextTitle t = c.getTitle();
        t.setPaint(INK);
        LegendTitle l = c.getLegend();
        l.setItemFont(font(Font.PLAIN, 11f));
        l.setPosition(RectangleEdge.BOTTOM);
        l.setFrame(org.jfree.chart.block.BlockBorder.NONE);
        l.setBackgroundPaint(Color.WHITE);
        return c;
    }

    // ------------------------------------------------------------------ confusion matrix

    /**
     * The confusion matrix as a heatmap with the count in every cell: the diagonal in blue by the share of its row
     * (the recall), the mistakes in red by their count relative to the largest mistake, so a few errors still show.
     * Recall per row on the right, precision per column underneath.
     */
    public static Figure confusionMatrix(Confusion c) {
        int k = c.classes();
        int cell = 46, left = 78, top = 74, right = 70, bottom = 62;
        int w = left + k * cell + right, h = top + k * cell + bottom;
        Figure.Painter p = (g, width, height) -> {
            hints(g);
            g.setColor(INK);
            g.setFont(font(Font.BOLD, 15f));
            center(g, "Confusion matrix (" + String.format(Locale.ROOT, "%,d", c.total()) + " test images)", width / 2.0, 22);
            g.setFont(font(Font.PLAIN, 12f));
            center(g, "predicted label", left + k * cell / 2.0, 46);
            // the row axis title, rotated
            Graphics2D r = (Graphics2D) g.create();
            r.translate(left - 40, top + k * cell / 2.0);
            r.rotate(-Math.PI / 2);
            center(r, "true label", 0, 4);
            r.dispose();
            int maxOff = Math.max(1, c.maxOffDiagonal());
            for (int t = 0; t < k; t++) {
                g.setColor(INK);
                g.setFont(font(Font.BOLD, 12f));
                center(g, String.valueOf(t), left - 16, top + t * cell + cell / 2.0 + 4);
                center(g, String.valueOf(t), left + t * cell + cell / 2.0, top - 8);
                int support = c.support(t);
                for (int q = 0; q < k; q++) {
                    int v = c.counts()[t][q];
                    double share;
                    Color base;
                    if (t == q) {
                        share = support == 0 ? 0 : (double) v / support;
                        base = new Color(0x08519C);
                    } else {
                        share = (double) v / maxOff;
                        base = new Color(0xCB181D);
                    }
                    Color fill = v == 0 ? new Color(0xF7F7F7) : mix(Color.WHITE, base, 0.12 + 0.88 * share);
                    int x = left + q * cell, y = top + t * cell;
                    g.setColor(fill);
                    g.fillRect(x, y, cell, cell);
                    g.setColor(Color.WHITE);
                    g.drawRect(x, y, cell, cell);
                    g.setFont(font(v == 0 ? Font.PLAIN : Font.BOLD, v >= 10000 ? 10f : 12f));
                    g.setColor(v == 0 ? new Color(0xBBBBBB) : luminance(fill) < 0.55 ? Color.WHITE : INK);
                    center(g, String.valueOf(v), x + cell / 2.0, y + cell / 2.0 + 4);
                }
                g.setFont(font(Font.PLAIN, 11f));
                g.setColor(MUTED);
                g.drawString(pct(c.recall(t)), left + k * cell + 8, top + t * cell + cell / 2 + 4);
            }
            g.setFont(font(Font.PLAIN, 10f));
            g.setColor(MUTED);
            g.drawString("recall", left + k * cell + 8, top - 8);
            for (int q = 0; q < k; q++) center(g, pct(c.precision(q)), left + q * cell + cell / 2.0, top + k * cell + 16);
            center(g, "precision of each predicted label", left + k * cell / 2.0, top + k * cell + 36);
            g.setColor(MUTED);
            g.setStroke(new BasicStroke(1f));
            g.drawRect(left, top, k * cell, k * cell);
        };
        return new Figure("confusion_matrix", "Rows: the true digit; columns: the model's answer. The diagonal holds the right answers.", w, h, p);
    }

    // ------------------------------------------------------------------ misclassified digits

    /** One misclassified test image: its index in the test set, its pixels (0 background … 1 ink), and the prediction. */
    public record Mistake(RunMetrics.Prediction prediction, float[] ink, int rows, int cols) {}

    /** The {@code max} wrong predictions with the highest confidence, most confident first, with their pixels from {@code test}. */
    public static List<Mistake> worstMistakes(List<RunMetrics.Prediction> predictions, Mnist.Dataset test, int max) {
        List<RunMetrics.Prediction> wrong = new ArrayList<>(predictions.stream().filter(p -> !p.correct()).toList());
        wrong.sort(Comparator.comparingDouble(RunMetrics.Prediction::confidence).reversed().thenComparingInt(RunMetrics.Prediction::index));
        List<Mistake> out = new ArrayList<>();
        int size = test.imageSize();
        for (RunMetrics.Prediction p : wrong.subList(0, Math.min(max, wrong.size()))) {
            if (p.index() < 0 || p.index() >= test.count()) {
                throw new IllegalArgumentException("prediction for test image " + p.index() + ", but " + test.name() + " has " + test.count()
                        + " images; was the run evaluated on another test set?");
            }
            if (test.labels()[p.index()] != p.label()) {
                throw new IllegalArgumentException("test image " + p.index() + " is labelled " + test.labels()[p.index()] + " in " + test.name()
                        + " but " + p.label() + " in the run's predictions; was the run evaluated on another test set?");
            }
            float[] ink = new float[size];
            // NOTE: the dataset holds (x/255 − 0.5)/0.5, the tutorial's Normalize((0.5,), (0.5,)); undo it.
            test.copyImage(p.index(), ink, 0);
            for (int i = 0; i < size; i++) ink[i] = Math.clamp(ink[i] * 0.5f + 0.5f, 0f, 1f);
            out.add(new Mistake(p, ink, test.rows(), test.cols()));
        }
        return out;
    }

    /** The mistakes as a grid of digits (dark ink on white, enlarged 3×), each with its true and predicted label. */
    public static Figure misclassified(List<Mistake> mistakes, int wrongTotal) {
        int zoom = 3, columns = 8, pad = 10;
        int imgW = mistakes.isEmpty() ? 28 * zoom : mistakes.getFirst().cols() * zoom;
        int imgH = mistakes.isEmpty() ? 28 * zoom : mistakes.getFirst().rows() * zoom;
        int cellW = Math.max(imgW, 96) + pad, cellH = imgH + 44;
        int rows = Math.max(1, (mistakes.size() + columns - 1) / columns);
        int top = 40;
        int w = pad + columns * cellW, h = top + rows * cellH + pad;
        Figure.Painter p = (g, width, height) -> {
            hints(g);
            g.setColor(INK);
            g.setFont(font(Font.BOLD, 15f));
            String title = mistakes.isEmpty() ? "No misclassified test images"
                    : "The " + mistakes.size() + " most confidently misclassified test digits (of " + String.format(Locale.ROOT, "%,d", wrongTotal) + " wrong)";
            center(g, title, width / 2.0, 24);
            for (int i = 0; i < mistakes.size(); i++) {
                Mistake m = mistakes.get(i);
                int x = pad + (i % columns) * cellW, y = top + (i / columns) * cellH;
                int ix = x + (cellW - pad - imgW) / 2;
                g.drawImage(digit(m, zoom), ix, y, imgW, imgH, null);
                g.setColor(GRID);
                g.drawRect(ix, y, imgW, imgH);
                double cx = x + (cellW - pad) / 2.0;
                g.setFont(font(Font.BOLD, 12f));
                g.setColor(INK);
                String lbl = "true " + m.prediction().label() + " → ";
                String pred = String.valueOf(m.prediction().predicted());
                FontMetrics fm = g.getFontMetrics();
                double tw = fm.stringWidth(lbl) + fm.stringWidth(pred);
                float sx = (float) (cx - tw / 2);
                g.drawString(lbl, sx, y + imgH + 16);
                g.setColor(TEST);
                g.drawString(pred, sx + fm.stringWidth(lbl), y + imgH + 16);
                g.setFont(font(Font.PLAIN, 10f));
                g.setColor(MUTED);
                center(g, String.format(Locale.ROOT, "%.1f%% · #%d", 100 * m.prediction().confidence(), m.prediction().index()), cx, y + imgH + 31);
            }
        };
        return new Figure("misclassified", "Test digits the model got wrong with the highest confidence: true label → predicted label (in red), "
                + "the predicted class's probability and the image's index in the test set.", w, h, p);
    }

    /** The digit as dark ink on white, enlarged {@code zoom}× by repeating pixels (no blur, in PNG and SVG alike). */
    static BufferedImage digit(Mistake m, int zoom) {
        BufferedImage img = new BufferedImage(m.cols() * zoom, m.rows() * zoom, BufferedImage.TYPE_INT_RGB);
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.cols(); c++) {
                int v = 255 - Math.round(255 * m.ink()[r * m.cols() + c]);
                int rgb = (v << 16) | (v << 8) | v;
                for (int dy = 0; dy < zoom; dy++) for (int dx = 0; dx < zoom; dx++) img.setRGB(c * zoom + dx, r * zoom + dy, rgb);
            }
        }
        return img;
    }

    // ------------------------------------------------------------------ helpers

    private static void hints(Graphics2D g) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
    }

    private static void center(Graphics2D g, String s, double cx, double baseline) {
        g.drawString(s, (float) (cx - g.getFontMetrics().getStringBounds(s, g).getWidth() / 2), (float) baseline);
    }

    static String pct(double v) { return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%.1f%%", 100 * v); }

    private static Color mix(Color a, Color b, double t) {
        t = Math.clamp(t, 0, 1);
        return new Color((int) Math.round(a.getRed() + (b.getRed() - a.getRed()) * t), (int) Math.round(a.getGreen() + (b.getGreen() - a.getGreen()) * t),
                (int) Math.round(a.getBlue() + (b.getBlue() - a.getBlue()) * t));
    }

    private static double luminance(Color c) { return (0.2126 * c.getRed() + 0.7152 * c.getGreen() + 0.0722 * c.getBlue()) / 255; }
}
