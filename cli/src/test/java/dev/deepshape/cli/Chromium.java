package dev.deepshape.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Headless Chromium for the browser test: Debian's {@code chromium} (installed by {@code .ci/run}), or the binary
 * named by {@code $CHROMIUM}. Each run gets its own throw-away profile and touches no network.
 */
final class Chromium {
    private final Path binary;
    private final Path profiles;

    private Chromium(Path binary, Path profiles) {
        this.binary = binary;
        this.profiles = profiles;
    }

    /** The browser, or the test is skipped with a message that says how to get it. */
    static Chromium findOrSkip(Path work) {
        Path found = find();
        Assumptions.assumeTrue(found != null, "headless Chromium not found (looked for $CHROMIUM, chromium, chromium-browser, google-chrome on PATH): "
                + "the browser test of report.html is skipped; install it with 'apt-get install -y chromium' (.ci/run does)");
        return new Chromium(found, work);
    }

    static Path find() {
        String env = System.getenv("CHROMIUM");
        if (env != null && !env.isBlank() && Files.isExecutable(Path.of(env))) return Path.of(env);
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
            for (String d : path.split(java.io.File.pathSeparator)) {
                Path p = Path.of(d, name);
                if (Files.isExecutable(p)) return p;
            }
        }
        return null;
    }

    /** What a run printed: stdout (the DOM for --dump-dom) and stderr (the browser's log, console messages included). */
    record Output(String stdout, String stderr) {}

    /** Loads {@code page} in a 1280-pixel-wide window and prints its DOM after the load event. */
    Output dumpDom(Path page) throws IOException, InterruptedException {
        return run(List.of("--dump-dom", "--window-size=1280,1000", "--enable-logging=stderr", "--v=0", page.toUri().toString()));
    }

    /** Loads {@code page} in a {@code width × height} window and saves it as a PNG. */
    Output screenshot(Path page, Path png, int width, int height) throws IOException, InterruptedException {
        return run(List.of("--hide-scrollbars", "--window-size=" + width + "," + height, "--screenshot=" + png.toAbsolutePath(), page.toUri().toString()));
    }

    private Output run(List<String> args) throws IOException, InterruptedException {
        Files.createDirectories(profiles);
        Path profile = Files.createTempDirectory(profiles, "profile");
        List<String> cmd = new ArrayList<>(List.of(binary.toString(), "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--user-data-dir=" + profile));
        cmd.addAll(args);
        Path out = profile.resolveSibling(profile.getFileName() + ".out"), err = profile.resolveSibling(profile.getFileName() + ".err");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish within 120 s: " + cmd);
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8), stderr = Files.readString(err, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) throw new AssertionError("chromium exited with " + p.exitValue() + ": " + cmd + "\n" + stderr);
        return new Output(stdout, stderr);
    }
}
