package dev.deepshape.cli;

import dev.deepshape.cli.graph.ArchitectureDiagram;
import dev.deepshape.cli.graph.Graph;
import dev.deepshape.cli.graph.Renderer;
import dev.deepshape.data.Mnist;
import dev.deepshape.report.Report;
import dev.deepshape.report.RunMetrics;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.shape.Summary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code deepshape report RUN_DIR}: (re)writes a training run's report.html and its plots from the metrics in the folder. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Writes RUN_DIR/report.html, one self-contained page (open it in any browser, offline): the run's settings, "
                + "the model's architecture diagram, shape table and summary, the loss and accuracy curves, the confusion matrix "
                + "with precision and recall per digit, and the most confidently misclassified test digits.",
                "The pictures also go to RUN_DIR/plots/ as PNG and SVG. 'train' writes the report at the end of every run; "
                        + "this command rewrites it from the metrics files (e.g. of a run that was interrupted)."})
final class ReportCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "RUN_DIR", description = "The run folder ('deepshape train --out RUN_DIR').")
    Path runDir;

    @Option(names = "--data", paramLabel = "DIR", description = "Folder with the MNIST test files, for the misclassified digits' pixels "
            + "(default: $DEEPSHAPE_DATA, else ./data); never downloads.")
    String data;

    @Override
    public Integer call() throws IOException {
        if (!Files.exists(runDir)) throw CliSupport.usage(spec, "RUN_DIR: no such folder: " + runDir);
        if (!Files.isDirectory(runDir)) throw CliSupport.usage(spec, "RUN_DIR: not a folder: " + runDir);
        Report.Output out = write(runDir, Mnist.dataDir(data));
        spec.commandLine().getOut().println("wrote " + out.html() + " (and " + out.plots().size() + " pictures in " + runDir.resolve(Report.PLOTS) + ")");
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** The report of the run in {@code runDir}, with the test images from {@code dataDir} when they are there. */
    static Report.Output write(Path runDir, Path dataDir) throws IOException {
        RunMetrics m = RunMetrics.read(runDir);
        Mnist.Dataset test = null;
        String testNote = null;
        try {
            test = Mnist.load(dataDir, false, null);
        } catch (Mnist.MissingDataException e) {
            testNote = "the MNIST test images are not in " + dataDir + " (" + e.getMessage() + "); run 'deepshape report --data DIR'";
        }
        return Report.write(m, test, testNote, model(m));
    }

    /** The model's diagram, shape table and summary, for the built-in models; a note for others. */
    static Report.Model model(RunMetrics m) {
        String name = String.valueOf(m.setting("model", "combined"));
        if (!ModelSpec.BUILTIN.contains(name)) {
            return new Report.Model(name, null, null, null, "'" + name + "' is not a built-in model, so its layers are not known here");
        }
        ModelSpec spec = ModelSpec.builtin(name);
        String root = "CombinedModel";
        int[] in = spec.inputShape(null);
        if (m.setting("batch_size", null) instanceof Number b && in.length >= 3) in[0] = b.intValue();
        ShapeAnalysis a = ShapeAnalysis.of(spec, in);
        // In the built-in model the unnamed steps (relu, flatten, ...) are function calls, which torchinfo does not list.
        Set<String> hidden = new TreeSet<>();
        for (ModelSpec.Layer l : spec.layers()) if (l.name().equals(String.valueOf(l.index()))) hidden.add(l.name());
        String summary = new Summary(root, a, hidden).render(3, Summary.DEFAULT_COLUMNS);
        int[] symbolic = in.clone();
        if (symbolic.length >= 3) symbolic[0] = Dims.N;
        Graph g = ArchitectureDiagram.of(root, ShapeAnalysis.of(spec, symbolic), Graph.Rankdir.TB);
        return new Report.Model(root, Renderer.svg(g), a.table(false), summary, null);
    }
}
