package dev.deepshape.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import dev.deepshape.nn.Linear;
import dev.deepshape.optim.Adam;
import org.junit.jupiter.api.Test;

/**
 * zero_grad keeps a parameter's gradient storage for the next backward only when nobody outside the engine and the
 * optimiser saw that gradient: training gives the same values either way, and a gradient read through
 * {@code grad()} keeps its values after later steps.
 */
class GradStorageReuseTest {
    /** Three Adam steps of a Linear layer; {@code peek} reads the weight's gradient through grad() after each backward. */
    private static float[][] train(boolean peek, float[][] seenGrads, float[][] storages) {
        Rng.manualSeed(4);
        Linear fc = new Linear(5, 3);
        Tensor w = fc.localParameters().get("weight");
        Adam adam = new Adam(fc.parameters(), 1e-2f);
        Tensor x = Tensor.randn(new Rng(5), 4, 5);
        for (int step = 0; step < 3; step++) {
            Tensor y = fc.forward(x);
            dev.deepshape.autograd.Ops.sum(dev.deepshape.autograd.Ops.mul(y, y)).backward();
            storages[step] = w.gradForUpdate().data();
            if (peek) seenGrads[step] = w.grad().data();
            adam.step();
            adam.zeroGrad();
        }
        return new float[][] {w.toArray(), fc.localParameters().get("bias").toArray()};
    }

    @Test
    void anUnseenGradientsStorageIsReusedAndTrainingIsUnchanged() {
        float[][] storagesQuiet = new float[3][], storagesPeek = new float[3][], seen = new float[3][];
        float[][] quiet = train(false, null, storagesQuiet);
        float[][] peeked = train(true, seen, storagesPeek);
        assertArrayEquals(peeked[0], quiet[0]);
        assertArrayEquals(peeked[1], quiet[1]);
        // unseen: the second and third backward wrote into the first one's array
        assertSame(storagesQuiet[0], storagesQuiet[1]);
        assertSame(storagesQuiet[1], storagesQuiet[2]);
        // read through grad(): every step's gradient has its own array, and the ones read earlier kept their values
        assertNotSame(storagesPeek[0], storagesPeek[1]);
        assertNotSame(storagesPeek[1], storagesPeek[2]);
        assertNotSame(seen[0], seen[1]);
    }

    @Test
    void aGradientReadBeforeZeroGradKeepsItsValues() {
        Rng.manualSeed(6);
        Linear fc = new Linear(3, 2);
        Tensor w = fc.localParameters().get("weight");
        Tensor x = Tensor.randn(new Rng(7), 2, 3);
        fc.forward(x).backward(Tensor.randn(new Rng(8), 2, 2));
        Tensor first = w.grad();
        float[] values = first.toArray();
        w.zeroGrad();
        fc.forward(x).backward(Tensor.randn(new Rng(9), 2, 2));
        assertArrayEquals(values, first.toArray());
        assertNotSame(first.data(), w.gradForUpdate().data());
    }

    @Test
    void aGradientSetByTheUserIsNeverReused() {
        Rng.manualSeed(10);
        Linear fc = new Linear(3, 2);
        Tensor w = fc.localParameters().get("weight");
        float[] mine = new float[6];
        w.setGrad(new Tensor(mine, 2, 3));
        w.zeroGrad();
        fc.forward(Tensor.randn(new Rng(11), 2, 3)).backward(Tensor.randn(new Rng(12), 2, 2));
        assertNotSame(mine, w.gradForUpdate().data());
        assertArrayEquals(new float[6], mine);
    }
}
