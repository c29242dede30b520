package dev.deepshape.cli;

import dev.deepshape.io.SafeTensors;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.onnx.OnnxExporter;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code deepshape export}: writes a model with the weights of a checkpoint as ONNX (opset 17) with a dynamic batch
 * axis, for ONNX Runtime and other ONNX tools. The checkpoint is a PyTorch state dict in safetensors (the keys of
 * {@code model.state_dict()}), e.g. one written by deepshape or by {@code golden/interop/check_roundtrip.py}.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Write the model with a checkpoint's weights as ONNX (opset 17, dynamic batch axis N) for ONNX Runtime and other tools.",
                "The checkpoint is a state dict in safetensors with PyTorch's keys (conv1.weight, rnn.weight_ih_l0, ...)."})
public final class ExportCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec cmd;

    @Mixin ModelOptions options;

    @Mixin DeviceOption device;

    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "the weights: a safetensors state dict with PyTorch's keys")
    Path checkpoint;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE", description = "where to write the .onnx file")
    Path output;

    @Override
    public Integer call() throws IOException {
        device.select();
        CommandLine cl = cmd.commandLine();
        ModelSpec spec = options.load(cl);
        int[] input = spec.inputShape(options.input(cl));
        if (Files.isDirectory(output)) throw new CommandLine.ParameterException(cl, "-o " + output + " is a directory; give a file name such as model.onnx");
        // The built-in model is exported as CombinedModel (its forward, its class name); a spec as the Sequential it builds.
        Module model = options.builtin() ? new CombinedModel() : ModelBuilder.build(spec);
        if (!Files.isRegularFile(checkpoint)) throw new IllegalArgumentException("cannot read checkpoint " + checkpoint + ": no such file");
        Map<String, Tensor> state = SafeTensors.read(checkpoint);
        Map<String, Tensor> own = model.stateDict();
        TreeSet<String> extra = new TreeSet<>(state.keySet());
        extra.removeAll(own.keySet());
        Map<String, Tensor> params = new LinkedHashMap<>(state);
        params.keySet().retainAll(own.keySet());
        try {
            // Strict about the model's own keys (each must be there, with its shape); other tensors (optimizer state
            // in a training checkpoint) are left out and counted below.
            model.loadStateDict(params, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(checkpoint + " does not fit " + model.getClass().getSimpleName() + ": " + e.getMessage().replace("\n\t", "; ")
                    + (extra.isEmpty() ? "" : "; the file's other keys start with " + String.join(", ", extra.stream().limit(3).toList())));
        }
        OnnxExporter.export(model, input, output);
        PrintWriter out = cl.getOut();
        long count = own.values().stream().mapToLong(Tensor::numel).sum();
        out.printf("wrote %s: %s, ONNX opset %d, input \"input\" %s with a dynamic batch axis N, output \"output\"; %,d parameters from %s%s%n",
                output, model.getClass().getSimpleName(), OnnxExporter.OPSET, Dims.str(withBatchN(input, model)), count, checkpoint,
                extra.isEmpty() ? "" : " (" + extra.size() + " other tensors in the file ignored)");
        out.flush();
        return 0;
    }

    /** The input shape as exported: N at the batch axis. */
    private static int[] withBatchN(int[] input, Module model) {
        int[] s = input.clone();
        for (int d : s) if (d == Dims.N) return s;
        s[OnnxExporter.batchAxis(model, input)] = Dims.N;
        return s;
    }
}
