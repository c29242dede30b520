package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The warm-up thread swallows its errors (it is best effort), so its body is run here where they would show: every
 * kernel it calls must accept the shapes it passes. And it must not disturb a result computed beside it.
 */
class SimdWarmUpTest {
    @Test
    void everyKernelAcceptsTheWarmUpShapes() {
        assertDoesNotThrow(() -> SimdWarmUp.run(0, 2));
    }

    @Test
    void aProductBesideTheWarmUpIsUnchanged() throws InterruptedException {
        // 192×144×160: over SimdGemm.PARALLEL_FLOPS, so it takes the shared pool, which the warm-up's pooling kernels use too
        int m = 192, n = 144, k = 160;
        float[] a = new float[m * k], b = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (i % 13) - 6;
        for (int i = 0; i < b.length; i++) b[i] = (i % 7) - 3;
        float[] alone = new float[m * n], beside = new float[m * n];
        SimdGemm.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, alone, 0, n, false);
        Thread warm = new Thread(() -> SimdWarmUp.run(200_000_000L, 50));
        warm.start();
        for (int i = 0; i < 20; i++) {
            java.util.Arrays.fill(beside, Float.NaN);
            SimdGemm.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, beside, 0, n, false);
            assertEquals(0, Arrays.compare(alone, beside), "product " + i + " while the warm-up ran");
        }
        warm.join();
    }
}
