package dev.deepshape.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The one GPU this process uses: its primary context, the kernels of {@code kernels.cu} (compiled by NVRTC on first
 * use, for this device's architecture), a cuBLAS handle, device memory and copies. Everything runs in order on the
 * legacy default stream, so a copy back to the host waits for the kernels before it and nothing else needs a
 * synchronisation. Calls are serialised by this object's lock; any thread may call (the context is made current on
 * each thread that does).
 *
 * <p>Device pointers are plain {@code long}s (a {@code CUdeviceptr}).
 */
public final class Gpu {
    private static final Object LOCK = new Object();
    private static Gpu instance;
    private static String unavailable;

    final CudaApi api;
    private final Nvrtc nvrtc;
    private final MemorySegment context;
    private final int device;
    public final String name;
    public final int ccMajor, ccMinor, multiprocessors;
    public final long totalMemory;
    public final int driverVersion;
    private final ThreadLocal<Boolean> bound = ThreadLocal.withInitial(() -> false);

    private MemorySegment module;
    private final Map<String, MemorySegment> functions = new HashMap<>();
    private MemorySegment cublas;
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment params = arena.allocate(ADDRESS, 32);
    private final MemorySegment values = arena.allocate(JAVA_LONG, 32);
    private final MemorySegment alpha = arena.allocate(JAVA_FLOAT), beta = arena.allocate(JAVA_FLOAT);
    private final long[] scratch = new long[16];
    private final long[] scratchBytes = new long[16];

    private Gpu() throws NativeLibs.NotFound {
        api = new CudaApi();
        nvrtc = new Nvrtc();
        api.init();
        driverVersion = api.driverVersion();
        if (api.deviceCount() < 1) throw new CudaException("the CUDA driver sees no GPU");
        device = api.device(0);
        name = api.deviceName(device);
        ccMajor = api.attribute(75, device);     // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
        ccMinor = api.attribute(76, device);     // ..._MINOR
        multiprocessors = api.attribute(16, device); // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
        totalMemory = api.totalMem(device);
        context = api.primaryContext(device);
        for (int i = 0; i < 32; i++) params.setAtIndex(ADDRESS, i, values.asSlice(8L * i, 8));
    }

    /** The GPU, started on first use; throws a {@link CudaException} that says why when there is none usable here. */
    public static Gpu get() {
        synchronized (LOCK) {
            if (instance != null) return instance;
            if (unavailable != null) throw new CudaException(unavailable);
            try {
                instance = new Gpu();
                return instance;
            } catch (NativeLibs.NotFound e) {
                unavailable = "no usable CUDA GPU: " + e.getMessage();
            } catch (CudaException e) {
                unavailable = "no usable CUDA GPU: " + e.getMessage();
            } catch (RuntimeException | LinkageError e) {
                unavailable = "no usable CUDA GPU: " + e;
            }
            throw new CudaException(unavailable);
        }
    }

    /** Why there is no GPU here, or null when there is one (starts it to find out). */
    public static String unavailableReason() {
        try {
            get();
            return null;
        } catch (CudaException e) {
            return e.getMessage();
        }
    }

    /** One line for logs: the device, its compute capability and memory, the driver, NVRTC and cuBLAS versions. */
    public String describe() {
        synchronized (LOCK) {
            bind();
            return name + " (compute " + ccMajor + "." + ccMinor + ", " + multiprocessors + " SMs, " + (totalMemory >> 20)
                    + " MiB; driver API " + driverVersion / 1000 + "." + driverVersion % 1000 / 10 + ", NVRTC "
                    + nvrtc.nvrtcVersionString() + ", cuBLAS " + api.cublasVersion(cublas()) + ")";
        }
    }

    private void bind() {
        if (!bound.get()) {
            api.setCurrent(context);
            bound.set(true);
        }
    }

    // ---------------------------------------------------------------- memory

    /** Device memory for {@code floats} 4-byte values (floats or ints), uninitialised. */
    public long alloc(long floats) {
        synchronized (LOCK) {
            bind();
            return api.memAlloc(Math.max(4, floats * 4));
        }
    }

