package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.RecurrentKernels.GruSaved;
import dev.deepshape.backend.RecurrentKernels.LstmSaved;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The simd kernels give the same bits before and after the JIT compiles them: a run's values must not depend on
 * when C2 reaches a kernel. (The Vector API's EXP and TANH broke this: C2 runs the JDK's vectorised math library,
 * the generic code Math's functions, and they differ in the last bit; two runs of the same 300 training steps ended
 * with different losses.) {@link Probe} hashes the outputs of the cells' gates, a Winograd convolution and an Adam
 * step; this test runs it in a child JVM with {@code -Xint} (every kernel as generic code) and here after enough
 * repetitions for C2, and compares.
 */
class InterpreterParityTest {
    @Test
    void kernelsGiveTheSameBitsInTheInterpreterAsCompiled() throws IOException, InterruptedException {
        String compiled = "";
        for (int i = 0; i < 3000; i++) compiled = Probe.run(); // enough for C2 to compile the kernels (tiered thresholds)
        Path javaBin = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(javaBin.toString(), "-Xint", "--add-modules", "jdk.incubator.vector",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        p.getErrorStream().transferTo(java.io.OutputStream.nullOutputStream());
        String interpreted = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(120, TimeUnit.SECONDS)) p.destroyForcibly();
        assertEquals(0, p.exitValue(), "the -Xint probe ran");
        assertEquals(interpreted, compiled, "hashes of the kernels' outputs: -Xint, then compiled");
    }

    /** Runs the kernels on fixed inputs and prints one hash per kernel (of the outputs' bits). */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println(run());
        }

        static String run() {
            SplittableRandom rnd = new SplittableRandom(42);
            int n = 2, hidden = 37; // a vector and a scalar tail per row
            float[] gx = values(rnd, n * 4 * hidden), gh = values(rnd, n * 3 * hidden), prev = values(rnd, n * hidden);
            float[] h = gx.clone();
            SimdRecurrent.rnnGates(h, false, n, hidden);
            float[] hg = new float[n * hidden];
            GruSaved gs = new GruSaved(new float[n * hidden], new float[n * hidden], new float[n * hidden], new float[n * hidden]);
            SimdRecurrent.gruGates(hg, gs, gx, gh, prev, n, hidden);
            float[] hc = new float[n * 2 * hidden];
            LstmSaved ls = new LstmSaved(gx.clone(), new float[n * hidden]);
            SimdRecurrent.lstmGates(hc, ls, prev, n, hidden);
            // two samples: F(4×4) on 16 lanes puts them in one panel (its 8-row kernel), and the weight gradient's too
            Conv2dGeometry g = new Conv2dGeometry(2, 8, 14, 14, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 14, 14);
            float[] x = values(rnd, 2 * 8 * 196), w = values(rnd, 8 * 72), conv = new float[2 * 8 * 196], dw = new float[8 * 72];
            SimdConv.conv2dForward(conv, x, w, null, g);
            SimdConv.conv2dBackward(null, dw, null, conv, x, w, g, false);
            float[] p = values(rnd, 50), grad = values(rnd, 50), m = new float[50], v = new float[50];
            SimdAdam.adamUpdate(p, grad, m, v, null, 50, -1e-3f, 0.03f, 0.9f, 0.1f, 0.999f, 0.001f, 1e-8f, 0f);
            return hash(h) + " " + hash(hg) + " " + hash(gs.r()) + " " + hash(gs.z()) + " " + hash(gs.n()) + " " + hash(hc) + " "
                    + hash(ls.gates()) + " " + hash(ls.tanhC()) + " " + hash(conv) + " " + hash(dw) + " " + hash(p) + " " + hash(m) + " " + hash(v);
        }

        private static float[] values(SplittableRandom rnd, int n) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextDouble(-1, 1) * Math.pow(10, rnd.nextInt(-2, 2)));
            return v;
        }

        private static String hash(float[] a) {
            long h = 1;
            for (float f : a) h = 31 * h + Float.floatToRawIntBits(f);
            return Long.toHexString(h);
        }
    }
}
