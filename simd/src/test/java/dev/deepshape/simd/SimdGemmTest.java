package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.MatmulKernels;
import dev.deepshape.backend.Parallel;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The Vector API sgemm against the naive triple loop, on awkward shapes, every transpose variant and both modes. */
class SimdGemmTest {
    /** The pom runs these tests once per tile height; make sure the override reached the kernel. */
    @Test
    void tileRowsFollowTheOverrideOrTheRegisterFile() {
        String forced = System.getProperty("deepshape.simd.mr");
        int expected = forced != null ? Integer.parseInt(forced) : (SimdGemm.VL >= 16 ? 6 : 4);
        assertEquals(expected, SimdGemm.MR);
        assertEquals(0, SimdGemm.MC % SimdGemm.MR, "MC must hold whole tiles");
    }

    // Shapes: trivial; smaller than one tile; one column; primes around MR/NR and the MC/KC blocks; conv1's K=9;
    // a K-split weight gradient; the RNN input projection (column split); rows past MC and columns past NC.
    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({"1,1,1", "7,5,3", "13,1,300", "5,31,7", "6,32,256", "191,33,255", "193,65,257", "197,97,263",
            "61,127,9", "130,1,9", "9,32,6000", "11,17,5003", "64,128,6272", "3,1100,257", "300,70,600",
            "37,4099,19"})
    void matchesNaive(int m, int n, int k) {
        SplittableRandom rnd = new SplittableRandom(m * 31L + n * 7L + k);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (boolean acc : new boolean[] {false, true}) {
                    // Leading dimensions wider than the matrix and non-zero offsets catch index arithmetic slips.
                    int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + 5;
                    int aOff = 7, bOff = 2, cOff = 3;
                    float[] a = random(rnd, aOff + (ta ? k : m) * lda + 4);
                    float[] b = random(rnd, bOff + (tb ? n : k) * ldb + 4);
                    float[] expected = random(rnd, cOff + m * ldc + 6);
                    float[] actual = expected.clone();
                    MatmulKernels.sgemmNaive(ta, tb, m, n, k, a, aOff, lda, b, bOff, ldb, expected, cOff, ldc, acc);
                    SimdGemm.sgemm(ta, tb, m, n, k, a, aOff, lda, b, bOff, ldb, actual, cOff, ldc, acc);
                    assertClose(expected, actual, k, "m=" + m + " n=" + n + " k=" + k + " transA=" + ta
                            + " transB=" + tb + " accumulate=" + acc);
                }
            }
        }
    }

    @Test
    void sameResultOnOneAndTwoThreads() {
        int before = Parallel.threads();
        SplittableRandom rnd = new SplittableRandom(5);
        // One shape per thread split: rows, columns, K.
        int[][] shapes = {{400, 40, 300}, {64, 128, 6272}, {9, 32, 50176}};
        try {
            for (int[] s : shapes) {
                int m = s[0], n = s[1], k = s[2];
                float[] a = random(rnd, k * m), b = random(rnd, k * n);
                float[] expected = new float[m * n];
                MatmulKernels.sgemmNaive(true, false, m, n, k, a, 0, m, b, 0, n, expected, 0, n, false);
                for (int threads : new int[] {1, 2, 3}) {
                    Parallel.setThreads(threads);
                    float[] actual = new float[m * n];
                    SimdGemm.sgemm(true, false, m, n, k, a, 0, m, b, 0, n, actual, 0, n, false);
                    assertClose(expected, actual, k, m + "x" + n + "x" + k + " on " + threads + " threads");
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void emptyKZeroesOrKeepsC() {
        float[] c = {1, 2, 3, 4};
        SimdGemm.sgemm(false, false, 2, 2, 0, new float[0], 0, 1, new float[0], 0, 2, c, 0, 2, true);
        assertEquals(List.of(1f, 2f, 3f, 4f), List.of(c[0], c[1], c[2], c[3]));
        SimdGemm.sgemm(false, false, 2, 2, 0, new float[0], 0, 1, new float[0], 0, 2, c, 0, 2, false);
        assertEquals(List.of(0f, 0f, 0f, 0f), List.of(c[0], c[1], c[2], c[3]));
    }

    @Test
    void serviceLoaderFindsSimdFirst() {
        List<Backend> all = Backends.available();
        assertEquals("simd", all.getFirst().name(), "available backends: " + all.stream().map(Backend::name).toList());
        assertTrue(all.stream().anyMatch(b -> b.name().equals("reference")));
        assertEquals(10, all.getFirst().priority());
    }

    private static void assertClose(float[] expected, float[] actual, int k, String what) {
        double max = 0;
        int where = -1;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            if (d > max || Double.isNaN(d)) {
                max = d;
                where = i;
            }
        }
        // Entries of A and B are in [-1, 1): a sum of k products has float rounding error growing like √k.
        double tol = 2e-5 * Math.sqrt(Math.max(1, k)) + 1e-6;
        assertTrue(max <= tol, what + ": max |diff| " + max + " at index " + where + " > " + tol);
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }
}
