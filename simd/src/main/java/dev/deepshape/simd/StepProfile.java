package dev.deepshape.simd;

import dev.deepshape.autograd.Ops;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Parallel;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Where one training step of {@link CombinedModel} (batch 64) spends its time: each layer's forward and backward
 * run in isolation on the shapes the model gives it, then the optimiser step and the whole step. Not a test and not
 * the {@code bench} command; a developer's tool, run by hand:
 * <pre>
 * java --add-modules jdk.incubator.vector -cp core/target/classes:simd/target/classes dev.deepshape.simd.StepProfile [backend] [threads] [reps]
 * </pre>
 * Every case runs {@code reps} times (default 30) after a warm-up; the best run is reported, as the calling thread's
 * CPU time (steady on a busy machine, and the whole cost when threads = 1) and as wall time. GFLOP/s counts the
 * multiply-adds of the layer's matrix products (2 per multiply-add), not the elementwise work. A layer's input is a
 * fresh leaf here, so the engine's copy of its gradient into {@code .grad} is timed apart and subtracted.
 */
public final class StepProfile {
    private StepProfile() {}

    private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
    private static final int N = 64;

    /** A layer to time: builds fresh inputs, runs the forward pass; backward runs on its output with a fixed gradient. */
    record Case(String name, double fwdFlop, double bwdFlop, Supplier<Tensor> input, Function<Tensor, Tensor> forward) {}

    record Time(double cpuMs, double wallMs) {}

