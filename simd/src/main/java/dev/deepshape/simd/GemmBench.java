package dev.deepshape.simd;

import dev.deepshape.backend.MatmulKernels;
import dev.deepshape.backend.Parallel;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.SplittableRandom;

/**
 * Prints GFLOP/s of the reference sgemm and the Vector API sgemm on the reference model's GEMM shapes, on 1 and 2
 * threads. Not a test: run it by hand when the machine is quiet, e.g.
 * <pre>
 * java --add-modules jdk.incubator.vector -cp core/target/classes:simd/target/classes dev.deepshape.simd.GemmBench [seconds-per-case] [name filter | MxNxK{N,T}{N,T}] [simd]
 * </pre>
 * Each case is warmed up, then timed repeatedly for the given time (default 0.5 s); the best call is reported. One
 * thread is timed by its CPU time, so a busy machine (other processes on the same cores) disturbs it less; two threads
 * by the wall clock, so run it when {@code uptime} shows a load well under the core count.
 */
public final class GemmBench {
    private GemmBench() {}

    private static final ThreadMXBean THREAD_CPU = ManagementFactory.getThreadMXBean();

    record Shape(String name, int m, int n, int k, boolean transA, boolean transB) {
        double gflop() { return 2.0 * m * n * k / 1e9; }
    }

    // The transposes are those the layers' forward and backward passes use (im2col rows × weightᵀ etc.).
    static final Shape[] SHAPES = {
        new Shape("conv2 fwd (im2col·Wᵀ)", 12544, 64, 288, false, true),
        new Shape("deconv fwd", 3136, 128, 64, false, false),
        new Shape("rnn x·W_ihᵀ", 64, 128, 6272, false, true),
        new Shape("rnn dX = dH·W_ih", 64, 6272, 128, false, false),
        new Shape("rnn dW_ih = dHᵀ·X", 128, 6272, 64, true, false),
        new Shape("conv1 fwd (im2col·Wᵀ)", 50176, 32, 9, false, true),
        new Shape("conv1 dW = colsᵀ·dOut", 9, 32, 50176, true, false),
        new Shape("square 1024", 1024, 1024, 1024, false, false),
    };

