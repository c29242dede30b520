package dev.deepshape.io;

import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The two files a training run writes after every epoch, both safetensors and both written atomically (temporary
 * file, fsync, rename: a kill at any moment leaves the previous complete file):
 * <ul>
 *   <li>{@code model.safetensors}: the state dict alone, under PyTorch's key names ({@code conv1.weight}, ...), so
 *       {@code model.load_state_dict(safetensors.torch.load_file("model.safetensors"))} works in PyTorch;</li>
 *   <li>{@code checkpoint.safetensors}: the model's tensors under {@code model.}, the optimiser's under
 *       {@code optim.}, and in the metadata (key {@code deepshape}) a JSON object with the epoch, seed, generator
 *       states, metrics, hyper-parameters and thread count: everything {@code --resume} needs.</li>
 * </ul>
 */
public final class Checkpoint {
    private Checkpoint() {}

    public static final String MODEL_FILE = "model.safetensors";
    public static final String CHECKPOINT_FILE = "checkpoint.safetensors";
    public static final String FORMAT = "deepshape-checkpoint/1";
    private static final String MODEL = "model.";
    private static final String OPTIM = "optim.";
    private static final String META_KEY = "deepshape";

    /** A checkpoint's contents: model state dict, optimiser state, and the run's metadata (parsed JSON). */
    public record Contents(Map<String, Tensor> model, Map<String, Tensor> optimizer, Map<String, Object> meta) {}

    /** Writes the plain state dict, loadable by {@code safetensors.torch.load_file} + {@code load_state_dict}. */
    public static void writeStateDict(Path file, Map<String, Tensor> stateDict) throws IOException {
        SafeTensors.write(file, stateDict, Map.of(), Map.of("format", "pt"));
    }

    /** Writes model, optimiser and metadata into one file (see the class comment for the layout). */
    public static void write(Path file, Map<String, Tensor> model, Map<String, Tensor> optimizer, Map<String, Object> meta) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        for (var e : model.entrySet()) all.put(MODEL + e.getKey(), e.getValue());
        for (var e : optimizer.entrySet()) all.put(OPTIM + e.getKey(), e.getValue());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.putAll(meta);
        SafeTensors.write(file, all, Map.of(), Map.of("format", "pt", META_KEY, Json.write(m)));
    }

    /** Reads a file written by {@link #write}; a file without our metadata is an error that says what it is. */
    public static Contents read(Path file) throws IOException {
        SafeTensors.Contents c = SafeTensors.readAll(file);
        String json = c.metadata().get(META_KEY);
        if (json == null) {
            throw new SafeTensors.FormatException(file, "not a deepshape training checkpoint (no '" + META_KEY + "' entry in __metadata__; tensors: "
                    + preview(c.floats()) + "); to resume, pass the run folder or its " + CHECKPOINT_FILE);
        }
        Object parsed;
        try {
            parsed = Json.parse(json);
        } catch (Json.ParseException e) {
            throw new SafeTensors.FormatException(file, "__metadata__." + META_KEY + " is not valid JSON: " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> raw) || !FORMAT.equals(raw.get("format"))) {
            throw new SafeTensors.FormatException(file, "__metadata__." + META_KEY + " has format " + (parsed instanceof Map<?, ?> r ? r.get("format") : parsed)
                    + ", expected " + FORMAT);
        }
        @SuppressWarnings("unchecked") Map<String, Object> meta = (Map<String, Object>) raw;
        Map<String, Tensor> model = new LinkedHashMap<>();
        Map<String, Tensor> optim = new LinkedHashMap<>();
        for (var e : c.floats().entrySet()) {
            if (e.getKey().startsWith(MODEL)) model.put(e.getKey().substring(MODEL.length()), e.getValue());
            else if (e.getKey().startsWith(OPTIM)) optim.put(e.getKey().substring(OPTIM.length()), e.getValue());
            else throw new SafeTensors.FormatException(file, "tensor '" + e.getKey() + "' is neither under model. nor under optim.");
        }
        return new Contents(model, optim, meta);
    }

    /**
     * The model's state dict from either kind of file: a plain state dict (e.g. saved by PyTorch with
     * {@code safetensors.torch.save_file(model.state_dict(), path)}) or our training checkpoint.
     */
    public static Map<String, Tensor> readStateDict(Path file) throws IOException {
        SafeTensors.Contents c = SafeTensors.readAll(file);
        if (c.metadata().containsKey(META_KEY)) return read(file).model();
        return c.floats();
    }

    private static String preview(Map<String, Tensor> t) {
        var keys = t.keySet().stream().limit(4).toList();
        return keys + (t.size() > 4 ? " and " + (t.size() - 4) + " more" : "");
    }
}
