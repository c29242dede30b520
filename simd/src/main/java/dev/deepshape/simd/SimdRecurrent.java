package dev.deepshape.simd;

import dev.deepshape.backend.Parallel;
import dev.deepshape.backend.RecurrentKernels;
import dev.deepshape.backend.RecurrentKernels.GruSaved;
import dev.deepshape.backend.RecurrentKernels.LstmSaved;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The recurrent cells' gate loops with the Vector API: the same formulas as {@link RecurrentKernels#rnnGates},
 * {@link RecurrentKernels#gruGates} and {@link RecurrentKernels#lstmGates} (the oracles), with exp and tanh taken a
 * vector at a time (polynomials, see {@link #exp}). Java's scalar Math.tanh costs 11-16 ns an element here, a vector
 * one well under 1 ns, so a cell of the reference model (≤ 8192 activations) takes a few microseconds: on the
 * calling thread, where the pool's hand-off alone would cost more. Rows stay apart, so the
 * values do not depend on the thread count; a row's last {@code hidden mod VL} elements go to the reference's own row
 * methods ({@link RecurrentKernels#gruGatesRow} and the like).
 */
final class SimdRecurrent {
    private SimdRecurrent() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    private static final VectorSpecies<Integer> IS = S.vectorShape().withLanes(int.class);
    /** Activations per chunk below which the gate loops stay on the calling thread. */
    static final int GRAIN = 1 << 15;

    private static int rowGrain(int hidden) {
        return Math.max(1, GRAIN / Math.max(1, hidden));
    }

    /** σ(v) = 1/(1 + e^−v) without overflow: with e = e^−|v|, 1/(1 + e) for v ≥ 0 and e/(1 + e) below (a NaN stays NaN). */
    static FloatVector sigmoid(FloatVector v) {
        FloatVector e = exp(v.abs().neg());
        FloatVector s = FloatVector.broadcast(S, 1f).div(e.add(1f));
        return s.blend(e.mul(s), v.compare(VectorOperators.LT, 0f));
    }

    // NOTE: exp and tanh from +, −, ×, fma and bit operations only, not the Vector API's EXP and TANH: those run the
    // JDK's vectorised math library once C2 has compiled the caller but Math's scalar functions before that, which
    // differ in the last bit, so a training run's values depended on when the JIT got to the cells (two runs of the
    // same 300 steps ended with different losses). IEEE arithmetic gives the same bits in both modes.

    /**
     * e^x, after Cephes' expf (Moshier): x = n·ln 2 + r, |r| ≤ ln 2 / 2, e^r by a degree-6 polynomial, times 2^n. Below
     * −87 the result is subnormal, as Math.exp's is (a sigmoid of −88 is 3.6e−39, not 0: times −∞ that is −∞, where 0
     * would give NaN): 2^n is then taken as 2^(n+64)·2^−64. 0 below −104, +∞ above 88.72 as Math.exp; between 88 and
     * 88.72 it gives e^88 (the cells need no more: the sigmoid takes e^−|v|, and tanh is 1 long before).
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(-104f).min(88f); // a NaN stays NaN (max and min keep it)
        FloatVector shifted = xc.mul(LOG2E).add(ROUND); // n in the low mantissa bits: round to nearest
        FloatVector n = shifted.sub(ROUND);
        FloatVector r = xc.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO)); // n·LN2_HI is exact (9 significant bits)
        FloatVector p = r.mul(1.9875691500E-4f).add(1.3981999507E-3f).mul(r).add(8.3334519073E-3f).mul(r).add(4.1665795894E-2f)
                .mul(r).add(1.6666665459E-1f).mul(r).add(5.0000001201E-1f).mul(r.mul(r)).add(r).add(1f);
        IntVector ni = shifted.reinterpretAsInts().sub(ROUND_BITS);
        VectorMask<Integer> tiny = ni.compare(VectorOperators.LT, -63);
        IntVector bits = ni.add(127).add(IntVector.zero(IS).blend(64, tiny)).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.mul(bits.reinterpretAsFloats()).mul(FloatVector.broadcast(S, 1f).blend(0x1p-64f, tiny.cast(S)));
        return e.blend(0f, x.compare(VectorOperators.LT, -104f)).blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, 88.72f));
    }

    /**
     * tanh x, after Cephes' tanhf: x + x³·P(x²) for |x| < 0.625, else sign(x)·(1 − 2/(e^{2|x|} + 1)),
     * which is ±1 once e^{2|x|} is large (±∞ included); a NaN stays NaN.
     */
    static FloatVector tanh(FloatVector x) {
        FloatVector z = x.mul(x);
        FloatVector small = z.mul(-5.70498872745E-3f).add(2.06390887954E-2f).mul(z).add(-5.37397155531E-2f).mul(z).add(1.33314422036E-1f)
                .mul(z).add(-3.33332819422E-1f).mul(z).mul(x).add(x);
        FloatVector a = x.abs();
        FloatVector large = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(exp(a.add(a)).add(1f)));
        large = large.blend(large.neg(), x.compare(VectorOperators.LT, 0f));
        // where x is ±0 it is returned as it is (the polynomial would turn −0 into +0)
        return small.blend(large, a.compare(VectorOperators.GE, 0.625f).or(x.test(VectorOperators.IS_NAN))).blend(x, x.compare(VectorOperators.EQ, 0f));
    }

    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /** 1.5·2^23: adding it rounds a float below 2^22 in magnitude to an integer, held in the low mantissa bits. */
    private static final float ROUND = 12582912f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);

    // h is (N, H): h = act(h), act = tanh or relu (relu: as SimdElementwise, a NaN stays NaN)
    static void rnnGates(float[] h, boolean relu, int n, int hidden) {
        Parallel.forRange(n, rowGrain(hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) rnnRow(h, relu, b * hidden, hidden);
        });
    }

    // NOTE: a method per row, not the loop over rows in the pool's lambda: C2 compiles a method once it has run a few
    // thousand times, and the lambda ran once a training step, so for the first 300-500 steps the gates ran as C1
    // code, where every vector operation allocates (steps 150-300 of an epoch were 0.8 ms slower than with scalar gates)
    private static void rnnRow(float[] h, boolean relu, int row, int hidden) {
        if (relu) {
            SimdElementwise.reluRange(h, h, row, row + hidden);
            return;
        }
        int j = 0;
        for (int bound = S.loopBound(hidden); j < bound; j += VL) tanh(FloatVector.fromArray(S, h, row + j)).intoArray(h, row + j);
        for (; j < hidden; j++) h[row + j] = (float) Math.tanh(h[row + j]);
    }

    // gx and gh are (N, 3H) in (r, z, n) order, hPrev and hOut (N, H); see RecurrentKernels.gruGates
    static void gruGates(float[] hOut, GruSaved saved, float[] gx, float[] gh, float[] hPrev, int n, int hidden) {
        Parallel.forRange(n, rowGrain(3 * hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) gruRow(hOut, saved, gx, gh, hPrev, b, hidden);
        });
    }

    private static void gruRow(float[] hOut, GruSaved saved, float[] gx, float[] gh, float[] hPrev, int b, int hidden) {
        float[] sr = saved.r(), sz = saved.z(), sn = saved.n(), sghn = saved.ghn();
        int row = b * 3 * hidden, out = b * hidden, j = 0;
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
        RecurrentKernels.gruGatesRow(hOut, saved, gx, gh, hPrev, b, j, hidden, hidden); // the scalar formulas on the rest
    }

    // saved.gates (N, 4H) holds the (i, f, g, o) pre-activations and receives the gates; hcOut rows are [h | c]
    static void lstmGates(float[] hcOut, LstmSaved saved, float[] cPrev, int n, int hidden) {
        Parallel.forRange(n, rowGrain(4 * hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) lstmRow(hcOut, saved, cPrev, b, hidden);
        });
    }

    private static void lstmRow(float[] hcOut, LstmSaved saved, float[] cPrev, int b, int hidden) {
        float[] a = saved.gates(), tanhC = saved.tanhC();
        int row = b * 4 * hidden, out = b * hidden, hc = 2 * out, j = 0;
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
        RecurrentKernels.lstmGatesRow(hcOut, saved, cPrev, b, j, hidden, hidden); // the scalar formulas on the rest
    }

    // the gates' backward: the scalar formulas' operations in their order (no FMA), so the same bits as
    // RecurrentKernels.gruGatesBackward and lstmGatesBackward

    // see RecurrentKernels.gruGatesBackward: dgh (N, 3H) is written, dgx (N, 3H) and dhPrev (N, H) gain (each may be null)
    static void gruGatesBackward(float[] dgh, float[] dgx, float[] dhPrev, float[] dh, GruSaved saved, float[] hPrev, int n, int hidden) {
        Parallel.forRange(n, rowGrain(3 * hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) gruRowBackward(dgh, dgx, dhPrev, dh, saved, hPrev, b, hidden);
        });
    }

    private static void gruRowBackward(float[] dgh, float[] dgx, float[] dhPrev, float[] dh, GruSaved saved, float[] hPrev, int b, int hidden) {
        float[] sr = saved.r(), sz = saved.z(), sn = saved.n(), sghn = saved.ghn();
        FloatVector one = FloatVector.broadcast(S, 1f);
        int row = b * 3 * hidden, out = b * hidden, j = 0;
        for (int bound = S.loopBound(hidden); j < bound; j += VL) {
            int o = out + j;
            FloatVector r = FloatVector.fromArray(S, sr, o), z = FloatVector.fromArray(S, sz, o), c = FloatVector.fromArray(S, sn, o);
            FloatVector d = FloatVector.fromArray(S, dh, o);
            FloatVector dPreN = d.mul(one.sub(z)).mul(one.sub(c.mul(c)));
            FloatVector dPreZ = d.mul(FloatVector.fromArray(S, hPrev, o).sub(c)).mul(z).mul(one.sub(z));
            FloatVector dPreR = dPreN.mul(FloatVector.fromArray(S, sghn, o)).mul(r).mul(one.sub(r));
            dPreR.intoArray(dgh, row + j);
            dPreZ.intoArray(dgh, row + hidden + j);
            dPreN.mul(r).intoArray(dgh, row + 2 * hidden + j);
            if (dgx != null) {
                FloatVector.fromArray(S, dgx, row + j).add(dPreR).intoArray(dgx, row + j);
                FloatVector.fromArray(S, dgx, row + hidden + j).add(dPreZ).intoArray(dgx, row + hidden + j);
                FloatVector.fromArray(S, dgx, row + 2 * hidden + j).add(dPreN).intoArray(dgx, row + 2 * hidden + j);
            }
            if (dhPrev != null) FloatVector.fromArray(S, dhPrev, o).add(d.mul(z)).intoArray(dhPrev, o);
        }
        RecurrentKernels.gruGatesBackwardRow(dgh, dgx, dhPrev, dh, saved, hPrev, b, j, hidden, hidden); // the scalar formulas on the rest
    }

    // see RecurrentKernels.lstmGatesBackward: dpre (N, 4H) is written, dcPrev (N, H) gains (may be null)
    static void lstmGatesBackward(float[] dpre, float[] dcPrev, float[] dhc, LstmSaved saved, float[] cPrev, int n, int hidden) {
        Parallel.forRange(n, rowGrain(4 * hidden), (b0, b1) -> {
            for (int b = b0; b < b1; b++) lstmRowBackward(dpre, dcPrev, dhc, saved, cPrev, b, hidden);
        });
    }

    private static void lstmRowBackward(float[] dpre, float[] dcPrev, float[] dhc, LstmSaved saved, float[] cPrev, int b, int hidden) {
        float[] a = saved.gates(), tanhC = saved.tanhC();
        FloatVector one = FloatVector.broadcast(S, 1f);
        int row = b * 4 * hidden, out = b * hidden, hc = 2 * out, j = 0;
        for (int bound = S.loopBound(hidden); j < bound; j += VL) {
            int o = out + j;
            FloatVector ig = FloatVector.fromArray(S, a, row + j), fg = FloatVector.fromArray(S, a, row + hidden + j);
            FloatVector gg = FloatVector.fromArray(S, a, row + 2 * hidden + j), og = FloatVector.fromArray(S, a, row + 3 * hidden + j);
            FloatVector tc = FloatVector.fromArray(S, tanhC, o), dh = FloatVector.fromArray(S, dhc, hc + j);
            FloatVector dc = FloatVector.fromArray(S, dhc, hc + hidden + j).add(dh.mul(og).mul(one.sub(tc.mul(tc))));
            dc.mul(gg).mul(ig).mul(one.sub(ig)).intoArray(dpre, row + j);
            dc.mul(FloatVector.fromArray(S, cPrev, o)).mul(fg).mul(one.sub(fg)).intoArray(dpre, row + hidden + j);
            dc.mul(ig).mul(one.sub(gg.mul(gg))).intoArray(dpre, row + 2 * hidden + j);
            dh.mul(tc).mul(og).mul(one.sub(og)).intoArray(dpre, row + 3 * hidden + j);
            if (dcPrev != null) FloatVector.fromArray(S, dcPrev, o).add(dc.mul(fg)).intoArray(dcPrev, o);
        }
        RecurrentKernels.lstmGatesBackwardRow(dpre, dcPrev, dhc, saved, cPrev, b, j, hidden, hidden); // the scalar formulas on the rest
    }
}
