package dev.deepshape.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The shared pool under many callers at once, while another thread keeps changing the thread count. */
class ParallelConcurrencyTest {
    // c is (m, n): the threaded sgemm against the naive one, from 8 threads at once.
    @Test
    void eightCallersAndSetThreadsMeanwhile() throws Exception {
        int m = 96, n = 80, k = 300;
        SplittableRandom r = new SplittableRandom(1);
        float[] a = new float[m * k], b = new float[k * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextDouble(-1, 1);
        for (int i = 0; i < b.length; i++) b[i] = (float) r.nextDouble(-1, 1);
        float[] expected = new float[m * n];
        MatmulKernels.sgemmNaive(false, false, m, n, k, a, 0, k, b, 0, n, expected, 0, n, false);
        ExecutorService callers = Executors.newFixedThreadPool(9);
        try {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                fs.add(callers.submit(() -> {
                    for (int rep = 0; rep < 40; rep++) {
                        float[] c = new float[m * n];
                        MatmulKernels.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, c, 0, n, false);
                        // NOTE: the blocked kernel may sum in another order than the naive one: a float tolerance.
                        for (int i = 0; i < c.length; i++) assertEquals(expected[i], c[i], 1e-4, "element " + i);
                    }
                    return null;
                }));
            }
            fs.add(callers.submit(() -> {
                for (int rep = 0; rep < 60; rep++) {
                    Parallel.setThreads(1 + rep % 4);
                    Thread.sleep(2);
                }
                return null;
            }));
            for (Future<?> f : fs) f.get();
        } finally {
            callers.shutdownNow();
            Parallel.setThreads(2);
        }
    }
}
