package dev.deepshape.simd;

import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.RecurrentKernels;
import dev.deepshape.backend.RecurrentKernels.GruSaved;
import dev.deepshape.backend.RecurrentKernels.LstmSaved;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The recurrent cells' gate loops with the Vector API: the same formulas as {@link RecurrentKernels#rnnGates},
 * {@link RecurrentKernels#gruGates} and {@link RecurrentKernels#lstmGates} (the oracles), with exp and tanh taken a
 * vector at a time. Java's scalar Math.tanh costs 11-16 ns an element here, the vector one 0.6 ns (the JDK's
 * vectorised math library, within 1 ulp of Math.tanh), so a cell of the reference model (≤ 8192 activations) takes a
 * few microseconds: on the calling thread, where the pool's hand-off alone would cost more. Rows stay apart, so the
 * values do not depend on the thread count; a row's last {@code hidden mod VL} elements take the scalar formulas.
 */
final class SimdRecurrent {
    private SimdRecurrent() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    /** Activations per chunk below which the gate loops stay on the calling thread. */
    static final int GRAIN = 1 << 15;

    private static int rowGrain(int hidden) {
        return Math.max(1, GRAIN / Math.max(1, hidden));
    }

    /** σ(v) = 1/(1 + e^−v) without overflow: with e = e^−|v|, 1/(1 + e) for v ≥ 0 and e/(1 + e) below (a NaN stays NaN). */
    static FloatVector sigmoid(FloatVector v) {
        FloatVector e = v.abs().neg().lanewise(VectorOperators.EXP);
        FloatVector s = FloatVector.broadcast(S, 1f).div(e.add(1f));
        return s.blend(e.mul(s), v.compare(VectorOperators.LT, 0f));
    }

    static FloatVector tanh(FloatVector v) {
        return v.lanewise(VectorOperators.TANH);
    }

    // h is (N, H): h = act(h), act = tanh or relu (relu: as SimdElementwise, a NaN stays NaN)
    static void rnnGates(float[] h, boolean relu, int n, int hidden) {
        Parallel.forRange(n, rowGrain(hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int row = b * hidden, j = 0;
                if (relu) {
                    SimdElementwise.reluRange(h, h, row, row + hidden);
                    continue;
                }
                for (int bound = S.loopBound(hidden); j < bound; j += VL) tanh(FloatVector.fromArray(S, h, row + j)).intoArray(h, row + j);
                for (; j < hidden; j++) h[row + j] = (float) Math.tanh(h[row + j]);
            }
        });
    }

    // gx and gh are (N, 3H) in (r, z, n) order, hPrev and hOut (N, H); see RecurrentKernels.gruGates
    static void gruGates(float[] hOut, GruSaved saved, float[] gx, float[] gh, float[] hPrev, int n, int hidden) {
        int g3 = 3 * hidden;
        float[] sr = saved.r(), sz = saved.z(), sn = saved.n(), sghn = saved.ghn();
        Parallel.forRange(n, rowGrain(3 * hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int row = b * g3, out = b * hidden, j = 0;
                for (int bound = S.loopBound(hidden); j < bound; j += VL) {
                    int o = out + j;
                    FloatVector r = sigmoid(FloatVector.fromArray(S, gx, row + j).add(FloatVector.fromArray(S, gh, row + j)));
                    FloatVector z = sigmoid(FloatVector.fromArray(S, gx, row + hidden + j).add(FloatVector.fromArray(S, gh, row + hidden + j)));
                    FloatVector ghn = FloatVector.fromArray(S, gh, row + 2 * hidden + j);
                    FloatVector c = tanh(FloatVector.fromArray(S, gx, row + 2 * hidden + j).add(r.mul(ghn)));
                    // (1 − z)·c + z·hPrev, in that order (as the scalar formula rounds it)
                    z.neg().add(1f).mul(c).add(z.mul(FloatVector.fromArray(S, hPrev, o))).intoArray(hOut, o);
                    r.intoArray(sr, o);
                    z.intoArray(sz, o);
                    c.intoArray(sn, o);
                    ghn.intoArray(sghn, o);
                }
                for (; j < hidden; j++) {
                    int o = out + j;
                    float r = RecurrentKernels.sigmoid(gx[row + j] + gh[row + j]);
                    float z = RecurrentKernels.sigmoid(gx[row + hidden + j] + gh[row + hidden + j]);
                    float ghn = gh[row + 2 * hidden + j];
                    float c = (float) Math.tanh(gx[row + 2 * hidden + j] + r * ghn);
                    hOut[o] = (1 - z) * c + z * hPrev[o];
                    sr[o] = r;
                    sz[o] = z;
                    sn[o] = c;
                    sghn[o] = ghn;
                }
            }
        });
    }

    // saved.gates (N, 4H) holds the (i, f, g, o) pre-activations and receives the gates; hcOut rows are [h | c]
    static void lstmGates(float[] hcOut, LstmSaved saved, float[] cPrev, int n, int hidden) {
        int g4 = 4 * hidden;
        float[] a = saved.gates(), tanhC = saved.tanhC();
        Parallel.forRange(n, rowGrain(4 * hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) {
                int row = b * g4, out = b * hidden, hc = 2 * out, j = 0;
                for (int bound = S.loopBound(hidden); j < bound; j += VL) {
                    int o = out + j;
                    FloatVector ig = sigmoid(FloatVector.fromArray(S, a, row + j));
                    FloatVector fg = sigmoid(FloatVector.fromArray(S, a, row + hidden + j));
                    FloatVector gg = tanh(FloatVector.fromArray(S, a, row + 2 * hidden + j));
                    FloatVector og = sigmoid(FloatVector.fromArray(S, a, row + 3 * hidden + j));
                    ig.intoArray(a, row + j);
                    fg.intoArray(a, row + hidden + j);
                    gg.intoArray(a, row + 2 * hidden + j);
                    og.intoArray(a, row + 3 * hidden + j);
                    FloatVector c = fg.mul(FloatVector.fromArray(S, cPrev, o)).add(ig.mul(gg));
                    FloatVector tc = tanh(c);
                    tc.intoArray(tanhC, o);
                    og.mul(tc).intoArray(hcOut, hc + j);
                    c.intoArray(hcOut, hc + hidden + j);
                }
                for (; j < hidden; j++) {
                    int o = out + j;
                    float ig = RecurrentKernels.sigmoid(a[row + j]);
                    float fg = RecurrentKernels.sigmoid(a[row + hidden + j]);
                    float gg = (float) Math.tanh(a[row + 2 * hidden + j]);
                    float og = RecurrentKernels.sigmoid(a[row + 3 * hidden + j]);
                    a[row + j] = ig;
                    a[row + hidden + j] = fg;
                    a[row + 2 * hidden + j] = gg;
                    a[row + 3 * hidden + j] = og;
                    float c = fg * cPrev[o] + ig * gg;
                    float tc = (float) Math.tanh(c);
                    tanhC[o] = tc;
                    hcOut[hc + j] = og * tc;
                    hcOut[hc + hidden + j] = c;
                }
            }
        });
    }
}
