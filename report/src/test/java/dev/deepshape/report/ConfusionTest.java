package dev.deepshape.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Rows are the truth, columns the prediction; precision per column, recall per row (worked by hand). */
class ConfusionTest {
    static RunMetrics.Prediction p(int i, int label, int predicted) { return new RunMetrics.Prediction(i, label, predicted, 0.9); }

    @Test
    void countsPrecisionAndRecall() {
        // three 0s (two right, one called 1), two 1s (both right), one 2 called 0; nothing is a 3
        Confusion c = Confusion.of(List.of(p(0, 0, 0), p(1, 0, 0), p(2, 0, 1), p(3, 1, 1), p(4, 1, 1), p(5, 2, 0)), 4);
        assertEquals(2, c.counts()[0][0]);
        assertEquals(1, c.counts()[0][1]);
        assertEquals(1, c.counts()[2][0]);
        assertEquals(6, c.total());
        assertEquals(4, c.correct());
        assertEquals(3, c.support(0));
        assertEquals(3, c.predictedAs(0));
        assertEquals(2.0 / 3, c.precision(0), 1e-12); // of the three called 0, two are 0
        assertEquals(2.0 / 3, c.recall(0), 1e-12);    // of the three 0s, two were called 0
        assertEquals(2.0 / 3, c.precision(1), 1e-12); // one of the three called 1 is a 0
        assertEquals(1.0, c.recall(1), 1e-12);
        assertEquals(0.0, c.recall(2), 1e-12);
        assertTrue(Double.isNaN(c.precision(2)), "nothing was called 2");
        assertTrue(Double.isNaN(c.recall(3)), "there is no 3");
        assertEquals(1, c.maxOffDiagonal());
    }
}
