package dev.deepshape.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line live progress bar for a terminal, redrawn in place with {@code \r} at most ten times a second:
 * {@code Epoch 1/5 [=========>          ] 412/938  1,873 samples/s  loss 0.2213  acc 93.12%  ETA 0:28}.
 * Only shown when the program runs on a console; redirected output gets the plain lines alone.
 */
final class ProgressBar {
    private static final int WIDTH = 24;
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream out;
    private String prefix = "";
    private int total;
    private long start;
    private long lastDraw;
    private int lastLength;

    ProgressBar(PrintStream out) { this.out = out; }

    void start(String prefix, int total) {
        this.prefix = prefix;
        this.total = total;
        this.start = System.nanoTime();
        this.lastDraw = 0;
    }

    void update(int done, int samples, double loss, double accuracy) {
        long now = System.nanoTime();
        if (done < total && now - lastDraw < REDRAW_NANOS) return;
        lastDraw = now;
        double elapsed = (now - start) / 1e9;
        double rate = elapsed > 0 ? samples / elapsed : 0;
        double eta = done > 0 ? elapsed * (total - done) / done : 0;
        int filled = total == 0 ? WIDTH : (int) ((long) WIDTH * done / total);
        String bar = "=".repeat(filled) + (filled < WIDTH ? ">" + " ".repeat(WIDTH - filled - 1) : "");
        String line = String.format(Locale.ROOT, "%s [%s] %d/%d  %,.0f samples/s  loss %.4f  acc %.2f%%  ETA %s",
                prefix, bar, done, total, rate, loss, accuracy, clock(eta));
        int pad = Math.max(0, lastLength - line.length());
        out.print("\r" + line + " ".repeat(pad));
        out.flush();
        lastLength = line.length();
    }

    /** Erases the bar so the next line starts clean. */
    void clear() {
        if (lastLength == 0) return;
        out.print("\r" + " ".repeat(lastLength) + "\r");
        out.flush();
        lastLength = 0;
    }

    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
