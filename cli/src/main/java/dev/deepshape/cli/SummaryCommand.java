package dev.deepshape.cli;

import dev.deepshape.io.Json;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.shape.Summary;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code deepshape summary}: torchinfo's table and footer for a model, with ConvTranspose2d's mult-adds counted correctly. */
@Command(name = "summary", mixinStandardHelpOptions = true,
        description = {"A torchinfo-style summary: layers, total/trainable params, mult-adds, input, forward/backward pass and params sizes (MB = 10^6 bytes),",
                "then torchinfo's own mult-adds figure where it differs and the per-sample forward and backward FLOPs."})
public final class SummaryCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec cmd;

    @Mixin ModelOptions options;

    @Mixin DeviceOption device;

    @Option(names = "--depth", paramLabel = "N", defaultValue = "3", description = "rows down to this depth (0: the model only; default ${DEFAULT-VALUE})")
    int depth;

    @Option(names = "--columns", paramLabel = "LIST", split = ",", converter = ColumnConverter.class,
            description = "columns among input,output,params,kernel,mult_adds,trainable (default: output,params)")
    List<Summary.Column> columns;

    @Option(names = "--json", description = "print the figures as JSON")
    boolean json;

    static final class ColumnConverter implements CommandLine.ITypeConverter<Summary.Column> {
        @Override
        public Summary.Column convert(String value) {
            try {
                return Summary.Column.of(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() {
        device.select();
        if (depth < 0) throw new CommandLine.ParameterException(cmd.commandLine(), "--depth must be >= 0, got " + depth);
        ModelSpec spec = options.load(cmd.commandLine());
        ShapeAnalysis a = ShapeAnalysis.of(spec, spec.inputShape(options.input(cmd.commandLine())));
        // In the built-in model the unnamed steps (relu, flatten, unsqueeze, select) are function calls, which torchinfo does not list.
        Set<String> hidden = new TreeSet<>();
        if (options.builtin()) for (ModelSpec.Layer l : spec.layers()) if (l.name().equals(String.valueOf(l.index()))) hidden.add(l.name());
        Summary s = new Summary(options.rootName(), a, hidden);
        PrintWriter out = cmd.commandLine().getOut();
        out.println(json ? Json.write(s.toJson()) : s.render(depth, columns == null ? Summary.DEFAULT_COLUMNS : new ArrayList<>(columns)));
        out.flush();
        return 0;
    }
}
