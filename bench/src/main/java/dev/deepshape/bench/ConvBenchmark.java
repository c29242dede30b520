package dev.deepshape.bench;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Conv2dGeometry;
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
 * The convolution kernels of the reference model at batch 64 (conv1: 1→32 on 28×28, conv2: 32→64 on 14×14, both
 * 3×3 padding 1; deconv: ConvTranspose2d 64→32, kernel 2 stride 2 on 7×7), forward and backward (dX, dW, db), on
 * the reference and the Vector API backends. Run with {@code bench/jmh.sh Conv}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
public class ConvBenchmark {
    @Param({"conv1", "conv2", "deconv"})
    public String layer;

    @Param({"reference", "simd"})
    public String backend;

    @Param({"2"})
    public int threads;

    private Backend b;
    private Conv2dGeometry g;
    private boolean transposed;
    private float[] x, weight, bias, out, dx, dweight, dbias, dout;

    @Setup
    public void setup() {
        int[] one = {1, 1}, zero = {0, 0}, two = {2, 2};
        switch (layer) {
            case "conv1" -> g = Conv2dGeometry.conv(64, 1, 28, 28, 32, 3, 3, one, one, one, one, 1);
            case "conv2" -> g = Conv2dGeometry.conv(64, 32, 14, 14, 64, 3, 3, one, one, one, one, 1);
            case "deconv" -> {
                g = Conv2dGeometry.transposed(64, 64, 7, 7, 32, 2, 2, two, zero, zero, one, 1);
                transposed = true;
            }
            default -> throw new IllegalArgumentException("unknown layer " + layer);
        }
        b = Backends.byName(backend);
        Parallel.setThreads(threads);
        SplittableRandom rnd = new SplittableRandom(3);
        // For a transposed convolution g describes the convolution out → x: x is g's output side, out its input side.
        int xSize = g.n() * (transposed ? g.oc() * g.oh() * g.ow() : g.c() * g.h() * g.w());
        int outSize = g.n() * (transposed ? g.c() * g.h() * g.w() : g.oc() * g.oh() * g.ow());
        x = GemmBenchmark.random(rnd, xSize);
        weight = GemmBenchmark.random(rnd, g.oc() * g.cg() * g.kh() * g.kw());
        bias = GemmBenchmark.random(rnd, transposed ? g.c() : g.oc());
        out = new float[outSize];
        dout = GemmBenchmark.random(rnd, outSize);
        dx = new float[xSize];
        dweight = new float[weight.length];
        dbias = new float[bias.length];
    }

    @Benchmark
    public float[] forward() {
        if (transposed) b.convTranspose2dForward(out, x, weight, bias, g);
        else b.conv2dForward(out, x, weight, bias, g);
        return out;
    }

    @Benchmark
    public float[] backward() {
        // NOTE: the gradients accumulate (+=) call after call; only the time matters here.
        if (transposed) b.convTranspose2dBackward(dx, dweight, dbias, dout, x, weight, g);
        else b.conv2dBackward(dx, dweight, dbias, dout, x, weight, g);
        return dweight;
    }
}
