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

    /** Selects the backend; {@code --device cuda} without a usable GPU is a usage error that says why. */
    Backend select() { return CliSupport.selectDevice(mixee, device); }
}
