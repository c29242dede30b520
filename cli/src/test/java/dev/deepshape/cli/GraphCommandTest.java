package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.nn.CombinedModel;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** {@code deepshape graph} on the reference model: every layer and parameter drawn, SEED_MODEL.md's shapes on the arrows. */
class GraphCommandTest {
    @TempDir Path dir;

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    /** The SVG's edge labels (texts inside edge groups) and box texts (inside node groups). */
    private static List<String> texts(Path svg, String kind) throws Exception {
        Document doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(svg.toFile());
        List<String> out = new ArrayList<>();
        NodeList groups = doc.getElementsByTagName("g");
        for (int i = 0; i < groups.getLength(); i++) {
            Element g = (Element) groups.item(i);
            if (!g.getAttribute("class").equals(kind)) continue;
            NodeList ts = g.getElementsByTagName("text");
            for (int k = 0; k < ts.getLength(); k++) out.add(ts.item(k).getTextContent());
        }
        return out;
    }

    @Test
    void architectureSvgHasEveryLayerAndTheSeedShapes() throws Exception {
        Path svg = dir.resolve("arch.svg");
        Run r = run("graph", "-o", svg.toString());
        assertEquals(0, r.code, r.err);
        List<String> boxes = texts(svg, "node"), labels = texts(svg, "edge");
        for (String layer : List.of("conv1", "pool", "conv2", "pool  (reused)", "deconv", "rnn", "gru", "lstm", "fc",
                "ReLU()", "Flatten(start_dim=1, end_dim=-1)", "Unsqueeze(dim=1)", "Select(dim=1, index=-1)")) {
            assertTrue(boxes.contains(layer), layer + " missing from " + boxes);
        }
        assertEquals(2, boxes.stream().filter(t -> t.startsWith("MaxPool2d(")).count(), "pool drawn once per use");
        assertTrue(boxes.contains("(N, 1, 28, 28)") && boxes.contains("(N, 10)"), "input and output shapes: " + boxes);
        assertTrue(boxes.contains("896,618 parameters in all"), boxes.toString());
        // SEED_MODEL.md's forward table, batch N; conv1 and conv2 alone as its notes say.
        for (String shape : List.of("(N, 32, 28, 28)", "(N, 32, 14, 14)", "(N, 64, 14, 14)", "(N, 64, 7, 7)", "(N, 6272)",
                "(N, 1, 6272)", "(N, 1, 128)", "(N, 1, 64)", "(N, 1, 32)", "(N, 32)")) {
            assertTrue(labels.contains(shape), shape + " missing from edge labels " + labels);
        }
        assertTrue(labels.contains("same module"), "the reused pool is joined to its first use");
    }

    @Test
    void concreteBatchInTheDot() throws Exception {
        Path dot = dir.resolve("arch.dot");
        assertEquals(0, run("graph", "--input", "64,1,28,28", "--rankdir", "LR", "-o", dot.toString()).code);
        String text = Files.readString(dot);
        assertTrue(text.contains("rankdir=LR"));
        List<String> labels = new ArrayList<>();
        Matcher m = Pattern.compile("-> \"[^\"]+\" \\[label=\" ([^\"]*)\"").matcher(text);
        while (m.find()) if (!m.group(1).equals("same module")) labels.add(m.group(1));
        assertEquals(List.of("(64, 32, 28, 28)", "(64, 32, 28, 28)", "(64, 32, 14, 14)", "(64, 64, 14, 14)", "(64, 64, 14, 14)",
                "(64, 64, 7, 7)", "(64, 32, 14, 14)", "(64, 6272)", "(64, 1, 6272)", "(64, 1, 128)", "(64, 1, 64)", "(64, 1, 32)", "(64, 32)"),
                labels);
        assertTrue(text.contains("\"output\" [label=\"output\\n(64, 10)"), text);
    }

    @Test
    void autogradDotHasEveryParameterAndPyTorchsNodeNames() throws Exception {
        Path dot = dir.resolve("ag.dot");
        assertEquals(0, run("graph", "--kind", "autograd", "-o", dot.toString()).code);
        String text = Files.readString(dot);
        Map<String, Tensor> params = new CombinedModel().namedParameters();
        assertEquals(20, params.size()); // SEED_MODEL.md: 2 each for conv1, conv2, deconv, fc; 4 each for rnn, gru, lstm
        for (var e : params.entrySet()) {
            String box = "label=\"" + e.getKey() + "\\n" + Shapes.str(e.getValue().shapeRef()).replace("\\", "\\\\") + "\"";
            assertTrue(text.contains(box), box + " missing");
        }
        assertEquals(20, count(text, "label=\"AccumulateGrad\""));
        assertEquals(3, count(text, "label=\"ConvolutionBackward0\""), "conv1, conv2 and deconv");
        assertEquals(2, count(text, "label=\"MaxPool2DWithIndicesBackward0\""), "pool, used twice");
        assertTrue(text.contains("label=\"AddmmBackward0\"") && text.contains("label=\"output\\n(1, 10)\""), text);
        assertTrue(!text.contains("mat1"), "saved tensors only with --show-saved");

        Path saved = dir.resolve("ags.dot");
        assertEquals(0, run("graph", "--kind", "autograd", "--show-saved", "-o", saved.toString()).code);
        String s = Files.readString(saved);
        assertTrue(s.contains("label=\"mat1\\n(1, 32)\""), "fc's saved input");
        assertTrue(s.contains("style=dashed"));
    }

