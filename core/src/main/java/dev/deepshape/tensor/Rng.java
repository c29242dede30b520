package dev.deepshape.tensor;

import java.util.random.RandomGenerator;

/**
 * deepshape's seeded random generator (xoshiro256**, seeded through SplitMix64). Its whole state is four longs, so a
 * checkpoint can save it and a resumed run continues the same stream. {@link #global()} is the default generator that
 * initialisation and dropout draw from, as PyTorch's default generator; {@link #manualSeed} reseeds it.
 */
public final class Rng implements RandomGenerator {
    private long s0, s1, s2, s3;

    private static final Rng GLOBAL = new Rng(0x5DEECE66DL);

    public Rng(long seed) { seed(seed); }

    private Rng(long[] state) { setState(state); }

    /** The default generator. */
    public static Rng global() { return GLOBAL; }

    /** Reseeds the default generator, as {@code torch.manual_seed}. */
    public static void manualSeed(long seed) { GLOBAL.seed(seed); }

    public synchronized void seed(long seed) {
        long x = seed;
        s0 = splitMix(x += 0x9E3779B97F4A7C15L);
        s1 = splitMix(x += 0x9E3779B97F4A7C15L);
        s2 = splitMix(x += 0x9E3779B97F4A7C15L);
        s3 = splitMix(x + 0x9E3779B97F4A7C15L);
    }

    private static long splitMix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public synchronized long nextLong() {
        long result = Long.rotateLeft(s1 * 5, 7) * 9;
        long t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = Long.rotateLeft(s3, 45);
        return result;
    }

    /** The four state words, for checkpoints. */
    public synchronized long[] state() { return new long[] {s0, s1, s2, s3}; }

    public synchronized void setState(long[] state) {
        if (state.length != 4) throw new IllegalArgumentException("Rng state has 4 words, got " + state.length);
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3];
    }

    /** An independent generator with a copy of this state. */
    public Rng copy() { return new Rng(state()); }
}
