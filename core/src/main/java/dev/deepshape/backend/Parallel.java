package dev.deepshape.backend;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The one persistent thread pool every kernel shares. {@code --threads N} sets its size; the calling thread works
 * too, so N threads means N-1 workers. Nested calls run on the calling thread.
 *
 * <p>How work is handed out: {@link #forRange} cuts {@code [0, n)} into chunks whose boundaries depend only on
 * {@code n}, the grain and the thread count, and calls the task once per chunk. The threads claim chunks from a
 * shared counter (dynamic scheduling): the caller starts on chunk 0 at once, and a worker that the OS has not yet
 * scheduled (the machine is shared) simply finds fewer chunks left, instead of holding the whole call up as a
 * static half-and-half split did. Since every call covers exactly one chunk, whichever thread runs it, a kernel that
 * keeps one partial sum per chunk and adds them in chunk order gets the same bits on every run with the same thread
 * count.
 */
public final class Parallel {
    private Parallel() {}

    /** A range task: handles items {@code [from, to)}. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** Chunks per thread a range is cut into at most, so that a late or slow thread leaves little for the others to wait on. */
    public static final int CHUNKS_PER_THREAD = 4;
    /** How long an idle worker (or a caller waiting for the last chunk) spins before it parks. */
    private static final long SPIN_NANOS = 50_000;

    private static volatile int threads = defaultThreads();
    private static volatile Pool pool;
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> false);
    /** One parallel call at a time: a second top-level caller waits for the first. */
    private static final Object DISPATCH = new Object();

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
    public static void setThreads(int n) {
        if (n < 1) throw new IllegalArgumentException("threads must be >= 1, got " + n);
        synchronized (DISPATCH) {
            if (n != threads && pool != null) {
                pool.shutdown();
                pool = null;
            }
            threads = n;
        }
    }

    /**
     * The chunks {@link #forRange} cuts {@code n} items into: at most {@link #CHUNKS_PER_THREAD}·threads, each of at
     * least {@code grain} items (a single chunk when one thread runs, or when n < 2·grain).
     */
    public static int chunks(int n, int grain) {
        int t = threads;
        if (t <= 1 || n <= 0) return 1;
        return (int) Math.min(Math.max(1, n / Math.max(1, grain)), (long) t * CHUNKS_PER_THREAD);
    }

    /**
     * Runs {@code task} over {@code [0, n)} cut into {@link #chunks}{@code (n, grain)} contiguous chunks, chunk
     * {@code c} being {@code [n·c/chunks, n·(c+1)/chunks)}, spread over the pool; returns when all are done. Inside
     * another parallel call (nested) it runs {@code task.run(0, n)} once on the calling thread.
     */
    public static void forRange(int n, int grain, Range task) {
        if (n <= 0) return;
        int chunks = chunks(n, grain);
        if (chunks <= 1 || INSIDE.get()) {
            task.run(0, n);
            return;
        }
        synchronized (DISPATCH) {
            Pool p = pool;
            if (p == null || p.workers.length != threads - 1) {
                if (p != null) p.shutdown();
                pool = p = new Pool(threads - 1);
            }
            p.run(new Job(task, n, chunks, Thread.currentThread()));
        }
    }

    /** One parallel call: its chunks, the claim counter and the count of finished chunks. */
    private static final class Job {
        final Range task;
        final int n, chunks;
        final Thread caller;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable error;

        Job(Range task, int n, int chunks, Thread caller) {
            this.task = task;
            this.n = n;
            this.chunks = chunks;
            this.caller = caller;
        }

        /** Claims and runs chunks until none is left. */
        void work() {
            boolean outer = INSIDE.get();
            INSIDE.set(true);
            try {
                for (int c; (c = next.getAndIncrement()) < chunks; ) {
                    try {
                        if (error == null) task.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                    } catch (Throwable e) {
                        if (error == null) error = e;
                    }
                    if (done.incrementAndGet() == chunks && Thread.currentThread() != caller) LockSupport.unpark(caller);
                }
            } finally {
                INSIDE.set(outer);
            }
        }
    }

    /** The workers: each waits for the next job (spinning briefly, then parked) and claims chunks of it. */
    private static final class Pool {
        final Thread[] workers;
        volatile Job job;
        volatile boolean stopped;
        /** Bumped for every job, so a worker never runs the same job twice. */
        volatile long generation;

        Pool(int n) {
            workers = new Thread[n];
            for (int i = 0; i < n; i++) {
                Thread t = new Thread(this::loop, "deepshape-worker-" + (i + 1));
                t.setDaemon(true);
                workers[i] = t;
                t.start();
            }
        }

        void run(Job j) {
            job = j;
            generation++; // NOTE: only the dispatching thread (holding DISPATCH) writes it
            for (Thread w : workers) LockSupport.unpark(w);
            j.work();
            // the caller ran out of chunks to claim; wait for the workers' chunks in flight
            long spinUntil = System.nanoTime() + SPIN_NANOS;
            while (j.done.get() < j.chunks) {
                if (System.nanoTime() < spinUntil) Thread.onSpinWait();
                else LockSupport.parkNanos(j, 100_000);
            }
            job = null;
            Throwable e = j.error;
            if (e instanceof RuntimeException re) throw re;
            if (e instanceof Error err) throw err;
            if (e != null) throw new IllegalStateException(e);
        }

        void loop() {
            long seen = 0;
            while (!stopped) {
                long spinUntil = System.nanoTime() + SPIN_NANOS;
                while (generation == seen && !stopped) {
                    if (System.nanoTime() < spinUntil) Thread.onSpinWait();
                    else LockSupport.park(this);
                }
                if (stopped) return;
                seen = generation;
                Job j = job;
                if (j != null) j.work();
            }
        }

        void shutdown() {
            stopped = true;
            for (Thread w : workers) LockSupport.unpark(w);
        }
    }
}
