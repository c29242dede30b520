package dev.deepshape.backend;

/**
 * Matrix multiply for the reference backend: a naive triple loop (the oracle) and a cache-blocked, multi-threaded
 * version written so that C2 vectorises its inner loop (a row-of-C += scalar·row-of-B update over contiguous memory).
 */
public final class MatmulKernels {
    private MatmulKernels() {}

    private static final int KC = 256; // rows of B kept hot in L2 while a row block of C is updated
    private static final int NC = 1024; // columns of C per panel

    // C is (m, n), op(A) is (m, k), op(B) is (k, n)
    public static void sgemmNaive(boolean transA, boolean transB, int m, int n, int k,
                                  float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                  float[] c, int cOff, int ldc, boolean accumulate) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float av = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float bv = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += (double) av * bv;
                }
                int ci = cOff + i * ldc + j;
                c[ci] = accumulate ? c[ci] + (float) s : (float) s;
            }
        }
    }

    // C is (m, n), op(A) is (m, k), op(B) is (k, n)
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        if (m == 0 || n == 0) return;
        if (!accumulate) {
            for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
        }
        if (k == 0) return;
        long flops = 2L * m * n * k;
        // Small products are faster on one thread (the hand-off costs more than the work).
        int threads = flops < 4_000_000 ? 1 : Parallel.threads();
        if (m >= 4 * threads || m >= n) {
            int grain = Math.max(1, m / Math.max(1, threads));
            if (threads == 1) blocked(transA, transB, 0, m, 0, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
            else Parallel.forRange(m, grain, (i0, i1) -> blocked(transA, transB, i0, i1, 0, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc));
        } else {
            int grain = Math.max(1, n / Math.max(1, threads));
            if (threads == 1) blocked(transA, transB, 0, m, 0, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
            else Parallel.forRange(n, grain, (j0, j1) -> blocked(transA, transB, 0, m, j0, j1, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc));
        }
    }

    /** Accumulates rows [i0, i1) and columns [j0, j1) of C. */
    private static void blocked(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int k,
                                float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                float[] c, int cOff, int ldc) {
        int nc = Math.min(NC, j1 - j0);
        // B^T is packed into a row-major panel so the inner loop always streams contiguous memory.
        float[] panel = transB ? new float[KC * nc] : null;
        for (int jj = j0; jj < j1; jj += NC) {
            int jn = Math.min(NC, j1 - jj);
            for (int pp = 0; pp < k; pp += KC) {
                int pk = Math.min(KC, k - pp);
                float[] bb;
                int bBase;
                int bStride;
                if (transB) {
                    for (int p = 0; p < pk; p++) {
                        int row = p * jn;
                        for (int j = 0; j < jn; j++) panel[row + j] = b[bOff + (jj + j) * ldb + pp + p];
                    }
                    bb = panel;
                    bBase = 0;
                    bStride = jn;
                } else {
                    bb = b;
                    bBase = bOff + pp * ldb + jj;
                    bStride = ldb;
                }
                for (int i = i0; i < i1; i++) {
                    int ci = cOff + i * ldc + jj;
                    for (int p = 0; p < pk; p++) {
                        float av = transA ? a[aOff + (pp + p) * lda + i] : a[aOff + i * lda + pp + p];
                        if (av == 0f) continue; // ReLU outputs and padding make zeros common
                        int bi = bBase + p * bStride;
                        for (int j = 0; j < jn; j++) c[ci + j] += av * bb[bi + j];
                    }
                }
            }
        }
    }
}