    public void free(long ptr) {
        if (ptr == 0) return;
        synchronized (LOCK) {
            bind();
            api.memFree(ptr);
        }
    }

    /**
     * A scratch buffer of at least {@code floats} values for slot {@code slot} (0..15), kept and grown as needed:
     * the per-op backend's staging and the convolutions' column buffers. Valid until the next call for that slot.
     */
    long scratch(int slot, long floats) {
        synchronized (LOCK) {
            bind();
            long bytes = Math.max(4, floats * 4);
            if (scratchBytes[slot] < bytes) {
                if (scratch[slot] != 0) {
                    api.synchronize();
                    api.memFree(scratch[slot]);
                }
                long grown = Math.max(bytes, scratchBytes[slot] + scratchBytes[slot] / 2);
                scratch[slot] = api.memAlloc(grown);
                scratchBytes[slot] = grown;
            }
            return scratch[slot];
        }
    }

    public void upload(long dst, float[] src, int off, int n) {
        if (n == 0) return;
        synchronized (LOCK) {
            bind();
            api.copyHtoD(dst, MemorySegment.ofArray(src).asSlice(4L * off, 4L * n), 4L * n);
        }
    }

    public void upload(long dst, int[] src, int off, int n) {
        if (n == 0) return;
        synchronized (LOCK) {
            bind();
            api.copyHtoD(dst, MemorySegment.ofArray(src).asSlice(4L * off, 4L * n), 4L * n);
        }
    }

    public void download(float[] dst, int off, long src, int n) {
        if (n == 0) return;
        synchronized (LOCK) {
            bind();
            api.copyDtoH(MemorySegment.ofArray(dst).asSlice(4L * off, 4L * n), src, 4L * n);
        }
    }

    public void download(int[] dst, int off, long src, int n) {
        if (n == 0) return;
        synchronized (LOCK) {
            bind();
            api.copyDtoH(MemorySegment.ofArray(dst).asSlice(4L * off, 4L * n), src, 4L * n);
        }
    }

    public void copy(long dst, long src, long floats) {
        if (floats == 0) return;
        synchronized (LOCK) {
            bind();
            api.copyDtoD(dst, src, 4 * floats);
        }
    }

    /** Sets {@code floats} 4-byte values to zero. */
    public void zero(long dst, long floats) {
        if (floats == 0) return;
        synchronized (LOCK) {
            bind();
            api.memsetD32(dst, 0, floats);
        }
    }

    /** Waits for everything queued so far (a copy back to the host does this by itself). */
    public void synchronize() {
        synchronized (LOCK) {
            bind();
            api.synchronize();
        }
    }

    // ---------------------------------------------------------------- kernels

    private MemorySegment function(String kernel) {
        MemorySegment f = functions.get(kernel);
        if (f != null) return f;
        if (module == null) module = api.loadModule(ptx(ccMajor * 10 + ccMinor));
        f = api.function(module, kernel);
        functions.put(kernel, f);
        return f;
    }

    /** Compiles and loads the kernels now (NVRTC takes a fraction of a second), so that no timed call pays for it. */
    public void warm() {
        synchronized (LOCK) {
            bind();
            function("adam"); // any kernel: the first lookup compiles and loads them all
        }
    }

    /** The PTX of kernels.cu for {@code compute_<arch>} (NVRTC; the driver compiles it for the device on load). */
    String ptx(int arch) {
        return compile(nvrtc, arch);
    }

    /** NVRTC's options: no contraction of a*b+c into one rounding, so the arithmetic is the reference kernels'. */
    static String compile(Nvrtc nvrtc, int arch) {
        return nvrtc.compile(source(), "kernels.cu", List.of("--gpu-architecture=compute_" + arch, "--fmad=false"));
    }

