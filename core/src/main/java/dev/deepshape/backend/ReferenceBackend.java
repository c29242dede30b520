package dev.deepshape.backend;

/**
 * The plain CPU backend: always available, readable, and the oracle every faster backend is tested against. Its
 * kernels are cache-blocked and multi-threaded enough to train the reference model.
 */
public class ReferenceBackend implements Backend {
    @Override public String name() { return "reference"; }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float[] c, int cOff, int ldc, boolean accumulate) {
        MatmulKernels.sgemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
    }
}
