package dev.deepshape.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * The C functions deepshape calls, as foreign-function handles: the CUDA driver API, NVRTC and cuBLAS (no runtime
 * API, no JNI); NVRTC is {@link Nvrtc}. Each wrapper checks the result and throws a {@link CudaException} naming the call and the
 * library's own error string. Only {@link Gpu} uses this class.
 */
final class CudaApi {
    private static final Linker LINKER = Linker.nativeLinker();
    /** For copies from and to Java arrays: the call may read the heap directly, and does not call back into Java. */
    private static final Linker.Option HEAP = Linker.Option.critical(true);

    final SymbolLookup cuda, cublas;

    // driver
    private final MethodHandle cuInit, cuDriverGetVersion, cuDeviceGetCount, cuDeviceGet, cuDeviceGetName,
            cuDeviceGetAttribute, cuDeviceTotalMem, cuDevicePrimaryCtxRetain, cuCtxSetCurrent, cuCtxSynchronize,
            cuMemAlloc, cuMemFree, cuMemcpyHtoD, cuMemcpyDtoH, cuMemcpyDtoD, cuMemsetD32, cuModuleLoadData,
            cuModuleGetFunction, cuLaunchKernel, cuGetErrorName, cuGetErrorString, cuMemGetInfo;
    // cuBLAS
    private final MethodHandle cublasCreate, cublasGetVersion, cublasSgemm, cublasSgemmStridedBatched;

    private final Arena arena = Arena.ofAuto();

