package dev.deepshape.cuda;

import dev.deepshape.backend.Conv2dGeometry;
import dev.deepshape.backend.Pool2dGeometry;
import dev.deepshape.data.Mnist;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Module;
import dev.deepshape.optim.Adam;
import dev.deepshape.optim.Optimizer;
import dev.deepshape.tensor.Tensor;
import dev.deepshape.train.DeviceModel;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reference model ({@link CombinedModel}) trained and evaluated whole on the GPU: every parameter, gradient and
 * Adam moment in one flat device buffer each (so the optimiser is one kernel), the data uploaded once, and a step
 * made of ~45 kernel launches and cuBLAS calls with one small copy each way. The forward and backward passes are the
 * model's, written out layer by layer with {@link DeviceOps} (the same kernels {@link CudaBackend} runs and the GPU
 * tests check against the reference backend).
 *
 * <p>Shapes for a batch of B: (B,1,28,28) → conv1 (B,32,28,28) → relu, pool (B,32,14,14) → conv2 (B,64,14,14) →
 * relu, pool (B,64,7,7) → deconv (B,32,14,14) = (B,6272) → rnn (B,128) → gru (B,64) → lstm (B,32) → fc (B,10). The
 * sequence has one step and the recurrent layers start from a zero state, so their hidden projections are their
 * biases and W_hh gets a zero gradient, exactly as in PyTorch.
 */
