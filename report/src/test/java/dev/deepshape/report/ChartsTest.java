package dev.deepshape.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.data.Mnist;
import dev.deepshape.tensor.Rng;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

/** Every picture renders as a PNG of the right size that is not blank, and as an SVG that parses, for short and one-epoch runs. */
class ChartsTest {
    /** A made-up run: a noisy falling loss over {@code epochs} epochs of 50 steps, and 300 predictions, 80 % right. */
    static RunMetrics run(int epochs) {
        Rng rng = new Rng(7);
        List<RunMetrics.Step> steps = new ArrayList<>();
        List<RunMetrics.Epoch> eps = new ArrayList<>();
        int step = 0;
        for (int e = 1; e <= epochs; e++) {
            double sum = 0;
            for (int b = 1; b <= 50; b++) {
                double loss = 2.3 * Math.exp(-(++step) / 60.0) + 0.1 + 0.2 * rng.nextDouble();
                sum += loss;
                steps.add(new RunMetrics.Step(e, step, b, loss, 100 * (1 - loss / 2.6), 1e-3, 900 + 100 * rng.nextDouble()));
            }
            eps.add(new RunMetrics.Epoch(e, sum / 50, 100 * (1 - sum / 50 / 2.6), sum / 50 * 0.9, 100 * (1 - sum / 50 / 2.8), 3.5));
        }
        List<RunMetrics.Prediction> preds = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            int label = i % 10;
            boolean right = rng.nextDouble() < 0.8;
            preds.add(new RunMetrics.Prediction(i, label, right ? label : (label + 1 + rng.nextInt(9)) % 10, 0.1 + 0.9 * rng.nextDouble()));
        }
        return new RunMetrics(Path.of("made-up"), Map.of("batch_size", 64, "batches_per_epoch", 50), steps, eps, preds);
    }

    static Mnist.Dataset images(int n) {
        float[] px = new float[n * 784];
        for (int i = 0; i < n; i++) for (int p = 0; p < 784; p++) px[i * 784 + p] = (p / 28 + p % 28 + i) % 7 == 0 ? 1f : -1f;
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) labels[i] = i % 10;
        return new Mnist.Dataset("made-up", px, labels, n, 28, 28);
    }

    static void checkRenders(Figure f) throws Exception { checkRenders(f, 10); }

    static void checkRenders(Figure f, int minElements) throws Exception {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(f.png(2)));
        assertEquals(2 * f.width(), img.getWidth(), f.name());
        assertEquals(2 * f.height(), img.getHeight(), f.name());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 3) for (int x = 0; x < img.getWidth(); x += 3) colours.add(img.getRGB(x, y));
        assertTrue(colours.size() > minElements, f.name() + " draws something: " + colours.size() + " colours");

        DocumentBuilderFactory dbf = DocumentBuilderFactory.newInstance();
        dbf.setNamespaceAware(true);
        dbf.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        Document svg = dbf.newDocumentBuilder().parse(new ByteArrayInputStream(f.svg().getBytes(StandardCharsets.UTF_8)));
        assertEquals("svg", svg.getDocumentElement().getLocalName(), f.name());
        assertEquals(f.width(), Double.parseDouble(svg.getDocumentElement().getAttribute("width")), 1e-9, f.name());
        assertTrue(svg.getElementsByTagNameNS("*", "text").getLength() + svg.getElementsByTagNameNS("*", "path").getLength() >= minElements, f.name() + " has content");
    }

    @Test
    void everyFigureRenders() throws Exception {
        for (int epochs : new int[] {1, 3}) {
            RunMetrics m = run(epochs);
            checkRenders(Charts.lossPerStep(m));
            checkRenders(Charts.lossPerEpoch(m));
            checkRenders(Charts.accuracyPerEpoch(m));
            checkRenders(Charts.confusionMatrix(Confusion.of(m.predictions(), 10)));
            List<Charts.Mistake> worst = Charts.worstMistakes(m.predictions(), images(300), 32);
            checkRenders(Charts.misclassified(worst, (int) m.predictions().stream().filter(p -> !p.correct()).count()));
        }
        Figure none = Charts.misclassified(List.of(), 0);
        checkRenders(none, 1);
        assertTrue(none.svg().contains("No misclassified test images"));
    }

    @Test
    void theSmoothedLineIsACentredMovingAverage() {
        // windows: [1], [1 2 3], [2 3 4], [3 4 10], [10]
        assertArrayEquals(new double[] {1, 2, 3, 17.0 / 3, 10}, Charts.centredMean(new double[] {1, 2, 3, 4, 10}, 1), 1e-12);
        // half 2 on 5 values: only the middle one sees all five
        assertArrayEquals(new double[] {1, 2, 4, 17.0 / 3, 10}, Charts.centredMean(new double[] {1, 2, 3, 4, 10}, 2), 1e-12);
        assertArrayEquals(new double[0], Charts.centredMean(new double[0], 3));
    }

    @Test
    void worstMistakesAreTheMostConfidentWrongOnes() {
        RunMetrics m = run(1);
        List<Charts.Mistake> worst = Charts.worstMistakes(m.predictions(), images(300), 10);
        assertEquals(10, worst.size());
        double floor = worst.getLast().prediction().confidence();
        for (RunMetrics.Prediction p : m.predictions()) {
            if (!p.correct() && worst.stream().noneMatch(w -> w.prediction() == p)) assertTrue(p.confidence() <= floor, "left out: " + p);
        }
        for (int i = 0; i < worst.size(); i++) {
            Charts.Mistake w = worst.get(i);
            assertTrue(!w.prediction().correct());
            if (i > 0) assertTrue(worst.get(i - 1).prediction().confidence() >= w.prediction().confidence(), "sorted");
            // the pixels are the test image's, mapped back from (x − 0.5)/0.5 to ink in [0, 1]
            int idx = w.prediction().index();
            for (int p = 0; p < 784; p += 13) assertEquals((p / 28 + p % 28 + idx) % 7 == 0 ? 1f : 0f, w.ink()[p], 0f);
        }
        // Predictions that do not belong to the given test set are refused, not drawn.
        Mnist.Dataset other = images(300);
        other.labels()[worst.getFirst().prediction().index()] = (worst.getFirst().prediction().label() + 1) % 10;
        String msg = assertThrows(IllegalArgumentException.class, () -> Charts.worstMistakes(m.predictions(), other, 10)).getMessage();
        assertTrue(msg.contains("was the run evaluated on another test set?"), msg);
        String small = assertThrows(IllegalArgumentException.class, () -> Charts.worstMistakes(m.predictions(), images(5), 300)).getMessage();
        assertTrue(small.contains("has 5 images"), small);
    }
}