    @Test
    void pngIsAValidImageThatScalesWithDpi() throws Exception {
        Path a = dir.resolve("a.png"), b = dir.resolve("b.png");
        assertEquals(0, run("graph", "--kind", "autograd", "-o", a.toString()).code);
        assertEquals(0, run("graph", "--kind", "autograd", "--dpi", "192", "-o", b.toString()).code);
        BufferedImage ia = ImageIO.read(a.toFile()), ib = ImageIO.read(b.toFile());
        assertTrue(ia.getWidth() > 400 && ia.getWidth() < 4000 && ia.getHeight() > 800 && ia.getHeight() < 6000, ia.getWidth() + "x" + ia.getHeight());
        assertEquals(2.0 * ia.getWidth(), ib.getWidth(), 2.0);
        assertEquals(2.0 * ia.getHeight(), ib.getHeight(), 2.0);
        // Not blank: some pixels are dark (text, lines).
        int dark = 0;
        for (int y = 0; y < ia.getHeight(); y += 3) for (int x = 0; x < ia.getWidth(); x += 3) if ((ia.getRGB(x, y) & 0xff) < 80) dark++;
        assertTrue(dark > 500, "dark pixels: " + dark);
    }

    @Test
    void badFlagsGiveOneLineAndExit2() {
        for (String[] args : List.of(new String[] {"graph", "--kind", "forward"}, new String[] {"graph", "-o", "x.pdf"},
                new String[] {"graph", "--dpi", "0"}, new String[] {"graph", "--model", "resnet"}, new String[] {"graph", "--input", "1,x,28"},
                new String[] {"graph", "--rankdir", "BT"}, new String[] {"graph", "--model", "combined", "--spec", "x.spec"})) {
            Run r = run(args);
            assertEquals(2, r.code, String.join(" ", args));
            assertEquals(1, r.err.strip().lines().count(), r.err);
            assertTrue(r.err.startsWith("deepshape graph: "), r.err);
        }
    }

    /** Reused modules (a Conv2d with parameters, a MaxPool2d) and a recurrent stack (2-layer LSTM, bidirectional GRU). */
    static final String SPEC = """
            # a model written by hand: the same conv block twice, then a recurrent stack
            input: (N, 3, 16, 16)
            stem = Conv2d(3, 8, kernel_size=3, padding=1)
            ReLU()
            block = Conv2d(8, 8, 3, padding=1)
            ReLU()
            block
            pool = MaxPool2d(2)
            Flatten()
            Unsqueeze(1)
            lstm = LSTM(512, 24, num_layers=2, batch_first=True)
            gru = GRU(24, 16, batch_first=True, bidirectional=True)
            Select(1, -1)
            head = Linear(32, 5)
            """;

    /** The DOT's edge labels in order, without the "same module" links. */
    private static List<String> edgeLabels(String dot) {
        List<String> labels = new ArrayList<>();
        Matcher m = Pattern.compile("-> \"[^\"]+\" \\[label=\" ([^\"]*)\"").matcher(dot);
        while (m.find()) if (!m.group(1).equals("same module")) labels.add(m.group(1));
        return labels;
    }

