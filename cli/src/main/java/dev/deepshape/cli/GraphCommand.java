package dev.deepshape.cli;

import dev.deepshape.cli.graph.ArchitectureDiagram;
import dev.deepshape.cli.graph.AutogradDiagram;
import dev.deepshape.cli.graph.Graph;
import dev.deepshape.cli.graph.Renderer;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.tensor.Tensor;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code deepshape graph}: draws the model ({@code --model} or {@code --spec}, as {@code shapes} and {@code summary})
 * as a layer-level architecture diagram whose arrows carry the shapes of the {@link ShapeAnalysis} (nothing runs), or
 * as the autograd graph of one forward pass (as torchviz's make_dot), to PNG, SVG or DOT.
 */
@Command(name = "graph", mixinStandardHelpOptions = true,
        description = {"Draw the model: its layers with the shapes between them (architecture), or the backward graph of one forward pass (autograd).",
                "The output file's extension picks the format: .png, .svg or .dot (for Graphviz). Nothing to install.",
                "Architecture: without --input the batch is drawn as N. Autograd: a batch of 1 (or --input) runs forward once."})
public final class GraphCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec cmd;

    @Mixin ModelOptions options;

    @Mixin DeviceOption device;

    enum Kind { architecture, autograd }

    @Option(names = "--kind", defaultValue = "architecture", description = "architecture or autograd (default ${DEFAULT-VALUE}).")
    Kind kind;

    @Option(names = "--rankdir", defaultValue = "TB", description = "TB (top to bottom) or LR (left to right); default ${DEFAULT-VALUE}.")
    Graph.Rankdir rankdir;

    @Option(names = "--show-saved", description = "Autograd: also draw the tensors each node saved for backward, with their shapes.")
    boolean showSaved;

    @Option(names = "--dpi", defaultValue = "96", description = "PNG resolution (72 draws one pixel per point); default ${DEFAULT-VALUE}.")
    double dpi;

    @Option(names = {"-o", "--output"}, defaultValue = "model_structure.png", paramLabel = "FILE", description = "Where to write (default ${DEFAULT-VALUE}).")
    Path output;

    @Override
    public Integer call() {
        device.select();
        CommandLine cl = cmd.commandLine();
        if (!(dpi >= 10 && dpi <= 1200)) throw new CommandLine.ParameterException(cl, "--dpi must be between 10 and 1200, got " + dpi);
        try {
            Renderer.formatOf(output);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        int[] given = options.input(cl);
        ModelSpec spec = options.load(cl);
        String name = options.builtin() ? options.rootName() : options.rootName() + " from " + options.spec.getFileName();
        int[] in = spec.inputShape(given);
        Graph g;
        if (kind == Kind.architecture) {
            // The spec's batch (e.g. combined.spec's 64) is drawn as N unless --input names one.
            if (given == null && hasBatch(in)) in[0] = Dims.N;
            g = ArchitectureDiagram.of(name, ShapeAnalysis.of(spec, in), rankdir);
        } else {
            // One sample, as the tutorial's make_dot call; an N in --input is taken as 1.
            if (given == null && hasBatch(in)) in[0] = 1;
            in = Dims.concrete(in, 1);
            ShapeAnalysis.of(spec, in); // a layer that cannot take the input stops here with the shape rule's message
            Module m = options.builtin() ? new CombinedModel() : ModelBuilder.build(spec);
            Tensor y = m.forward(Tensor.zeros(in));
            g = AutogradDiagram.of(name, y, m.namedParameters(), showSaved, rankdir);
        }
        Renderer.write(g, output, dpi);
        cl.getOut().println("wrote " + output + " (" + kind + ", " + Renderer.formatOf(output).name().toLowerCase(Locale.ROOT) + ")");
        return 0;
    }

    /** Whether dimension 0 is the batch, by the rule {@link ShapeAnalysis#of} uses: 3 or more dimensions, or a symbolic first size. */
    private static boolean hasBatch(int[] shape) { return shape.length >= 3 || (shape.length > 0 && shape[0] == Dims.N); }
}
