package dev.deepshape.bench;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Parallel;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * sgemm of the reference and the Vector API backends on the reference model's GEMM shapes (the transposes its
 * forward and backward passes use) and a square one. Time per call; GFLOP/s = 2·m·n·k / time. Run with
 * {@code bench/jmh.sh Gemm} (see bench/README.md).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class GemmBenchmark {
    /** m×n×k then the transposes of A and B (N or T), as GemmBench names them. */
    @Param({"12544x64x288NT", "3136x128x64NN", "64x128x6272NT", "128x6272x64TN", "9x32x50176TN", "512x512x512NN"})
    public String shape;

    @Param({"reference", "simd"})
    public String backend;

    @Param({"1", "2"})
    public int threads;

    private Backend b;
    private int m, n, k, lda, ldb;
    private boolean transA, transB;
    private float[] a, bm, c;

    @Setup
    public void setup() {
        String[] d = shape.substring(0, shape.length() - 2).split("x");
        m = Integer.parseInt(d[0]);
        n = Integer.parseInt(d[1]);
        k = Integer.parseInt(d[2]);
        transA = shape.charAt(shape.length() - 2) == 'T';
        transB = shape.charAt(shape.length() - 1) == 'T';
        lda = transA ? m : k;
        ldb = transB ? k : n;
        b = Backends.byName(backend);
        Parallel.setThreads(threads);
        SplittableRandom rnd = new SplittableRandom(1);
        a = random(rnd, m * k);
        bm = random(rnd, k * n);
        c = new float[m * n];
    }

    @Benchmark
    public float[] sgemm() {
        b.sgemm(transA, transB, m, n, k, a, 0, lda, bm, 0, ldb, c, 0, n, false);
        return c;
    }

    static float[] random(SplittableRandom rnd, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }
}
