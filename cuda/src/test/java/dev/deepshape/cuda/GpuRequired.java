package dev.deepshape.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.deepshape.data.Mnist;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.tensor.Rng;
import java.util.Locale;
import java.util.Random;

/** Shared by the GPU tests: skip, saying why, where there is no usable GPU; made-up data and models; array comparison. */
final class GpuRequired {
    private GpuRequired() {}

    /** {@code count} made-up 28×28 images in [−1, 1) with labels 0-9, drawn from {@code seed}. */
    static Mnist.Dataset data(int count, long seed) {
        Random r = new Random(seed);
        float[] x = new float[count * 784];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat() * 2 - 1;
        int[] y = new int[count];
        for (int i = 0; i < count; i++) y[i] = r.nextInt(10);
        return new Mnist.Dataset("random", x, y, count, 28, 28);
    }

    /** The reference model initialised from {@code seed}. */
    static CombinedModel model(long seed) {
        Rng.manualSeed(seed);
        return new CombinedModel();
    }

    static Gpu gpu() {
        String why = Gpu.unavailableReason();
        assumeTrue(why == null, () -> "skipped: " + why);
        return Gpu.get();
    }

    /** Fails unless |a − b| ≤ atol + rtol·|b| everywhere; the message gives the largest difference and where. */
    static void assertClose(String what, float[] expected, float[] actual, double atol, double rtol) {
        if (expected.length != actual.length) throw new AssertionError(what + ": length " + actual.length + ", expected " + expected.length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a)) continue;
            double excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
            if (!(excess <= 0) && (at < 0 || !(excess <= worst))) {
                worst = Double.isNaN(excess) ? Double.POSITIVE_INFINITY : excess;
                at = i;
            }
        }
        if (at >= 0) {
            throw new AssertionError(String.format(Locale.ROOT, "%s: element %d is %s, expected %s (|diff| %.3g > %.1g + %.1g·|expected|)",
                    what, at, actual[at], expected[at], Math.abs(actual[at] - expected[at]), atol, rtol));
        }
    }
}