    CudaApi() throws NativeLibs.NotFound {
        cuda = NativeLibs.open("the CUDA driver (libcuda.so.1)", List.of("libcuda.so.1", "libcuda.so"), null);
        cuInit = h(cuda, "cuInit", JAVA_INT);
        cuDriverGetVersion = h(cuda, "cuDriverGetVersion", ADDRESS);
        cuDeviceGetCount = h(cuda, "cuDeviceGetCount", ADDRESS);
        cuDeviceGet = h(cuda, "cuDeviceGet", ADDRESS, JAVA_INT);
        cuDeviceGetName = h(cuda, "cuDeviceGetName", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceGetAttribute = h(cuda, "cuDeviceGetAttribute", ADDRESS, JAVA_INT, JAVA_INT);
        cuDeviceTotalMem = h(cuda, "cuDeviceTotalMem_v2", ADDRESS, JAVA_INT);
        cuDevicePrimaryCtxRetain = h(cuda, "cuDevicePrimaryCtxRetain", ADDRESS, JAVA_INT);
        cuCtxSetCurrent = h(cuda, "cuCtxSetCurrent", ADDRESS);
        cuCtxSynchronize = h(cuda, "cuCtxSynchronize");
        cuMemAlloc = h(cuda, "cuMemAlloc_v2", ADDRESS, JAVA_LONG);
        cuMemFree = h(cuda, "cuMemFree_v2", JAVA_LONG);
        cuMemcpyHtoD = LINKER.downcallHandle(find(cuda, "cuMemcpyHtoD_v2"), FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG), HEAP);
        cuMemcpyDtoH = LINKER.downcallHandle(find(cuda, "cuMemcpyDtoH_v2"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), HEAP);
        cuMemcpyDtoD = h(cuda, "cuMemcpyDtoD_v2", JAVA_LONG, JAVA_LONG, JAVA_LONG);
        cuMemsetD32 = h(cuda, "cuMemsetD32_v2", JAVA_LONG, JAVA_INT, JAVA_LONG);
        cuModuleLoadData = h(cuda, "cuModuleLoadData", ADDRESS, ADDRESS);
        cuModuleGetFunction = h(cuda, "cuModuleGetFunction", ADDRESS, ADDRESS, ADDRESS);
        cuLaunchKernel = h(cuda, "cuLaunchKernel", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, ADDRESS);
        cuGetErrorName = h(cuda, "cuGetErrorName", JAVA_INT, ADDRESS);
        cuGetErrorString = h(cuda, "cuGetErrorString", JAVA_INT, ADDRESS);
        cuMemGetInfo = h(cuda, "cuMemGetInfo_v2", ADDRESS, ADDRESS);

        cublas = NativeLibs.open("cuBLAS (libcublas.so)", List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"), "libcublasLt.so");
        cublasCreate = h(cublas, "cublasCreate_v2", ADDRESS);
        cublasGetVersion = h(cublas, "cublasGetVersion_v2", ADDRESS, ADDRESS);
        cublasSgemm = h(cublas, "cublasSgemm_v2", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS,
                JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT);
        cublasSgemmStridedBatched = h(cublas, "cublasSgemmStridedBatched", ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG,
                JAVA_INT, JAVA_LONG, JAVA_INT);
    }

    static MemorySegment find(SymbolLookup lib, String name) {
        return lib.find(name).orElseThrow(() -> new CudaException("symbol " + name + " is missing from the loaded library: too old a CUDA release?"));
    }

    /** A handle for {@code int name(args...)}, the signature of every driver, NVRTC and cuBLAS call used here. */
    static MethodHandle h(SymbolLookup lib, String name, java.lang.foreign.MemoryLayout... args) {
        return LINKER.downcallHandle(find(lib, name), FunctionDescriptor.of(JAVA_INT, args));
    }

    // ---------------------------------------------------------------- checking

    void check(int rc, String call) {
        if (rc == 0) return;
        throw new CudaException(call + " failed: " + errorName(rc) + " (" + rc + "): " + errorString(rc));
    }

    private String errorName(int rc) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            if ((int) cuGetErrorName.invokeExact(rc, p) != 0) return "CUDA_ERROR_" + rc;
            return p.get(ADDRESS, 0).reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "CUDA_ERROR_" + rc;
        }
    }

    private String errorString(int rc) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ADDRESS);
            if ((int) cuGetErrorString.invokeExact(rc, p) != 0) return "unknown error";
            return p.get(ADDRESS, 0).reinterpret(1024).getString(0);
        } catch (Throwable t) {
            return "unknown error";
        }
    }

    private static void checkCublas(int rc, String call) {
        if (rc == 0) return;
        String name = switch (rc) {
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "cuBLAS status " + rc;
        };
        throw new CudaException(call + " failed: " + name + " (" + rc + ")");
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new CudaException("native call failed: " + t);
    }

    // ---------------------------------------------------------------- driver

    void init() {
        try { check((int) cuInit.invokeExact(0), "cuInit"); } catch (Throwable t) { throw rethrow(t); }
    }

    int driverVersion() { return intOut(cuDriverGetVersion, "cuDriverGetVersion"); }

    int deviceCount() { return intOut(cuDeviceGetCount, "cuDeviceGetCount"); }

    private int intOut(MethodHandle h, String call) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check((int) h.invokeExact(p), call);
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    int device(int ordinal) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check((int) cuDeviceGet.invokeExact(p, ordinal), "cuDeviceGet(" + ordinal + ")");
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    String deviceName(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(256);
            check((int) cuDeviceGetName.invokeExact(p, 256, dev), "cuDeviceGetName");
            return p.getString(0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    int attribute(int attr, int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            check((int) cuDeviceGetAttribute.invokeExact(p, attr, dev), "cuDeviceGetAttribute(" + attr + ")");
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    long totalMem(int dev) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            check((int) cuDeviceTotalMem.invokeExact(p, dev), "cuDeviceTotalMem");
            return p.get(JAVA_LONG, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    long[] memInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment f = a.allocate(JAVA_LONG), t = a.allocate(JAVA_LONG);
            check((int) cuMemGetInfo.invokeExact(f, t), "cuMemGetInfo");
            return new long[] {f.get(JAVA_LONG, 0), t.get(JAVA_LONG, 0)};
        } catch (Throwable t) { throw rethrow(t); }
    }

    MemorySegment primaryContext(int dev) {
        try {
            MemorySegment p = arena.allocate(ADDRESS);
            check((int) cuDevicePrimaryCtxRetain.invokeExact(p, dev), "cuDevicePrimaryCtxRetain");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    void setCurrent(MemorySegment ctx) {
        try { check((int) cuCtxSetCurrent.invokeExact(ctx), "cuCtxSetCurrent"); } catch (Throwable t) { throw rethrow(t); }
    }

    void synchronize() {
        try { check((int) cuCtxSynchronize.invokeExact(), "cuCtxSynchronize"); } catch (Throwable t) { throw rethrow(t); }
    }

    long memAlloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_LONG);
            int rc = (int) cuMemAlloc.invokeExact(p, bytes);
            if (rc != 0) {
                long[] info = memInfo();
                check(rc, "cuMemAlloc(" + bytes + " bytes; " + (info[0] >> 20) + " MiB free of " + (info[1] >> 20) + " MiB)");
            }
            return p.get(JAVA_LONG, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    void memFree(long ptr) {
        try { check((int) cuMemFree.invokeExact(ptr), "cuMemFree"); } catch (Throwable t) { throw rethrow(t); }
    }

    void copyHtoD(long dst, MemorySegment src, long bytes) {
        try { check((int) cuMemcpyHtoD.invokeExact(dst, src, bytes), "cuMemcpyHtoD(" + bytes + " bytes)"); } catch (Throwable t) { throw rethrow(t); }
    }

    void copyDtoH(MemorySegment dst, long src, long bytes) {
        try { check((int) cuMemcpyDtoH.invokeExact(dst, src, bytes), "cuMemcpyDtoH(" + bytes + " bytes)"); } catch (Throwable t) { throw rethrow(t); }
    }

    void copyDtoD(long dst, long src, long bytes) {
        try { check((int) cuMemcpyDtoD.invokeExact(dst, src, bytes), "cuMemcpyDtoD(" + bytes + " bytes)"); } catch (Throwable t) { throw rethrow(t); }
    }

    void memsetD32(long dst, int value, long count) {
        try { check((int) cuMemsetD32.invokeExact(dst, value, count), "cuMemsetD32"); } catch (Throwable t) { throw rethrow(t); }
    }

    MemorySegment loadModule(String ptx) {
        try {
            MemorySegment image = arena.allocateFrom(ptx);
            MemorySegment p = arena.allocate(ADDRESS);
            check((int) cuModuleLoadData.invokeExact(p, image), "cuModuleLoadData");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    MemorySegment function(MemorySegment module, String name) {
        try {
            MemorySegment p = arena.allocate(ADDRESS);
            check((int) cuModuleGetFunction.invokeExact(p, module, arena.allocateFrom(name)), "cuModuleGetFunction(" + name + ")");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    void launch(MemorySegment f, String name, int grid, int gridY, int block, int sharedBytes, MemorySegment params) {
        int rc;
        try {
            rc = (int) cuLaunchKernel.invokeExact(f, grid, gridY, 1, block, 1, 1, sharedBytes, MemorySegment.NULL, params, MemorySegment.NULL);
        } catch (Throwable t) { throw rethrow(t); }
        if (rc != 0) check(rc, "cuLaunchKernel(" + name + ", grid " + grid + "x" + gridY + ", block " + block + ")");
    }

    // ---------------------------------------------------------------- cuBLAS (column-major, as the library is)

    MemorySegment cublasCreate() {
        try {
            MemorySegment p = arena.allocate(ADDRESS);
            checkCublas((int) cublasCreate.invokeExact(p), "cublasCreate");
            return p.get(ADDRESS, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    int cublasVersion(MemorySegment handle) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(JAVA_INT);
            checkCublas((int) cublasGetVersion.invokeExact(handle, p), "cublasGetVersion");
            return p.get(JAVA_INT, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    void sgemm(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, long a, int lda,
               long b, int ldb, MemorySegment beta, long c, int ldc) {
        int rc;
        try {
            rc = (int) cublasSgemm.invokeExact(handle, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } catch (Throwable t) { throw rethrow(t); }
        if (rc != 0) checkCublas(rc, "cublasSgemm(m=" + m + ", n=" + n + ", k=" + k + ", lda=" + lda + ", ldb=" + ldb + ", ldc=" + ldc + ")");
    }

    void sgemmStridedBatched(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha,
                             long a, int lda, long strideA, long b, int ldb, long strideB, MemorySegment beta, long c,
                             int ldc, long strideC, int batch) {
        int rc;
        try {
            rc = (int) cublasSgemmStridedBatched.invokeExact(handle, transa, transb, m, n, k, alpha, a, lda, strideA, b,
                    ldb, strideB, beta, c, ldc, strideC, batch);
        } catch (Throwable t) { throw rethrow(t); }
        if (rc != 0) checkCublas(rc, "cublasSgemmStridedBatched(m=" + m + ", n=" + n + ", k=" + k + ", batch=" + batch + ")");
    }
}
