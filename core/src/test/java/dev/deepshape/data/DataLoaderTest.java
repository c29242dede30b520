package dev.deepshape.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.deepshape.tensor.Rng;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class DataLoaderTest {
    /** n images of 2×2 whose pixels all equal the example's index, labelled index % 10. */
    static Mnist.Dataset numbered(int n) {
        float[] x = new float[n * 4];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            Arrays.fill(x, i * 4, i * 4 + 4, i);
            y[i] = i % 10;
        }
        return new Mnist.Dataset("numbered", x, y, n, 2, 2);
    }

    /** The example indices of every batch of one epoch, read back from the pixels. */
    static List<int[]> epoch(DataLoader loader) {
        List<int[]> out = new ArrayList<>();
        try (DataLoader.Epoch e = loader.epoch()) {
            while (e.hasNext()) {
                DataLoader.Batch b = e.next();
                assertEquals(out.size(), b.index());
                assertArrayEquals(new int[] {b.size(), 1, 2, 2}, b.images().shape());
                int[] ids = new int[b.size()];
                float[] px = b.images().data();
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = (int) px[i * 4];
                    assertEquals(ids[i] % 10, b.labels().get(i), "label travels with its image");
                }
                out.add(ids);
            }
        }
        return out;
    }

    @Test
    void keepsTheLastPartialBatchInOrderWithoutShuffle() {
        DataLoader loader = new DataLoader(numbered(10), 4, false, null);
        assertEquals(3, loader.numBatches());
        List<int[]> batches = epoch(loader);
        assertArrayEquals(new int[] {0, 1, 2, 3}, batches.get(0));
        assertArrayEquals(new int[] {4, 5, 6, 7}, batches.get(1));
        assertArrayEquals(new int[] {8, 9}, batches.get(2));
    }

    @Test
    void shufflesEveryExampleOncePerEpochDifferentlyEachEpoch() {
        DataLoader loader = new DataLoader(numbered(103), 16, true, new Rng(7));
        int[] first = flatten(epoch(loader));
        int[] second = flatten(epoch(loader));
        assertEquals(7, epoch(loader).size());
        for (int[] order : List.of(first, second)) {
            int[] sorted = order.clone();
            Arrays.sort(sorted);
            int[] all = new int[103];
            for (int i = 0; i < all.length; i++) all[i] = i;
            assertArrayEquals(all, sorted);
        }
        assertFalse(Arrays.equals(first, second), "a new order every epoch");
        int[] identity = new int[103];
        for (int i = 0; i < identity.length; i++) identity[i] = i;
        assertFalse(Arrays.equals(first, identity));
    }

    @Test
    void theSeedAndTheSavedStateDetermineTheOrder() {
        DataLoader a = new DataLoader(numbered(50), 8, true, new Rng(3));
        DataLoader b = new DataLoader(numbered(50), 8, true, new Rng(3));
        assertArrayEquals(flatten(epoch(a)), flatten(epoch(b)));
        long[] saved = a.rng().state();
        int[] next = flatten(epoch(a));
        DataLoader resumed = new DataLoader(numbered(50), 8, true, new Rng(99));
        resumed.rng().setState(saved);
        assertArrayEquals(next, flatten(epoch(resumed)));
        assertFalse(Arrays.equals(flatten(epoch(new DataLoader(numbered(50), 8, true, new Rng(4)))), flatten(epoch(b))));
    }

    @Test
    void leavingAnEpochEarlyStopsTheBackgroundThread() {
        DataLoader loader = new DataLoader(numbered(1000), 10, true, new Rng(1));
        DataLoader.Epoch e = loader.epoch();
        e.next();
        e.close();
        assertEquals(100, epoch(loader).size(), "the next epoch still runs");
    }

    @Test
    void rejectsABatchSizeBelowOne() {
        String m = assertThrows(IllegalArgumentException.class, () -> new DataLoader(numbered(3), 0, false, null)).getMessage();
        assertEquals("DataLoader: batch_size should be a positive integer value, but got batch_size=0", m);
    }

    static int[] flatten(List<int[]> batches) {
        return batches.stream().flatMapToInt(Arrays::stream).toArray();
    }
}
