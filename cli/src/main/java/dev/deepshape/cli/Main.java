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
