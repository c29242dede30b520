package dev.deepshape.bench;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Activation;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.pooling.Pool;
import ai.djl.nn.recurrent.GRU;
import ai.djl.nn.recurrent.LSTM;
import ai.djl.nn.recurrent.RNN;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.util.PairList;
import dev.deepshape.io.Json;
import dev.deepshape.shape.ModelBuilder;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import dev.deepshape.train.Bench;
import dev.deepshape.train.EpochBench;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The libtorch contestant of {@code bench/compare.sh}: the reference model on PyTorch 2.7.1's C++ core through DJL
 * 0.36, trained one epoch on the same preloaded MNIST, in the same batch order, from the same initial weights
 * (deepshape's PyTorch-style initialisation with the same seed, copied in), with Adam (lr 1e-3) and cross-entropy;
 * then the 10,000 test images in order (batches of 64). Prints one JSON line with the fields of
 * {@code deepshape bench --epoch --json}.
 *
 * <p>NOTE: DJL's {@code Conv2dTranspose} throws "Not implemented" on the PyTorch engine and DJL's JNI has no
 * conv_transpose2d, so {@link Deconv2x2} computes the model's ConvTranspose2d(64, 32, kernel_size=2, stride=2)
 * exactly another way: with stride = kernel and no padding the output patches do not overlap, so
 * {@code out[n, co, 2i+a, 2j+b] = bias[co] + Σ_ci x[n, ci, i, j]·W[ci, co, a, b]}: a matrix product over the
 * channels of every pixel, (N·H·W, Cin)·(Cin, Cout·2·2), then a pixel rearrangement (depth to space).
 *
 * <pre>
 * java -Dai.djl.offline=true -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.deepshape.bench.DjlPeer DATA_DIR ORDER_FILE [THREADS] [SEED]
 * </pre>
 */
public final class DjlPeer {
    private DjlPeer() {}

    private static final int BATCH = 64;

    /** ConvTranspose2d(cin, cout, kernel_size=2, stride=2) as a per-pixel matrix product and a depth-to-space step. */
    static final class Deconv2x2 extends AbstractBlock {
        private final int cin, cout;
        private final Parameter weight, bias;

        Deconv2x2(int cin, int cout) {
            this.cin = cin;
            this.cout = cout;
            weight = addParameter(Parameter.builder().setName("weight").setType(Parameter.Type.WEIGHT).optShape(new Shape(cin, cout, 2, 2)).build());
            bias = addParameter(Parameter.builder().setName("bias").setType(Parameter.Type.BIAS).optShape(new Shape(cout)).build());
        }

        @Override
        protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training, PairList<String, Object> params) {
            NDArray x = inputs.singletonOrThrow();
            long n = x.getShape().get(0), h = x.getShape().get(2), w = x.getShape().get(3);
            NDArray wt = ps.getValue(weight, x.getDevice(), training).reshape(cin, cout * 4L);
            NDArray b = ps.getValue(bias, x.getDevice(), training).reshape(1, cout, 1, 1);
            NDArray pixels = x.transpose(0, 2, 3, 1).reshape(n * h * w, cin);          // (N·H·W, Cin)
            NDArray y = pixels.matMul(wt).reshape(n, h, w, cout, 2, 2)                // [n, i, j, co, a, b]
                    .transpose(0, 3, 1, 4, 2, 5).reshape(n, cout, 2 * h, 2 * w);   // [n, co, 2i+a, 2j+b]
            return new NDList(y.add(b));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputs) {
            Shape s = inputs[0];
            return new Shape[] {new Shape(s.get(0), cout, 2 * s.get(2), 2 * s.get(3))};
        }
    }

    /** The tutorial's CombinedModel as DJL blocks. */
    static SequentialBlock combinedModel() {
        return new SequentialBlock()
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(32).build())
                .addSingleton(Activation::relu)
                .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(64).build())
                .addSingleton(Activation::relu)
                .add(Pool.maxPool2dBlock(new Shape(2, 2), new Shape(2, 2)))
                .add(new Deconv2x2(64, 32))
                .addSingleton(x -> x.reshape(x.getShape().get(0), -1).expandDims(1))        // flatten, unsqueeze(1)
                .add(RNN.builder().setStateSize(128).setNumLayers(1).setActivation(RNN.Activation.TANH).optBatchFirst(true).optReturnState(false).build())
                .add(GRU.builder().setStateSize(64).setNumLayers(1).optBatchFirst(true).optReturnState(false).build())
                .add(LSTM.builder().setStateSize(32).setNumLayers(1).optBatchFirst(true).optReturnState(false).build())
                .addSingleton(x -> x.get(":, -1, :"))                                        // the last time step
                .add(Linear.builder().setUnits(10).build());
    }

    /**
     * DJL's parameters in block order, paired with PyTorch's state-dict keys: for the recurrent blocks DJL's names
     * {@code l_0_i2h_WEIGHT}, {@code l_0_h2h_WEIGHT}, {@code l_0_i2h_BIAS}, {@code l_0_h2h_BIAS} are PyTorch's
     * {@code weight_ih_l0}, {@code weight_hh_l0}, {@code bias_ih_l0}, {@code bias_hh_l0} (same layout, same gate order:
     * DJL hands them to libtorch's own rnn/gru/lstm).
     */
    static String torchKey(String djlName, List<String> modules, int[] seen) {
        // DJL names a child block "01Conv2d", "07Deconv2x2", ...: the prefix before the first '_' is the block.
        String block = djlName.substring(0, djlName.indexOf('_'));
        String rest = djlName.substring(djlName.indexOf('_') + 1);
        int index = Integer.parseInt(block.replaceAll("[^0-9].*", ""));
        String module = modules.get(index - 1);
        if (module == null) throw new IllegalStateException("DJL parameter " + djlName + " belongs to a block without parameters in PyTorch");
        seen[0]++;
        String key;
        var m = java.util.regex.Pattern.compile("l_?(\\d+)_(i2h|h2h)_(weight|bias)").matcher(rest.toLowerCase(java.util.Locale.ROOT));
        if (rest.equals("weight") || rest.equals("bias")) key = rest;
        else if (m.matches()) key = m.group(3) + "_" + (m.group(2).equals("i2h") ? "ih" : "hh") + "_l" + m.group(1); // l_0_i2h_WEIGHT → weight_ih_l0
        else throw new IllegalStateException("unexpected DJL parameter name " + djlName);
        return module + "." + key;
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: DjlPeer DATA_DIR ORDER_FILE [THREADS] [SEED]");
            System.exit(2);
        }
        Path data = Path.of(args[0]), orderFile = Path.of(args[1]);
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 0;
        // Read by DJL's PyTorch engine when it starts (before the first NDManager).
        System.setProperty("ai.djl.pytorch.num_threads", String.valueOf(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        System.setProperty("ai.djl.offline", "true");

        EpochBench.Mnist mnist = EpochBench.Mnist.load(data);
        int[] order = EpochBench.readOrder(orderFile);
        Rng.manualSeed(seed);
        Map<String, Tensor> init = ModelBuilder.build(ModelSpec.builtin("combined")).stateDict();

        SequentialBlock net = combinedModel();
        // The PyTorch module each DJL child block stands for (null: no parameters), in block order.
        List<String> modules = Arrays.asList("conv1", null, null, "conv2", null, null, "deconv", null, "rnn", "gru", "lstm", null, "fc");
        try (Model model = Model.newInstance("combined", Device.cpu(), "PyTorch")) {
            model.setBlock(net);
            DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                    .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).optBeta1(0.9f).optBeta2(0.999f).optEpsilon(1e-8f).build())
                    .optDevices(new Device[] {Device.cpu()});
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(BATCH, 1, 28, 28));
                int[] seen = {0};
                for (var p : net.getParameters()) {
                    String key = torchKey(p.getKey(), modules, seen);
                    Tensor t = init.get(key);
                    NDArray a = p.getValue().getArray();
                    if (t == null || !Arrays.equals(a.getShape().getShape(), Arrays.stream(t.shapeRef()).asLongStream().toArray())) {
                        throw new IllegalStateException("DJL parameter " + p.getKey() + " " + a.getShape() + " does not match " + key + " "
                                + (t == null ? "(missing)" : Arrays.toString(t.shapeRef())));
                    }
                    a.set(t.toArray());
                }
                if (seen[0] != init.size()) throw new IllegalStateException("copied " + seen[0] + " of " + init.size() + " parameters");
                Map<String, Object> result = epoch(trainer, net, model.getNDManager(), mnist, order, threads);
                System.out.println(Json.write(result));
            }
        }
    }

    private static Map<String, Object> epoch(Trainer trainer, SequentialBlock net, NDManager manager, EpochBench.Mnist mnist, int[] order, int threads) {
        int image = 28 * 28;
        int steps = (order.length + BATCH - 1) / BATCH;
        List<Double> stepMs = new ArrayList<>();
        double lossSum = 0, batching = 0;
        long correct = 0;
        long e0 = System.nanoTime();
        for (int s = 0; s < steps; s++) {
            long b0 = System.nanoTime();
            int from = s * BATCH, n = Math.min(BATCH, order.length - from);
            float[] x = new float[n * image];
            long[] y = new long[n];
            for (int i = 0; i < n; i++) {
                int k = order[from + i];
                mnist.train().copyImage(k, x, i * image); // normalised from the preloaded bytes, as deepshape's bench does
                y[i] = mnist.trainLabels()[k];
            }
            try (NDManager sub = manager.newSubManager()) {
                NDArray input = sub.create(x, new Shape(n, 1, 28, 28));
                NDArray labels = sub.create(y);
                long t0 = System.nanoTime();
                batching += (t0 - b0) / 1e9;
                NDArray logits, loss;
                try (GradientCollector gc = trainer.newGradientCollector()) {
                    logits = trainer.forward(new NDList(input)).singletonOrThrow();
                    loss = trainer.getLoss().evaluate(new NDList(labels), new NDList(logits));
                    gc.backward(loss);
                }
                trainer.step();
                long t1 = System.nanoTime();
                if (n == BATCH) stepMs.add((t1 - t0) / 1e6);
                lossSum += loss.getFloat();
                correct += logits.argMax(1).eq(labels).sum().toType(DataType.INT64, false).getLong();
            }
        }
        double epoch = (System.nanoTime() - e0) / 1e9;

        ParameterStore ps = new ParameterStore(manager, false);
        long testCorrect = 0;
        int testCount = mnist.testLabels().length;
        long i0 = System.nanoTime();
        for (int from = 0; from < testCount; from += BATCH) {
            int n = Math.min(BATCH, testCount - from);
            try (NDManager sub = manager.newSubManager()) {
                float[] x = new float[n * image];
                for (int i = 0; i < n; i++) mnist.test().copyImage(from + i, x, i * image);
                NDArray input = sub.create(x, new Shape(n, 1, 28, 28));
                NDArray logits = net.forward(ps, new NDList(input), false).singletonOrThrow();
                long[] labels = new long[n];
                for (int i = 0; i < n; i++) labels[i] = mnist.testLabels()[from + i];
                testCorrect += logits.argMax(1).eq(sub.create(labels)).sum().toType(DataType.INT64, false).getLong();
            }
        }
        double inference = (System.nanoTime() - i0) / 1e9;

        double[] steps64 = stepMs.stream().mapToDouble(Double::doubleValue).toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "libtorch-djl");
        m.put("backend", "libtorch 2.7.1 via DJL 0.36.0");
        m.put("threads", threads);
        m.put("batch", BATCH);
        m.put("steps", steps);
        m.put("epoch_s", epoch);
        m.put("step_ms", Bench.median(steps64));
        m.put("batching_s", batching);
        m.put("loss", lossSum / steps);
        m.put("train_accuracy", 100.0 * correct / order.length);
        m.put("test_count", testCount);
        m.put("inference_s", inference);
        m.put("test_accuracy", 100.0 * testCorrect / testCount);
        m.put("peak_rss_bytes", Bench.peakRssBytes());
        m.put("load_average", Bench.loadAverage());
        return m;
    }
}
