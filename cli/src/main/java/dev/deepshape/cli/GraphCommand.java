package dev.deepshape.cli;

import dev.deepshape.cli.graph.ArchitectureDiagram;
import dev.deepshape.cli.graph.AutogradDiagram;
import dev.deepshape.cli.graph.Graph;
import dev.deepshape.cli.graph.ModelLayers;
import dev.deepshape.cli.graph.Renderer;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.tensor.Tensor;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code deepshape graph}: draws the model as a layer-level architecture diagram (shapes on the arrows) or as the
 * autograd graph of one forward pass (as torchviz's make_dot), to PNG, SVG or DOT.
 */
@Command(name = "graph", mixinStandardHelpOptions = true,
        description = {"Draw the model: its layers with the shapes between them (architecture), or the backward graph of one forward pass (autograd).",
                "The output file's extension picks the format: .png, .svg or .dot (for Graphviz). Nothing to install."})
public final class GraphCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    enum Kind { architecture, autograd }

    @Option(names = "--model", defaultValue = "combined", description = "Built-in model: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).",
            completionCandidates = Models.class)
    String model;

    @Option(names = "--kind", defaultValue = "architecture", description = "architecture or autograd (default ${DEFAULT-VALUE}).")
    Kind kind;

    @Option(names = "--input", split = ",", paramLabel = "N,C,H,W",
            description = "Input shape. Architecture: default batch N (symbolic). Autograd: default 1,1,28,28, as the tutorial.")
    int[] input;

    @Option(names = "--rankdir", defaultValue = "TB", description = "TB (top to bottom) or LR (left to right); default ${DEFAULT-VALUE}.")
    Graph.Rankdir rankdir;

    @Option(names = "--show-saved", description = "Autograd: also draw the tensors each node saved for backward, with their shapes.")
    boolean showSaved;

    @Option(names = "--dpi", defaultValue = "96", description = "PNG resolution (72 draws one pixel per point); default ${DEFAULT-VALUE}.")
    double dpi;

    @Option(names = {"-o", "--output"}, defaultValue = "model_structure.png", paramLabel = "FILE", description = "Where to write (default ${DEFAULT-VALUE}).")
    Path output;

    static final class Models extends java.util.ArrayList<String> {
        Models() { super(java.util.List.of("combined")); }
    }

    @Override
    public Integer call() {
        CommandLine cl = spec.commandLine();
        if (!model.equals("combined")) throw new CommandLine.ParameterException(cl, "unknown model '" + model + "'; built-in models: combined");
        if (!(dpi >= 10 && dpi <= 1200)) throw new CommandLine.ParameterException(cl, "--dpi must be between 10 and 1200, got " + dpi);
        if (input != null && input.length != 4) {
            throw new CommandLine.ParameterException(cl, "--input needs 4 sizes N,C,H,W for the combined model, got " + input.length);
        }
        if (input != null) for (int d : input) if (d < 1) throw new CommandLine.ParameterException(cl, "--input sizes must be >= 1, got " + d);
        try {
            Renderer.formatOf(output);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        CombinedModel m = new CombinedModel();
        Graph g;
        if (kind == Kind.architecture) {
            int[] in = input != null ? input : new int[] {1, 1, 28, 28};
            var layers = ModelLayers.trace(ModelLayers.steps(m), in, input == null);
            g = ArchitectureDiagram.of("CombinedModel", layers.getFirst().inShape(), layers, rankdir);
        } else {
            int[] in = input != null ? input : new int[] {1, 1, 28, 28};
            Tensor y = m.forward(Tensor.zeros(in));
            g = AutogradDiagram.of("CombinedModel", y, m.namedParameters(), showSaved, rankdir);
        }
        Renderer.write(g, output, dpi);
        cl.getOut().println("wrote " + output + " (" + kind + ", " + Renderer.formatOf(output).name().toLowerCase(java.util.Locale.ROOT) + ")");
        return 0;
    }
}
