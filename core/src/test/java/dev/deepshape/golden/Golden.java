package dev.deepshape.golden;

import static org.junit.jupiter.api.Assertions.fail;

import dev.deepshape.io.Json;
import dev.deepshape.io.SafeTensors;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The golden files written by {@code golden/make_golden.py} (PyTorch 1.13) and the one comparison every golden test
 * uses. A comparison passes when {@code max |actual − expected| ≤ 1e-4}, or, for tensors whose values are large,
 * when it is at most {@code 1e-4 · max |expected|}; it always prints {@code name: max |diff| = ...}.
 */
public final class Golden {
    private Golden() {}

    public static final double ATOL = 1e-4;
    public static final double RTOL = 1e-4;

    /** {@code golden/data}, found by walking up from the working directory (surefire runs in {@code core/}). */
    public static Path dataDir() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path d = p.resolve("golden").resolve("data");
            if (Files.isRegularFile(d.resolve("index.json"))) return d;
        }
        throw new IllegalStateException("golden/data/index.json not found above " + Path.of("").toAbsolutePath()
                + "; run golden/make_golden.py to generate it");
    }

    public static SafeTensors.Contents load(String file) {
        try {
            return SafeTensors.readAll(dataDir().resolve(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One unit configuration of {@code golden/data/index.json}, PyTorch's constructor arguments as written there. */
    public record Config(String name, String unit, List<Object> args, Map<String, Object> kwargs, int[] inputShape,
                         String file, boolean initialState) {
        @Override public String toString() { return name; }
    }

    @SuppressWarnings("unchecked")
    public static List<Config> index() {
        Object parsed;
        try {
            parsed = Json.parse(Files.readString(dataDir().resolve("index.json")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<Config> out = new ArrayList<>();
        for (Object o : (List<Object>) parsed) {
            Map<String, Object> m = (Map<String, Object>) o;
            List<Object> shape = (List<Object>) m.get("input_shape");
            int[] inputShape = shape.stream().mapToInt(v -> (int) (long) (Long) v).toArray();
            out.add(new Config((String) m.get("name"), (String) m.get("unit"), (List<Object>) m.get("args"),
                    (Map<String, Object>) m.get("kwargs"), inputShape, (String) m.get("file"),
                    Boolean.TRUE.equals(m.get("initial_state"))));
        }
        return out;
    }

    /**
     * Compares {@code actual} with PyTorch's {@code expected}, prints {@code label: max |diff| = ...} and fails the test
     * when the shapes differ or the difference is beyond tolerance. Returns the max |diff|.
     */
    public static double compare(String label, Tensor expected, Tensor actual) {
        if (actual == null) fail(label + ": no value (expected shape " + Shapes.str(expected.shapeRef()) + ")");
        if (!java.util.Arrays.equals(expected.shapeRef(), actual.shapeRef())) {
            fail(label + ": shape " + Shapes.str(actual.shapeRef()) + ", PyTorch has " + Shapes.str(expected.shapeRef()));
        }
        float[] e = expected.toArray();
        float[] a = actual.toArray();
        double maxDiff = 0, maxAbs = 0;
        int at = -1;
        for (int i = 0; i < e.length; i++) {
            double d = Math.abs((double) a[i] - e[i]);
            if (!(d <= maxDiff)) { // NaN in either side counts as the worst difference
                maxDiff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                at = i;
            }
            maxAbs = Math.max(maxAbs, Math.abs(e[i]));
        }
        double allowed = Math.max(ATOL, RTOL * maxAbs);
        System.out.printf("%s: max |diff| = %.3g (max |expected| = %.3g)%n", label, maxDiff, maxAbs);
        if (maxDiff > allowed) {
            fail(String.format("%s: max |diff| = %.3g > %.3g at flat index %d of %s (expected %s, got %s)", label, maxDiff,
                    allowed, at, Shapes.str(expected.shapeRef()), e[at], a[at]));
        }
        return maxDiff;
    }
}
