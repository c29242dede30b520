package dev.deepshape.report;

import java.util.List;

/**
 * The confusion matrix of a classifier over {@code classes} classes: {@code counts[t][p]} test examples of true class
 * {@code t} were predicted as {@code p} (rows true, columns predicted, as scikit-learn's {@code confusion_matrix}).
 * Precision of class k = counts[k][k] / column k's sum; recall = counts[k][k] / row k's sum; NaN where the sum is 0
 * (scikit-learn reports 0 with a warning there; a blank cell says more).
 */
public record Confusion(int[][] counts) {
    public static Confusion of(List<RunMetrics.Prediction> predictions, int classes) {
        int[][] c = new int[classes][classes];
        for (RunMetrics.Prediction p : predictions) c[p.label()][p.predicted()]++;
        return new Confusion(c);
    }

    public int classes() { return counts.length; }

    public int total() {
        int n = 0;
        for (int[] row : counts) for (int v : row) n += v;
        return n;
    }

    public int correct() {
        int n = 0;
        for (int k = 0; k < counts.length; k++) n += counts[k][k];
        return n;
    }

    /** How many examples of true class {@code k} there are (scikit-learn's "support"). */
    public int support(int k) {
        int n = 0;
        for (int v : counts[k]) n += v;
        return n;
    }

    /** How many examples were predicted as {@code k}. */
    public int predictedAs(int k) {
        int n = 0;
        for (int[] row : counts) n += row[k];
        return n;
    }

    public double precision(int k) { return ratio(counts[k][k], predictedAs(k)); }

    public double recall(int k) { return ratio(counts[k][k], support(k)); }

    /** The largest off-diagonal count: the colour scale of the mistakes. */
    public int maxOffDiagonal() {
        int m = 0;
        for (int t = 0; t < counts.length; t++) for (int p = 0; p < counts.length; p++) if (t != p) m = Math.max(m, counts[t][p]);
        return m;
    }

    private static double ratio(int a, int b) { return b == 0 ? Double.NaN : (double) a / b; }
}
