package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Every command has --help; wrong flags and values give one line on stderr and exit code 2, no stack trace. */
class CliErrorsTest {
    @TempDir static Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"train", "eval", "predict"})
    void everyCommandHasHelp(String command) {
        CliRun r = CliRun.of(command, "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("Usage: deepshape " + command), r.out());
        assertTrue(r.out().contains("--checkpoint") || r.out().contains("--epochs"), r.out());
        assertFalse(r.out().contains("--limit-train"), "test-only options stay hidden");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "train --epochs 0 | --epochs must be at least 1, got 0",
            "train --batch-size 0 | --batch-size must be at least 1, got 0",
            "train --lr -1 | --lr must be a positive number, got -1.0",
            "train --lr NaN | --lr must be a positive number, got NaN",
            "train --threads 0 | --threads must be at least 1, got 0",
            "train --epochs five | Invalid value for option '--epochs': 'five' is not an int",
            "train --bogus | Unknown option: '--bogus'",
            "train --device cuda | --device cuda: no usable CUDA GPU",
            "shapes --device cuda | --device cuda: no usable CUDA GPU",
            "bench --device gpu | Invalid value for option '--device': 'gpu' (expected auto, cpu or cuda)",
            "train --device tpu | Invalid value for option '--device': 'tpu' (expected auto, cpu or cuda)",
            "train --model resnet | unknown model 'resnet'; built-in models: combined",
            "train --model combined --spec x.spec | --model and --spec are mutually exclusive; give one",
            "train --resume /no/such/run | --resume: no such run folder or checkpoint: /no/such/run",
            "eval | Missing required option: '--checkpoint=FILE'",
            "eval --checkpoint /no/such.safetensors | --checkpoint: no such file: /no/such.safetensors",
            "eval --checkpoint /no/such.safetensors --batch-size 0 | --batch-size must be at least 1, got 0",
            "eval --checkpoint /no/such.safetensors --model resnet | unknown model 'resnet'; built-in models: combined",
            "eval --checkpoint /no/such.safetensors --model combined --spec x.spec | --model and --spec are mutually exclusive; give one",
            "predict --checkpoint /no/such.safetensors | Missing required parameter: 'IMAGE'",
            "predict --checkpoint /no/such.safetensors --invert maybe x.png | Invalid value for option '--invert': 'maybe' (expected auto, yes or no)",
            "predict --checkpoint /no/such.safetensors x.png | --checkpoint: no such file: /no/such.safetensors",
            "predict --checkpoint /no/such.safetensors --model combined --spec x.spec x.png | --model and --spec are mutually exclusive; give one",
            "train --init /no/such.safetensors | --init: no such file: /no/such.safetensors",
    })
    void badValuesGiveOneLineAndExitCode2(String args, String message) {
        CliRun r = CliRun.of(args.trim().split(" +"));
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        String command = args.trim().split(" ")[0];
        assertTrue(r.err().startsWith("deepshape " + command + ": " + message), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
        assertFalse(r.err().contains("Exception"), r.err());
    }

    @Test
    void missingDataSaysWhereItLookedAndHowToProvideIt() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        CliRun r = CliRun.of("train", "--data", empty.toString(), "--no-download", "--out", tmp.resolve("run").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("MNIST files not found; looked for " + empty.toAbsolutePath().resolve("train-images-idx3-ubyte") + "[.gz]"), r.err());
        assertTrue(r.err().contains("--data DIR or the DEEPSHAPE_DATA environment variable"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void aBrokenCheckpointNamesTheFile() throws Exception {
        Path bad = Files.writeString(tmp.resolve("bad.safetensors"), "not safetensors at all");
        CliRun r = CliRun.of("eval", "--checkpoint", bad.toString());
        assertTrue(r.code() != 0);
        assertTrue(r.err().startsWith("deepshape eval: " + bad + ": not a valid safetensors file"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
