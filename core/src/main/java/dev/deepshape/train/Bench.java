package dev.deepshape.train;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.autograd.Ops;
import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Parallel;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.Sequential;
import dev.deepshape.optim.Adam;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Times one model layer by layer on a random batch: every layer's forward and backward with the GFLOP/s it reaches,
 * the loss, the optimiser step (Adam, lr 1e-3), a whole training step and an inference pass, and the machine's GEMM
 * rate on the backend in use, so the user sees how close to the limit the model runs.
 *
 * <p>How a layer's backward is timed: the forward pass runs layer by layer, and each layer's output is cut from the
 * graph ({@code detach()}) and handed to the next layer as a fresh leaf that requires a gradient. The backward pass
 * then runs segment by segment from the last layer: {@code out_i.backward(leaf_i.grad())} walks exactly the autograd
 * nodes layer {@code i} created and leaves the gradient of its input in {@code leaf_{i-1}.grad()}. Nothing in the
 * kernels or the engine is changed. NOTE: the cut costs one copy of each layer's input gradient (the engine copies
 * a gradient into a leaf's {@code .grad}); that copy is charged to the layer. The whole training step is also timed
 * without cuts ({@link Result#trainStepMs}), and the samples/s and epoch time come from that one.
 *
 * <p>FLOPs per layer come from the shape rules' {@link ShapeRule#cost} as in {@link dev.deepshape.shape.Summary}:
 * forward 2 per weight multiply-add plus 1 per bias addition; backward the weight gradients (2 per multiply-add), the
 * bias gradients (1 per addition) and, for every layer after the first one with parameters, the input gradient (2 per
 * multiply-add). Elementwise work (ReLU, pooling, gates) counts as zero FLOPs, so those layers show no GFLOP/s.
 *
 * <pre>{@code
 * Bench.Result r = Bench.run(ModelSpec.builtin("combined"), new int[] {64, 1, 28, 28}, new Bench.Config(3, 10, 2, 0.3));
 * System.out.print(r.text());
 * }</pre>
 */
public final class Bench {
    private Bench() {}

    /** Samples in one MNIST training epoch, for the implied epoch time. */
    public static final int EPOCH_SAMPLES = 60_000;

    /**
     * @param warmup untimed training steps first (the JIT compiles the kernels); the uncut step takes twice as many
     * @param iterations timed steps; every figure is the median over them
     * @param threads kernel threads ({@link Parallel#setThreads})
     * @param gemmSeconds time spent measuring the square sgemm rate per thread count (0: skip it)
     */
    public record Config(int warmup, int iterations, int threads, double gemmSeconds) {
        public Config {
            if (warmup < 0) throw new IllegalArgumentException("warmup must be >= 0, got " + warmup);
            if (iterations < 1) throw new IllegalArgumentException("iterations must be >= 1, got " + iterations);
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /**
     * The FLOPs of one step of the model for a concrete batch (see the class comment for what counts).
     *
     * @param backwardFlops 0 for a layer that has no backward (no parameters before it or in it)
     */
    public record LayerFlops(int index, String name, String repr, int[] in, int[] out, double forwardFlops, double backwardFlops, boolean hasBackward) {}

    /** One layer's median times (ms) and the FLOPs they did. */
    public record LayerTiming(LayerFlops flops, double forwardMs, double backwardMs) {
        public double forwardGflops() { return gflops(flops.forwardFlops(), forwardMs); }

        public double backwardGflops() { return gflops(flops.backwardFlops(), backwardMs); }
    }

    /** The best square sgemm rate on the backend in use, on one thread and on {@code threads}. */
    public record GemmRate(int size, double gflopsOneThread, int threads, double gflopsThreads) {}

    /** What {@link #run} measured; times are medians in milliseconds. */
    public record Result(String backend, String cpu, int threads, double loadAverage, String model, int[] input, Config config,
                         List<LayerTiming> layers, String lossName, double lossForwardMs, double lossBackwardMs,
                         double optimizerMs, double trainStepMs, double inferenceMs,
                         double forwardFlops, double backwardFlops, GemmRate gemm) {
        public int batch() { return input[0]; }

        public double trainSamplesPerSecond() { return batch() / (trainStepMs / 1e3); }

        public double inferenceSamplesPerSecond() { return batch() / (inferenceMs / 1e3); }

        /** 60,000 samples at the measured training rate. */
        public double epochSeconds() { return EPOCH_SAMPLES / trainSamplesPerSecond(); }

        /** The matrix work of one epoch (forward + backward FLOPs per sample × 60,000) at the measured GEMM rate. */
        public double gemmFloorSeconds() {
            if (gemm == null) return Double.NaN;
            return (forwardFlops + backwardFlops) / batch() * EPOCH_SAMPLES / (gemm.gflopsThreads() * 1e9);
        }

        /** The training step's FLOP rate (forward + backward FLOPs over the whole step's time). */
        public double trainGflops() { return gflops(forwardFlops + backwardFlops, trainStepMs); }

        public String text() { return Bench.text(this); }

        public Map<String, Object> toJson() { return Bench.toJson(this); }
    }

    // ---------------------------------------------------------------- FLOP accounting

    /** The FLOPs of every layer of {@code analysis}, whose input must be concrete (a number for the batch). */
    public static List<LayerFlops> flops(ShapeAnalysis analysis) {
        List<LayerFlops> list = new ArrayList<>();
        boolean gradFlows = false; // whether the layer's input carries a gradient (some earlier layer has parameters)
        for (ShapeAnalysis.Row r : analysis.rows()) {
            ShapeRule.Cost c = r.rule().cost(r.in(), r.out());
            double fwd = 2.0 * c.weightMacs() + c.biasAdds();
            boolean params = r.params() > 0;
            double bwd = params ? 2.0 * c.weightMacs() + c.biasAdds() + (gradFlows ? 2.0 * c.weightMacs() : 0) : 0;
            list.add(new LayerFlops(r.index(), r.name(), r.rule().repr(), r.in(), r.out(), fwd, bwd, params || gradFlows));
            gradFlows |= params;
        }
        return list;
    }

    // ---------------------------------------------------------------- the measurement

    /** Benchmarks {@code spec} on a random batch of shape {@code input} (concrete, batch first) on the backend in use. */
    public static Result run(ModelSpec spec, int[] input, Config config) {
        for (int d : input) {
            if (d < 1) throw new IllegalArgumentException("bench: the input shape " + Dims.str(input) + " must be concrete (give the batch with --batch-size)");
        }
        int before = Parallel.threads();
        Parallel.setThreads(config.threads());
        try {
            return measure(spec, input, config);
        } finally {
            Parallel.setThreads(before);
        }
    }

    private static Result measure(ModelSpec spec, int[] input, Config config) {
        ShapeAnalysis analysis = ShapeAnalysis.of(spec, input);
        List<LayerFlops> flops = flops(analysis);
        Rng.manualSeed(0);
        Sequential model = ModelBuilder.build(spec);
        List<Module> layers = model.layers();
        Rng rng = new Rng(1);
        Tensor x = Tensor.uniform(rng, -1f, 1f, input);
        int[] outShape = analysis.output();
        boolean classifier = outShape.length == 2;
        IntTensor target = null;
        if (classifier) {
            int[] labels = new int[outShape[0]];
            for (int i = 0; i < labels.length; i++) labels[i] = rng.nextInt(outShape[1]);
            target = new IntTensor(labels, new int[] {labels.length});
        }
        Loss loss = classifier ? new CrossEntropy(target) : out -> Ops.mean(out);
        Adam adam = new Adam(model.parameters(), 1e-3f);
        model.train(true);

        int n = layers.size();
        double[][] fwd = new double[n][config.iterations()], bwd = new double[n][config.iterations()];
        double[] lossFwd = new double[config.iterations()], lossBwd = new double[config.iterations()], opt = new double[config.iterations()];
        for (int it = -config.warmup(); it < config.iterations(); it++) {
            // each iteration's activations and gradients come from the step pool, as in training (Buffers)
            try (Buffers.Scope stepScope = Buffers.step()) {
                boolean timed = it >= 0;
                Tensor[] outs = new Tensor[n], leaves = new Tensor[n];
                Tensor h = x;
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    Tensor y = layers.get(i).forward(h);
                    long t1 = System.nanoTime();
                    if (timed) fwd[i][it] = ms(t1 - t0);
                    outs[i] = y;
                    // Cut the graph here: the next layer starts from a leaf, so layer i's backward can be run (and timed) alone.
                    leaves[i] = y.requiresGrad() ? y.detach().requiresGrad(true) : y;
                    h = leaves[i];
                }
                long t0 = System.nanoTime();
                Tensor l = loss.of(h);
                long t1 = System.nanoTime();
                if (l.requiresGrad()) l.backward();
                long t2 = System.nanoTime();
                if (timed) {
                    lossFwd[it] = ms(t1 - t0);
                    lossBwd[it] = ms(t2 - t1);
                }
                for (int i = n - 1; i >= 0; i--) {
                    Tensor g = leaves[i].grad();
                    if (!outs[i].requiresGrad() || g == null) continue;
                    long s0 = System.nanoTime();
                    outs[i].backward(g);
                    long s1 = System.nanoTime();
                    if (timed) bwd[i][it] = ms(s1 - s0);
                }
                long s0 = System.nanoTime();
                adam.step();
                adam.zeroGrad();
                long s1 = System.nanoTime();
                if (timed) opt[it] = ms(s1 - s0);
            }
        }

        // The whole training step, uncut, as training runs it. NOTE: it takes paths the cut steps never did (the
        // gradient flows on from layer to layer into the arena's arrays), which the JIT compiles now: with 2 warm-up
        // steps its first 6-8 steps took 40-200 ms here, a quarter of the timed 20, and the median read 20-27 ms
        // where an epoch's was 16-19. So it warms up twice as long as the cut steps did.
        double[] step = new double[config.iterations()];
        for (int it = -2 * config.warmup(); it < config.iterations(); it++) {
            try (Buffers.Scope stepScope = Buffers.step()) {
                long t0 = System.nanoTime();
                Tensor l = loss.of(model.forward(x));
                if (l.requiresGrad()) l.backward();
                adam.step();
                adam.zeroGrad();
                long t1 = System.nanoTime();
                if (it >= 0) step[it] = ms(t1 - t0);
            }
        }
        // Inference: eval mode, no graph.
        double[] infer = new double[config.iterations()];
        model.eval();
        try (var ignored = Autograd.noGrad()) {
            for (int it = -Math.min(config.warmup(), 2); it < config.iterations(); it++) {
                try (Buffers.Scope batchScope = Buffers.step()) {
                    long t0 = System.nanoTime();
                    model.forward(x);
                    long t1 = System.nanoTime();
                    if (it >= 0) infer[it] = ms(t1 - t0);
                }
            }
        }
        model.train(true);
        if (!Buffers.inScope()) Buffers.release();

        List<LayerTiming> timings = new ArrayList<>();
        double forwardFlops = 0, backwardFlops = 0;
        for (int i = 0; i < n; i++) {
            LayerFlops f = flops.get(i);
            timings.add(new LayerTiming(f, median(fwd[i]), f.hasBackward() ? median(bwd[i]) : 0));
            forwardFlops += f.forwardFlops();
            backwardFlops += f.backwardFlops();
        }
        GemmRate gemm = config.gemmSeconds() > 0 ? gemmRate(Backends.current(), 1024, config.threads(), config.gemmSeconds()) : null;
        return new Result(Backends.current().name(), cpuName(), config.threads(), loadAverage(), spec.source(), input.clone(), config, timings,
                classifier ? "CrossEntropyLoss" : "mean", median(lossFwd), median(lossBwd), median(opt), median(step), median(infer),
                forwardFlops, backwardFlops, gemm);
    }

    private interface Loss {
        Tensor of(Tensor out);
    }

    private record CrossEntropy(IntTensor target) implements Loss {
        private static final CrossEntropyLoss LOSS = new CrossEntropyLoss();

        @Override public Tensor of(Tensor out) { return LOSS.forward(out, target); }
    }

    // ---------------------------------------------------------------- the GEMM rate

    /**
     * The best rate (GFLOP/s) of a square {@code size}³ sgemm (C = A·B, no transposes) on {@code backend}, on one thread
     * and on {@code threads}, each after a warm-up, spending about {@code seconds} per thread count. The best call, not
     * the median: the question is what the machine can do.
     */
    public static GemmRate gemmRate(Backend backend, int size, int threads, double seconds) {
        int before = Parallel.threads();
        try {
            Rng rng = new Rng(7);
            float[] a = Tensor.uniform(rng, -1f, 1f, size, size).data(), b = Tensor.uniform(rng, -1f, 1f, size, size).data();
            float[] c = new float[size * size];
            double one = 0, many = 0;
            for (int t : threads == 1 ? new int[] {1} : new int[] {1, threads}) {
                Parallel.setThreads(t);
                // Warm-up on a smaller size: many calls so that the JIT compiles every path before anything is timed.
                int w = Math.min(size, 256);
                long start = System.nanoTime();
                while (System.nanoTime() - start < seconds * 0.3e9) backend.sgemm(false, false, w, w, w, a, 0, w, b, 0, w, c, 0, w, false);
                long best = Long.MAX_VALUE;
                int calls = 0;
                start = System.nanoTime();
                do {
                    long t0 = System.nanoTime();
                    backend.sgemm(false, false, size, size, size, a, 0, size, b, 0, size, c, 0, size, false);
                    best = Math.min(best, System.nanoTime() - t0);
                    calls++;
                } while (calls < 2 || System.nanoTime() - start < seconds * 0.7e9);
                double rate = 2.0 * size * size * size / best;
                if (t == 1) one = rate;
                many = rate;
            }
            return new GemmRate(size, one, threads, many);
        } finally {
            Parallel.setThreads(before);
        }
    }

    // ---------------------------------------------------------------- machine facts

    /** The CPU's model name from /proc/cpuinfo, else the architecture. */
    public static String cpuName() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).strip() + " (" + Runtime.getRuntime().availableProcessors() + " cores)";
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: fall through
        }
        return System.getProperty("os.arch") + " (" + Runtime.getRuntime().availableProcessors() + " cores)";
    }

    /** The system's 1-minute load average (negative where unknown). */
    public static double loadAverage() { return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(); }

    /** The process's peak resident set (VmHWM of /proc/self/status) in bytes, or -1 where unknown. */
    public static long peakRssBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return -1;
    }

    // ---------------------------------------------------------------- output

    static String text(Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("backend: %s   threads: %d   CPU: %s   load average: %.2f%n", r.backend(), r.threads(), r.cpu(), r.loadAverage()));
        sb.append(String.format("model: %s   input: %s   warm-up %d, median of %d steps%n%n", r.model(), Dims.str(r.input()),
                r.config().warmup(), r.config().iterations()));
        sb.append(String.format("%-4s %-8s %-42s %-18s %10s %9s %10s %9s%n", "#", "layer", "unit", "output", "fwd ms", "GFLOP/s", "bwd ms", "GFLOP/s"));
        double sumF = 0, sumB = 0;
        for (LayerTiming t : r.layers()) {
            LayerFlops f = t.flops();
            sumF += t.forwardMs();
            sumB += t.backwardMs();
            sb.append(String.format("%-4d %-8s %-42s %-18s %10.3f %9s %10s %9s%n", f.index(), clip(f.name(), 8), clip(f.repr(), 42), Dims.str(f.out()),
                    t.forwardMs(), rate(t.forwardGflops()), f.hasBackward() ? String.format("%.3f", t.backwardMs()) : "--",
                    f.hasBackward() ? rate(t.backwardGflops()) : "--"));
        }
        sb.append(String.format("%-4s %-8s %-42s %-18s %10.3f %9s %10.3f %9s%n", "", "loss", r.lossName(), "()", r.lossForwardMs(), "--", r.lossBackwardMs(), "--"));
        sb.append(String.format("%-4s %-8s %-42s %-18s %10s %9s %10.3f %9s%n", "", "optim", "Adam(lr=0.001) step + zero_grad", "", "", "", r.optimizerMs(), ""));
        sb.append(String.format("%-4s %-8s %-42s %-18s %10.3f %9s %10.3f %9s%n%n", "", "layers", "(sum; each layer timed alone, graph cut)", "",
                sumF, rate(gflops(r.forwardFlops(), sumF)), sumB, rate(gflops(r.backwardFlops(), sumB))));
        sb.append(String.format("training step (uncut): %.2f ms = %,.0f samples/s, %.1f GFLOP/s (%.2f MFLOP per sample)%n", r.trainStepMs(),
                r.trainSamplesPerSecond(), r.trainGflops(), (r.forwardFlops() + r.backwardFlops()) / r.batch() / 1e6));
        sb.append(String.format("inference (eval, no grad): %.2f ms = %,.0f samples/s%n", r.inferenceMs(), r.inferenceSamplesPerSecond()));
        sb.append(String.format("epoch of %,d samples at that rate: %.2f s%n", EPOCH_SAMPLES, r.epochSeconds()));
        if (r.gemm() != null) {
            GemmRate g = r.gemm();
            sb.append(String.format("GEMM rate (%s, square %d³ sgemm, best call): %.1f GFLOP/s on 1 thread, %.1f on %d%n", r.backend(), g.size(),
                    g.gflopsOneThread(), g.gflopsThreads(), g.threads()));
            sb.append(String.format("GEMM floor (an epoch's training FLOPs at that rate): %.2f s; the epoch above is %.2f× the floor%n",
                    r.gemmFloorSeconds(), r.epochSeconds() / r.gemmFloorSeconds()));
        }
        return sb.toString();
    }

    static Map<String, Object> toJson(Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("backend", r.backend());
        m.put("cpu", r.cpu());
        m.put("threads", r.threads());
        m.put("load_average", r.loadAverage());
        m.put("model", r.model());
        m.put("input", r.input());
        m.put("warmup", r.config().warmup());
        m.put("iterations", r.config().iterations());
        List<Object> layers = new ArrayList<>();
        for (LayerTiming t : r.layers()) {
            LayerFlops f = t.flops();
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("index", f.index());
            l.put("name", f.name());
            l.put("unit", f.repr());
            l.put("input", f.in());
            l.put("output", f.out());
            l.put("forward_ms", t.forwardMs());
            l.put("forward_flops", f.forwardFlops());
            l.put("forward_gflops", t.forwardGflops());
            l.put("has_backward", f.hasBackward());
            l.put("backward_ms", f.hasBackward() ? t.backwardMs() : null);
            l.put("backward_flops", f.backwardFlops());
            l.put("backward_gflops", f.hasBackward() ? t.backwardGflops() : null);
            layers.add(l);
        }
        m.put("layers", layers);
        m.put("loss", Map.of("name", r.lossName(), "forward_ms", r.lossForwardMs(), "backward_ms", r.lossBackwardMs()));
        m.put("optimizer_ms", r.optimizerMs());
        m.put("train_step_ms", r.trainStepMs());
        m.put("train_samples_per_s", r.trainSamplesPerSecond());
        m.put("train_gflops", r.trainGflops());
        m.put("inference_ms", r.inferenceMs());
        m.put("inference_samples_per_s", r.inferenceSamplesPerSecond());
        m.put("forward_flops", r.forwardFlops());
        m.put("backward_flops", r.backwardFlops());
        m.put("epoch_samples", EPOCH_SAMPLES);
        m.put("epoch_s", r.epochSeconds());
        if (r.gemm() != null) {
            m.put("gemm", Map.of("size", r.gemm().size(), "gflops_1_thread", r.gemm().gflopsOneThread(), "threads", r.gemm().threads(),
                    "gflops", r.gemm().gflopsThreads()));
            m.put("gemm_floor_s", r.gemmFloorSeconds());
        }
        return m;
    }

    // ---------------------------------------------------------------- helpers

    static double gflops(double flops, double ms) { return flops <= 0 || ms <= 0 ? Double.NaN : flops / (ms * 1e6); }

    private static String rate(double gflops) { return Double.isNaN(gflops) ? "--" : String.format("%.1f", gflops); }

    private static String clip(String s, int width) { return s.length() <= width ? s : s.substring(0, width - 1) + "…"; }

    static double ms(long nanos) { return nanos / 1e6; }

    /** The median (the mean of the middle two for an even count). */
    public static double median(double[] v) {
        if (v.length == 0) return Double.NaN;
        double[] s = v.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
}
