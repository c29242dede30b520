package dev.deepshape.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.SafeTensors;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * deepshape's state dict loads in PyTorch unchanged: golden/data/interop/combined_seed7.safetensors was written here
 * (CombinedModel, Rng.manualSeed(7)); golden/interop/check_roundtrip.py loaded it into the tutorial's torch.nn model
 * with load_state_dict(strict=True) and wrote that model's logits on the first 8 MNIST test images to
 * combined_seed7_logits.safetensors. deepshape — and the ONNX export of it in ONNX Runtime — must give those logits.
 *
 * <p>To rewrite the state dict (after a deliberate change to initialisation):
 * {@code mvn -pl onnx -am test -Dtest=PyTorchRoundTripTest -Dsurefire.failIfNoSpecifiedTests=false -Ddeepshape.writeInterop=true},
 * then {@code /usr/bin/python3 golden/interop/check_roundtrip.py}.
 */
class PyTorchRoundTripTest {
    static Path interop() { return OnnxExportTest.goldenData().resolve("interop"); }

    @Test
    void committedStateDictIsTheSeed7ModelWrittenByDeepshape() throws Exception {
        Path file = interop().resolve("combined_seed7.safetensors");
        Rng.manualSeed(7);
        CombinedModel model = new CombinedModel();
        if (Boolean.getBoolean("deepshape.writeInterop")) {
            SafeTensors.write(file, model.stateDict(), Map.of(), Map.of("producer", "deepshape", "model", "CombinedModel", "seed", "7"));
        }
        Map<String, Tensor> read = SafeTensors.read(file);
        assertEquals(new ArrayList<>(model.stateDict().keySet()), new ArrayList<>(read.keySet()), "keys, in PyTorch's registration order");
        for (var e : model.stateDict().entrySet()) {
            assertArrayEquals(e.getValue().shape(), read.get(e.getKey()).shape(), e.getKey());
            assertArrayEquals(e.getValue().toArray(), read.get(e.getKey()).toArray(), e.getKey());
        }
    }

    @Test
    void deepshapeAndOnnxRuntimeReproducePyTorchsLogits() throws Exception {
        Map<String, Tensor> golden = SafeTensors.read(interop().resolve("combined_seed7_logits.safetensors"));
        Tensor input = golden.get("input"), torchLogits = golden.get("logits");
        assertArrayEquals(new int[] {8, 1, 28, 28}, input.shape());
        CombinedModel model = new CombinedModel();
        model.loadStateDict(SafeTensors.read(interop().resolve("combined_seed7.safetensors")), true);

        float viaDeepshape = OrtRunner.maxAbsDiff(OnnxExportTest.deepshape(model, input), torchLogits);
        float viaOnnx;
        try (OrtRunner ort = new OrtRunner(OnnxExporter.toProto(model, new int[] {-1, 1, 28, 28}).toByteArray())) {
            viaOnnx = OrtRunner.maxAbsDiff(ort.run(input), torchLogits);
        }
        System.out.printf("seed-7 CombinedModel on 8 MNIST test images: max |deepshape − PyTorch| = %.3g, max |onnxruntime − PyTorch| = %.3g%n",
                viaDeepshape, viaOnnx);
        assertTrue(viaDeepshape <= OnnxExportTest.TOLERANCE, "deepshape vs PyTorch: " + viaDeepshape);
        assertTrue(viaOnnx <= OnnxExportTest.TOLERANCE, "onnxruntime vs PyTorch: " + viaOnnx);
    }
}
