package dev.deepshape.cli;

import dev.deepshape.backend.Backend;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code --device auto|cpu|cuda}, shared by the commands that compute (train and eval declare their own). */
final class DeviceOption {
    @Spec(Spec.Target.MIXEE) CommandSpec mixee;

    @Option(names = "--device", paramLabel = "auto|cpu|cuda", defaultValue = "auto",
            description = "Where to compute: auto (a usable CUDA GPU if there is one, else the CPU), cpu or cuda (default: ${DEFAULT-VALUE}).")
    String device;

    /**
     * Selects the backend for work that runs op by op (one forward pass, a per-layer benchmark): {@code auto} takes
     * the CPU there, since on the GPU each call would copy its operands each way; {@code cuda} takes the GPU anyway,
     * and without a usable one is a usage error that says why.
     */
    Backend select() {
        Backend b = CliSupport.selectDevice(mixee, device);
        return device.equals("auto") && b.usesDevice() ? CliSupport.selectDevice(mixee, "cpu") : b;
    }

    /** Selects as {@code --device} says, the GPU included under {@code auto}: for work that may run whole on it. */
    Backend selectAny() { return CliSupport.selectDevice(mixee, device); }
}