    static String source() {
        try (InputStream in = Gpu.class.getResourceAsStream("kernels.cu")) {
            if (in == null) throw new CudaException("kernels.cu is missing from the cuda module's jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CudaException("cannot read kernels.cu: " + e.getMessage(), e);
        }
    }

    /**
     * Launches {@code kernel} with enough 256-thread blocks for {@code work} elements (the kernels loop grid-stride,
     * so the grid is capped). Arguments: {@code Long} for pointers and {@code long} sizes, {@code Integer},
     * {@code Float}. NOTE: every argument is written as 8 bytes (integers sign-extended), so an int passed where the
     * kernel declares a long, or the other way round, still reads the right value.
     */
    public void launch(String kernel, long work, Object... args) {
        launch2d(kernel, work, 1, args);
    }

    /** {@link #launch} with {@code rows} block rows (blockIdx.y), each running over {@code work} elements. */
    public void launch2d(String kernel, long work, int rows, Object... args) {
        if (work * rows >= Integer.MAX_VALUE) {
            throw new CudaException(kernel + ": " + work * rows + " elements; the kernels index with 32-bit integers (at most "
                    + Integer.MAX_VALUE + "): use a smaller batch");
        }
        int blocks = (int) Math.max(1, Math.min((work + 255) / 256, 65536 / Math.max(1, Math.min(rows, 64))));
        launchGrid(kernel, blocks, rows, 256, args);
    }

    public void launchBlocks(String kernel, int blocks, int threads, Object... args) {
        launchGrid(kernel, blocks, 1, threads, args);
    }

    private void launchGrid(String kernel, int blocks, int rows, int threads, Object... args) {
        synchronized (LOCK) {
            bind();
            MemorySegment f = function(kernel);
            for (int i = 0; i < args.length; i++) {
                long slot = 8L * i;
                switch (args[i]) {
                    case Long l -> values.set(JAVA_LONG, slot, l);
                    case Integer v -> values.set(JAVA_LONG, slot, v.longValue());
                    case Float v -> { values.set(JAVA_LONG, slot, 0L); values.set(JAVA_FLOAT, slot, v); }
                    default -> throw new IllegalArgumentException("kernel argument " + i + " of " + kernel + ": " + args[i]);
                }
            }
            api.launch(f, kernel, blocks, rows, threads, 0, params);
        }
    }

    // ---------------------------------------------------------------- matrix multiply (row-major, as the Backend's)

    private MemorySegment cublas() {
        if (cublas == null) cublas = api.cublasCreate();
        return cublas;
    }

    /**
     * {@code C = op(A)·op(B) + beta·C}, row-major as {@link dev.deepshape.backend.Backend#sgemm}: C is m×n (ldc),
     * op(A) m×k, op(B) k×n. cuBLAS is column-major: a row-major matrix is its transpose there, so this computes
     * {@code Cᵀ = op(B)ᵀ·op(A)ᵀ} with the operands swapped.
     */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long b, int ldb, long c,
                     int ldc, float betaValue) {
        if (m == 0 || n == 0) return;
        synchronized (LOCK) {
            bind();
            alpha.set(JAVA_FLOAT, 0, 1f);
            beta.set(JAVA_FLOAT, 0, betaValue);
            api.sgemm(cublas(), transB ? 1 : 0, transA ? 1 : 0, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc);
        }
    }

    /** {@link #gemm} over {@code batch} matrices at the given strides (in floats; a stride 0 reuses one matrix). */
    public void gemmBatched(boolean transA, boolean transB, int m, int n, int k, long a, int lda, long strideA, long b,
                            int ldb, long strideB, long c, int ldc, long strideC, float betaValue, int batch) {
        if (m == 0 || n == 0 || batch == 0) return;
        synchronized (LOCK) {
            bind();
            alpha.set(JAVA_FLOAT, 0, 1f);
            beta.set(JAVA_FLOAT, 0, betaValue);
            api.sgemmStridedBatched(cublas(), transB ? 1 : 0, transA ? 1 : 0, n, m, k, alpha, b, ldb, strideB, a, lda,
                    strideA, beta, c, ldc, strideC, batch);
        }
    }
}
