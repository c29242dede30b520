package dev.deepshape.shape;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shape rules against PyTorch: every case in golden/data/shapes (written by golden/make_shapes.py from the same
 * spec text) must give PyTorch's per-layer output shapes, reprs, parameter counts and parameter shapes, and the
 * {@code shapes --json} document must carry them.
 */
class ShapeGoldenTest {

    static Path goldenDir() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("golden/data/shapes"))) p = p.getParent();
        if (p == null) throw new IllegalStateException("golden/data/shapes not found above " + Path.of("").toAbsolutePath());
        return p.resolve("golden/data/shapes");
    }

    static Stream<Path> cases() throws IOException {
        List<Path> files = new ArrayList<>();
        try (var s = Files.list(goldenDir())) {
            s.filter(f -> f.toString().endsWith(".json")).sorted().forEach(files::add);
        }
        assertTrue(files.size() >= 25, "expected the PyTorch-generated cases, found " + files.size());
        return files.stream();
    }

    static int[] ints(Object list) {
        List<?> l = (List<?>) list;
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).intValue();
        return out;
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void shapesAndParamsMatchPyTorch(Path file) throws IOException {
        Map<String, Object> g = (Map<String, Object>) Json.parse(Files.readString(file));
        ModelSpec spec = ModelSpec.parse((String) g.get("spec"), file.getFileName().toString());
        ShapeAnalysis a = ShapeAnalysis.of(spec, spec.inputShape(null));
        Map<String, Object> json = (Map<String, Object>) Json.parse(Json.write(a.toJson(false)));
        List<Map<String, Object>> want = (List<Map<String, Object>>) g.get("layers");
        List<Map<String, Object>> got = (List<Map<String, Object>>) json.get("layers");
        assertEquals(want.size(), got.size(), "layer count");
        for (int i = 0; i < want.size(); i++) {
            Map<String, Object> w = want.get(i), o = got.get(i);
            String where = file.getFileName() + " layer " + i + " (" + w.get("name") + ")";
            assertEquals(w.get("name"), o.get("name"), where);
            assertEquals(w.get("type"), o.get("type"), where);
            assertEquals(w.get("repr"), o.get("repr"), where);
            assertEquals(Dims.str(ints(w.get("input_shape"))), Dims.str(ints(o.get("input_shape"))), where + " input");
            assertEquals(Dims.str(ints(w.get("output_shape"))), Dims.str(ints(o.get("output_shape"))), where + " output");
            assertEquals(((Number) w.get("params")).longValue(), ((Number) o.get("params")).longValue(), where + " params");
            Map<String, Object> wantShapes = (Map<String, Object>) w.get("param_shapes");
            Map<String, int[]> gotShapes = a.rows().get(i).rule().parameterShapes();
            assertEquals(List.copyOf(wantShapes.keySet()), List.copyOf(gotShapes.keySet()), where + " parameter keys");
            for (var e : wantShapes.entrySet()) assertEquals(Dims.str(ints(e.getValue())), Dims.str(gotShapes.get(e.getKey())), where + " " + e.getKey());
        }
        assertEquals(Dims.str(ints(g.get("output_shape"))), Dims.str(ints(json.get("output_shape"))), "model output");
        assertEquals(((Number) g.get("total_params")).longValue(), ((Number) json.get("total_params")).longValue(), "total params");
        assertEquals(((Number) g.get("total_params")).longValue(), spec.params(), "spec params");
    }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void symbolicBatchGivesTheSameShapes(Path file) throws IOException {
        Map<String, Object> g = (Map<String, Object>) Json.parse(Files.readString(file));
        ModelSpec spec = ModelSpec.parse((String) g.get("spec"), file.getFileName().toString());
        int[] in = spec.inputShape(null);
        // Unbatched inputs have no batch dimension to make symbolic.
        if (file.getFileName().toString().contains("unbatched") || in.length < 3) return;
        in[0] = Dims.N;
        ShapeAnalysis a = ShapeAnalysis.of(spec, in);
        int[] concrete = ints(g.get("output_shape"));
        int[] sym = a.output();
        assertEquals(concrete.length, sym.length);
        for (int i = 0; i < sym.length; i++) {
            if (sym[i] != Dims.N) assertEquals(concrete[i], sym[i], file.getFileName() + " dim " + i);
        }
    }
}
