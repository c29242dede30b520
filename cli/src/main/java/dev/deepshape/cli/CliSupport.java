package dev.deepshape.cli;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.Parallel;
import dev.deepshape.nn.Module;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.shape.ShapeException;
import dev.deepshape.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/** Checks shared by the subcommands; every failure is a one-line usage error (exit code 2). */
final class CliSupport {
    private CliSupport() {}

    static CommandLine.ParameterException usage(CommandSpec spec, String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }

    /**
     * Checks with the shape rules, before anything runs, that the model takes the dataset's images
     * {@code (N, 1, rows, cols)} and gives one logit per class, {@code (N, classes)} ({@code classes} 0: any number);
     * otherwise an error (exit 1) that quotes the rule's message or says what the output is and how to end the model instead.
     */
    static void checkFits(ModelChoice.Chosen model, String dataset, int rows, int cols, int classes) {
        int[] input = {Dims.N, 1, rows, cols};
        String what = model.describe();
        ShapeAnalysis a;
        try {
            a = ShapeAnalysis.of(model.spec(), input);
        } catch (ShapeException e) {
            throw new IllegalArgumentException(what + " cannot take the " + dataset + " images, " + Dims.str(input) + ": " + e.getMessage(), e);
        }
        int[] out = a.output();
        if (classes == 0 && out.length == 2 && out[0] == Dims.N) return;
        int[] want = {Dims.N, classes};
        if (Arrays.equals(out, want)) return;
        String k = classes == 0 ? "classes" : String.valueOf(classes);
        String hint = "";
        if (out.length >= 2 && out[0] == Dims.N) {
            hint = out.length == 2 ? "; hint: end the model with Linear(" + out[1] + ", " + k + ")"
                    : "; hint: end the model with Flatten() and Linear(" + Dims.numel(out, 1) + ", " + k + ")";
        }
        throw new IllegalArgumentException(what + " gives " + Dims.str(out) + " for the " + dataset + " images " + Dims.str(input)
                + ", but a classifier gives (N, " + k + "), one logit per class for the cross-entropy loss" + hint);
    }

    /** Strict load of a state dict into {@code net}; a mismatch lists the missing, unexpected and mis-sized keys on one line (exit 1). */
    static void loadWeights(Module net, Map<String, Tensor> state, Path file, String what) {
        try {
            net.loadStateDict(state, true);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + " does not fit " + what + ": " + e.getMessage().replace(":\n\t", ": ").replace(".\n\t", "; ").replace("\n\t", "; "), e);
        }
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
                if (b.usesDevice()) Backends.use(b = Backends.bestHost());
                return b;
            }
            case "cuda" -> {
                String why = Backends.whyUnavailable("cuda");
                if (why != null) {
                    throw usage(spec, "--device cuda: " + why + " (available here: "
                            + Backends.available().stream().map(Backend::name).toList() + "); use --device cpu or auto");
                }
                return Backends.use("cuda");
            }
            default -> throw usage(spec, "Invalid value for option '--device': '" + device + "' (expected auto, cpu or cuda)");
        }
    }

    /**
     * {@code --device auto} takes the GPU for the work that runs whole there. A model the GPU would run op by op (a
     * copy each way per call) trains and evaluates faster on the CPU, so for it auto takes the best CPU backend and
     * says so; {@code --device cuda} keeps the GPU anyway.
     */
    static Backend preferWhole(String device, Backend backend, dev.deepshape.nn.Module model, dev.deepshape.optim.Optimizer optimizer,
                               java.io.PrintStream err, String command) {
        if (!device.equals("auto") || !backend.usesDevice() || backend.runsWhole(model, optimizer)) return backend;
        Backend cpu = Backends.bestHost();
        Backends.use(cpu);
        err.println("deepshape " + command + ": --device auto: this model would run op by op on the GPU, a copy each way per call (the "
                + "whole-model GPU path is written for the reference model), so it runs on the CPU (" + cpu.name()
                + " backend); --device cuda keeps it on the GPU");
        return cpu;
    }

    static Path existingFile(CommandSpec spec, String option, Path p) {
        if (!Files.exists(p)) throw usage(spec, option + ": no such file: " + p);
        if (!Files.isRegularFile(p)) throw usage(spec, option + ": not a regular file: " + p);
        if (!Files.isReadable(p)) throw usage(spec, option + ": cannot read " + p);
        return p;
    }
}
