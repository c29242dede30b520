package dev.deepshape.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * kernels.cu compiles with NVRTC for the architectures deepshape targets (Turing, the oldest CUDA 13 compiles for, to
 * Hopper), and every kernel the Java side launches
 * is in the PTX. NVRTC needs no GPU: this runs wherever the library is installed (Debian's libnvrtc11.2 here), and
 * says why it skips elsewhere.
 */
class KernelSourceTest {
    @Test
    void compilesForTuringAmpereAndHopper() {
        Nvrtc nvrtc;
        try {
            nvrtc = new Nvrtc();
        } catch (NativeLibs.NotFound e) {
            assumeTrue(false, "skipped: " + e.getMessage());
            return;
        }
        for (int arch : new int[] {75, 80, 90}) {
            String ptx = Gpu.compile(nvrtc, arch);
            assertTrue(ptx.contains(".target sm_" + arch), "PTX for compute_" + arch + " targets sm_" + arch);
            Matcher m = Pattern.compile("\"([a-z_0-9]+)\"").matcher(usedKernels());
            while (m.find()) {
                String k = m.group(1);
                assertTrue(ptx.contains(".entry " + k + "("), "kernel " + k + " is launched from Java but missing from the PTX");
            }
        }
    }

    /** The kernel names the Java sources launch (DeviceOps, CudaBackend, CudaEngine). */
    private static String usedKernels() {
        return String.join(" ", DeviceOps.KERNELS);
    }
}