    public static void main(String[] args) {
        if (args.length > 0) Backends.use(args[0]);
        if (args.length > 1) Parallel.setThreads(Integer.parseInt(args[1]));
        int reps = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        System.out.printf("backend %s, threads %d, batch %d, best of %d%n", Backends.current().name(), Parallel.threads(), N, reps);

        Rng.manualSeed(0);
        CombinedModel m = new CombinedModel();
        Rng rng = new Rng(1);
        Tensor images = Tensor.randn(rng, N, 1, 28, 28);
        int[] l = new int[N];
        for (int i = 0; i < N; i++) l[i] = i % 10;
        IntTensor labels = IntTensor.of(l);
        CrossEntropyLoss ce = new CrossEntropyLoss();

        List<Case> cases = new ArrayList<>();
        // FLOP of the matrix work: 2·N·(output pixels)·(multiply-adds per output)
        double conv1 = 2.0 * N * 32 * 28 * 28 * 9, conv2 = 2.0 * N * 64 * 14 * 14 * 288;
        double deconv = 2.0 * N * 64 * 7 * 7 * 32 * 4, rnn = 2.0 * N * 6272 * 128 + 2.0 * N * 128 * 128;
        double gru = 2.0 * N * 3 * 64 * (128 + 64), lstm = 2.0 * N * 4 * 32 * (64 + 32), fc = 2.0 * N * 10 * 32;
        cases.add(new Case("conv1", conv1, conv1, () -> images, m.conv1::forward)); // the images need no gradient
        cases.add(new Case("relu+pool1", 0, 0, () -> grad(rng, N, 32, 28, 28), x -> m.pool.forwardRelu(Ops.reshape(x, x.shape()), true)));
        cases.add(new Case("conv2", conv2, 2 * conv2, () -> grad(rng, N, 32, 14, 14), m.conv2::forward));
        cases.add(new Case("relu+pool2", 0, 0, () -> grad(rng, N, 64, 14, 14), x -> m.pool.forwardRelu(Ops.reshape(x, x.shape()), true)));
        cases.add(new Case("deconv", deconv, 2 * deconv, () -> grad(rng, N, 64, 7, 7), m.deconv::forward));
        cases.add(new Case("flatten+rnn", rnn, 2 * rnn, () -> grad(rng, N, 32, 14, 14),
                x -> m.rnn.forward(Ops.unsqueeze(Ops.flatten(x, 1, -1), 1))));
        cases.add(new Case("gru", gru, 2 * gru, () -> grad(rng, N, 1, 128), m.gru::forward));
        cases.add(new Case("lstm", lstm, 2 * lstm, () -> grad(rng, N, 1, 64), m.lstm::forward));
        cases.add(new Case("select+fc", fc, 2 * fc, () -> grad(rng, N, 1, 32), x -> m.fc.forward(Ops.select(x, 1, -1))));
        cases.add(new Case("cross-entropy", 0, 0, () -> grad(rng, N, 10), x -> ce.forward(x, labels)));

        System.out.printf("%-14s %9s %9s %8s | %9s %9s %8s%n", "layer", "fwd cpu", "fwd wall", "GFLOP/s", "bwd cpu", "bwd wall", "GFLOP/s");
        double fwdSum = 0, bwdSum = 0;
        for (Case c : cases) {
            Tensor[] in = new Tensor[1];
            Tensor[] out = new Tensor[1];
            Time f = best(reps, () -> in[0] = c.input.get(), () -> out[0] = c.forward.apply(in[0]));
            Tensor dy = Tensor.randn(rng, out[0].shape());
            Time b = best(reps, () -> {
                m.zeroGrad();
                in[0] = c.input.get();
                out[0] = c.forward.apply(in[0]);
            }, () -> out[0].backward(dy));
            if (in[0].requiresGrad()) {
                // In the model a layer's input is not a leaf; here it is, and the engine copies its gradient into
                // .grad. Time that copy (backward through a view) and leave it out.
                Tensor[] view = new Tensor[1];
                Tensor dIn = Tensor.randn(rng, in[0].shape());
                Time copy = best(reps, () -> view[0] = Ops.reshape(c.input.get(), in[0].shape()), () -> view[0].backward(dIn));
                b = new Time(b.cpuMs - copy.cpuMs, b.wallMs - copy.wallMs);
            }
            fwdSum += f.cpuMs;
            bwdSum += b.cpuMs;
            System.out.printf("%-14s %9.3f %9.3f %8s | %9.3f %9.3f %8s%n", c.name, f.cpuMs, f.wallMs, rate(c.fwdFlop, f),
                    b.cpuMs, b.wallMs, rate(c.bwdFlop, b));
        }
        // Adam over all 896,618 parameters, with gradients in place
        Adam adam = new Adam(m.parameters(), 1e-3f);
        adam.zeroGrad();
        ce.forward(m.forward(images), labels).backward();
        Time a = best(reps, () -> {}, adam::step);
        System.out.printf("%-14s %9.3f %9.3f%n", "adam step", a.cpuMs, a.wallMs);
        System.out.printf("%-14s %9.3f %9s %8s | %9.3f%n", "sum of layers", fwdSum, "", "", bwdSum);

        double[] walls = new double[reps];
        int[] at = {0};
        Time step = best(reps, () -> {}, () -> {
            long w0 = System.nanoTime();
            adam.zeroGrad();
            Tensor loss = ce.forward(m.forward(images), labels);
            loss.backward();
            adam.step();
            walls[at[0]++ % reps] = (System.nanoTime() - w0) / 1e6;
        });
        java.util.Arrays.sort(walls);
        System.out.printf("whole step wall: min %.2f, median %.2f, max %.2f ms%n", walls[0], walls[reps / 2], walls[reps - 1]);
        double total = 3 * (conv1 + conv2 + deconv + rnn + gru + lstm + fc) - conv1; // conv1 needs no input gradient
        System.out.printf("%-14s %9.3f %9.3f %8s   (%.2f GFLOP per step)%n", "whole step", step.cpuMs, step.wallMs,
                rate(total, step), total / 1e9);
    }

    private static Tensor grad(Rng rng, int... shape) {
        return Tensor.randn(rng, shape).requiresGrad(true);
    }

    private static String rate(double flop, Time t) {
        if (flop == 0) return "";
        // one thread: CPU time is the whole cost; more threads: the wall clock is
        double ms = Parallel.threads() == 1 ? t.cpuMs : t.wallMs;
        return String.format("%.1f", flop / (ms * 1e6));
    }

    /** Runs {@code setup} (untimed) then {@code body} (timed) reps times after a warm-up of as many; the best of each clock. */
    private static Time best(int reps, Runnable setup, Runnable body) {
        double cpu = Double.MAX_VALUE, wall = Double.MAX_VALUE;
        for (int r = 0; r < 2 * reps; r++) {
            setup.run();
            long c0 = CPU.getCurrentThreadCpuTime(), w0 = System.nanoTime();
            body.run();
            long c1 = CPU.getCurrentThreadCpuTime(), w1 = System.nanoTime();
            if (r >= reps) {
                cpu = Math.min(cpu, (c1 - c0) / 1e6);
                wall = Math.min(wall, (w1 - w0) / 1e6);
            }
        }
        return new Time(cpu, wall);
    }
}
