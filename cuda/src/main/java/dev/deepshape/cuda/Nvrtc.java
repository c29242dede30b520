package dev.deepshape.cuda;

import static dev.deepshape.cuda.CudaApi.find;
import static dev.deepshape.cuda.CudaApi.h;
import static dev.deepshape.cuda.CudaApi.rethrow;
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
 * NVRTC, CUDA's run-time compiler, through foreign-function handles: CUDA C source to PTX. It needs no GPU, so the
 * kernels' source is checked by a test wherever the library exists.
 */
final class Nvrtc {
    private final SymbolLookup nvrtc;
    private final MethodHandle nvrtcVersion, nvrtcCreateProgram, nvrtcCompileProgram, nvrtcGetProgramLogSize,
            nvrtcGetProgramLog, nvrtcGetPTXSize, nvrtcGetPTX, nvrtcDestroyProgram, nvrtcGetErrorString;

    Nvrtc() throws NativeLibs.NotFound {
        nvrtc = NativeLibs.open("NVRTC (libnvrtc.so)", List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"), null);
        nvrtcVersion = h(nvrtc, "nvrtcVersion", ADDRESS, ADDRESS);
        nvrtcCreateProgram = h(nvrtc, "nvrtcCreateProgram", ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
        nvrtcCompileProgram = h(nvrtc, "nvrtcCompileProgram", ADDRESS, JAVA_INT, ADDRESS);
        nvrtcGetProgramLogSize = h(nvrtc, "nvrtcGetProgramLogSize", ADDRESS, ADDRESS);
        nvrtcGetProgramLog = h(nvrtc, "nvrtcGetProgramLog", ADDRESS, ADDRESS);
        nvrtcGetPTXSize = h(nvrtc, "nvrtcGetPTXSize", ADDRESS, ADDRESS);
        nvrtcGetPTX = h(nvrtc, "nvrtcGetPTX", ADDRESS, ADDRESS);
        nvrtcDestroyProgram = h(nvrtc, "nvrtcDestroyProgram", ADDRESS);
        nvrtcGetErrorString = Linker.nativeLinker().downcallHandle(find(nvrtc, "nvrtcGetErrorString"), FunctionDescriptor.of(ADDRESS, JAVA_INT));

    }

    private void check(int rc, String call) {
        if (rc == 0) return;
        String s;
        try {
            s = ((MemorySegment) nvrtcGetErrorString.invokeExact(rc)).reinterpret(256).getString(0);
        } catch (Throwable t) {
            s = "NVRTC error";
        }
        throw new CudaException(call + " failed: " + s + " (" + rc + ")");
    }

    String nvrtcVersionString() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ma = a.allocate(JAVA_INT), mi = a.allocate(JAVA_INT);
            check((int) nvrtcVersion.invokeExact(ma, mi), "nvrtcVersion");
            return ma.get(JAVA_INT, 0) + "." + mi.get(JAVA_INT, 0);
        } catch (Throwable t) { throw rethrow(t); }
    }

    /** Compiles CUDA C source to PTX; a compile error carries NVRTC's log. */
    String compile(String source, String name, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ADDRESS);
            check((int) nvrtcCreateProgram.invokeExact(prog, a.allocateFrom(source), a.allocateFrom(name), 0,
                    MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment p = prog.get(ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ADDRESS, options.size());
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ADDRESS, i, a.allocateFrom(options.get(i)));
                int rc = (int) nvrtcCompileProgram.invokeExact(p, options.size(), opts);
                if (rc != 0) {
                    MemorySegment size = a.allocate(JAVA_LONG);
                    check((int) nvrtcGetProgramLogSize.invokeExact(p, size), "nvrtcGetProgramLogSize");
                    MemorySegment log = a.allocate(Math.max(1, size.get(JAVA_LONG, 0)));
                    check((int) nvrtcGetProgramLog.invokeExact(p, log), "nvrtcGetProgramLog");
                    throw new CudaException("NVRTC could not compile " + name + " with " + options + ":\n" + log.getString(0));
                }
                MemorySegment size = a.allocate(JAVA_LONG);
                check((int) nvrtcGetPTXSize.invokeExact(p, size), "nvrtcGetPTXSize");
                MemorySegment ptx = a.allocate(size.get(JAVA_LONG, 0));
                check((int) nvrtcGetPTX.invokeExact(p, ptx), "nvrtcGetPTX");
                return ptx.getString(0);
            } finally {
                int ignored = (int) nvrtcDestroyProgram.invokeExact(prog);
            }
        } catch (Throwable t) { throw rethrow(t); }
    }

}
