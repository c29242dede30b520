package dev.deepshape.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeException;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import org.junit.jupiter.api.Test;

/** A Sequential's output shape is its layers' rules applied in turn, and agrees with a real forward pass. */
class SequentialShapeTest {
    @Test
    void chainOfRulesGivesTheModelsOutputShape() {
        Rng.manualSeed(0);
        Sequential net = ModelBuilder.build(ModelSpec.builtin("combined"));
        assertArrayEquals(new int[] {64, 10}, net.outputShape(new int[] {64, 1, 28, 28}));
        assertArrayEquals(net.outputShape(new int[] {3, 1, 28, 28}), net.forward(Tensor.zeros(3, 1, 28, 28)).shape());
    }

    @Test
    void aLayerThatCannotTakeItsInputIsNamed() {
        Sequential net = new Sequential(new Conv2d(1, 8, 3), new ReLU(), new Flatten(), new Linear(100, 10));
        ShapeException e = assertThrows(ShapeException.class, () -> net.outputShape(new int[] {2, 1, 12, 12}));
        assertTrue(e.getMessage().contains("Linear(in_features=100, out_features=10, bias=True)") && e.getMessage().contains("800"), e.getMessage());
    }
}
