package dev.deepshape.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The blocked, threaded sgemm against the naive triple loop, on awkward shapes and every transpose variant. */
class MatmulKernelsTest {
    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({"1,1,1", "7,5,3", "33,17,300", "130,1,9", "3,1100,257", "64,128,520", "300,70,600"})
    void blockedMatchesNaive(int m, int n, int k) {
        SplittableRandom rnd = new SplittableRandom(m * 31L + n * 7L + k);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (boolean acc : new boolean[] {false, true}) {
                    int lda = (ta ? m : k) + 2, ldb = (tb ? k : n) + 1, ldc = n + 3;
                    float[] a = random(rnd, (ta ? k : m) * lda + 5);
                    float[] b = random(rnd, (tb ? n : k) * ldb + 5);
                    float[] c1 = random(rnd, m * ldc + 4);
                    float[] c2 = c1.clone();
                    MatmulKernels.sgemmNaive(ta, tb, m, n, k, a, 5, lda, b, 5, ldb, c1, 4 - 4, ldc, acc);
                    MatmulKernels.sgemm(ta, tb, m, n, k, a, 5, lda, b, 5, ldb, c2, 0, ldc, acc);
                    double max = 0;
                    for (int i = 0; i < c1.length; i++) max = Math.max(max, Math.abs(c1[i] - c2[i]));
                    assertTrue(max < 1e-3 * Math.sqrt(k), "transA=" + ta + " transB=" + tb + " acc=" + acc + " max diff " + max);
                }
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }
}
