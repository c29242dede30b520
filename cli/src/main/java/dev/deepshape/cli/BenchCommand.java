package dev.deepshape.cli;

import dev.deepshape.backend.Backends;
import dev.deepshape.io.Json;
import dev.deepshape.nn.Module;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.tensor.Rng;
import dev.deepshape.train.Bench;
import dev.deepshape.train.EpochBench;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code deepshape bench}: per-layer forward/backward times with their GFLOP/s, the optimiser step, training and
 * inference throughput, the implied epoch time and the machine's GEMM rate; with {@code --epoch}, one real epoch on
 * preloaded MNIST (the deepshape column of {@code bench/compare.sh}).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Times the model layer by layer on a random batch: forward and backward of every layer with the GFLOP/s it reaches",
                "(FLOPs from the shape rules, as 'summary' counts them), the loss, the Adam step, a whole training step, inference,",
                "the epoch time for 60,000 samples, and the measured square-sgemm rate with the 'GEMM floor' it implies.",
                "A layer's backward is timed by cutting the graph after every layer (each layer's output becomes a leaf) and running",
                "the backward pass segment by segment; the training step and the epoch time are measured uncut.",
                "With --epoch: trains one real epoch on preloaded MNIST (batch 64, Adam 1e-3) and tests on the 10,000 test images."})
public final class BenchCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec cmd;

    @Mixin ModelOptions options;

    @Mixin DeviceOption device;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "64", description = "the batch (replaces the input's first dimension; default ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--threads", paramLabel = "N", description = "threads the kernels use (default: the number of cores, or DEEPSHAPE_THREADS)")
    Integer threads;

    @Option(names = "--backend", paramLabel = "NAME", description = "the kernels: reference, simd or cuda (default: the one --device picks, or DEEPSHAPE_BACKEND)")
    String backend;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "5", description = "untimed steps first (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--iterations", paramLabel = "N", defaultValue = "20", description = "timed steps; figures are their medians (default ${DEFAULT-VALUE})")
    int iterations;

    @Option(names = "--gemm-seconds", paramLabel = "S", defaultValue = "1", description = "seconds spent measuring the sgemm rate per thread count; 0 skips it (default ${DEFAULT-VALUE})")
    double gemmSeconds;

    @Option(names = "--json", description = "print the figures as JSON")
    boolean json;

    @Option(names = "--epoch", description = "train one real epoch on MNIST (preloaded) and test it, instead of the per-layer figures")
    boolean epoch;

    @Option(names = "--data", paramLabel = "DIR", description = "with --epoch: the folder with the MNIST IDX files (.gz or raw; default: $DEEPSHAPE_DATA, else ./data)")
    Path data;

    @Option(names = "--order", paramLabel = "FILE", description = "with --epoch: the training order, int32 little-endian indices (as bench/compare.sh writes); default: a seeded shuffle")
    Path order;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "0", description = "with --epoch: the seed of the initial weights and the default shuffle (default ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() throws IOException {
        if (epoch) device.selectAny();
        else device.select();
        CommandLine cl = cmd.commandLine();
        if (batchSize < 1) throw new CommandLine.ParameterException(cl, "--batch-size must be >= 1, got " + batchSize);
        if (threads != null && threads < 1) throw new CommandLine.ParameterException(cl, "--threads must be >= 1, got " + threads);
        if (warmup < 0) throw new CommandLine.ParameterException(cl, "--warmup must be >= 0, got " + warmup);
        if (iterations < 1) throw new CommandLine.ParameterException(cl, "--iterations must be >= 1, got " + iterations);
        if (!(gemmSeconds >= 0)) throw new CommandLine.ParameterException(cl, "--gemm-seconds must be >= 0, got " + gemmSeconds);
        if (!epoch && (data != null || order != null)) throw new CommandLine.ParameterException(cl, (data != null ? "--data" : "--order") + " needs --epoch");
        if (backend != null) {
            try {
                Backends.use(backend);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cl, "--backend: " + e.getMessage());
            }
        }
        int nThreads = threads != null ? threads : dev.deepshape.backend.Parallel.threads();
        ModelSpec spec = options.load(cl);
        int[] input = spec.inputShape(options.input(cl));
        input[0] = batchSize;
        PrintWriter out = cl.getOut();
        if (epoch) return epoch(cl, spec, input, nThreads, out);
        cl.getErr().println("deepshape bench: " + spec.source() + " on " + Backends.current().name() + ", " + nThreads + " thread(s), "
                + warmup + " + " + iterations + " steps of " + Dims.str(input) + "...");
        if (Backends.current().usesDevice()) {
            cl.getErr().println("deepshape bench: NOTE: on the " + Backends.current().name() + " backend each layer's call copies its operands to the GPU and back, and these "
                    + "per-layer figures time that; --epoch times the model trained whole on the GPU, as train runs it");
        }
        Bench.Result r = Bench.run(spec, input, new Bench.Config(warmup, iterations, nThreads, gemmSeconds));
        out.print(json ? Json.write(r.toJson()) + "\n" : r.text());
        out.flush();
        return 0;
    }

    private int epoch(CommandLine cl, ModelSpec spec, int[] input, int nThreads, PrintWriter out) throws IOException {
        int[] sample = Arrays.copyOfRange(input, 1, input.length);
        int[] outShape = ShapeAnalysis.of(spec, input).output();
        if (!Arrays.equals(sample, new int[] {1, 28, 28}) || outShape.length != 2 || outShape[1] != 10) {
            throw new CommandLine.ParameterException(cl, "--epoch trains on MNIST: the model must take (N, 1, 28, 28) and give (N, 10) logits; "
                    + spec.source() + " takes " + Dims.str(input) + " and gives " + Dims.str(outShape));
        }
        dev.deepshape.backend.Backends.current().warmUp(); // kernels compiled while MNIST loads
        Path dir = dev.deepshape.data.Mnist.dataDir(data == null ? null : data.toString());
        EpochBench.Mnist mnist;
        try {
            mnist = EpochBench.Mnist.load(dir);
        } catch (dev.deepshape.data.Mnist.MissingDataException e) {
            throw new CommandLine.ParameterException(cl, e.getMessage());
        }
        int[] visit = order != null ? EpochBench.readOrder(order) : shuffled(mnist.trainLabels().length, seed);
        Rng.manualSeed(seed);
        // the built-in model as its own class (the CUDA backend trains it whole on the GPU), a spec as its Sequential
        Module model = options.builtin() ? new dev.deepshape.nn.CombinedModel() : ModelBuilder.build(spec);
        if (backend == null) CliSupport.preferWhole(device.device, Backends.current(), model, null, System.err, "bench --epoch");
        cl.getErr().println("deepshape bench --epoch: " + spec.source() + " on " + visit.length + " images from " + dir + ", " + Backends.current().name()
                + " backend, " + nThreads + " thread(s)...");
        EpochBench.Result r = EpochBench.run(model, mnist.train(), visit, mnist.test(), sample, batchSize, nThreads);
        out.print(json ? Json.write(r.toJson()) + "\n" : r.text());
        out.flush();
        return 0;
    }

    /** A Fisher–Yates shuffle of 0..n-1 with a seeded generator. */
    private static int[] shuffled(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        Rng rng = new Rng(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }
}
