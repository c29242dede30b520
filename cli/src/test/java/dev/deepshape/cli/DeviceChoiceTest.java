package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.ReferenceBackend;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Linear;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.Sequential;
import dev.deepshape.optim.Optimizer;
import dev.deepshape.tensor.Rng;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * {@code --device auto} on a machine with a GPU (a stand-in backend named cuda that keeps only the reference model
 * whole): training keeps the GPU for the reference model, takes the CPU for a model the GPU would run op by op and
 * says so, and {@code --device cuda} keeps the GPU regardless.
 */
class DeviceChoiceTest {
    @Test
    void autoKeepsTheGpuOnlyForWorkThatRunsWholeThere() {
        Backend before = Backends.current();
        Backend gpu = new ReferenceBackend() {
            @Override public String name() { return "cuda"; }

            @Override public boolean usesDevice() { return true; }

            @Override public boolean runsWhole(Module model, Optimizer optimizer) { return model instanceof CombinedModel; }
        };
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
        try {
            Rng.manualSeed(0);
            Module reference = new CombinedModel(), other = new Sequential(new Linear(4, 2));
            Backends.use(gpu);
            assertSame(gpu, CliSupport.preferWhole("auto", gpu, reference, null, err, "train"));
            assertEquals("", buf.toString(StandardCharsets.UTF_8), "nothing to say when the GPU keeps the model");

            assertSame(gpu, CliSupport.preferWhole("cuda", gpu, other, null, err, "train"), "--device cuda is obeyed");

            Backend cpu = CliSupport.preferWhole("auto", gpu, other, null, err, "train");
            assertNotEquals("cuda", cpu.name());
            assertSame(cpu, Backends.current(), "the CPU backend is the one in use");
            String note = buf.toString(StandardCharsets.UTF_8);
            assertTrue(note.contains("--device auto: this model would run op by op on the GPU") && note.contains("runs on the CPU ("
                    + cpu.name() + " backend)") && note.contains("--device cuda keeps it on the GPU"), note);
        } finally {
            Backends.use(before);
        }
    }
}
