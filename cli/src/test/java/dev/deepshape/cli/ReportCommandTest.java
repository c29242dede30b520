package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.Checkpoint;
import dev.deepshape.report.Report;
import dev.deepshape.train.MetricsLog;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;

/** {@code train} leaves metrics, plots and report.html in the run folder; {@code report} rewrites them; {@code eval --out} writes predictions. */
class ReportCommandTest {
    @TempDir Path dir;

    static List<String[]> rows(Path file, String header) throws Exception {
        List<String> lines = Files.readAllLines(file);
        assertEquals(header, lines.getFirst(), file.toString());
        List<String[]> out = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) out.add(l.split(",", -1));
        return out;
    }

    static Document xml(byte[] bytes) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(bytes));
    }

    @Test
    void trainWritesMetricsPlotsAndReport() throws Exception {
        Path run = TrainedRun.dir();
        assertTrue(TrainedRun.result().err().contains("wrote " + run.resolve(Report.FILE)), TrainedRun.result().err());
        int perEpoch = (TrainedRun.TRAIN + TrainedRun.BATCH - 1) / TrainedRun.BATCH;
        assertEquals(TrainedRun.EPOCHS * perEpoch, rows(run.resolve(MetricsLog.STEPS_FILE), MetricsLog.STEPS_HEADER).size());
        List<String[]> epochs = rows(run.resolve(MetricsLog.EPOCHS_FILE), MetricsLog.EPOCHS_HEADER);
        assertEquals(TrainedRun.EPOCHS, epochs.size());
        List<String[]> preds = rows(run.resolve(MetricsLog.PREDICTIONS_FILE), MetricsLog.PREDICTIONS_HEADER);
        assertEquals(TrainedRun.TEST, preds.size());

        // The last epoch's test accuracy is the one train printed, and the predictions agree with both.
        int hits = 0;
        for (String[] p : preds) if (p[1].equals(p[2])) hits++;
        String printed = String.format(Locale.ROOT, "Accuracy of the model on the test images: %.2f%%", 100.0 * hits / TrainedRun.TEST);
        assertTrue(TrainedRun.result().out().contains(printed), printed + " in\n" + TrainedRun.result().out());
        assertEquals(100.0 * hits / TrainedRun.TEST, Double.parseDouble(epochs.getLast()[4]), 1e-9);

        // Every plot as PNG (drawn at 2×) and SVG.
        for (String name : List.of("loss_steps", "loss_epochs", "accuracy_epochs", "confusion_matrix", "misclassified")) {
            BufferedImage png = ImageIO.read(run.resolve(Report.PLOTS).resolve(name + ".png").toFile());
            assertTrue(png != null && png.getWidth() >= 800 && png.getHeight() >= 600, name + ".png is a picture");
            Document svg = xml(Files.readAllBytes(run.resolve(Report.PLOTS).resolve(name + ".svg")));
            assertEquals("svg", svg.getDocumentElement().getLocalName(), name);
            assertEquals(png.getWidth(), 2 * Double.parseDouble(svg.getDocumentElement().getAttribute("width").replace("px", "")), 1, name + ": PNG at 2× the SVG");
        }
        checkHtml(run, preds);
    }

    /** report.html: every section, every picture decodes, nothing from the network, the numbers of the predictions. */
    static void checkHtml(Path run, List<String[]> preds) throws Exception {
        String html = Files.readString(run.resolve(Report.FILE), StandardCharsets.UTF_8);
        for (var s : Report.SECTIONS.entrySet()) {
            assertTrue(html.contains("<section id=\"" + s.getKey() + "\">\n<h2>" + s.getValue() + "</h2>"), "section " + s.getKey());
        }
        assertFalse(html.contains("class=\"missing\""), "nothing missing");
        for (String external : List.of("src=\"http", "href=\"http", "<link", "<script", "@import", "url(")) {
            assertFalse(html.contains(external), "self-contained: no " + external);
        }
        Matcher m = Pattern.compile("<img [^>]*src=\"data:(image/(?:svg\\+xml|png));base64,([A-Za-z0-9+/=]+)\"").matcher(html);
        int images = 0;
        while (m.find()) {
            byte[] bytes = Base64.getDecoder().decode(m.group(2));
            if (m.group(1).equals("image/png")) assertTrue(ImageIO.read(new ByteArrayInputStream(bytes)) != null, "an inlined PNG decodes");
            else assertEquals("svg", xml(bytes).getDocumentElement().getLocalName(), "an inlined SVG parses");
            images++;
        }
        assertEquals(6, images, "architecture, 3 curves, confusion matrix, misclassified digits");
        assertEquals(6, html.split("<img ", -1).length - 1, "every image is inlined");
        // The settings, the model and its summary
        assertTrue(html.contains("<tr><th>model</th><td>combined</td></tr>"), "settings");
        assertTrue(html.contains("RNN(6272, 128, batch_first=True)"), "shape table");
        assertTrue(html.contains("Total params: 896,618"), "summary");
        // Precision and recall of every digit, computed here from the predictions file.
        for (int k = 0; k < 10; k++) {
            int tp = 0, predicted = 0, support = 0;
            for (String[] p : preds) {
                int label = Integer.parseInt(p[1]), pred = Integer.parseInt(p[2]);
                if (label == k && pred == k) tp++;
                if (pred == k) predicted++;
                if (label == k) support++;
            }
            String precision = predicted == 0 ? "–" : String.format(Locale.ROOT, "%.1f%%", 100.0 * tp / predicted);
            String recall = support == 0 ? "–" : String.format(Locale.ROOT, "%.1f%%", 100.0 * tp / support);
            String row = "<tr><td>" + k + "</td><td>" + precision + "</td><td>" + recall + "</td>";
            assertTrue(html.contains(row), row);
        }
    }

    @Test
    void reportRegeneratesFromTheMetrics() throws Exception {
        Path run = dir.resolve("copy");
        Files.createDirectories(run);
        Path src = TrainedRun.dir();
        for (String f : List.of(MetricsLog.STEPS_FILE, MetricsLog.EPOCHS_FILE, MetricsLog.PREDICTIONS_FILE, MetricsLog.RUN_FILE)) {
            Files.copy(src.resolve(f), run.resolve(f));
        }
        CliRun r = CliRun.of("report", run.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("wrote " + run.resolve(Report.FILE) + " (and 10 pictures in " + run.resolve(Report.PLOTS) + ")", r.out().strip());
        checkHtml(run, rows(run.resolve(MetricsLog.PREDICTIONS_FILE), MetricsLog.PREDICTIONS_HEADER));

        // Without the MNIST files the digit grid is replaced by a note that says where it looked; the rest stays.
        CliRun noData = CliRun.of("report", run.toString(), "--data", dir.resolve("nowhere").toString());
        assertEquals(0, noData.code(), noData.err());
        String html = Files.readString(run.resolve(Report.FILE));
        assertTrue(html.contains("class=\"missing\">Not available: the MNIST test images are not in " + dir.resolve("nowhere")), html.substring(html.indexOf("misclassified")));
        assertTrue(html.contains("id=\"fig-confusion_matrix\""));
    }

    @Test
    void reportErrors() throws Exception {
        CliRun help = CliRun.of("report", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("RUN_DIR") && help.out().contains("report.html"), help.out());

        for (String[] args : List.of(new String[] {"report"}, new String[] {"report", dir.resolve("missing").toString()},
                new String[] {"report", "--bogus", dir.toString()})) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertTrue(r.err().startsWith("deepshape report: "), r.err());
        }
        Path empty = Files.createDirectories(dir.resolve("empty"));
        CliRun r = CliRun.of("report", empty.toString());
        assertEquals(1, r.code(), r.err());
        assertEquals("deepshape report: " + empty + " has no training metrics (" + MetricsLog.STEPS_FILE + " and " + MetricsLog.EPOCHS_FILE
                + "); is it a run folder written by 'deepshape train'?", r.err().strip());
    }

    @Test
    void evalWritesTheSamePredictionsAsTrain() throws Exception {
        Path run = TrainedRun.dir();
        Path out = dir.resolve("eval");
        CliRun r = CliRun.of("eval", "--checkpoint", run.resolve(Checkpoint.MODEL_FILE).toString(), "--limit-test", String.valueOf(TrainedRun.TEST),
                "--threads", "2", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        List<String[]> a = rows(run.resolve(MetricsLog.PREDICTIONS_FILE), MetricsLog.PREDICTIONS_HEADER);
        List<String[]> b = rows(out.resolve(MetricsLog.PREDICTIONS_FILE), MetricsLog.PREDICTIONS_HEADER);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i)[0] + "," + a.get(i)[1] + "," + a.get(i)[2], b.get(i)[0] + "," + b.get(i)[1] + "," + b.get(i)[2], "image " + i);
            // NOTE: eval runs batches of 1000, train batches of 64; the kernels may sum in another order.
            assertEquals(Double.parseDouble(a.get(i)[3]), Double.parseDouble(b.get(i)[3]), 1e-4, "confidence of image " + i);
        }
        CliRun bad = CliRun.of("eval", "--checkpoint", run.resolve(Checkpoint.MODEL_FILE).toString(), "--out", run.resolve(Report.FILE).toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("--out: " + run.resolve(Report.FILE) + " exists and is not a folder"), bad.err());
    }
}
