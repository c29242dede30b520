package dev.deepshape.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.shape.ShapeException;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.shape.ShapeRules;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The units check their inputs and compute their output shapes through their shape rules (one source of truth), and
 * their Javadoc "Shape" formula is the rule's symbolic formula, character for character.
 */
class UnitsUseTheirShapeRulesTest {

    @Test
    void linearFlattenUnsqueezeSelectFailWithTheRulesMessages() {
        var e = assertThrows(ShapeException.class, () -> new Linear(3136, 10).forward(Tensor.zeros(2, 64, 7, 7)));
        assertEquals("Linear(in_features=3136, out_features=10, bias=True): expected input of shape (*, 3136), got (2, 64, 7, 7); "
                + "hint: the last dimension is 7, so Linear(7, 10) would fit; or Flatten(1) first: 64·7·7 = 3136", e.getMessage());
        e = assertThrows(ShapeException.class, () -> new Flatten(2, -1).forward(Tensor.zeros(4, 6)));
        assertTrue(e.getMessage().startsWith("Flatten(start_dim=2, end_dim=-1): expected input of shape a tensor with at least 3 dimensions, got (4, 6); hint: "),
                e.getMessage());
        e = assertThrows(ShapeException.class, () -> new Unsqueeze(3).forward(Tensor.zeros(4, 6)));
        assertEquals("Unsqueeze(dim=3): expected input of shape a tensor with at least 3 dimensions, got (4, 6); hint: dim must be in [-3, 2] for a 2-D input",
                e.getMessage());
        e = assertThrows(ShapeException.class, () -> new Select(1, -1).forward(Tensor.zeros(4)));
        assertTrue(e.getMessage().startsWith("Select(dim=1, index=-1): expected input of shape a tensor with at least 2 dimensions, got (4,); hint: "
                + "dim must be in [-1, 0] for a 1-D input; did a recurrent layer get a 2-D input"), e.getMessage());
        e = assertThrows(ShapeException.class, () -> new Select(1, 5).forward(Tensor.zeros(4, 3, 2)));
        assertTrue(e.getMessage().endsWith("got (4, 3, 2); hint: index 5 is out of range for dimension 1 of size 3"), e.getMessage());
    }

    @Test
    void outputShapeIsTheRulesAndTheForwardPassAgrees() {
        List<Module> units = List.of(new Conv2d(3, 5, 3, 2, 1), new ConvTranspose2d(3, 2, 3, 2), new MaxPool2d(3, 2, 1, 1, true), new Linear(9, 4),
                new Flatten(), new Unsqueeze(1), new Select(1, -1), new GRU(9, 4, true), new ReLU());
        List<int[]> inputs = List.of(new int[] {2, 3, 9, 9}, new int[] {2, 3, 4, 5}, new int[] {2, 3, 9, 8}, new int[] {2, 7, 9},
                new int[] {2, 3, 4, 5}, new int[] {2, 9}, new int[] {2, 3, 4}, new int[] {2, 6, 9}, new int[] {2, 3});
        for (int i = 0; i < units.size(); i++) {
            Module m = units.get(i);
            ShapeRule rule = ShapeRules.of(m);
            assertEquals(m.toString(), rule.repr(), "repr");
            int[] predicted = rule.outputShape(inputs.get(i));
            assertArrayEquals(predicted, m.forward(Tensor.zeros(inputs.get(i))).shape(), m.toString());
        }
        Conv2d conv = new Conv2d(3, 5, 3, 2, 1);
        assertArrayEquals(conv.shapeRule().outputShape(new int[] {2, 3, 9, 9}), conv.outputShape(new int[] {2, 3, 9, 9}));
        assertTrue(conv.shapeRule() == conv.shapeRule(), "the rule is built once and cached");
    }

    /** The {@code <pre>  H_out = ...</pre>} line of a unit's class Javadoc. */
    static String javadocFormula(Class<?> unit) throws IOException {
        Path src = Path.of("src/main/java", unit.getName().replace('.', '/') + ".java");
        Matcher m = Pattern.compile("^ \\* <pre>\\s*(H_out = .*?)</pre>\\s*$", Pattern.MULTILINE).matcher(Files.readString(src));
        assertTrue(m.find(), "no H_out formula in the Javadoc of " + src);
        return m.group(1).strip();
    }

    @Test
    void javadocShapeFormulasAreTheRulesFormulas() throws IOException {
        assertEquals(new Conv2d(1, 1, 3).shapeRule().formulas().getFirst(), javadocFormula(Conv2d.class));
        assertEquals(new ConvTranspose2d(1, 1, 3).shapeRule().formulas().getFirst(), javadocFormula(ConvTranspose2d.class));
        assertEquals(new MaxPool2d(2).shapeRule().formulas().getFirst(), javadocFormula(MaxPool2d.class));
        // and the explanation substitutes numbers into the same text
        assertTrue(new Conv2d(1, 32, 3, 1, 1).shapeRule().explain(new int[] {64, 1, 28, 28})
                .contains(new Conv2d(1, 1, 3).shapeRule().formulas().getFirst() + " = ⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 28"));
    }
}
