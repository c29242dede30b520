package dev.deepshape.cli;

import dev.deepshape.io.Json;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.shape.ShapeTrace;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code deepshape shapes}: every layer's input and output shape, computed from the shape rules without running the model. */
@Command(name = "shapes", mixinStandardHelpOptions = true,
        description = {"Every layer's input and output shape and parameter count, computed without running the model.",
                "A layer that cannot take its input stops with one message naming it, the expected and actual shape, and a fix (exit 1)."})
public final class ShapesCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec cmd;

    @Mixin ModelOptions options;

    @Mixin DeviceOption device;

    @Option(names = "--explain", description = "print each layer's formulas with the numbers substituted")
    boolean explain;

    @Option(names = "--json", description = "print the table as JSON")
    boolean json;

    @Option(names = "--trace", description = "also run a real forward pass on a random batch and check every layer's shape against the rules")
    boolean trace;

    @Override
    public Integer call() {
        device.select();
        ModelSpec spec = options.load(cmd.commandLine());
        ShapeAnalysis a = ShapeAnalysis.of(spec, spec.inputShape(options.input(cmd.commandLine())));
        PrintWriter out = cmd.commandLine().getOut();
        if (json) {
            var doc = a.toJson(explain);
            if (trace) doc.put("trace", ShapeTrace.run(spec, a).toJson());
            out.println(Json.write(doc));
        } else {
            out.print(a.table(explain));
            if (trace) out.print(ShapeTrace.run(spec, a).text());
        }
        out.flush();
        return 0;
    }
}