    @Test
    void specArchitectureShowsEveryLayerTheReuseAndTheShapes() throws Exception {
        Path spec = dir.resolve("net.spec");
        Files.writeString(spec, SPEC);
        Path svg = dir.resolve("net.svg"), dot = dir.resolve("net.dot");
        Run r = run("graph", "--spec", spec.toString(), "-o", svg.toString());
        assertEquals(0, r.code, r.err);
        List<String> boxes = texts(svg, "node"), labels = texts(svg, "edge");
        for (String text : List.of("stem", "block", "block  (reused)", "pool", "lstm", "gru", "head", "ReLU()", "Flatten(start_dim=1, end_dim=-1)",
                "Unsqueeze(dim=1)", "Select(dim=1, index=-1)", "LSTM(512, 24, num_layers=2, batch_first=True)",
                "GRU(24, 16, batch_first=True, bidirectional=True)", "Linear(in_features=32, out_features=5, bias=True)",
                "Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", "(N, 3, 16, 16)", "(N, 5)")) {
            assertTrue(boxes.contains(text), text + " missing from " + boxes);
        }
        // block: 8·8·3·3 + 8 = 584 parameters, drawn twice, counted once; lstm 4·24·(512+24+2) + 4·24·(24+24+2); gru 2·3·16·(24+16+2)
        assertEquals(2, boxes.stream().filter(t -> t.equals("Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))")).count());
        assertTrue(boxes.contains("584 parameters") && boxes.contains("shares 584 parameters"), boxes.toString());
        long total = 224 + 584 + (4 * 24 * (512 + 24 + 2) + 4 * 24 * (24 + 24 + 2)) + 2 * 3 * 16 * (24 + 16 + 2) + 165;
        assertTrue(boxes.contains(String.format("%,d parameters in all", total)), boxes.toString());
        assertTrue(labels.contains("same module"), "the reused block is joined to its first use");

        assertEquals(0, run("graph", "--spec", spec.toString(), "-o", dot.toString()).code);
        String n = "(N, 8, 16, 16)";
        assertEquals(List.of(n, n, n, n, n, "(N, 8, 8, 8)", "(N, 512)", "(N, 1, 512)", "(N, 1, 24)", "(N, 1, 32)", "(N, 32)"), edgeLabels(Files.readString(dot)));
        assertTrue(Files.readString(dot).contains("label=\"Sequential from net.spec: architecture, input (N, 3, 16, 16)\""));

        // --input gives a concrete batch.
        assertEquals(0, run("graph", "--spec", spec.toString(), "--input", "7,3,16,16", "-o", dot.toString()).code);
        assertEquals("(7, 1, 24)", edgeLabels(Files.readString(dot)).get(8));
        assertTrue(Files.readString(dot).contains("\"output\" [label=\"output\\n(7, 5)"));
    }

    @Test
    void specAutogradHasEveryParameterOnceAndTheSharedConvTwice() throws Exception {
        Path spec = dir.resolve("net.spec");
        Files.writeString(spec, SPEC);
        Path dot = dir.resolve("net-ag.dot");
        Run r = run("graph", "--spec", spec.toString(), "--kind", "autograd", "-o", dot.toString());
        assertEquals(0, r.code, r.err);
        String text = Files.readString(dot);
        Map<String, Tensor> params = ModelBuilder.build(ModelSpec.parse(SPEC, "net.spec")).namedParameters();
        // PyTorch's keys: two LSTM layers (_l0, _l1), a reverse direction for the GRU (_l0_reverse).
        assertEquals(22, params.size(), params.keySet().toString());
        assertTrue(params.containsKey("lstm.weight_ih_l1") && params.containsKey("gru.bias_hh_l0_reverse"), params.keySet().toString());
        Map<String, String> ids = new java.util.HashMap<>();
        Matcher box = Pattern.compile("\"(p\\d+)\" \\[label=\"([^\"\\\\]+)\\\\n([^\"]+)\"").matcher(text);
        while (box.find()) ids.put(box.group(2), box.group(1));
        for (var e : params.entrySet()) {
            assertTrue(text.contains("label=\"" + e.getKey() + "\\n" + Shapes.str(e.getValue().shapeRef()) + "\""), e.getKey() + " missing");
        }
        assertEquals(params.keySet(), ids.keySet());
        assertTrue(text.contains("label=\"gru.weight_ih_l0_reverse\\n(48, 24)\""));
        assertEquals(22, count(text, "label=\"AccumulateGrad\""));
        assertEquals(3, count(text, "label=\"ConvolutionBackward0\""), "stem, and block twice");
        // The shared block.weight has one AccumulateGrad, which feeds both convolutions.
        String acc = "acc" + ids.get("block.weight").substring(1);
        assertEquals(2, count(text, "\"" + acc + "\" -> "), text);
        assertTrue(text.contains("label=\"output\\n(1, 5)\""), text);
    }

    @Test
    void specErrorsExitOneWithTheSpecsLineAndColumn() throws Exception {
        Path spec = dir.resolve("bad.spec");
        Files.writeString(spec, "input: (N, 1, 28, 28)\nconv = Conv2d(1, 8, 3,, padding=1)\n");
        for (String kind : List.of("architecture", "autograd")) {
            Run r = run("graph", "--spec", spec.toString(), "--kind", kind, "-o", dir.resolve("x.svg").toString());
            assertEquals(1, r.code, r.err);
            assertTrue(r.err.strip().startsWith("deepshape graph: " + spec + ":2:23: expected a value"), r.err);
            assertEquals(1, r.err.strip().lines().count(), r.err);
        }
        assertTrue(!Files.exists(dir.resolve("x.svg")));
        // A shape that a layer cannot take: the shape rule's message, as from 'shapes'.
        Run shape = run("graph", "--kind", "autograd", "--input", "1,3,28,28", "-o", dir.resolve("y.svg").toString());
        assertEquals(1, shape.code);
        assertTrue(shape.err.startsWith("deepshape graph: layer 0 (conv1) Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)): expected input of shape"), shape.err);
        assertEquals(1, shape.err.strip().lines().count(), shape.err);
        Run missing = run("graph", "--spec", dir.resolve("nope.spec").toString());
        assertEquals(1, missing.code);
        assertTrue(missing.err.contains("nope.spec: no such file"), missing.err);
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
        return n;
    }
}
