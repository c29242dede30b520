package dev.deepshape.shape;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.Json;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.Sequential;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every rule agrees with the shapes the real forward pass produces, on the golden cases; the module adapter gives back the same rule. */
class RulesAgreeWithForwardTest {
    static Stream<Path> cases() throws IOException { return ShapeGoldenTest.cases(); }

    @SuppressWarnings("unchecked")
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardPassTakesThePredictedShapes(Path file) throws IOException {
        Map<String, Object> g = (Map<String, Object>) Json.parse(Files.readString(file));
        ModelSpec spec = ModelSpec.parse((String) g.get("spec"), file.getFileName().toString());
        int[] in = spec.inputShape(null);
        if (Dims.numel(in) > 100_000) in[0] = 2; // keep the big reference batch small; the rules are batch-independent
        ShapeAnalysis a = ShapeAnalysis.of(spec, in);
        ShapeTrace t = ShapeTrace.run(spec, a);
        assertTrue(t.mismatches().isEmpty(), String.join("\n", t.mismatches()));
        assertEquals(a.rows().size(), t.shapes().size());

        Sequential model = ModelBuilder.build(spec);
        assertEquals(g.get("state_dict_keys"), List.copyOf(model.stateDict().keySet()), "state-dict keys as PyTorch's");
        assertEquals(((Number) g.get("total_params")).longValue(), model.parameterCount());
        List<Module> layers = model.layers();
        for (int i = 0; i < layers.size(); i++) {
            ShapeRule fromModule = ShapeRules.of(layers.get(i));
            assertEquals(a.rows().get(i).rule().repr(), fromModule.repr(), "layer " + i);
            assertEquals(Dims.str(a.rows().get(i).out()), Dims.str(fromModule.outputShape(a.rows().get(i).in())), "layer " + i);
        }
    }
}