    interface Gemm {
        void run(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda,
                 float[] b, int bOff, int ldb, float[] c, int cOff, int ldc, boolean accumulate);
    }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 0.5;
        String filter = args.length > 1 ? args[1] : "";
        boolean simdOnly = args.length > 2 && args[2].equals("simd"); // skip the (slow) reference columns
        System.out.printf("Vector API species: %d floats; micro-tile %d×%d; cores: %d%n",
                SimdGemm.VL, SimdGemm.MR, SimdGemm.NR, Runtime.getRuntime().availableProcessors());
        System.out.printf("%-24s %-20s %5s %11s %11s %11s %11s%n", "shape", "m×n×k", "trans",
                "ref 1T", "ref 2T", "simd 1T", "simd 2T");
        Shape[] shapes = SHAPES;
        if (filter.matches("\\d+x\\d+x\\d+[NT]{2}")) { // a custom shape, e.g. 12544x64x288NT
            String[] d = filter.substring(0, filter.length() - 2).split("x");
            shapes = new Shape[] {new Shape("custom", Integer.parseInt(d[0]), Integer.parseInt(d[1]),
                    Integer.parseInt(d[2]), filter.charAt(filter.length() - 2) == 'T', filter.endsWith("T"))};
            filter = "";
        }
        int before = Parallel.threads();
        if (!simdOnly) warmUp(MatmulKernels::sgemm);
        warmUp(SimdGemm::sgemm);
        for (Shape s : shapes) {
            if (!s.name().contains(filter)) continue;
            SplittableRandom rnd = new SplittableRandom(1);
            int lda = s.transA() ? s.m() : s.k(), ldb = s.transB() ? s.k() : s.n();
            float[] a = random(rnd, s.m() * s.k()), b = random(rnd, s.k() * s.n()), c = new float[s.m() * s.n()];
            double[] rates = new double[4];
            int col = 0;
            for (Gemm g : simdOnly ? new Gemm[] {null, SimdGemm::sgemm} : new Gemm[] {MatmulKernels::sgemm, SimdGemm::sgemm}) {
                for (int threads : new int[] {1, 2}) {
                    Parallel.setThreads(threads);
                    if (g == null) {
                        rates[col++] = Double.NaN;
                        continue;
                    }
                    rates[col++] = s.gflop() / bestSeconds(g, s, a, lda, b, ldb, c, seconds);
                }
            }
            System.out.printf("%-24s %-20s %5s %11.1f %11.1f %11.1f %11.1f%n", s.name(),
                    s.m() + "×" + s.n() + "×" + s.k(), (s.transA() ? "T" : "N") + (s.transB() ? "T" : "N"),
                    rates[0], rates[1], rates[2], rates[3]);
        }
        Parallel.setThreads(before);
        System.out.println("GFLOP/s, best call (2·m·n·k / time); 1T: the thread's CPU time, 2T: wall time");
    }

    /**
     * NOTE: the Vector API is only fast once C2 has compiled the code using it (interpreted or C1-compiled, every
     * vector is an object). Packing runs once per call, so a few big calls would leave it interpreted; many small
     * calls over every path (transposes, edges, threads) get everything compiled before anything is timed.
     */
    private static void warmUp(Gemm g) {
        SplittableRandom rnd = new SplittableRandom(2);
        float[] a = random(rnd, 160 * 300), b = random(rnd, 300 * 140), c = new float[160 * 140];
        for (int threads : new int[] {1, 2}) {
            Parallel.setThreads(threads);
            for (int rep = 0; rep < 300; rep++) {
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                    // 150×70×300: rows split; 40×80×300: columns split; 9×20×300: K is not long enough to split;
                    // 30×140×300: wide enough for the packed-A path.
                    for (int[] d : new int[][] {{150, 70, 300}, {40, 80, 300}, {9, 20, 300}, {30, 140, 300}}) {
                        g.run(ta, tb, d[0], d[1], d[2], a, 0, ta ? d[0] : d[2], b, 0, tb ? d[2] : d[1], c, 0, d[1], rep % 2 == 1);
                    }
                }
            }
        }
    }

    private static double bestSeconds(Gemm g, Shape s, float[] a, int lda, float[] b, int ldb, float[] c, double seconds) {
        long budget = (long) (seconds * 1e9);
        // Warm-up: let C2 compile the kernels for this shape's paths.
        long start = System.nanoTime();
        do g.run(s.transA(), s.transB(), s.m(), s.n(), s.k(), a, 0, lda, b, 0, ldb, c, 0, s.n(), false);
        while (System.nanoTime() - start < budget / 2);
        // NOTE: on one thread the call's own CPU time is timed, which other processes on a busy machine don't inflate
        // (while preempted it doesn't grow); on several threads only the wall clock says whether they overlapped.
        boolean cpuClock = Parallel.threads() == 1 && THREAD_CPU.isCurrentThreadCpuTimeSupported();
        long best = Long.MAX_VALUE;
        start = System.nanoTime();
        int calls = 0;
        do {
            long t0 = cpuClock ? THREAD_CPU.getCurrentThreadCpuTime() : System.nanoTime();
            g.run(s.transA(), s.transB(), s.m(), s.n(), s.k(), a, 0, lda, b, 0, ldb, c, 0, s.n(), false);
            best = Math.min(best, (cpuClock ? THREAD_CPU.getCurrentThreadCpuTime() : System.nanoTime()) - t0);
            calls++;
        } while (System.nanoTime() - start < budget || calls < 3);
        return best / 1e9;
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextDouble(-1, 1);
        return v;
    }
}
