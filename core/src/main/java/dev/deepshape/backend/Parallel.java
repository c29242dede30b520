package dev.deepshape.backend;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.ArrayList;
import java.util.List;

/**
 * The one persistent thread pool every kernel shares. {@code --threads N} sets its size; the calling thread does
 * one share of the work itself, so N threads means N-1 workers. Nested calls run on the calling thread.
 *
 * <p>Thread-safe: any number of threads may call {@link #forRange} at once (each waits only for its own chunks;
 * workers never wait, so callers cannot deadlock one another), and {@link #setThreads} may run meanwhile (calls
 * already under way finish on the old pool or, once it is shut down, on their own thread).
 */
public final class Parallel {
    private Parallel() {}

    /** A range task: handles items {@code [from, to)}. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    private static volatile int threads = defaultThreads();
    private static volatile ExecutorService pool;
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);

    private static int defaultThreads() {
        String env = System.getenv("DEEPSHAPE_THREADS");
        if (env != null && !env.isBlank()) {
            try {
                int n = Integer.parseInt(env.trim());
                if (n >= 1) return n;
            } catch (NumberFormatException ignored) {
                // fall through to the core count; the CLI validates --threads itself
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    public static int threads() { return threads; }

    /** Sets the number of threads kernels use (1 = everything on the calling thread). */
    public static synchronized void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("threads must be >= 1, got " + n);
        if (n != threads && pool != null) {
            pool.shutdown();
            pool = null;
        }
        threads = n;
    }

    private static synchronized ExecutorService pool() {
        if (pool == null) {
            AtomicInteger id = new AtomicInteger();
            pool = Executors.newFixedThreadPool(Math.max(1, threads - 1), r -> {
                Thread t = new Thread(r, "deepshape-worker-" + id.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        return pool;
    }

    /**
     * Splits {@code [0, n)} into at most {@link #threads()} contiguous chunks of at least {@code grain} items and runs
     * them in parallel; returns when all are done.
     */
    public static void forRange(int n, int grain, Range task) {
        int chunks = Math.min(threads, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1 || INSIDE.get()) {
            if (n > 0) task.run(0, n);
            return;
        }
        ExecutorService ex = pool();
        List<Future<?>> futures = new ArrayList<>(chunks - 1);
        for (int c = 1; c < chunks; c++) {
            int from = (int) ((long) n * c / chunks);
            int to = (int) ((long) n * (c + 1) / chunks);
            Runnable chunk = () -> {
                INSIDE.set(true);
                try {
                    task.run(from, to);
                } finally {
                    INSIDE.set(false);
                }
            };
            try {
                futures.add(ex.submit(chunk));
            } catch (java.util.concurrent.RejectedExecutionException shutDown) {
                // NOTE: another thread called setThreads and shut this pool down after we took it; the chunk runs
                // here instead, so kernels stay correct while the thread count changes under them.
                chunk.run();
            }
        }
        INSIDE.set(true);
        try {
            task.run(0, (int) ((long) n / chunks));
        } finally {
            INSIDE.set(false);
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a kernel", e);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof RuntimeException re) throw re;
                if (cause instanceof Error err) throw err;
                throw new IllegalStateException(cause);
            }
        }
    }
}
