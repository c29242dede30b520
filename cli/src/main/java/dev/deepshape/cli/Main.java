package dev.deepshape.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code deepshape} command: one entry point, one subcommand per job. */
@Command(name = "deepshape", mixinStandardHelpOptions = true, version = "deepshape 0.1.0",
        description = "PyTorch's basic deep-learning units in Java: train them, and see their dimensions explained.",
        subcommands = {CommandLine.HelpCommand.class, TrainCommand.class, EvalCommand.class, PredictCommand.class,
                ShapesCommand.class, SummaryCommand.class, GraphCommand.class, ExportCommand.class, BenchCommand.class,
                ReportCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }

    public static void main(String[] args) {
        startWarmUpEarly(args);
        int code;
        try {
            code = commandLine().execute(args);
        } catch (OutOfMemoryError e) {
            // NOTE: ./deepshape starts the JVM with a heap sized for the reference model (its script says why);
            // checkpoints are written atomically, so the last one survives this exit
            System.err.println("deepshape: out of memory: the Java heap (" + Runtime.getRuntime().maxMemory() / (1 << 20)
                    + " MB) is too small for this model or batch size; give it more with DEEPSHAPE_JAVA_OPTS, e.g. "
                    + "DEEPSHAPE_JAVA_OPTS=\"-Xmx2g -XX:+UseSerialGC\" ./deepshape ...");
            code = 3;
        }
        System.exit(code);
    }

    /**
     * For the commands that train on the CPU, starts the kernels' JIT warm-up (see {@code Backend.warmUp}) on a
     * thread of its own before picocli builds the command line, which takes ~0.35 s here: the warm-up then has that
     * much longer to get the kernels compiled before the first training step needs them. The command's own call
     * later is a no-op. Skipped where the flags or DEEPSHAPE_BACKEND may choose another backend than the best host one.
     */
    static void startWarmUpEarly(String[] args) {
        if (!warmsUpEarly(args, System.getenv("DEEPSHAPE_BACKEND"))) return;
        Thread t = new Thread(() -> {
            try {
                dev.deepshape.backend.Backends.bestHost().warmUp();
            } catch (RuntimeException | LinkageError e) {
                // best effort: the command starts the warm-up itself once it has chosen its backend
            }
        }, "deepshape-early-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Whether {@code args} train on the best host backend for sure: train or bench, no backend chosen, no device but the CPU named. */
    static boolean warmsUpEarly(String[] args, String backendEnv) {
        if (args.length == 0 || !(args[0].equals("train") || args[0].equals("bench"))) return false;
        if (backendEnv != null && !backendEnv.isBlank()) return false;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--backend")) return false;
            boolean cpu = a.equals("--device=cpu") || (a.equals("--device") && i + 1 < args.length && args[i + 1].equals("cpu"));
            if (a.startsWith("--device") && !cpu) return false;
        }
        return true;
    }

    /** The configured command line: one-line errors and exit code 2 for bad flags, no stack traces. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine cmd = ex.getCommandLine();
            cmd.getErr().println("deepshape " + cmd.getCommandName() + ": " + ex.getMessage() + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            cmd.getErr().println("deepshape " + cmd.getCommandName() + ": " + ex.getMessage());
            return ex instanceof IllegalArgumentException ? 1 : 3;
        });
        return cl;
    }
}
