package dev.deepshape.simd;

import dev.deepshape.backend.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply with the Vector API: {@code C = op(A)·op(B)} (or {@code C += ...}), row-major,
 * the contract of {@link dev.deepshape.backend.Backend#sgemm}. The plain oracle is
 * {@link dev.deepshape.backend.MatmulKernels#sgemmNaive}; the tests compare the two on awkward shapes.
 *
 * <p>The layout is GotoBLAS's, sized for one core's caches:
 * <ul>
 *   <li>C is computed in tiles of {@link #MR} rows × {@link #NR} = 2 vectors of columns; the tile lives in 2·MR
 *       vector registers for the whole K loop (the micro-kernel), so each step loads two vectors of B and broadcasts
 *       MR values of A for 2·MR FMAs. MR is 6 with AVX-512 (32 registers) and 4 with AVX2 (16).</li>
 *   <li>B is packed, KC rows × NC columns at a time, into panels of [kc][NR] floats, contiguous in the order the
 *       micro-kernel reads them, the last panel padded with zeros. Packing reads B as stored: when {@code transB}
 *       (B stored n×k) a vector gather reads one element of each of NR rows, so no transpose is ever built.</li>
 *   <li>A is packed per block of MC rows into panels of [kc][MR] when at least {@link #PACK_A_MIN_PANELS} column
 *       panels reuse it; otherwise the micro-kernel broadcasts from A where it lies (six row starts and one stride
 *       along K: 1 when A is stored m×k, {@code lda} when {@code transA}). Either way rows past the end of the block
 *       repeat its last row (valid memory, results discarded), so every tile runs the full-speed kernel.</li>
 * </ul>
 * Threads (the shared {@link Parallel} pool) take whole row tiles, or whole column panels when M is small, or, when
 * both M and N are small and K is long (a weight gradient such as 9×32×50176), ranges of K whose partial sums are
 * added at the end. Calls under {@link #PARALLEL_FLOPS} stay on the calling thread. Packing buffers are per thread
 * and reused, so a steady state allocates nothing.
 */
public final class SimdGemm {
    private SimdGemm() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector: 16 with AVX-512, 8 with AVX2, 4 with NEON/SSE. */
    public static final int VL = S.length();
    /**
     * Rows of a C tile: 6 (12 accumulators) where the ISA has 32 vector registers (AVX-512), 4 (8 accumulators) where
     * it has 16 (AVX2): with 6 rows C2 keeps 3 broadcasts live and spills an accumulator to the stack, and the
     * store-to-load round trip in the FMA chain cut the kernel to a third of peak (39 of 93 GFLOP/s on a Zen 3
     * core; 4 rows: 60-85). The system property {@code deepshape.simd.mr} (4 or 6) overrides it, for the tests.
     */
    public static final int MR = tileRows();
    /** Columns of a C tile: two vectors. */
    public static final int NR = 2 * VL;
    private static int tileRows() {
        String forced = System.getProperty("deepshape.simd.mr");
        if ("4".equals(forced) || "6".equals(forced)) return Integer.parseInt(forced);
        return VL >= 16 ? 6 : 4;
    }

    /** Rows of A per L2 block. */
    static final int MC = 192; // a multiple of both tile heights
    /** Depth of a packed B block (its panels, kc × NR floats, stay in L1). */
    static final int KC = 256;
    /** Columns of a packed B block. */
    static final int NC = 4096;
    /** Column panels (of NR) that must share a packed A block for packing it to pay off. */
    static final int PACK_A_MIN_PANELS = 4;
    /** Products smaller than this (2·m·n·k) run on the calling thread: the hand-off costs more than it saves. */
    static final long PARALLEL_FLOPS = 4_000_000L;
    /** K from which C = A·Bᵀ with fewer rows in A than in B is computed as Cᵀ = B·Aᵀ (see sgemm). */
    static final int SWAP_MIN_K = 1024;
    /** M at or below which threads split columns (or K) instead of rows. */
    static final int SMALL_M = 128;

    /** A thread's reusable buffers. */
    private static final class Scratch {
        float[] packB = new float[0];
        final float[] packA = new float[(MC + MR - 1) / MR * MR * KC];
        final float[] tile = new float[MR * NR];
        final int[] gather = new int[2 * NR]; // the full panels' offsets, then the last panel's
        float[] partial = new float[0]; // only on a thread that splits K: the other chunks' sums
        float[] swapped = new float[0]; // only on a thread that computes Cᵀ for C = A·Bᵀ (see sgemm)
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    // C is (m, n), op(A) is (m, k), op(B) is (k, n)
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        if (m <= 0 || n <= 0) return;
        if (k <= 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            return;
        }
        if (transB && !transA && m < n && k >= SWAP_MIN_K) {
            // NOTE: C = A·Bᵀ with both stored k-contiguous: the packed operand (here B) is read with gathers, one
            // element of each of NR rows per step of K. With B the bigger one (the RNN's x·W_ihᵀ: W is 128 × 6272, x
            // 64 × 6272) Cᵀ = B·Aᵀ gathers half as much: 0.71 → 0.59 ms on 2 threads. Cᵀ (n × m) then goes into C.
            Scratch s = SCRATCH.get();
            if (s.swapped.length < n * m) s.swapped = new float[n * m];
            float[] ct = s.swapped;
            sgemm(false, true, n, m, k, b, bOff, ldb, a, aOff, lda, ct, 0, m, false);
            for (int i = 0; i < m; i++) {
                int ci = cOff + i * ldc;
                if (accumulate) for (int j = 0; j < n; j++) c[ci + j] += ct[j * m + i];
                else for (int j = 0; j < n; j++) c[ci + j] = ct[j * m + i];
            }
            return;
        }
        int threads = 2L * m * n * k < PARALLEL_FLOPS ? 1 : Parallel.threads();
        int rowTiles = (m + MR - 1) / MR;
        int colPanels = (n + NR - 1) / NR;
        if (threads == 1) {
            block(transA, transB, 0, m, 0, n, 0, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
        } else if (m > SMALL_M && rowTiles >= 2 * threads) {
            // Each chunk packs the same B block for itself; with at least MC rows to reuse it that costs little.
            Parallel.forRange(rowTiles, MC / MR, (t0, t1) -> block(transA, transB, t0 * MR, Math.min(m, t1 * MR), 0, n, 0, k,
                    a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate));
        } else if (colPanels >= threads) {
            Parallel.forRange(colPanels, 1, (q0, q1) -> block(transA, transB, 0, m, q0 * NR, Math.min(n, q1 * NR), 0, k,
                    a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate));
        } else if (k >= 2 * KC * threads) {
            splitK(threads, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
        } else {
            Parallel.forRange(rowTiles, 1, (t0, t1) -> block(transA, transB, t0 * MR, Math.min(m, t1 * MR), 0, n, 0, k,
                    a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate));
        }
    }

    /**
     * Small M and N, long K: chunk 0 of K writes C itself (with the caller's {@code accumulate}), every other chunk
     * writes its own m×n partial sum, and the calling thread adds those into C once all are done.
     */
    private static void splitK(int threads, boolean transA, boolean transB, int m, int n, int k,
                               float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                               float[] c, int cOff, int ldc, boolean accumulate) {
        Scratch s = SCRATCH.get();
        int mn = m * n;
        if (s.partial.length < (threads - 1) * mn) s.partial = new float[(threads - 1) * mn];
        float[] partial = s.partial;
        Parallel.forRange(threads, 1, (c0, c1) -> {
            for (int chunk = c0; chunk < c1; chunk++) {
                int p0 = (int) ((long) k * chunk / threads), p1 = (int) ((long) k * (chunk + 1) / threads);
                if (chunk == 0) block(transA, transB, 0, m, 0, n, p0, p1, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, accumulate);
                else block(transA, transB, 0, m, 0, n, p0, p1, a, aOff, lda, b, bOff, ldb, partial, (chunk - 1) * mn, n, false);
            }
        });
        for (int chunk = 1; chunk < threads; chunk++) {
            int base = (chunk - 1) * mn;
            for (int i = 0; i < m; i++) addRow(c, cOff + i * ldc, partial, base + i * n, n);
        }
    }

    // c[ci .. ci+n) += src[si .. si+n)
    private static void addRow(float[] c, int ci, float[] src, int si, int n) {
        int j = 0;
        for (int bound = S.loopBound(n); j < bound; j += VL) {
            FloatVector.fromArray(S, c, ci + j).add(FloatVector.fromArray(S, src, si + j)).intoArray(c, ci + j);
        }
        for (; j < n; j++) c[ci + j] += src[si + j];
    }

    /**
     * One thread's share: rows [i0, i1), columns [j0, j1) and depth [p0, p1) of the product; the first K block
     * overwrites C unless {@code accumulate}, the later ones add.
     */
    static void block(boolean transA, boolean transB, int i0, int i1, int j0, int j1, int p0, int p1,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float[] c, int cOff, int ldc, boolean accumulate) {
        Scratch s = SCRATCH.get();
        int ncMax = Math.min(NC, j1 - j0);
        int need = Math.min(KC, p1 - p0) * ((ncMax + NR - 1) / NR) * NR;
        if (s.packB.length < need) s.packB = new float[need];
        float[] packB = s.packB;
        float[] packA = s.packA;
        // A(i, p) is a[aOff + i*aRow + p*aDepth]: stored m×k it walks rows by lda and K by 1; transposed, the reverse.
        int aRow = transA ? 1 : lda;
        int aDepth = transA ? lda : 1;
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = p0; pc < p1; pc += KC) {
                int kc = Math.min(KC, p1 - pc);
                if (transB) packBT(packB, b, bOff, ldb, pc, kc, jc, nc, s.gather);
                else packBN(packB, b, bOff, ldb, pc, kc, jc, nc);
                boolean add = accumulate || pc > p0;
                int aK = aOff + pc * aDepth;
                for (int ic = i0; ic < i1; ic += MC) {
                    int mc = Math.min(MC, i1 - ic);
                    // Packing A pays off when several column panels reuse it; for one or two (N = 32 or 64, as in the
                    // convolutions' GEMMs) broadcasting from A where it lies is faster.
                    boolean packed = nc >= PACK_A_MIN_PANELS * NR;
                    if (packed) packA(packA, a, aK, aRow, aDepth, ic, mc, kc);
                    int last = ic + mc - 1;
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        int bp = jr * kc; // panels are [kc][NR], one after another
                        for (int ir = 0; ir < mc; ir += MR) {
                            int i = ic + ir;
                            int mr = Math.min(MR, mc - ir);
                            int ci = cOff + i * ldc + jc + jr;
                            if (packed) {
                                kernel(kc, true, packA, ir * kc, 0, 0, 0, 0, 0, MR, packB, bp, c, ci, ldc, mr, nr, add,
                                        s.tile);
                            } else {
                                // NOTE: rows past the block's end repeat its last row: valid memory, results not stored.
                                kernel(kc, false, a, aK + i * aRow, aK + Math.min(i + 1, last) * aRow,
                                        aK + Math.min(i + 2, last) * aRow, aK + Math.min(i + 3, last) * aRow,
                                        aK + Math.min(i + 4, last) * aRow, aK + Math.min(i + 5, last) * aRow, aDepth,
                                        packB, bp, c, ci, ldc, mr, nr, add, s.tile);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs rows [ic, ic+mc) of A and kc steps of K into panels of [kc][MR] (A(i, p) at {@code a[aK + i*aRow +
     * p*aDepth]}). Rows past the end repeat the last row: valid numbers whose results the micro-kernel never stores.
     */
    static void packA(float[] dst, float[] a, int aK, int aRow, int aDepth, int ic, int mc, int kc) {
        int last = ic + mc - 1;
        for (int ir = 0; ir < mc; ir += MR) {
            int i = ic + ir;
            int d = ir * kc;
            int r0 = aK + i * aRow, r1 = aK + Math.min(i + 1, last) * aRow, r2 = aK + Math.min(i + 2, last) * aRow;
            int r3 = aK + Math.min(i + 3, last) * aRow;
            // NOTE: K outermost, so the packed panel is written front to back (the rows are read as streams)
            if (MR == 4) {
                for (int p = 0, pa = 0; p < kc; p++, pa += aDepth) {
                    int q = d + p * 4;
                    dst[q] = a[r0 + pa];
                    dst[q + 1] = a[r1 + pa];
                    dst[q + 2] = a[r2 + pa];
                    dst[q + 3] = a[r3 + pa];
                }
            } else {
                int r4 = aK + Math.min(i + 4, last) * aRow, r5 = aK + Math.min(i + 5, last) * aRow;
                for (int p = 0, pa = 0; p < kc; p++, pa += aDepth) {
                    int q = d + p * 6;
                    dst[q] = a[r0 + pa];
                    dst[q + 1] = a[r1 + pa];
                    dst[q + 2] = a[r2 + pa];
                    dst[q + 3] = a[r3 + pa];
                    dst[q + 4] = a[r4 + pa];
                    dst[q + 5] = a[r5 + pa];
                }
            }
        }
    }

    /**
     * The micro-kernel: a MR×NR tile of C from kc steps of (six broadcasts of A) × (two vectors of packed B).
     * A(r, p) is {@code a[a0 + p*MR + r]} when {@code packed}, else {@code a[a_r + p*aDepth]}; B(p, 0..NR) is
     * {@code bp[bIdx + p*NR ...]}. Stores mr×nr of the tile, adding to C when {@code add}.
     */
    static void kernel(int kc, boolean packed, float[] a, int a0, int a1, int a2, int a3, int a4, int a5, int aDepth,
                       float[] bp, int bIdx, float[] c, int cIdx, int ldc, int mr, int nr, boolean add, float[] tile) {
        if (MR == 4) kernel4(kc, packed, a, a0, a1, a2, a3, aDepth, bp, bIdx, c, cIdx, ldc, mr, nr, add, tile);
        else kernel6(kc, packed, a, a0, a1, a2, a3, a4, a5, aDepth, bp, bIdx, c, cIdx, ldc, mr, nr, add, tile);
    }

    /**
     * {@link #kernel} with 6 rows (12 accumulators), for 32 vector registers: dispatches on A's layout to one of two
     * methods. NOTE: two methods, not one: C2 compiled the three loops and the stores as one method in a 76 MB arena
     * (MemStat), which set the epoch's peak resident memory; each half takes about half of that.
     */
    private static void kernel6(int kc, boolean packed, float[] a, int a0, int a1, int a2, int a3, int a4, int a5, int aDepth,
                                float[] bp, int bIdx, float[] c, int cIdx, int ldc, int mr, int nr, boolean add, float[] tile) {
        if (packed) kernel6Packed(kc, a, a0, bp, bIdx, c, cIdx, ldc, mr, nr, add, tile);
        else kernel6Rows(kc, a, a0, a1, a2, a3, a4, a5, aDepth, bp, bIdx, c, cIdx, ldc, mr, nr, add, tile);
    }

    /** {@link #kernel6} with A packed: A(r, p) at {@code a[a0 + p*MR + r]}. */
    private static void kernel6Packed(int kc, float[] a, int a0, float[] bp, int bIdx, float[] c, int cIdx, int ldc, int mr, int nr,
                                      boolean add, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        float[] ap = a;
        int aIdx = a0;
        // NOTE: indices linear in p with constant strides let C2 hoist every range check out of the loop, and
        // the six A values sit at constant displacements from one index, so each broadcast is a single load. Two
        // steps per iteration halve the index arithmetic, which competes with the FMAs for the same ports.
        FloatVector b0, b1, av;
        int p = 0;
        for (; p < kc - 1; p += 2) {
            int pa = aIdx + p * MR;
            int pb = bIdx + p * NR;
            b0 = FloatVector.fromArray(S, bp, pb);
            b1 = FloatVector.fromArray(S, bp, pb + VL);
            av = FloatVector.broadcast(S, ap[pa]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[pa + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[pa + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[pa + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[pa + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[pa + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
            b0 = FloatVector.fromArray(S, bp, pb + NR);
            b1 = FloatVector.fromArray(S, bp, pb + NR + VL);
            av = FloatVector.broadcast(S, ap[pa + MR]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[pa + MR + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[pa + MR + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[pa + MR + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[pa + MR + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[pa + MR + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        if (p < kc) {
            int pa = aIdx + p * MR;
            int pb = bIdx + p * NR;
            b0 = FloatVector.fromArray(S, bp, pb);
            b1 = FloatVector.fromArray(S, bp, pb + VL);
            av = FloatVector.broadcast(S, ap[pa]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, ap[pa + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, ap[pa + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, ap[pa + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, ap[pa + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, ap[pa + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        if (mr == MR && nr == NR) {
            if (add) {
                int ci = cIdx;
                FloatVector.fromArray(S, c, ci).add(c00).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c01).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c10).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c11).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c20).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c21).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c30).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c31).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c40).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c41).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c50).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c51).intoArray(c, ci + VL);
            } else {
                int ci = cIdx;
                c00.intoArray(c, ci);
                c01.intoArray(c, ci + VL);
                ci += ldc;
                c10.intoArray(c, ci);
                c11.intoArray(c, ci + VL);
                ci += ldc;
                c20.intoArray(c, ci);
                c21.intoArray(c, ci + VL);
                ci += ldc;
                c30.intoArray(c, ci);
                c31.intoArray(c, ci + VL);
                ci += ldc;
                c40.intoArray(c, ci);
                c41.intoArray(c, ci + VL);
                ci += ldc;
                c50.intoArray(c, ci);
                c51.intoArray(c, ci + VL);
            }
        } else {
            // Edge tile: spill the registers and copy the valid mr×nr corner (rare: at most one row and one column
            // of tiles per block).
            c00.intoArray(tile, 0);
            c01.intoArray(tile, VL);
            c10.intoArray(tile, NR);
            c11.intoArray(tile, NR + VL);
            c20.intoArray(tile, 2 * NR);
            c21.intoArray(tile, 2 * NR + VL);
            c30.intoArray(tile, 3 * NR);
            c31.intoArray(tile, 3 * NR + VL);
            c40.intoArray(tile, 4 * NR);
            c41.intoArray(tile, 4 * NR + VL);
            c50.intoArray(tile, 5 * NR);
            c51.intoArray(tile, 5 * NR + VL);
            storeEdge(tile, c, cIdx, ldc, mr, nr, add);
        }
    }

    /** {@link #kernel6} with A in place: A(r, p) at {@code a[a_r + p*aDepth]}. NOTE: the stores repeat kernel6Packed's (see kernel6). */
    private static void kernel6Rows(int kc, float[] a, int a0, int a1, int a2, int a3, int a4, int a5, int aDepth, float[] bp, int bIdx,
                                    float[] c, int cIdx, int ldc, int mr, int nr, boolean add, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        if (aDepth == 1) {
            // A stored m×k, not packed: six rows, each read forwards (indices linear in p: range checks hoisted).
            FloatVector av;
            for (int p = 0; p < kc; p++) {
                int pb = bIdx + p * NR;
                FloatVector b0 = FloatVector.fromArray(S, bp, pb);
                FloatVector b1 = FloatVector.fromArray(S, bp, pb + VL);
                av = FloatVector.broadcast(S, a[a0 + p]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, a[a1 + p]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, a[a2 + p]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, a[a3 + p]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
                av = FloatVector.broadcast(S, a[a4 + p]);
                c40 = av.fma(b0, c40);
                c41 = av.fma(b1, c41);
                av = FloatVector.broadcast(S, a[a5 + p]);
                c50 = av.fma(b0, c50);
                c51 = av.fma(b1, c51);
            }
        } else {
            // A stored k×m (transA), not packed: the values of step p are at a_r + p*aDepth.
            FloatVector av;
            for (int p = 0, pa = 0; p < kc; p++, pa += aDepth) {
                int pb = bIdx + p * NR;
                FloatVector b0 = FloatVector.fromArray(S, bp, pb);
                FloatVector b1 = FloatVector.fromArray(S, bp, pb + VL);
                av = FloatVector.broadcast(S, a[a0 + pa]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, a[a1 + pa]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, a[a2 + pa]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, a[a3 + pa]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
                av = FloatVector.broadcast(S, a[a4 + pa]);
                c40 = av.fma(b0, c40);
                c41 = av.fma(b1, c41);
                av = FloatVector.broadcast(S, a[a5 + pa]);
                c50 = av.fma(b0, c50);
                c51 = av.fma(b1, c51);
            }
        }
        if (mr == MR && nr == NR) {
            if (add) {
                int ci = cIdx;
                FloatVector.fromArray(S, c, ci).add(c00).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c01).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c10).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c11).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c20).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c21).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c30).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c31).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c40).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c41).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c50).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c51).intoArray(c, ci + VL);
            } else {
                int ci = cIdx;
                c00.intoArray(c, ci);
                c01.intoArray(c, ci + VL);
                ci += ldc;
                c10.intoArray(c, ci);
                c11.intoArray(c, ci + VL);
                ci += ldc;
                c20.intoArray(c, ci);
                c21.intoArray(c, ci + VL);
                ci += ldc;
                c30.intoArray(c, ci);
                c31.intoArray(c, ci + VL);
                ci += ldc;
                c40.intoArray(c, ci);
                c41.intoArray(c, ci + VL);
                ci += ldc;
                c50.intoArray(c, ci);
                c51.intoArray(c, ci + VL);
            }
        } else {
            // Edge tile: spill the registers and copy the valid mr×nr corner (rare: at most one row and one column
            // of tiles per block).
            c00.intoArray(tile, 0);
            c01.intoArray(tile, VL);
            c10.intoArray(tile, NR);
            c11.intoArray(tile, NR + VL);
            c20.intoArray(tile, 2 * NR);
            c21.intoArray(tile, 2 * NR + VL);
            c30.intoArray(tile, 3 * NR);
            c31.intoArray(tile, 3 * NR + VL);
            c40.intoArray(tile, 4 * NR);
            c41.intoArray(tile, 4 * NR + VL);
            c50.intoArray(tile, 5 * NR);
            c51.intoArray(tile, 5 * NR + VL);
            storeEdge(tile, c, cIdx, ldc, mr, nr, add);
        }
    }

    /**
     * {@link #kernel} with 4 rows (8 accumulators), for 16 vector registers: one step of K per iteration (unrolling
     * two made C2 spill here too).
     */
    private static void kernel4(int kc, boolean packed, float[] a, int a0, int a1, int a2, int a3, int aDepth,
                                float[] bp, int bIdx, float[] c, int cIdx, int ldc, int mr, int nr, boolean add, float[] tile) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        // NOTE: three loops, each with indices linear in p and a constant stride, so C2 hoists the range checks
        FloatVector av;
        if (packed) {
            for (int p = 0; p < kc; p++) {
                int pa = a0 + p * 4, pb = bIdx + p * NR;
                FloatVector b0 = FloatVector.fromArray(S, bp, pb);
                FloatVector b1 = FloatVector.fromArray(S, bp, pb + VL);
                av = FloatVector.broadcast(S, a[pa]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, a[pa + 1]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, a[pa + 2]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, a[pa + 3]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
            }
        } else if (aDepth == 1) {
            for (int p = 0; p < kc; p++) {
                int pb = bIdx + p * NR;
                FloatVector b0 = FloatVector.fromArray(S, bp, pb);
                FloatVector b1 = FloatVector.fromArray(S, bp, pb + VL);
                av = FloatVector.broadcast(S, a[a0 + p]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, a[a1 + p]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, a[a2 + p]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, a[a3 + p]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
            }
        } else {
            for (int p = 0, pa = 0; p < kc; p++, pa += aDepth) {
                int pb = bIdx + p * NR;
                FloatVector b0 = FloatVector.fromArray(S, bp, pb);
                FloatVector b1 = FloatVector.fromArray(S, bp, pb + VL);
                av = FloatVector.broadcast(S, a[a0 + pa]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, a[a1 + pa]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, a[a2 + pa]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, a[a3 + pa]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
            }
        }
        if (mr == 4 && nr == NR) {
            int ci = cIdx;
            if (add) {
                FloatVector.fromArray(S, c, ci).add(c00).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c01).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c10).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c11).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c20).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c21).intoArray(c, ci + VL);
                ci += ldc;
                FloatVector.fromArray(S, c, ci).add(c30).intoArray(c, ci);
                FloatVector.fromArray(S, c, ci + VL).add(c31).intoArray(c, ci + VL);
            } else {
                c00.intoArray(c, ci);
                c01.intoArray(c, ci + VL);
                ci += ldc;
                c10.intoArray(c, ci);
                c11.intoArray(c, ci + VL);
                ci += ldc;
                c20.intoArray(c, ci);
                c21.intoArray(c, ci + VL);
                ci += ldc;
                c30.intoArray(c, ci);
                c31.intoArray(c, ci + VL);
            }
        } else {
            c00.intoArray(tile, 0);
            c01.intoArray(tile, VL);
            c10.intoArray(tile, NR);
            c11.intoArray(tile, NR + VL);
            c20.intoArray(tile, 2 * NR);
            c21.intoArray(tile, 2 * NR + VL);
            c30.intoArray(tile, 3 * NR);
            c31.intoArray(tile, 3 * NR + VL);
            storeEdge(tile, c, cIdx, ldc, mr, nr, add);
        }
    }

    private static void storeEdge(float[] tile, float[] c, int cIdx, int ldc, int mr, int nr, boolean add) {
        for (int r = 0; r < mr; r++) {
            int ci = cIdx + r * ldc;
            int ti = r * NR;
            if (add) for (int j = 0; j < nr; j++) c[ci + j] += tile[ti + j];
            else System.arraycopy(tile, ti, c, ci, nr);
        }
    }

    /**
     * Packs B stored k×n (row p at {@code bOff + p*ldb}): rows [pc, pc+kc) and columns [jc, jc+nc) into panels of
     * [kc][NR], two vector copies per row; the last panel's missing columns are zero.
     */
    static void packBN(float[] dst, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc) {
        for (int jr = 0; jr < nc; jr += NR) {
            int d = jr * kc;
            int src = bOff + pc * ldb + jc + jr;
            int cols = nc - jr;
            if (cols >= NR) {
                for (int p = 0; p < kc; p++, d += NR, src += ldb) {
                    FloatVector.fromArray(S, b, src).intoArray(dst, d);
                    FloatVector.fromArray(S, b, src + VL).intoArray(dst, d + VL);
                }
            } else {
                VectorMask<Float> m0 = S.indexInRange(0, cols);
                VectorMask<Float> m1 = S.indexInRange(VL, cols);
                for (int p = 0; p < kc; p++, d += NR, src += ldb) {
                    if (src + NR <= b.length) {
                        FloatVector.fromArray(S, b, src, m0).intoArray(dst, d);
                        FloatVector.fromArray(S, b, src + VL, m1).intoArray(dst, d + VL);
                    } else { // near b's end: a masked load past it checks its lanes out of line, far slower
                        for (int j = 0; j < NR; j++) dst[d + j] = j < cols ? b[src + j] : 0f;
                    }
                }
            }
        }
    }

    /**
     * Packs op(B) = Bᵀ with B stored n×k (op(B)(p, j) at {@code bOff + j*ldb + p}) into the same [kc][NR] panels: for
     * each p, a gather takes element p of VL consecutive rows of B. The transpose happens here and nowhere else.
     * The last panel's missing columns hold copies of its last column (not zeros).
     */
    static void packBT(float[] dst, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc, int[] gather) {
        for (int j = 0; j < NR; j++) gather[j] = j * ldb;
        for (int jr = 0; jr < nc; jr += NR) {
            int d = jr * kc;
            int src = bOff + (jc + jr) * ldb + pc;
            int cols = nc - jr;
            int g = 0;
            if (cols < NR) {
                // NOTE: a masked gather still range-checks every lane, so the missing columns re-read the last valid
                // one instead. Their values only reach C columns past nr, which the micro-kernel never stores.
                g = NR;
                for (int j = 0; j < NR; j++) gather[g + j] = Math.min(j, cols - 1) * ldb;
            }
            for (int p = 0; p < kc; p++, d += NR) {
                FloatVector.fromArray(S, b, src + p, gather, g).intoArray(dst, d);
                FloatVector.fromArray(S, b, src + p, gather, g + VL).intoArray(dst, d + VL);
            }
        }
    }
}
