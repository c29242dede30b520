package dev.deepshape.simd;

import dev.deepshape.backend.AdamKernels;
import dev.deepshape.backend.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Adam's update with the Vector API, bit-identical to {@link AdamKernels#adamUpdate} (and so to PyTorch 1.13): the
 * same operations in the same order, a vector FMA where the scalar kernel calls {@link Math#fma} (each lane rounds
 * once, as Math.fma does), IEEE sqrt and division per lane. Large parameters are split over the shared pool.
 */
final class SimdAdam {
    private SimdAdam() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    static final int GRAIN = 1 << 15;

    static void adamUpdate(float[] p, float[] g, float[] expAvg, float[] expAvgSq, float[] maxExpAvgSq, int n,
                           float negStepSize, float bc2Sqrt, float beta1, float oneMinusBeta1, float beta2,
                           float oneMinusBeta2, float eps, float weightDecay) {
        Parallel.forRange(n, GRAIN, (i0, i1) -> {
            int bound = i0 + S.loopBound(i1 - i0);
            boolean decay = weightDecay != 0f;
            for (int j = i0; j < bound; j += VL) {
                FloatVector pv = FloatVector.fromArray(S, p, j);
                FloatVector gv = FloatVector.fromArray(S, g, j);
                if (decay) gv = FloatVector.broadcast(S, weightDecay).fma(pv, gv);
                FloatVector m = FloatVector.broadcast(S, oneMinusBeta1).fma(gv, FloatVector.fromArray(S, expAvg, j).mul(beta1));
                FloatVector v = gv.mul(oneMinusBeta2).fma(gv, FloatVector.fromArray(S, expAvgSq, j).mul(beta2));
                m.intoArray(expAvg, j);
                v.intoArray(expAvgSq, j);
                if (maxExpAvgSq != null) {
                    v = FloatVector.fromArray(S, maxExpAvgSq, j).max(v);
                    v.intoArray(maxExpAvgSq, j);
                }
                FloatVector denom = v.sqrt().div(bc2Sqrt).add(eps);
                pv.add(m.mul(negStepSize).div(denom)).intoArray(p, j);
            }
            if (bound < i1) {
                // the tail: the reference kernel on the last elements (same arithmetic, one element at a time)
                int len = i1 - bound;
                float[] pt = slice(p, bound, len), gt = slice(g, bound, len), mt = slice(expAvg, bound, len);
                float[] vt = slice(expAvgSq, bound, len), xt = maxExpAvgSq == null ? null : slice(maxExpAvgSq, bound, len);
                AdamKernels.adamUpdate(pt, gt, mt, vt, xt, len, negStepSize, bc2Sqrt, beta1, oneMinusBeta1, beta2,
                        oneMinusBeta2, eps, weightDecay);
                System.arraycopy(pt, 0, p, bound, len);
                System.arraycopy(mt, 0, expAvg, bound, len);
                System.arraycopy(vt, 0, expAvgSq, bound, len);
                if (xt != null) System.arraycopy(xt, 0, maxExpAvgSq, bound, len);
            }
        });
    }

    private static float[] slice(float[] a, int from, int len) {
        return java.util.Arrays.copyOfRange(a, from, from + len);
    }
}
