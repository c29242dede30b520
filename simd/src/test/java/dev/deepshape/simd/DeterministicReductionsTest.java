package dev.deepshape.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Training must give the same bits on every run with the same seed and thread count (resume is tested against it).
 * {@code reduceLanes(ADD)} broke that: the C2 intrinsic and the Java fallback that runs before C2 compiles a loop sum
 * the lanes in different orders, so results depended on JIT timing. The kernels sum lanes in a fixed order instead;
 * this guard keeps it that way.
 */
class DeterministicReductionsTest {
    @Test
    void noFloatingPointLaneReductionsInTheKernels() throws IOException {
        Path src = Path.of("src/main/java/dev/deepshape/simd");
        List<String> offenders;
        try (Stream<Path> files = Files.list(src)) {
            offenders = files.filter(p -> p.toString().endsWith(".java")).flatMap(p -> {
                try {
                    List<String> lines = Files.readAllLines(p);
                    return java.util.stream.IntStream.range(0, lines.size())
                            .filter(i -> lines.get(i).contains("reduceLanes(") && !lines.get(i).strip().startsWith("//"))
                            .mapToObj(i -> p.getFileName() + ":" + (i + 1) + ": " + lines.get(i).strip());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
        assertEquals(List.of(), offenders, "sum vector lanes in a fixed order (intoArray, then a loop), not with reduceLanes");
    }

    @Test
    void perChannelSumsAddLanesInAFixedOrder() {
        int n = 3, channels = 4, plane = 37;
        float[] d = new float[n * channels * plane];
        for (int i = 0; i < d.length; i++) d[i] = (float) Math.sin(i * 0.37) * (1 + i % 7) * 1e3f;
        float[] got = new float[channels];
        SimdConv.sumPerChannel(got, d, n, channels, plane);
        int vl = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        for (int c = 0; c < channels; c++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                int o = (i * channels + c) * plane;
                float[] lanes = new float[vl];
                int j = 0;
                for (; j + vl <= plane; j += vl) for (int l = 0; l < vl; l++) lanes[l] += d[o + j + l];
                double r = 0;
                for (float lane : lanes) r += lane;
                for (; j < plane; j++) r += d[o + j];
                s += r;
            }
            assertEquals((float) s, got[c], "channel " + c);
        }
    }
}
