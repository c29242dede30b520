package dev.deepshape.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Where the ops get the arrays of activations, saved tensors and intermediate gradients: {@code new float[n]}, or,
 * inside a training step's {@link #step() scope}, an array of a per-thread pool that the scope takes back when it
 * closes. A step of the same model asks for the same lengths every time, so after the first step the arrays are
 * reused instead of being allocated, zeroed by the JVM, copied by young collections and promoted.
 *
 * <pre>{@code
 * try (Buffers.Scope s = Buffers.step()) {
 *     Tensor logits = model.forward(x);
 *     Tensor loss = lossFn.forward(logits, y);
 *     loss.backward();
 *     optimizer.step();
 *     lossSum += loss.item();                       // read everything needed here:
 *     correct += CrossEntropyLoss.correct(logits, y); // after close, logits' storage belongs to the next step
 * }
 * }</pre>
 *
 * <p>NOTE: nothing handed out inside a scope may be used after it closes: not the graph (no second backward), not
 * the outputs, not the {@code .grad} of a leaf whose own storage was handed out here (a detached activation). A
 * leaf made outside the scope (a parameter, an input) keeps its {@code .grad}: the autograd engine copies an array
 * handed out here instead of adopting it for such a leaf (see {@link #handedOut}). Parameters, their gradients and
 * optimiser state never come from here.
 *
 * <p>Thread-confined: the pool and the scope belong to the thread that opened it; other threads (the backend's
 * workers, an inference thread) get plain {@code new float[n]}. A scope opened inside an open one is a no-op: its
 * arrays belong to the outer scope, which takes them all back.
 */
public final class Buffers {
    private Buffers() {}

    private static final ThreadLocal<Pool> POOL = new ThreadLocal<>();

    /** A scope from {@link #step()}; closing it returns every array handed out in it to the pool. */
    public interface Scope extends AutoCloseable {
        @Override void close();
    }

    /** This thread's arrays: the free ones by length, and those handed out by the open scope. */
    private static final class Pool {
        final Map<Integer, ArrayDeque<float[]>> free = new HashMap<>();
        final Set<float[]> inUse = Collections.newSetFromMap(new IdentityHashMap<>());
        boolean open;
        long reused, allocated;

        float[] take(int n, boolean zero) {
            ArrayDeque<float[]> q = free.get(n);
            float[] a = q == null ? null : q.poll();
            if (a == null) {
                a = new float[n];
                allocated++;
            } else {
                if (zero) Arrays.fill(a, 0f);
                reused++;
            }
            inUse.add(a);
            return a;
        }

        void giveBack() {
            for (float[] a : inUse) free.computeIfAbsent(a.length, k -> new ArrayDeque<>()).push(a);
            inUse.clear();
            open = false;
        }
    }

    private static final Scope NO_OP = () -> {};

    /** Opens a step scope on this thread (a no-op inside one already open). Use with try-with-resources. */
    public static Scope step() {
        Pool p = POOL.get();
        if (p == null) POOL.set(p = new Pool());
        if (p.open) return NO_OP;
        p.open = true;
        Pool pool = p;
        boolean[] closed = {false};
        return () -> { // closing twice gives back once: a second close must not end a later scope
            if (closed[0]) return;
            closed[0] = true;
            pool.giveBack();
        };
    }

    /** A zero-filled array of length {@code n}: from the pool inside a scope on this thread, else {@code new float[n]}. */
    public static float[] zeros(int n) {
        Pool p = POOL.get();
        return p == null || !p.open ? new float[n] : p.take(n, true);
    }

    /**
     * An array of length {@code n} whose contents are undefined (inside a scope: whatever its last use left), for an
     * output that the caller writes in full before anyone reads it (a layer's forward result, a product stored with
     * accumulate = false): it skips {@link #zeros}' fill, which for the reference model's activations is tens of MB
     * per step. StepArenaParityTest (run on every CPU backend) trains with {@link #poison} on, so an element left
     * unwritten turns the loss into NaN.
     */
    public static float[] uninitialized(int n) {
        Pool p = POOL.get();
        float[] a = p == null || !p.open ? new float[n] : p.take(n, false);
        if (poison) Arrays.fill(a, Float.NaN);
        return a;
    }

    private static volatile boolean poison;

    /**
     * For tests: {@link #uninitialized} hands out arrays full of NaN, so an element its caller fails to write shows
     * up in every result it reaches (the reference model's loss).
     */
    public static void poison(boolean on) { poison = on; }

    /** Whether a scope is open on this thread. */
    public static boolean inScope() {
        Pool p = POOL.get();
        return p != null && p.open;
    }

    /** Whether {@code a} was handed out by the scope open on this thread (and so must not outlive it). */
    public static boolean handedOut(float[] a) {
        Pool p = POOL.get();
        return p != null && p.open && p.inUse.contains(a);
    }

    /** Drops this thread's free arrays (after training, so the pool's memory can be collected); not inside a scope. */
    public static void release() {
        Pool p = POOL.get();
        if (p == null) return;
        if (p.open) throw new IllegalStateException("Buffers.release() inside an open step scope");
        POOL.remove();
    }

    /** How many arrays this thread's scopes took from the pool ({@code [0]}) and allocated ({@code [1]}): for tests and benches. */
    public static long[] counts() {
        Pool p = POOL.get();
        return p == null ? new long[2] : new long[] {p.reused, p.allocated};
    }
}
