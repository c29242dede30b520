package dev.deepshape.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Locale;

/** Shared by the GPU tests: skip, saying why, where there is no usable GPU; compare arrays with a tolerance. */
final class GpuRequired {
    private GpuRequired() {}

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
