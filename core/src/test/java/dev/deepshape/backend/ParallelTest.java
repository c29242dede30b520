package dev.deepshape.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ParallelTest {
    private int saved;

    @BeforeEach
    void threads() {
        saved = Parallel.threads();
        Parallel.setThreads(3);
    }

    @AfterEach
    void restore() { Parallel.setThreads(saved); }

    @Test
    void everyCallIsExactlyOneFixedChunkWhicheverThreadRunsIt() {
        int n = 1000, grain = 7;
        int chunks = Parallel.chunks(n, grain);
        assertEquals(3 * Parallel.CHUNKS_PER_THREAD, chunks, "at most 4 chunks per thread");
        for (int rep = 0; rep < 50; rep++) {
            ConcurrentLinkedQueue<int[]> calls = new ConcurrentLinkedQueue<>();
            Parallel.forRange(n, grain, (from, to) -> calls.add(new int[] {from, to}));
            List<int[]> sorted = new ArrayList<>(calls);
            sorted.sort((a, b) -> Integer.compare(a[0], b[0]));
            assertEquals(chunks, sorted.size());
            for (int c = 0; c < chunks; c++) {
                assertEquals(n * c / chunks, sorted.get(c)[0], "chunk " + c + " start");
                assertEquals(n * (c + 1) / chunks, sorted.get(c)[1], "chunk " + c + " end");
            }
        }
        assertEquals(1, Parallel.chunks(13, 7), "fewer than two grains: one chunk");
        Parallel.setThreads(1);
        assertEquals(1, Parallel.chunks(n, 1), "one thread: one chunk");
    }

    @Test
    void aNestedCallRunsWholeOnTheCallingThread() {
        List<String> inner = Collections.synchronizedList(new ArrayList<>());
        Parallel.forRange(6, 1, (a, b) -> {
            Thread t = Thread.currentThread();
            Parallel.forRange(100, 1, (c, d) -> inner.add(c + ".." + d + (Thread.currentThread() == t ? "" : " elsewhere")));
        });
        assertEquals(6, inner.size());
        assertTrue(inner.stream().allMatch("0..100"::equals), inner.toString());
    }

    @Test
    void aFailingChunkFailsTheCallAndThePoolCarriesOn() {
        IllegalStateException boom = new IllegalStateException("chunk 5 failed");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(12, 1, (a, b) -> { if (a == 5) throw boom; }));
        assertSame(boom, e);
        long[] sum = new long[12];
        Parallel.forRange(12, 1, (a, b) -> { for (int i = a; i < b; i++) sum[i] = i; });
        long total = 0;
        for (long s : sum) total += s;
        assertEquals(66, total);
    }
}
