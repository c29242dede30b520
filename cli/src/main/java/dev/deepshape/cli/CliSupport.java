package dev.deepshape.cli;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Parallel;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/** Checks shared by the subcommands; every failure is a one-line usage error (exit code 2). */
final class CliSupport {
    private CliSupport() {}

    /** The models {@code --model} accepts in this build. */
    static final List<String> MODELS = List.of("combined");

    static CommandLine.ParameterException usage(CommandSpec spec, String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    static Module createModel(CommandSpec spec, String name) {
        return switch (name) {
            case "combined" -> new CombinedModel();
            default -> throw usage(spec, "unknown model '" + name + "' for option '--model'; this build has " + MODELS);
        };
    }

    static void checkModel(CommandSpec spec, String name) {
        if (!MODELS.contains(name)) throw usage(spec, "unknown model '" + name + "' for option '--model'; this build has " + MODELS);
    }

    static void setThreads(CommandSpec spec, Integer threads) {
        if (threads == null) return;
        if (threads < 1) throw usage(spec, "--threads must be at least 1, got " + threads);
        Parallel.setThreads(threads);
    }

    /** {@code auto}: the best backend here; {@code cpu}: the best CPU one; {@code cuda}: the CUDA backend, if built. */
    static Backend selectDevice(CommandSpec spec, String device) {
        switch (device) {
            case "auto" -> { return Backends.current(); }
            case "cpu" -> {
                Backend b = Backends.current();
                if (b.name().equals("cuda")) {
                    b = Backends.available().stream().filter(x -> !x.name().equals("cuda")).findFirst().orElseThrow();
                    Backends.use(b);
                }
                return b;
            }
            case "cuda" -> {
                if (Backends.available().stream().noneMatch(b -> b.name().equals("cuda"))) {
                    throw usage(spec, "--device cuda: no CUDA backend in this build (available: "
                            + Backends.available().stream().map(Backend::name).toList() + "); use --device cpu or auto");
                }
                return Backends.use("cuda");
            }
            default -> throw usage(spec, "Invalid value for option '--device': '" + device + "' (expected auto, cpu or cuda)");
        }
    }

    static Path existingFile(CommandSpec spec, String option, Path p) {
        if (!Files.exists(p)) throw usage(spec, option + ": no such file: " + p);
        if (!Files.isRegularFile(p)) throw usage(spec, option + ": not a regular file: " + p);
        if (!Files.isReadable(p)) throw usage(spec, option + ": cannot read " + p);
        return p;
    }
}
