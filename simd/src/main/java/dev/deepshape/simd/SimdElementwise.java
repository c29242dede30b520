package dev.deepshape.simd;

import dev.deepshape.backend.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise kernels with the Vector API; the oracles are {@link dev.deepshape.backend.ElementwiseKernels}. Large
 * arrays are split over the shared pool (they are memory-bound, so a second thread helps only a little).
 */
final class SimdElementwise {
    private SimdElementwise() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    /** Elements per thread below which an elementwise loop stays on the calling thread. */
    static final int GRAIN = 1 << 16;

    // x and out have n elements. out = relu(x) = (x <= 0 ? 0 : x): a NaN stays NaN, as torch.relu
    static void relu(float[] out, float[] x, int n) {
        Parallel.forRange(n, GRAIN, (i0, i1) -> reluRange(out, x, i0, i1));
    }

    static void reluRange(float[] out, float[] x, int i0, int i1) {
        FloatVector zero = FloatVector.zero(S);
        int i = i0;
        for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            v.blend(zero, v.compare(VectorOperators.LE, 0f)).intoArray(out, i);
        }
        for (; i < i1; i++) out[i] = x[i] <= 0f ? 0f : x[i]; // the tail one by one: a masked store is much slower
    }

    // dout, out (relu's result) and dx have n elements; dx += dout where out is not <= 0 (a NaN result passes it)
    static void reluBackward(float[] dx, float[] dout, float[] out, int n) {
        Parallel.forRange(n, GRAIN, (i0, i1) -> {
            int i = i0;
            for (int bound = i0 + S.loopBound(i1 - i0); i < bound; i += VL) {
                VectorMask<Float> pass = FloatVector.fromArray(S, out, i).compare(VectorOperators.LE, 0f).not();
                FloatVector d = FloatVector.fromArray(S, dx, i);
                d.add(FloatVector.fromArray(S, dout, i), pass).intoArray(dx, i);
            }
            for (; i < i1; i++) if (!(out[i] <= 0f)) dx[i] += dout[i];
        });
    }
}
