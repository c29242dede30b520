package dev.deepshape.backend;

/**
 * The kernels a compute backend provides: the primitives whose speed matters (matrix multiply and the fused units'
 * forward and backward passes). Everything else composes from them in the core.
 *
 * <p>Conventions (llm.c's): outputs first; arrays are dense row-major; gradient arguments ({@code d...}) are
 * accumulated with {@code +=} and may be {@code null} when not needed. Implementations are found with
 * {@link java.util.ServiceLoader}; {@link ReferenceBackend} is the plain, always-available oracle.
 */
public interface Backend {
    /** Short name, shown by {@code --help} and benchmarks: {@code reference}, {@code simd}, {@code cuda}. */
    String name();

    /** Higher wins when several backends are available. The reference backend is 0. */
    default int priority() { return 0; }

    /** Whether this backend can run on this machine (a CUDA backend without a GPU says false). */
    default boolean isAvailable() { return true; }

    /**
     * {@code C = op(A)·op(B)} (or {@code C += ...} when {@code accumulate}), C is m×n with row stride ldc.
     * op(A) is m×k: A is stored m×k (lda ≥ k) or, when {@code transA}, k×m (lda ≥ m). op(B) is k×n: B is stored k×n
     * (ldb ≥ n) or, when {@code transB}, n×k (ldb ≥ k).
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k,
               float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
               float[] c, int cOff, int ldc, boolean accumulate);
}