final class CudaEngine implements DeviceModel {
    private static final int IMAGE = 28 * 28, CLASSES = 10, EVAL_BATCH = 1000;
    private static final String[] NAMES = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "deconv.weight",
            "deconv.bias", "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0", "gru.weight_ih_l0",
            "gru.weight_hh_l0", "gru.bias_ih_l0", "gru.bias_hh_l0", "lstm.weight_ih_l0", "lstm.weight_hh_l0",
            "lstm.bias_ih_l0", "lstm.bias_hh_l0", "fc.weight", "fc.bias"};

    private final Gpu gpu;
    private final CombinedModel model;
    private final Optimizer optimizer;
    private final List<Tensor> params;                 // the flat buffers' order: the optimiser's (Adam state index i)
    private final long[] offset;                       // of each params entry, in floats
    private final Map<String, Integer> byName = new LinkedHashMap<>();
    private final long total;
    private long p, g, m, v, vmax;                     // flat device buffers
    private int step;                                  // Adam's step count (the same for every parameter)
    private final long stats;                          // loss bits, hits, non-finite count
    private Acts train, eval;
    /** The datasets on the device (training and test: two, so an epoch's evaluation does not evict the training set). */
    private final Map<Mnist.Dataset, long[]> resident = new IdentityHashMap<>();
    private final List<Mnist.Dataset> residentOrder = new ArrayList<>();
    private long images, labels;                        // of the dataset in use

    /** Null when this engine can run {@code model} with {@code optimizer} (null: inference only), else why not. */
    static String supports(Module model, Optimizer optimizer) {
        if (model.getClass() != CombinedModel.class) return "the whole-model GPU path is written for the reference model (CombinedModel)";
        if (optimizer != null && !(optimizer instanceof Adam)) return "the whole-model GPU path trains with Adam only";
        if (optimizer != null) {
            int steps = -1;
            Map<String, Tensor> st = optimizer.stateTensors();
            for (int i = 0; i < optimizer.params().size(); i++) {
                Tensor s = st.get("state." + i + ".step");
                int k = s == null ? 0 : (int) s.toArray()[0];
                if (steps >= 0 && k != steps) return "the optimiser's parameters have taken different numbers of steps";
                steps = k;
            }
        }
        return null;
    }

    CudaEngine(Gpu gpu, CombinedModel model, Optimizer optimizer) {
        this.gpu = gpu;
        this.model = model;
        this.optimizer = optimizer;
        Map<String, Tensor> named = model.namedParameters();
        this.params = optimizer != null ? List.copyOf(optimizer.params()) : List.copyOf(named.values());
        Map<Tensor, Integer> index = new IdentityHashMap<>();
        for (int i = 0; i < params.size(); i++) index.put(params.get(i), i);
        for (String n : NAMES) {
            Integer i = index.get(named.get(n));
            if (i == null) throw new IllegalStateException("CombinedModel has no parameter " + n + " among the optimiser's");
            byName.put(n, i);
        }
        offset = new long[params.size()];
        long o = 0;
        for (int i = 0; i < params.size(); i++) {
            offset[i] = o;
            o += params.get(i).numel();
        }
        total = o;
        p = gpu.alloc(total);
        stats = gpu.alloc(4);
        if (optimizer != null) {
            g = gpu.alloc(total);
            m = gpu.alloc(total);
            v = gpu.alloc(total);
            // NOTE: W_hh of each recurrent layer gets no write in the backward pass (its gradient is zero with a
            // zero initial state), so the gradient buffer starts at zero once and stays so there.
            gpu.zero(g, total);
            if (((Adam) optimizer).amsgrad()) vmax = gpu.alloc(total);
        }
        syncFromHost();
    }

    private long param(String name) { return p + 4 * offset[byName.get(name)]; }

    private long grad(String name) { return g + 4 * offset[byName.get(name)]; }

    @Override
    public String describe() {
        return "cuda: " + gpu.name + "; " + String.format(java.util.Locale.ROOT, "%,d", total) + " parameters"
                + (optimizer != null ? ", their gradients and Adam's state" : "") + " and the data kept on the GPU";
    }

    /** Uploads the host model's parameters and the optimiser's state (after construction and after a restore). */
    void syncFromHost() {
        for (int i = 0; i < params.size(); i++) gpu.upload(p + 4 * offset[i], params.get(i).data(), 0, params.get(i).numel());
        if (optimizer == null) return;
        Map<String, Tensor> st = optimizer.stateTensors();
        Tensor s0 = st.get("state.0.step");
        step = s0 == null ? 0 : (int) s0.toArray()[0];
        if (step == 0) {
            gpu.zero(m, total);
            gpu.zero(v, total);
            if (vmax != 0) gpu.zero(vmax, total);
            return;
        }
        for (int i = 0; i < params.size(); i++) {
            int n = params.get(i).numel();
            gpu.upload(m + 4 * offset[i], st.get("state." + i + ".exp_avg").data(), 0, n);
            gpu.upload(v + 4 * offset[i], st.get("state." + i + ".exp_avg_sq").data(), 0, n);
            if (vmax != 0) gpu.upload(vmax + 4 * offset[i], st.get("state." + i + ".max_exp_avg_sq").data(), 0, n);
        }
    }

    @Override
    public void syncToHost() {
        for (int i = 0; i < params.size(); i++) gpu.download(params.get(i).data(), 0, p + 4 * offset[i], params.get(i).numel());
        if (optimizer == null || step == 0) return;
        Map<String, Tensor> st = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            int[] shape = params.get(i).shape();
            int n = params.get(i).numel();
            st.put("state." + i + ".step", Tensor.scalar(step));
            st.put("state." + i + ".exp_avg", new Tensor(downloadSlice(m, offset[i], n), shape));
            st.put("state." + i + ".exp_avg_sq", new Tensor(downloadSlice(v, offset[i], n), shape));
            if (vmax != 0) st.put("state." + i + ".max_exp_avg_sq", new Tensor(downloadSlice(vmax, offset[i], n), shape));
        }
        optimizer.loadStateTensors(st);
    }

    private float[] downloadSlice(long base, long off, int n) {
        float[] a = new float[n];
        gpu.download(a, 0, base + 4 * off, n);
        return a;
    }

    // ---------------------------------------------------------------- data

    @Override
    public void load(Mnist.Dataset data) {
        long[] have = resident.get(data);
        if (have == null) {
            if (residentOrder.size() == 2) {            // keep at most two: free the older
                Mnist.Dataset old = residentOrder.removeFirst();
                long[] o = resident.remove(old);
                gpu.free(o[0]);
                gpu.free(o[1]);
            }
            have = upload(data);
            resident.put(data, have);
            residentOrder.add(data);
        }
        images = have[0];
        labels = have[1];
        gpu.warm();
    }

    private long[] upload(Mnist.Dataset data) {
        long img = gpu.alloc((long) data.count() * IMAGE), lab = gpu.alloc(data.count());
        int chunk = 5000;
        int[] order = new int[data.count()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        float[] buf = new float[chunk * IMAGE];
        for (int from = 0; from < data.count(); from += chunk) {
            int to = Math.min(from + chunk, data.count());
            data.copyImages(order, from, to, buf, 0);   // normalised exactly as the CPU path does
            gpu.upload(img + 4L * from * IMAGE, buf, 0, (to - from) * IMAGE);
        }
        gpu.upload(lab, data.labels(), 0, data.count());
        return new long[] {img, lab};
    }

    // ---------------------------------------------------------------- activations

    /** The device buffers of one batch size: the forward pass's activations and what backward saves or produces. */
    private final class Acts {
        // NOTE: c1, c2, col1, col2, colT, dcolT, dc1, dc2 are batch-wide ((rows, b·H·W)); p2, idx2, dp2 are (64, b·49)
        final int b;
        final Conv2dGeometry g1, g2, gT;
        final Pool2dGeometry pg1, pg2;
        final long order, x, y, col1, c1, p1, idx1, col2, c2, p2, idx2, d, dcolT, gi1, h1, gi2, h2, rzn, gi3, h3, save3,
                logits, rowLoss;
        // backward (training only)
        long dlogits, dh3, dg3, dh2, dgi2, dgh2, dh1, dg1, dd, colT, dp2, dc2, dcol2, dp1, dc1;
        final List<Long> all = new ArrayList<>();

        Acts(int b, boolean training) {
            this.b = b;
            int[] one = {1, 1}, pad = {1, 1}, two = {2, 2}, zero = {0, 0};
            g1 = Conv2dGeometry.conv(b, 1, 28, 28, 32, 3, 3, one, pad, pad, one, 1);
            pg1 = Pool2dGeometry.of(b, 32, 28, 28, two, two, zero, one, false);
            g2 = Conv2dGeometry.conv(b, 32, 14, 14, 64, 3, 3, one, pad, pad, one, 1);
            pg2 = Pool2dGeometry.of(b, 64, 14, 14, two, two, zero, one, false);
            gT = Conv2dGeometry.transposed(b, 64, 7, 7, 32, 2, 2, two, zero, zero, one, 1);
            order = a(b); x = a((long) b * IMAGE); y = a(b);
            col1 = a(DeviceOps.colFloats(g1)); c1 = a(b * 32L * 784); p1 = a(b * 32L * 196); idx1 = a(b * 32L * 196);
            col2 = a(DeviceOps.colFloats(g2)); c2 = a(b * 64L * 196); p2 = a(b * 64L * 49); idx2 = a(b * 64L * 49);
            d = a(b * 6272L); dcolT = a(DeviceOps.colFloats(gT));
            gi1 = a(b * 128L); h1 = a(b * 128L); gi2 = a(b * 192L); h2 = a(b * 64L); rzn = a(b * 192L);
            gi3 = a(b * 128L); h3 = a(b * 32L); save3 = a(b * 160L);
            logits = a(b * (long) CLASSES); rowLoss = a(b);
            if (training) {
                dlogits = a(b * (long) CLASSES); dh3 = a(b * 32L); dg3 = a(b * 128L); dh2 = a(b * 64L);
                dgi2 = a(b * 192L); dgh2 = a(b * 192L); dh1 = a(b * 128L); dg1 = a(b * 128L); dd = a(b * 6272L);
                colT = a(DeviceOps.colFloats(gT)); dp2 = a(b * 64L * 49); dc2 = a(b * 64L * 196);
                dcol2 = a(DeviceOps.colFloats(g2)); dp1 = a(b * 32L * 196); dc1 = a(b * 32L * 784);
            }
        }

        private long a(long floats) {
            long ptr = gpu.alloc(floats);
            all.add(ptr);
            return ptr;
        }

        void free() { for (long ptr : all) gpu.free(ptr); }
    }

    private Acts acts(Acts have, int b, boolean training) {
        if (have != null && have.b >= b) return have;
        if (have != null) have.free();
        return new Acts(b, training);
    }

    /** Geometries for a batch of {@code n} ≤ capacity: the same buffers, fewer samples. */
    private static Conv2dGeometry withN(Conv2dGeometry g, int n) {
        return new Conv2dGeometry(n, g.c(), g.h(), g.w(), g.oc(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padH(),
                g.padW(), g.dilH(), g.dilW(), g.groups(), g.oh(), g.ow());
    }

    private static Pool2dGeometry withN(Pool2dGeometry g, int n) {
        return new Pool2dGeometry(n, g.c(), g.h(), g.w(), g.kh(), g.kw(), g.strideH(), g.strideW(), g.padH(), g.padW(),
                g.dilH(), g.dilW(), g.oh(), g.ow());
    }

    // ---------------------------------------------------------------- forward

    /**
     * logits (b, 10) of the images in a.x. NOTE: the convolutions run batch-wide (DeviceOps' {@code cn} layout): conv1
     * and conv2 write (C, b·H·W), which pool reads; pool2 writes (64, b·7·7), which the deconv reads as one matrix.
     * Each product is then one large GEMM instead of b small ones.
     */
    private void forward(Acts a, int b) {
        Conv2dGeometry g1 = withN(a.g1, b), g2 = withN(a.g2, b), gT = withN(a.gT, b);
        Pool2dGeometry pg1 = withN(a.pg1, b), pg2 = withN(a.pg2, b);
        // conv1, relu, pool: (b,1,28,28) → (32, b·784) → (b,32,14,14); the bias is added as pool reads
        DeviceOps.im2col(gpu, a.col1, a.x, g1, true);
        gpu.gemm(false, false, 32, b * 784, 9, param("conv1.weight"), 9, a.col1, b * 784, a.c1, b * 784, 0f);
        DeviceOps.maxPoolForward(gpu, a.p1, a.idx1, 0, a.c1, param("conv1.bias"), true, pg1, true, false);
        mark(0);
        // conv2, relu, pool: → (64, b·196) → (64, b·49)
        DeviceOps.im2col(gpu, a.col2, a.p1, g2, true);
        gpu.gemm(false, false, 64, b * 196, 288, param("conv2.weight"), 288, a.col2, b * 196, a.c2, b * 196, 0f);
        DeviceOps.maxPoolForward(gpu, a.p2, a.idx2, 0, a.c2, param("conv2.bias"), true, pg2, true, true);
        mark(1);
        // deconv: the data gradient of its equivalent convolution, on top of the bias → (b,32,14,14) = (b,6272)
        gpu.gemm(true, false, 128, b * 49, 64, param("deconv.weight"), 128, a.p2, b * 49, a.dcolT, b * 49, 0f);
        DeviceOps.col2im(gpu, a.d, a.dcolT, param("deconv.bias"), gT, true, false);
        mark(2);
        // rnn, gru, lstm: one time step each from a zero state
        gpu.gemm(false, true, b, 128, 6272, a.d, 6272, param("rnn.weight_ih_l0"), 6272, a.gi1, 128, 0f);
        gpu.launch("rnn_tanh_fwd", b * 128L, a.gi1, param("rnn.bias_ih_l0"), param("rnn.bias_hh_l0"), a.h1, b, 128);
        mark(3);
        gpu.gemm(false, true, b, 192, 128, a.h1, 128, param("gru.weight_ih_l0"), 128, a.gi2, 192, 0f);
        gpu.launch("gru_fwd", b * 64L, a.gi2, param("gru.bias_ih_l0"), param("gru.bias_hh_l0"), a.h2, a.rzn, b, 64);
        gpu.gemm(false, true, b, 128, 64, a.h2, 64, param("lstm.weight_ih_l0"), 64, a.gi3, 128, 0f);
        gpu.launch("lstm_fwd", b * 32L, a.gi3, param("lstm.bias_ih_l0"), param("lstm.bias_hh_l0"), a.h3, a.save3, b, 32);
        mark(4);
        // fc → logits (b, 10)
        gpu.gemm(false, true, b, CLASSES, 32, a.h3, 32, param("fc.weight"), 32, a.logits, CLASSES, 0f);
        gpu.launch("add_bias_rows", b * (long) CLASSES, a.logits, param("fc.bias"), b, CLASSES);
        mark(5);
    }

    // ---------------------------------------------------------------- backward (every gradient overwritten, not added)

    private void backward(Acts a, int b) {
        Conv2dGeometry g2 = withN(a.g2, b), gT = withN(a.gT, b);
        Pool2dGeometry pg1 = withN(a.pg1, b), pg2 = withN(a.pg2, b);
        // fc
        gpu.gemm(true, false, CLASSES, 32, b, a.dlogits, CLASSES, a.h3, 32, grad("fc.weight"), 32, 0f);
        DeviceOps.sumRows(gpu, grad("fc.bias"), a.dlogits, b, CLASSES, false);
        gpu.gemm(false, false, b, 32, CLASSES, a.dlogits, CLASSES, param("fc.weight"), 32, a.dh3, 32, 0f);
        // lstm: the gates' gradient serves W_ih, both biases and the input
        gpu.launch("lstm_bwd", b * 32L, a.dh3, a.save3, a.dg3, b, 32);
        gpu.gemm(true, false, 128, 64, b, a.dg3, 128, a.h2, 64, grad("lstm.weight_ih_l0"), 64, 0f);
        DeviceOps.sumRows(gpu, grad("lstm.bias_ih_l0"), a.dg3, b, 128, false);
        DeviceOps.sumRows(gpu, grad("lstm.bias_hh_l0"), a.dg3, b, 128, false);
        gpu.gemm(false, false, b, 64, 128, a.dg3, 128, param("lstm.weight_ih_l0"), 64, a.dh2, 64, 0f);
        // gru: the input and hidden gates differ in n (the hidden one is scaled by r)
        gpu.launch("gru_bwd", b * 64L, a.dh2, a.rzn, param("gru.bias_hh_l0"), a.dgi2, a.dgh2, b, 64);
        gpu.gemm(true, false, 192, 128, b, a.dgi2, 192, a.h1, 128, grad("gru.weight_ih_l0"), 128, 0f);
        DeviceOps.sumRows(gpu, grad("gru.bias_ih_l0"), a.dgi2, b, 192, false);
        DeviceOps.sumRows(gpu, grad("gru.bias_hh_l0"), a.dgh2, b, 192, false);
        gpu.gemm(false, false, b, 128, 192, a.dgi2, 192, param("gru.weight_ih_l0"), 128, a.dh1, 128, 0f);
        // rnn
        gpu.launch("rnn_tanh_bwd", b * 128L, a.dh1, a.h1, a.dg1, b, 128);
        gpu.gemm(true, false, 128, 6272, b, a.dg1, 128, a.d, 6272, grad("rnn.weight_ih_l0"), 6272, 0f);
        DeviceOps.sumRows(gpu, grad("rnn.bias_ih_l0"), a.dg1, b, 128, false);
        DeviceOps.sumRows(gpu, grad("rnn.bias_hh_l0"), a.dg1, b, 128, false);
        gpu.gemm(false, false, b, 6272, 128, a.dg1, 128, param("rnn.weight_ih_l0"), 6272, a.dd, 6272, 0f);
        // deconv: its input gradient is its equivalent convolution's forward of dd, W·im2col(dd); its weight gradient
        // that convolution's weight gradient with its input p2 (64, b·49) in the role of dout: p2·im2col(dd)ᵀ
        DeviceOps.im2col(gpu, a.colT, a.dd, gT, true);
        gpu.gemm(false, false, 64, b * 49, 128, param("deconv.weight"), 128, a.colT, b * 49, a.dp2, b * 49, 0f);
        gpu.gemm(false, true, 64, 128, b * 49, a.p2, b * 49, a.colT, b * 49, grad("deconv.weight"), 128, 0f);
        DeviceOps.biasGradPlanes(gpu, grad("deconv.bias"), a.dd, b, 32, 196, false);
        // pool, relu, conv2 (batch-wide: dc2 is (64, b·196))
        DeviceOps.maxPoolBackward(gpu, a.dc2, a.dp2, a.idx2, 0, a.p2, true, pg2, true, true, false);
        DeviceOps.biasGradPlanes(gpu, grad("conv2.bias"), a.dc2, 1, 64, b * 196L, false);
        gpu.gemm(false, true, 64, 288, b * 196, a.dc2, b * 196, a.col2, b * 196, grad("conv2.weight"), 288, 0f);
        gpu.gemm(true, false, 288, b * 196, 64, param("conv2.weight"), 288, a.dc2, b * 196, a.dcol2, b * 196, 0f);
        DeviceOps.col2im(gpu, a.dp1, a.dcol2, 0, g2, true, false);
        // pool, relu, conv1 (its input needs no gradient)
        DeviceOps.maxPoolBackward(gpu, a.dc1, a.dp1, a.idx1, 0, a.p1, true, pg1, true, false, false);
        DeviceOps.biasGradPlanes(gpu, grad("conv1.bias"), a.dc1, 1, 32, b * 784L, false);
        gpu.gemm(false, true, 32, 9, b * 784, a.dc1, b * 784, a.col1, b * 784, grad("conv1.weight"), 9, 0f);
    }

    // ---------------------------------------------------------------- the DeviceModel calls

    @Override
    public Step trainStep(Mnist.Dataset data, int[] order, int from, int to) {
        if (optimizer == null) throw new IllegalStateException("this device model was made for inference (no optimiser)");
        int b = to - from;
        load(data);
        train = acts(train, b, true);
        Acts a = train;
        gpu.upload(a.order, order, from, b);
        gpu.launch("gather_batch", (long) b * IMAGE, images, labels, a.order, a.x, a.y, b, IMAGE);
        forward(a, b);
        gpu.launchBlocks("cross_entropy", 1, 256, a.logits, a.y, a.dlogits, a.rowLoss, stats, b, CLASSES);
        backward(a, b);
        gpu.launch("count_nonfinite", total, g, total, stats);
        int[] s = new int[3];
        gpu.download(s, 0, stats, 3);
        float loss = Float.intBitsToFloat(s[0]);
        boolean finite = Float.isFinite(loss) && s[2] == 0;
        if (finite) adamStep();
        return new Step(loss, s[1], finite);
    }

    /** Adam over the flat buffers, with the scalars {@link Adam} forms (in double, then rounded to float). */
    private void adamStep() {
        Adam.Scalars s = ((Adam) optimizer).scalars(++step);
        gpu.launch("adam", total, p, g, m, v, vmax, total, s.negStepSize(), s.bc2Sqrt(), s.beta1(), s.oneMinusBeta1(),
                s.beta2(), s.oneMinusBeta2(), s.eps(), s.weightDecay());
    }

    @Override
    public float[] logits(Mnist.Dataset data) {
        load(data);
        int n = data.count();
        float[] out = new float[n * CLASSES];
        eval = acts(eval, Math.min(EVAL_BATCH, Math.max(1, n)), false);
        int[] order = new int[Math.min(EVAL_BATCH, Math.max(1, n))];
        for (int from = 0; from < n; from += EVAL_BATCH) {
            int b = Math.min(EVAL_BATCH, n - from);
            for (int i = 0; i < b; i++) order[i] = from + i;
            gpu.upload(eval.order, order, 0, b);
            gpu.launch("gather_batch", (long) b * IMAGE, images, labels, eval.order, eval.x, eval.y, b, IMAGE);
            forward(eval, b);
            gpu.download(out, from * CLASSES, eval.logits, b * CLASSES);
        }
        return out;
    }

    /** For the benchmark: forward passes over the first {@code b} examples of {@code data}, already on the device. */
    void prepareInference(Mnist.Dataset data, int b) {
        load(data);
        eval = acts(eval, b, false);
        int[] order = new int[b];
        for (int i = 0; i < b; i++) order[i] = i;
        gpu.upload(eval.order, order, 0, b);
        gpu.launch("gather_batch", (long) b * IMAGE, images, labels, eval.order, eval.x, eval.y, b, IMAGE);
    }

    /** The forward pass's parts, for {@link #profileInference}; {@link #mark} is a no-op unless profiling. */
    static final String[] PARTS = {"conv1+relu+pool", "conv2+relu+pool", "deconv", "rnn", "gru+lstm", "fc"};
    private double[] profile;
    private long profileT0;

    private void mark(int part) {
        if (profile == null) return;
        gpu.synchronize();
        long now = System.nanoTime();
        profile[part] += (now - profileT0) / 1e6;
        profileT0 = now;
    }

    /** Milliseconds per pass of each of {@link #PARTS} (each part waited for: launch gaps included), over passes. */
    double[] profileInference(int b, int passes) {
        profile = new double[PARTS.length];
        try {
            for (int k = 0; k < passes; k++) {
                gpu.synchronize();
                profileT0 = System.nanoTime();
                forward(eval, b);
            }
            double[] out = profile.clone();
            for (int i = 0; i < out.length; i++) out[i] /= passes;
            return out;
        } finally {
            profile = null;
        }
    }

    /** One forward pass of the prepared batch, waited for; the logits stay on the device. */
    void inferPrepared(int b) {
        forward(eval, b);
        gpu.synchronize();
    }

    /** The flat gradient buffer of the last step, in the optimiser's parameter order (for the tests). */
    float[] gradients() {
        return downloadSlice(g, 0, Math.toIntExact(total));
    }

    @Override
    public void close() {
        if (train != null) train.free();
        if (eval != null) eval.free();
        train = eval = null;
        for (long ptr : new long[] {p, g, m, v, vmax, stats}) gpu.free(ptr);
        for (long[] d : resident.values()) {
            gpu.free(d[0]);
            gpu.free(d[1]);
        }
        resident.clear();
        residentOrder.clear();
        p = g = m = v = vmax = images = labels = 0;
    }
}
