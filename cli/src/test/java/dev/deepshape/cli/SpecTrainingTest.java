package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.data.Mnist;
import dev.deepshape.io.Checkpoint;
import dev.deepshape.io.SafeTensors;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Sequential;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.shape.ShapeException;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --spec}, {@code train --init} and {@code eval}/{@code predict} of spec models, on a subset of the real
 * MNIST files with a tiny spec (one strided convolution and a linear layer, 6,810 parameters), so that each run
 * takes a second or two.
 */
class SpecTrainingTest {
    /** (28 − 3)/2 + 1 = 13, so the convolution gives (N, 4, 13, 13) and Flatten 4·13·13 = 676 features. */
    static final String TINY = """
            # a tiny classifier for CI
            conv = Conv2d(1, 4, 3, stride=2)
            ReLU()
            Flatten()
            fc = Linear(676, 10)
            """;
    static final Pattern LOSS = Pattern.compile("^Epoch \\[1/\\d+\\], Loss: (\\d+\\.\\d{4}), Accuracy: \\d+\\.\\d\\d%$", Pattern.MULTILINE);
    static final String[] SMALL = {"--limit-train", "512", "--limit-test", "200", "--threads", "2"};

    @TempDir Path dir;

    /** {@code a} followed by {@code more}. */
    static String[] args(String[] a, String... more) {
        String[] all = Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, all, a.length, more.length);
        return all;
    }

    @Test
    void trainsASpecThenEvaluatesAndPredictsFromTheCheckpointAlone() throws Exception {
        Path specFile = Files.writeString(dir.resolve("tiny.spec"), TINY);
        Path run = dir.resolve("run");
        CliRun train = CliRun.of(args(new String[] {"train", "--spec", specFile.toString(), "--epochs", "1", "--lr", "0.01", "--seed", "3", "--out", run.toString(), "--trace-shapes"}, SMALL));
        assertEquals(0, train.code(), train.err());
        List<String> lines = train.out().lines().toList();
        // PyTorch's format, one line per layer of the spec, the shapes the first batch really takes.
        assertEquals(List.of("Input shape: torch.Size([64, 1, 28, 28])", "After conv: torch.Size([64, 4, 13, 13])", "After 1: torch.Size([64, 4, 13, 13])",
                "After 2: torch.Size([64, 676])", "After fc: torch.Size([64, 10])"), lines.subList(0, 5), train.out());
        assertTrue(train.err().contains(specFile + " (6,810 parameters)"), train.err());
        double accuracy = MnistEndToEndTest.testAccuracy(train.out());
        // Measured: 66.00 % on the first 200 test images after one epoch of 512 (8 Adam steps at lr 0.01); chance is 10 %.
        assertTrue(accuracy > 50, "test accuracy " + accuracy);

        Files.delete(specFile); // eval and predict rebuild the model from what the files record
        for (String file : List.of(Checkpoint.MODEL_FILE, Checkpoint.CHECKPOINT_FILE)) {
            CliRun eval = CliRun.of("eval", "--checkpoint", run.resolve(file).toString(), "--limit-test", "200", "--threads", "2");
            assertEquals(0, eval.code(), eval.err());
            assertEquals(accuracy, MnistEndToEndTest.testAccuracy(eval.out()), 0.0, "eval of " + file + " agrees with train");
        }
        Checkpoint.StateDict saved = Checkpoint.readModel(run.resolve(Checkpoint.MODEL_FILE));
        assertEquals(new Checkpoint.ModelRecord(specFile.toString(), TINY), saved.model());
        assertEquals(List.of("conv.weight", "conv.bias", "fc.weight", "fc.bias"), List.copyOf(saved.tensors().keySet()), "PyTorch's nn.Sequential keys");

        Mnist.Dataset test = Mnist.load(Mnist.dataDir(null), false, null);
        float[] g = new float[784];
        test.copyImage(0, g, 0);
        for (int p = 0; p < 784; p++) g[p] = (g[p] * 0.5f + 0.5f) * 255f;
        Path png = ImageInputTest.png(dir.resolve("digit.png"), g, 28, 28, 1, false, "png");
        CliRun predict = CliRun.of("predict", "--checkpoint", run.resolve(Checkpoint.CHECKPOINT_FILE).toString(), png.toString());
        assertEquals(0, predict.code(), predict.err());
        assertTrue(predict.out().matches(Pattern.quote(png.toString()) + ": \\d \\d+\\.\\d\\d%, \\d \\d+\\.\\d\\d%, \\d \\d+\\.\\d\\d%\\R"), predict.out());

        // A plain state dict as PyTorch saves it (no metadata): the model comes from --spec; without it, the
        // default CombinedModel does not fit and the error lists the keys.
        Path plain = dir.resolve("plain.safetensors");
        SafeTensors.write(plain, saved.tensors());
        Path again = Files.writeString(dir.resolve("again.spec"), TINY);
        CliRun evalPlain = CliRun.of("eval", "--checkpoint", plain.toString(), "--spec", again.toString(), "--limit-test", "200", "--threads", "2");
        assertEquals(0, evalPlain.code(), evalPlain.err());
        assertEquals(accuracy, MnistEndToEndTest.testAccuracy(evalPlain.out()), 0.0);
        CliRun wrong = CliRun.of("eval", "--checkpoint", plain.toString(), "--limit-test", "200");
        assertEquals(1, wrong.code(), wrong.err());
        assertTrue(wrong.err().startsWith("deepshape eval: " + plain + " does not fit the built-in model 'combined': Error(s) in loading state_dict for CombinedModel: "
                + "Missing key(s) in state_dict: \"conv1.bias\", \"conv1.weight\", \"conv2.bias\""), wrong.err());
        assertTrue(wrong.err().contains("; Unexpected key(s) in state_dict: \"conv.bias\", \"conv.weight\"; size mismatch for fc.weight: copying a param "
                + "with shape (10, 676) from checkpoint, the shape in current model is (10, 32)."), wrong.err());
        assertEquals(1, wrong.err().strip().lines().count(), wrong.err());
    }

    /** A spec run resumes from its checkpoint alone to the same weights as an uninterrupted run; another spec is refused. */
    @Test
    void aSpecRunResumesWithoutTheSpecFile() throws Exception {
        Path specFile = Files.writeString(dir.resolve("tiny.spec"), TINY);
        String[] common = args(SMALL, "--spec", specFile.toString(), "--seed", "5");
        Path straight = dir.resolve("straight"), halted = dir.resolve("halted");
        CliRun two = CliRun.of(args(new String[] {"train", "--epochs", "2", "--out", straight.toString()}, common));
        assertEquals(0, two.code(), two.err());
        CliRun one = CliRun.of(args(new String[] {"train", "--epochs", "1", "--out", halted.toString()}, common));
        assertEquals(0, one.code(), one.err());

        Path other = Files.writeString(dir.resolve("other.spec"), TINY.replace("Conv2d(1, 4, 3, stride=2)", "Conv2d(1, 4, 3, stride=2, padding=1)"));
        CliRun refused = CliRun.of("train", "--resume", halted.toString(), "--epochs", "2", "--spec", other.toString());
        assertEquals(2, refused.code(), refused.err());
        assertTrue(refused.err().startsWith("deepshape train: --spec " + other + " differs from the model the run was trained with, the spec " + specFile
                + " (recorded in " + halted.resolve(Checkpoint.CHECKPOINT_FILE) + "); first difference at line 2: 'conv = Conv2d(1, 4, 3, stride=2, padding=1)'"
                + " where the run has 'conv = Conv2d(1, 4, 3, stride=2)'"), refused.err());
        CliRun builtin = CliRun.of("train", "--resume", halted.toString(), "--model", "combined");
        assertEquals(2, builtin.code(), builtin.err());
        assertTrue(builtin.err().contains("--model combined differs from the model the run was trained with, the spec " + specFile), builtin.err());

        Files.delete(specFile);
        CliRun resumed = CliRun.of("train", "--resume", halted.toString(), "--epochs", "2");
        assertEquals(0, resumed.code(), resumed.err());
        assertTrue(resumed.err().contains("resuming after epoch 1"), resumed.err());
        assertArrayEquals(Files.readAllBytes(straight.resolve(Checkpoint.MODEL_FILE)), Files.readAllBytes(halted.resolve(Checkpoint.MODEL_FILE)),
                "bit-identical final weights");
        assertEquals(two.out(), resumed.out(), "the same epoch lines and test accuracy");
    }

    /**
     * {@code --init}: a state dict with plain keys, written here from a seeded model, is where training starts: the
     * first step's loss (the only step: one batch of 64) is that model's loss on those 64 images.
     */
    @Test
    void initStartsFromAPyTorchStyleStateDict() throws Exception {
        Path specFile = Files.writeString(dir.resolve("tiny.spec"), TINY);
        Rng.manualSeed(123);
        Sequential model = ModelBuilder.build(ModelSpec.parse(TINY, "tiny"));
        // NOTE: fc's weights scaled by 4 so that this start is far from any default initialisation's loss (≈ ln 10).
        float[] w = model.namedParameters().get("fc.weight").data();
        for (int i = 0; i < w.length; i++) w[i] *= 4;
        Path init = dir.resolve("init.safetensors");
        SafeTensors.write(init, model.stateDict());

        Mnist.Dataset first = Mnist.load(Mnist.dataDir(null), true, null).first(64);
        float expected = new CrossEntropyLoss().forward(model.forward(new Tensor(first.images(), 64, 1, 28, 28)),
                new IntTensor(first.labels(), new int[] {64})).item();

        String[] oneBatch = {"train", "--spec", specFile.toString(), "--epochs", "1", "--limit-train", "64", "--batch-size", "64",
                "--limit-test", "100", "--threads", "2", "--seed", "9"};
        CliRun fromInit = CliRun.of(args(oneBatch, "--init", init.toString(), "--out", dir.resolve("a").toString()));
        assertEquals(0, fromInit.code(), fromInit.err());
        assertTrue(fromInit.err().contains("initial weights from " + init), fromInit.err());
        assertEquals(expected, firstLoss(fromInit.out()), 6e-5, "printed to 4 decimals");
        CliRun fresh = CliRun.of(args(oneBatch, "--out", dir.resolve("b").toString()));
        assertEquals(0, fresh.code(), fresh.err());
        assertTrue(Math.abs(firstLoss(fresh.out()) - expected) > 0.05, "without --init the loss is another: " + fresh.out() + " vs " + expected);

        // A state dict that does not fit: every problem named on one line, exit 1.
        Map<String, Tensor> bad = new LinkedHashMap<>(model.stateDict());
        bad.put("fc.weight", Tensor.zeros(10, 100));
        bad.remove("conv.bias");
        bad.put("head.weight", Tensor.zeros(2, 2));
        Path badFile = dir.resolve("bad.safetensors");
        SafeTensors.write(badFile, bad);
        CliRun refused = CliRun.of(args(oneBatch, "--init", badFile.toString(), "--out", dir.resolve("c").toString()));
        assertEquals(1, refused.code(), refused.err());
        String err = refused.err().strip();
        assertEquals(1, err.lines().count(), err);
        assertTrue(err.startsWith("deepshape train: " + badFile + " does not fit the spec " + specFile + ": Error(s) in loading state_dict for Sequential: "
                + "Missing key(s) in state_dict: \"conv.bias\"; Unexpected key(s) in state_dict: \"head.weight\"; "
                + "size mismatch for fc.weight: copying a param with shape (10, 100) from checkpoint, the shape in current model is (10, 676)."), err);
        assertFalse(Files.exists(dir.resolve("c").resolve(Checkpoint.CHECKPOINT_FILE)));

        CliRun withResume = CliRun.of("train", "--resume", dir.resolve("a").toString(), "--init", init.toString());
        assertEquals(2, withResume.code(), withResume.err());
        assertTrue(withResume.err().startsWith("deepshape train: --init cannot be combined with --resume"), withResume.err());
    }

    /** A spec that cannot take MNIST's (N, 1, 28, 28) stops before training with the shape rule's own message. */
    @Test
    void aSpecThatDoesNotFitMnistIsRefusedWithTheRulesMessage() throws Exception {
        String threeChannels = "conv = Conv2d(3, 4, 3, stride=2)\nReLU()\nFlatten()\nfc = Linear(676, 10)\n";
        ShapeException rule = assertThrows(ShapeException.class,
                () -> ShapeAnalysis.of(ModelSpec.parse(threeChannels, "rgb.spec"), new int[] {Dims.N, 1, 28, 28}));
        Path rgb = Files.writeString(dir.resolve("rgb.spec"), threeChannels);
        CliRun r = CliRun.of(args(new String[] {"train", "--spec", rgb.toString(), "--out", dir.resolve("r1").toString()}, SMALL));
        assertEquals(1, r.code(), r.err());
        assertEquals("deepshape train: the spec " + rgb + " cannot take the training images, (N, 1, 28, 28): " + rule.getMessage(), r.err().strip());
        assertTrue(rule.getMessage().startsWith("layer 0 (conv) Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2)): expected input of shape (N, 3, H, W), got (N, 1, 28, 28)"),
                rule.getMessage());

        Path noHead = Files.writeString(dir.resolve("nohead.spec"), "conv = Conv2d(1, 4, 3, stride=2)\nReLU()\n");
        CliRun h = CliRun.of(args(new String[] {"train", "--spec", noHead.toString(), "--out", dir.resolve("r2").toString()}, SMALL));
        assertEquals(1, h.code(), h.err());
        assertEquals("deepshape train: the spec " + noHead + " gives (N, 4, 13, 13) for the training images (N, 1, 28, 28), but a classifier gives (N, 10), "
                + "one logit per class for the cross-entropy loss; hint: end the model with Flatten() and Linear(676, 10)", h.err().strip());
        assertFalse(Files.exists(dir.resolve("r1")) || Files.exists(dir.resolve("r2")), "nothing written");
    }

    static float firstLoss(String out) {
        Matcher m = LOSS.matcher(out);
        assertTrue(m.find(), out);
        return Float.parseFloat(m.group(1));
    }
}
