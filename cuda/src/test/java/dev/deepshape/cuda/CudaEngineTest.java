package dev.deepshape.cuda;

import static dev.deepshape.cuda.GpuRequired.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.backend.Backend;
import dev.deepshape.backend.Backends;
import dev.deepshape.backend.ReferenceBackend;
import dev.deepshape.data.Mnist;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.optim.Adam;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Tensor;
import dev.deepshape.train.DeviceModel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The whole-model GPU path against the host's autograd on the reference backend, from the same weights and batch:
 * the logits, the loss, every parameter's gradient, then Adam's step and the state written back to the host.
 */
class CudaEngineTest {
    @Test
    void oneStepMatchesTheHostsAutograd() {
        Gpu gpu = GpuRequired.gpu();
        Mnist.Dataset d = GpuRequired.data(150, 1);
        int[] order = new int[d.count()];
        for (int i = 0; i < order.length; i++) order[i] = (i * 37) % d.count();
        int from = 10, to = 74; // a batch of 64 from the middle of a permutation

        // the host: reference backend, autograd
        CombinedModel host = GpuRequired.model(5);
        Backend before = Backends.current();
        Map<String, float[]> hostGrads = new java.util.LinkedHashMap<>();
        float hostLoss;
        float[] hostLogits;
        try {
            Backends.use(new ReferenceBackend());
            float[] x = new float[(to - from) * 784];
            d.copyImages(order, from, to, x, 0);
            int[] y = new int[to - from];
            for (int i = 0; i < y.length; i++) y[i] = d.labels()[order[from + i]];
            Tensor logits = host.forward(new Tensor(x, to - from, 1, 28, 28));
            hostLogits = logits.toArray();
            Tensor loss = new CrossEntropyLoss().forward(logits, new IntTensor(y, new int[] {y.length}));
            loss.backward();
            hostLoss = loss.item();
            for (Map.Entry<String, Tensor> e : host.namedParameters().entrySet()) {
                hostGrads.put(e.getKey(), e.getValue().grad() == null ? new float[e.getValue().numel()] : e.getValue().grad().toArray());
            }
        } finally {
            Backends.use(before);
        }

        // the device, from the same weights
        CombinedModel dev = GpuRequired.model(5);
        Adam adam = new Adam(List.copyOf(dev.namedParameters().values()), 1e-3f);
        try (CudaEngine engine = new CudaEngine(gpu, dev, adam)) {
            DeviceModel.Step s = engine.trainStep(d, order, from, to);
            assertTrue(s.finite());
            assertEquals(hostLoss, s.loss(), 1e-5 * Math.max(1, Math.abs(hostLoss)), "the batch's loss");
            float[] g = engine.gradients();
            int i = 0;
            long off = 0;
            for (Map.Entry<String, Tensor> e : dev.namedParameters().entrySet()) {
                int n = e.getValue().numel();
                float[] mine = java.util.Arrays.copyOfRange(g, (int) off, (int) off + n);
                float[] want = hostGrads.get(e.getKey());
                double scale = 0;
                for (float w : want) scale = Math.max(scale, Math.abs(w));
                assertClose("gradient of " + e.getKey(), want, mine, 1e-4 * Math.max(scale, 1e-3), 1e-3);
                off += n;
                i++;
            }
            assertEquals(20, i);
            // the logits of the same images in eval mode (no dropout here: the same forward), weights after the step:
            // compare the forward pass on the host with the synced weights instead
            engine.syncToHost();
            Map<String, Tensor> st = adam.stateTensors();
            assertEquals(1f, st.get("state.0.step").toArray()[0], "Adam's step count comes back to the host");
        }
        // the forward pass alone: the device's logits for the batch's images equal the host's (before the step)
        CombinedModel fresh = GpuRequired.model(5);
        try (CudaEngine inference = new CudaEngine(gpu, fresh, null)) {
            float[] all = inference.logits(d);
            float[] batch = new float[(to - from) * 10];
            for (int r = 0; r < to - from; r++) System.arraycopy(all, order[from + r] * 10, batch, r * 10, 10);
            assertClose("logits", hostLogits, batch, 1e-5, 1e-4);
        }
    }

    @Test
    void trainingOnTheDeviceFollowsTheHostForTwentySteps() {
        Gpu gpu = GpuRequired.gpu();
        Mnist.Dataset d = GpuRequired.data(640, 2);
        int[] order = new int[d.count()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        CombinedModel dev = GpuRequired.model(9);
        Adam adam = new Adam(List.copyOf(dev.namedParameters().values()), 1e-3f);
        float[] deviceLoss = new float[20];
        try (CudaEngine engine = new CudaEngine(gpu, dev, adam)) {
            for (int k = 0; k < 20; k++) deviceLoss[k] = engine.trainStep(d, order, (k % 10) * 64, (k % 10) * 64 + 64).loss();
            engine.syncToHost();
        }
        CombinedModel host = GpuRequired.model(9);
        Adam hostAdam = new Adam(List.copyOf(host.namedParameters().values()), 1e-3f);
        Backend before = Backends.current();
        try {
            Backends.use(new ReferenceBackend());
            for (int k = 0; k < 20; k++) {
                int from = (k % 10) * 64;
                float[] x = new float[64 * 784];
                d.copyImages(order, from, from + 64, x, 0);
                int[] y = java.util.Arrays.copyOfRange(d.labels(), from, from + 64);
                hostAdam.zeroGrad();
                Tensor loss = new CrossEntropyLoss().forward(host.forward(new Tensor(x, 64, 1, 28, 28)), new IntTensor(y, new int[] {64}));
                loss.backward();
                hostAdam.step();
                // Adam turns rounding-level gradient differences into step-size parameter differences, so the two
                // runs drift apart slowly (as PyTorch does against itself at another thread count); the losses of
                // the first 20 steps stay within 1e-3
                assertEquals(loss.item(), deviceLoss[k], 1e-3 * Math.max(1, Math.abs(loss.item())), "loss of step " + (k + 1));
            }
        } finally {
            Backends.use(before);
        }
        assertTrue(deviceLoss[19] < deviceLoss[0], "the loss falls: " + deviceLoss[0] + " -> " + deviceLoss[19]);
    }
}
