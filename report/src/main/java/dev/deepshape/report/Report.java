package dev.deepshape.report;

import dev.deepshape.data.Mnist;
import dev.deepshape.io.AtomicFiles;
import dev.deepshape.train.MetricsLog;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A run folder's {@value #FILE}: one self-contained HTML file (pictures inlined as {@code data:} URIs, no scripts,
 * no network) with the run's settings, the model (architecture diagram, shape table, summary), the curves, the
 * confusion matrix with per-class precision and recall, and the most confidently misclassified test digits. The
 * pictures are also written to {@value #PLOTS}/ as PNG and SVG.
 *
 * <pre>{@code
 * Report.write(runDir, Mnist.load(dataDir, false, null), null, new Report.Model("CombinedModel", svg, table, summary));
 * }</pre>
 */
public final class Report {
    private Report() {}

    public static final String FILE = "report.html";
    public static final String PLOTS = "plots";
    /** The sections of the page, in order: their element ids and headings. */
    public static final Map<String, String> SECTIONS = sections();
    /** How many misclassified digits the grid shows at most. */
    public static final int MAX_MISTAKES = 32;

    private static Map<String, String> sections() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("settings", "Settings");
        m.put("architecture", "Architecture");
        m.put("shapes", "Shapes");
        m.put("summary", "Summary");
        m.put("curves", "Training curves");
        m.put("confusion", "Confusion matrix");
        m.put("per-class", "Precision and recall per class");
        m.put("misclassified", "Misclassified digits");
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * The model's part of the report, drawn by the caller (the graph renderer lives in the command-line module).
     *
     * @param title           e.g. {@code CombinedModel}
     * @param architectureSvg the architecture diagram as an SVG document, or null
     * @param shapeTable      the shape table as text ({@code deepshape shapes}), or null
     * @param summary         the torchinfo-style summary as text ({@code deepshape summary}), or null
     * @param note            why parts are missing (shown in their place), or null
     */
    public record Model(String title, String architectureSvg, String shapeTable, String summary, String note) {}

    /** What {@link #write} produced: the page and the pictures (PNG and SVG of each). */
    public record Output(Path html, List<Path> plots) {}

    /**
     * Writes {@code runDir/plots/*.png|svg} and {@code runDir/report.html} from the metrics in {@code runDir}.
     *
     * @param test     the test set the predictions index (for the misclassified digits' pixels), or null
     * @param testNote why {@code test} is null, shown in the misclassified section
     * @param model    the model's pictures and tables, or null
     */
    public static Output write(Path runDir, Mnist.Dataset test, String testNote, Model model) throws IOException {
        return write(RunMetrics.read(runDir), test, testNote, model);
    }

    /** As {@link #write(Path, Mnist.Dataset, String, Model)}, for metrics already read; the files go to {@code m.dir()}. */
    public static Output write(RunMetrics m, Mnist.Dataset test, String testNote, Model model) throws IOException {
        Path runDir = m.dir();
        List<Figure> curves = List.of(Charts.lossPerStep(m), Charts.lossPerEpoch(m), Charts.accuracyPerEpoch(m));
        Confusion confusion = m.predictions().isEmpty() ? null : Confusion.of(m.predictions(), Mnist.NUM_CLASSES);
        Figure confusionFig = confusion == null ? null : Charts.confusionMatrix(confusion);
        Figure mistakesFig = null;
        if (confusion != null && test != null) {
            mistakesFig = Charts.misclassified(Charts.worstMistakes(m.predictions(), test, MAX_MISTAKES), confusion.total() - confusion.correct());
        }
        List<Figure> all = new ArrayList<>(curves);
        if (confusionFig != null) all.add(confusionFig);
        if (mistakesFig != null) all.add(mistakesFig);

        Path plots = runDir.resolve(PLOTS);
        Files.createDirectories(plots);
        List<Path> written = new ArrayList<>();
        Map<Figure, String> svgs = new LinkedHashMap<>();
        Map<Figure, byte[]> pngs = new LinkedHashMap<>();
        for (Figure f : all) {
            String svg = f.svg();
            byte[] png = f.png(2);
            svgs.put(f, svg);
            pngs.put(f, png);
            Path s = plots.resolve(f.name() + ".svg"), p = plots.resolve(f.name() + ".png");
            AtomicFiles.write(s, svg.getBytes(StandardCharsets.UTF_8));
            AtomicFiles.write(p, png);
            written.add(p);
            written.add(s);
        }

        Html h = new Html();
        String title = "deepshape run " + runDir.toAbsolutePath().normalize().getFileName();
        h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .raw("<title>").text(title).raw("</title>\n<style>\n").raw(CSS).raw("</style>\n</head>\n<body>\n<main>\n");
        header(h, m, title, confusion);
        h.raw("<nav>");
        for (var e : SECTIONS.entrySet()) h.raw("<a href=\"#").text(e.getKey()).raw("\">").text(e.getValue()).raw("</a> ");
        h.raw("</nav>\n");

        section(h, "settings");
        settings(h, m);
        end(h);

        section(h, "architecture");
        if (model != null && model.architectureSvg() != null) {
            h.raw("<figure class=\"wide\"><img class=\"architecture\" alt=\"").text("architecture diagram of " + model.title())
                    .raw("\" src=\"").raw(dataUri("image/svg+xml", model.architectureSvg().getBytes(StandardCharsets.UTF_8))).raw("\">")
                    .raw("<figcaption>").text(model.title() + ": its layers, with the shape of the tensor between them (N is the batch).")
                    .raw("</figcaption></figure>\n");
        } else {
            missing(h, model == null ? "no model description was given" : model.note());
        }
        end(h);

        section(h, "shapes");
        if (model != null && model.shapeTable() != null) h.raw("<pre>").text(model.shapeTable()).raw("</pre>\n");
        else missing(h, model == null ? "no model description was given" : model.note());
        end(h);

        section(h, "summary");
        if (model != null && model.summary() != null) h.raw("<pre>").text(model.summary()).raw("</pre>\n");
        else missing(h, model == null ? "no model description was given" : model.note());
        end(h);

        section(h, "curves");
        h.raw("<div class=\"figures\">\n");
        for (Figure f : curves) figure(h, f, svgs.get(f), "image/svg+xml");
        h.raw("</div>\n");
        epochTable(h, m);
        end(h);

        section(h, "confusion");
        if (confusionFig != null) figure(h, confusionFig, svgs.get(confusionFig), "image/svg+xml");
        else missing(h, "no test predictions in " + MetricsLog.PREDICTIONS_FILE + " (the run had no test set, or did not finish)");
        end(h);

        section(h, "per-class");
        if (confusion != null) perClass(h, confusion);
        else missing(h, "no test predictions in " + MetricsLog.PREDICTIONS_FILE);
        end(h);

        section(h, "misclassified");
        if (mistakesFig != null) {
            // NOTE: the digits are pixels: the PNG (drawn at 2×) stays sharp where an SVG's embedded bitmaps get smoothed.
            figure(h, mistakesFig, null, null, pngs.get(mistakesFig));
        } else {
            missing(h, confusion == null ? "no test predictions in " + MetricsLog.PREDICTIONS_FILE
                    : testNote != null ? testNote : "the MNIST test images were not given");
        }
        end(h);

        h.raw("<footer>Written by <code>deepshape report</code> on ").text(OffsetDateTime.now().withNano(0).toString())
                .raw(" from the files in <code>").text(runDir.toAbsolutePath().normalize().toString()).raw("</code>; the pictures are also in <code>")
                .text(PLOTS + "/").raw("</code> as PNG and SVG.</footer>\n</main>\n</body>\n</html>\n");
        Path html = runDir.resolve(FILE);
        AtomicFiles.write(html, h.toString().getBytes(StandardCharsets.UTF_8));
        return new Output(html, List.copyOf(written));
    }

    private static void header(Html h, RunMetrics m, String title, Confusion confusion) {
        RunMetrics.Epoch last = m.epochs().getLast();
        h.raw("<header>\n<h1>").text(title).raw("</h1>\n<p class=\"lede\">");
        List<String> facts = new ArrayList<>();
        if (confusion != null) {
            facts.add(String.format(Locale.ROOT, "test accuracy <b>%.2f%%</b> (%,d of %,d)", 100.0 * confusion.correct() / confusion.total(),
                    confusion.correct(), confusion.total()));
        } else if (last.hasTest()) {
            facts.add(String.format(Locale.ROOT, "test accuracy <b>%.2f%%</b>", last.testAccuracy()));
        }
        facts.add(String.format(Locale.ROOT, "after %d of %s epoch(s)", last.epoch(), Html.escape(String.valueOf(m.setting("epochs", "?")))));
        facts.add(String.format(Locale.ROOT, "final training loss %.4f", last.trainLoss()));
        double secs = 0;
        for (RunMetrics.Epoch e : m.epochs()) secs += e.seconds();
        facts.add(String.format(Locale.ROOT, "%.1f s of training", secs));
        h.raw(String.join(" · ", facts)).raw("</p>\n</header>\n");
    }

    private static void settings(Html h, RunMetrics m) {
        h.raw("<table class=\"kv\">\n");
        String[][] rows = {
                {"model", "model"}, {"parameters", "parameters"}, {"epochs", "epochs"}, {"batch size", "batch_size"},
                {"learning rate", "lr"}, {"optimizer", "optimizer"}, {"optimizer settings", "optimizer_hyper_parameters"},
                {"seed", "seed"}, {"training images", "train_count"}, {"test images", "test_count"}, {"steps per epoch", "batches_per_epoch"},
                {"backend", "backend"}, {"threads", "threads"}, {"started", "started"}, {"resumed after epoch", "resumed_after_epoch"}};
        for (String[] r : rows) {
            Object v = m.setting(r[1], null);
            if (v == null) continue;
            if (r[1].equals("resumed_after_epoch") && v instanceof Number n && n.intValue() == 0) continue;
            String text = v instanceof Number n && r[1].matches("parameters|train_count|test_count")
                    ? String.format(Locale.ROOT, "%,d", n.longValue()) : plain(v);
            h.raw("<tr><th>").text(r[0]).raw("</th><td>").text(text).raw("</td></tr>\n");
        }
        double sps = 0;
        int n = 0;
        for (RunMetrics.Step s : m.steps()) {
            if (Double.isFinite(s.samplesPerSecond())) {
                sps += s.samplesPerSecond();
                n++;
            }
        }
        if (n > 0) h.raw("<tr><th>throughput</th><td>").text(String.format(Locale.ROOT, "%,.0f samples/s (mean over %,d steps)", sps / n, n)).raw("</td></tr>\n");
        h.raw("<tr><th>run folder</th><td><code>").text(m.dir().toAbsolutePath().normalize().toString()).raw("</code></td></tr>\n</table>\n");
    }

    /** A setting as a person reads it: {@code lr=0.001, betas=(0.9, 0.999)} rather than JSON. */
    static String plain(Object v) {
        if (v instanceof Map<?, ?> map) {
            List<String> parts = new ArrayList<>();
            map.forEach((k, x) -> parts.add(k + "=" + plain(x)));
            return String.join(", ", parts);
        }
        if (v instanceof List<?> l) return "(" + String.join(", ", l.stream().map(Report::plain).toList()) + ")";
        if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15) return String.valueOf(d.longValue());
        if (v instanceof Double d) return String.valueOf(d).replace("E", "e");
        return String.valueOf(v);
    }

    private static void epochTable(Html h, RunMetrics m) {
        h.raw("<table class=\"num\" id=\"epoch-table\">\n<tr><th>epoch</th><th>train loss</th><th>train accuracy</th><th>test loss</th><th>test accuracy</th><th>seconds</th></tr>\n");
        for (RunMetrics.Epoch e : m.epochs()) {
            h.raw(String.format(Locale.ROOT, "<tr><td>%d</td><td>%.4f</td><td>%.2f%%</td><td>%s</td><td>%s</td><td>%.1f</td></tr>\n", e.epoch(), e.trainLoss(),
                    e.trainAccuracy(), e.hasTest() ? String.format(Locale.ROOT, "%.4f", e.testLoss()) : "–",
                    e.hasTest() ? String.format(Locale.ROOT, "%.2f%%", e.testAccuracy()) : "–", e.seconds()));
        }
        h.raw("</table>\n");
    }

    private static void perClass(Html h, Confusion c) {
        h.raw("<table class=\"num\" id=\"per-class-table\">\n<tr><th>digit</th><th>precision</th><th>recall</th><th>F1</th><th>support</th><th>predicted as</th></tr>\n");
        double sp = 0, sr = 0, sf = 0;
        int classes = 0;
        for (int k = 0; k < c.classes(); k++) {
            double p = c.precision(k), r = c.recall(k), f1 = 2 * p * r / (p + r);
            if (!Double.isNaN(p) && !Double.isNaN(r)) {
                sp += p;
                sr += r;
                sf += Double.isNaN(f1) ? 0 : f1;
                classes++;
            }
            h.raw(String.format(Locale.ROOT, "<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%,d</td><td>%,d</td></tr>\n", k, Charts.pct(p),
                    Charts.pct(r), Charts.pct(f1), c.support(k), c.predictedAs(k)));
        }
        if (classes > 0) {
            h.raw(String.format(Locale.ROOT, "<tr class=\"total\"><td>mean</td><td>%s</td><td>%s</td><td>%s</td><td>%,d</td><td></td></tr>\n",
                    Charts.pct(sp / classes), Charts.pct(sr / classes), Charts.pct(sf / classes), c.total()));
        }
        h.raw("</table>\n<p class=\"note\">Precision: of the images the model called k, the share that are k. Recall: of the images of k, "
                + "the share the model called k. F1: their harmonic mean. The mean row is the unweighted (macro) average over the digits.</p>\n");
    }

    private static void section(Html h, String id) {
        h.raw("<section id=\"").text(id).raw("\">\n<h2>").text(SECTIONS.get(id)).raw("</h2>\n");
    }

    private static void end(Html h) { h.raw("</section>\n"); }

    private static void missing(Html h, String why) { h.raw("<p class=\"missing\">Not available: ").text(why).raw(".</p>\n"); }

    private static void figure(Html h, Figure f, String svg, String mime) {
        figure(h, f, svg, mime, null);
    }

    private static void figure(Html h, Figure f, String svg, String mime, byte[] png) {
        String src = png != null ? dataUri("image/png", png) : dataUri(mime, svg.getBytes(StandardCharsets.UTF_8));
        // NOTE: the figure is as wide as its picture; without it a long caption widens the figure and breaks the row.
        h.raw("<figure style=\"width: ").raw(String.valueOf(f.width())).raw("px\"><img id=\"fig-").text(f.name()).raw("\" width=\"").raw(String.valueOf(f.width())).raw("\" height=\"").raw(String.valueOf(f.height()))
                .raw("\" alt=\"").text(f.caption()).raw("\" src=\"").raw(src).raw("\"><figcaption>").text(f.caption())
                .raw(" <span class=\"files\">").text(PLOTS + "/" + f.name() + ".png, .svg").raw("</span></figcaption></figure>\n");
    }

    static String dataUri(String mime, byte[] bytes) { return "data:" + mime + ";base64," + Base64.getEncoder().encodeToString(bytes); }

    /** A little HTML writer: {@code text} escapes, {@code raw} does not. */
    static final class Html {
        private final StringBuilder sb = new StringBuilder(1 << 16);

        Html raw(String s) {
            sb.append(s);
            return this;
        }

        Html text(String s) {
            sb.append(escape(s));
            return this;
        }

        static String escape(String s) {
            StringBuilder b = new StringBuilder(s.length());
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '<' -> b.append("&lt;");
                    case '>' -> b.append("&gt;");
                    case '&' -> b.append("&amp;");
                    case '"' -> b.append("&quot;");
                    case '\'' -> b.append("&#39;");
                    default -> b.append(c);
                }
            }
            return b.toString();
        }

        @Override public String toString() { return sb.toString(); }
    }

    private static final String CSS = """
            :root { color-scheme: light; }
            body { margin: 0; background: #f4f5f7; color: #222; font: 15px/1.5 "DejaVu Sans", Verdana, Arial, sans-serif; }
            main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 40px; }
            header h1 { margin: 0 0 4px; font-size: 24px; }
            .lede { margin: 0 0 12px; color: #444; }
            nav { margin: 0 0 18px; font-size: 13px; }
            nav a { color: #1f5a99; margin-right: 12px; text-decoration: none; }
            section { background: #fff; border: 1px solid #e1e4e8; border-radius: 8px; padding: 14px 20px 18px; margin: 0 0 18px; }
            h2 { font-size: 18px; margin: 0 0 12px; }
            table { border-collapse: collapse; font-size: 14px; }
            th, td { padding: 4px 12px 4px 0; text-align: left; vertical-align: top; }
            table.kv th { color: #555; font-weight: normal; white-space: nowrap; }
            table.num { margin-top: 12px; }
            table.num th { border-bottom: 1px solid #ccc; }
            table.num td { text-align: right; font-variant-numeric: tabular-nums; }
            table.num td:first-child { text-align: left; }
            tr.total td { border-top: 1px solid #ccc; font-weight: bold; }
            pre { font: 12.5px/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #fafbfc; border: 1px solid #eee; padding: 10px; overflow-x: auto; margin: 0; }
            .figures { display: flex; flex-wrap: wrap; gap: 12px 20px; }
            figure { margin: 0 0 8px; max-width: 100%; }
            figure img { display: block; max-width: 100%; height: auto; }
            img.architecture { max-width: 100%; height: auto; margin: 0 auto; }
            figure.wide { text-align: center; }
            figcaption { font-size: 13px; color: #555; max-width: 820px; }
            .files { color: #999; }
            .missing { color: #8a6d3b; background: #fcf8e3; padding: 8px 12px; border-radius: 4px; }
            .note { font-size: 13px; color: #555; max-width: 820px; }
            footer { font-size: 12px; color: #777; }
            code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 90%; }
            """;
}
