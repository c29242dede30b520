package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.RecurrentKernels;
import dev.deepshape.backend.RecurrentKernels.GruSaved;
import dev.deepshape.backend.RecurrentKernels.LstmSaved;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The vectorised gate loops of the recurrent cells against the scalar ones ({@link RecurrentKernels}, the oracle):
 * hidden sizes with and without a scalar tail, pre-activations from small to saturating, and ±0, ±∞ and NaN (the
 * vector exp and tanh are within an ulp or two of Math's; a NaN stays NaN).
 */
class SimdRecurrentTest {
    /** Relative (and, near 0, absolute) difference allowed: a few ulps of float, through one or two roundings more. */
    private static final double TOL = 4e-7;

    @ParameterizedTest(name = "n={0} hidden={1} threads={2}")
    @CsvSource({"64, 128, 2", "3, 5, 1", "5, 16, 2", "2, 37, 2", "7, 64, 1", "1, 1, 2"})
    void rnnGatesMatchTheScalarOnes(int n, int hidden, int threads) {
        withThreads(threads, () -> {
            for (boolean relu : new boolean[] {false, true}) {
                float[] pre = values(new SplittableRandom(n * 31L + hidden), n * hidden);
                float[] expected = pre.clone(), actual = pre.clone();
                RecurrentKernels.rnnGates(expected, relu, n, hidden);
                SimdRecurrent.rnnGates(actual, relu, n, hidden);
                assertClose(expected, actual, (relu ? "relu" : "tanh") + " h");
            }
        });
    }

    @ParameterizedTest(name = "n={0} hidden={1} threads={2}")
    @CsvSource({"64, 64, 2", "3, 5, 1", "5, 16, 2", "2, 37, 2", "7, 128, 1", "1, 1, 2"})
    void gruGatesMatchTheScalarOnes(int n, int hidden, int threads) {
        withThreads(threads, () -> {
            SplittableRandom rnd = new SplittableRandom(n * 17L + hidden);
            float[] gx = values(rnd, n * 3 * hidden), gh = values(rnd, n * 3 * hidden), hPrev = values(rnd, n * hidden);
            float[] hExpected = new float[n * hidden], hActual = new float[n * hidden];
            GruSaved expected = saved(n, hidden), actual = saved(n, hidden);
            RecurrentKernels.gruGates(hExpected, expected, gx, gh, hPrev, n, hidden);
            SimdRecurrent.gruGates(hActual, actual, gx, gh, hPrev, n, hidden);
            assertClose(hExpected, hActual, "h");
            assertClose(expected.r(), actual.r(), "r");
            assertClose(expected.z(), actual.z(), "z");
            assertClose(expected.n(), actual.n(), "n");
            assertClose(expected.ghn(), actual.ghn(), "gh_n");
        });
    }

    @ParameterizedTest(name = "n={0} hidden={1} threads={2}")
    @CsvSource({"64, 32, 2", "3, 5, 1", "5, 16, 2", "2, 37, 2", "7, 64, 1", "1, 1, 2"})
    void lstmGatesMatchTheScalarOnes(int n, int hidden, int threads) {
        withThreads(threads, () -> {
            SplittableRandom rnd = new SplittableRandom(n * 13L + hidden);
            float[] pre = values(rnd, n * 4 * hidden), cPrev = values(rnd, n * hidden);
            LstmSaved expected = new LstmSaved(pre.clone(), new float[n * hidden]), actual = new LstmSaved(pre.clone(), new float[n * hidden]);
            float[] hcExpected = new float[n * 2 * hidden], hcActual = new float[n * 2 * hidden];
            RecurrentKernels.lstmGates(hcExpected, expected, cPrev, n, hidden);
            SimdRecurrent.lstmGates(hcActual, actual, cPrev, n, hidden);
            assertClose(hcExpected, hcActual, "[h | c]");
            assertClose(expected.gates(), actual.gates(), "gates");
            assertClose(expected.tanhC(), actual.tanhC(), "tanh(c)");
        });
    }

    @ParameterizedTest(name = "n={0} hidden={1} threads={2}")
    @CsvSource({"64, 64, 2", "3, 5, 1", "5, 16, 2", "2, 37, 2", "7, 32, 1", "1, 1, 2"})
    void gatesBackwardGiveTheScalarBits(int n, int hidden, int threads) {
        withThreads(threads, () -> {
            SplittableRandom rnd = new SplittableRandom(n * 7L + hidden);
            for (boolean optional : new boolean[] {true, false}) { // with and without dgx, dhPrev, dcPrev
                GruSaved gs = new GruSaved(values(rnd, n * hidden), values(rnd, n * hidden), values(rnd, n * hidden), values(rnd, n * hidden));
                float[] dh = values(rnd, n * hidden), hPrev = values(rnd, n * hidden);
                float[] dgx = values(rnd, n * 3 * hidden), dhPrev = values(rnd, n * hidden);
                float[] dghE = new float[n * 3 * hidden], dghA = new float[n * 3 * hidden];
                float[] dgxE = optional ? dgx.clone() : null, dgxA = optional ? dgx.clone() : null;
                float[] dhPrevE = optional ? dhPrev.clone() : null, dhPrevA = optional ? dhPrev.clone() : null;
                RecurrentKernels.gruGatesBackward(dghE, dgxE, dhPrevE, dh, gs, hPrev, n, hidden);
                SimdRecurrent.gruGatesBackward(dghA, dgxA, dhPrevA, dh, gs, hPrev, n, hidden);
                assertBits(dghE, dghA, "GRU dgh");
                if (optional) {
                    assertBits(dgxE, dgxA, "GRU dgx");
                    assertBits(dhPrevE, dhPrevA, "GRU dhPrev");
                }
                LstmSaved ls = new LstmSaved(values(rnd, n * 4 * hidden), values(rnd, n * hidden));
                float[] dhc = values(rnd, n * 2 * hidden), cPrev = values(rnd, n * hidden), dcPrev = values(rnd, n * hidden);
                float[] dpreE = new float[n * 4 * hidden], dpreA = new float[n * 4 * hidden];
                float[] dcE = optional ? dcPrev.clone() : null, dcA = optional ? dcPrev.clone() : null;
                RecurrentKernels.lstmGatesBackward(dpreE, dcE, dhc, ls, cPrev, n, hidden);
                SimdRecurrent.lstmGatesBackward(dpreA, dcA, dhc, ls, cPrev, n, hidden);
                assertBits(dpreE, dpreA, "LSTM dpre");
                if (optional) assertBits(dcE, dcA, "LSTM dcPrev");
            }
        });
    }

    private static void assertBits(float[] expected, float[] actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), // every NaN as one (which operand's NaN an addition keeps is the hardware's choice)
                    what + ": index " + i + " expected " + expected[i] + " got " + actual[i]);
        }
    }

    @org.junit.jupiter.api.Test
    void expTanhAndSigmoidAreWithinTwoUlpsOfMathsOnADenseGrid() {
        int count = 20_000 * SimdRecurrent.VL;
        float[] x = new float[count];
        for (int i = 0; i < count; i++) x[i] = -110f + 196f * i / count; // −110 .. 86, step ~0.00061
        for (String f : new String[] {"exp", "tanh", "sigmoid"}) {
            for (int i = 0; i < count; i += SimdRecurrent.VL) {
                jdk.incubator.vector.FloatVector v = jdk.incubator.vector.FloatVector.fromArray(SimdRecurrent.S, x, i);
                float[] got = (f.equals("exp") ? SimdRecurrent.exp(v) : f.equals("tanh") ? SimdRecurrent.tanh(v) : SimdRecurrent.sigmoid(v)).toArray();
                for (int k = 0; k < got.length; k++) {
                    float xi = x[i + k];
                    float want = f.equals("exp") ? (float) Math.exp(xi) : f.equals("tanh") ? (float) Math.tanh(xi) : RecurrentKernels.sigmoid(xi);
                    // 2 ulps of the result, or of the smallest normal float where the result is subnormal
                    double ulps = Math.abs(want - got[k]) / Math.ulp(Math.max(Math.abs(want), Float.MIN_NORMAL));
                    assertTrue(ulps <= 2, f + "(" + xi + "): expected " + want + " got " + got[k] + " (" + ulps + " ulps)");
                }
            }
        }
    }

    private static GruSaved saved(int n, int hidden) {
        int s = n * hidden;
        return new GruSaved(new float[s], new float[s], new float[s], new float[s]);
    }

    /** Pre-activations from tiny to saturating (|v| up to 100), with ±0, ±∞ and NaN sprinkled in. */
    private static float[] values(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        float[] special = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1e-30f, -1e-30f, 88.5f, -88.5f, 20f, -20f};
        for (int i = 0; i < n; i++) {
            int pick = rnd.nextInt(20);
            v[i] = pick < special.length && rnd.nextInt(4) == 0 ? special[pick]
                    : (float) (rnd.nextDouble(-1, 1) * Math.pow(10, rnd.nextInt(-3, 3)));
        }
        return v;
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (Float.isNaN(e) || Float.isInfinite(e)) { // NaN stays NaN, ±∞ (relu's) is exact
                assertTrue(Float.isNaN(e) ? Float.isNaN(a) : e == a, what + ": index " + i + " expected " + e + " got " + a);
                continue;
            }
            double d = Math.abs(e - a), tol = TOL * Math.max(1, Math.abs(e));
            assertTrue(d <= tol || d <= 2 * Math.ulp(e) || d <= 1e-30, what + ": index " + i + " expected " + e + " got " + a + " (|diff| " + d + ")");
        }
    }

    private static void withThreads(int threads, Runnable body) {
        int before = Parallel.threads();
        Parallel.setThreads(threads);
        try {
            body.run();
        } finally {
            Parallel.setThreads(before);
        }
    }
}
