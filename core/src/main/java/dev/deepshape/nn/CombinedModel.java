package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.Tensor;
import java.util.function.BiConsumer;

/**
 * The reference model of the tutorial (see {@code SEED_MODEL.md}), named and laid out exactly as PyTorch's so its
 * state dict loads unchanged: conv1, pool (used twice), conv2, deconv, rnn, gru, lstm, fc — 896,618 parameters.
 *
 * <p>Shape, for a batch of N 28×28 grey images: (N, 1, 28, 28) → relu(conv1), pool → (N, 32, 14, 14) → relu(conv2),
 * pool → (N, 64, 7, 7) → deconv → (N, 32, 14, 14) → flatten, unsqueeze(1) → (N, 1, 6272) → rnn → (N, 1, 128) → gru →
 * (N, 1, 64) → lstm → (N, 1, 32) → last time step → (N, 32) → fc → (N, 10) logits.
 *
 * <pre>{@code
 * Rng.manualSeed(0);
 * CombinedModel model = new CombinedModel();
 * Tensor logits = model.forward(images); // (64, 10) for images of shape (64, 1, 28, 28)
 * }</pre>
 */
public class CombinedModel extends Module {
    public final Conv2d conv1;
    public final MaxPool2d pool;
    public final Conv2d conv2;
    public final ConvTranspose2d deconv;
    public final RNN rnn;
    public final GRU gru;
    public final LSTM lstm;
    public final Linear fc;

    /** Builds the model, drawing initial weights from {@link dev.deepshape.tensor.Rng#global()} in PyTorch's order. */
    public CombinedModel() {
        conv1 = registerModule("conv1", new Conv2d(1, 32, 3, 1, 1));
        pool = registerModule("pool", new MaxPool2d(2, 2));
        conv2 = registerModule("conv2", new Conv2d(32, 64, 3, 1, 1));
        deconv = registerModule("deconv", new ConvTranspose2d(64, 32, 2, 2));
        rnn = registerModule("rnn", new RNN(32 * 14 * 14, 128, true));
        gru = registerModule("gru", new GRU(128, 64, true));
        lstm = registerModule("lstm", new LSTM(64, 32, true));
        fc = registerModule("fc", new Linear(32, 10));
    }

    @Override
    public Tensor forward(Tensor x) {
        return forwardTrace(x, null);
    }

    /**
     * The forward pass, reporting each step as the tutorial prints it ({@code "After conv1 and pool"} and the shape)
     * to {@code step} when it is not null.
     */
    public Tensor forwardTrace(Tensor x, BiConsumer<String, int[]> step) {
        report(step, "Input shape", x);
        x = conv1.forwardReluPool(x, pool); // pool(relu(conv1(x))): fused kernels (see Conv2d.forwardReluPool)
        report(step, "After conv1 and pool", x);
        x = conv2.forwardReluPool(x, pool);
        report(step, "After conv2 and pool", x);
        x = deconv.forward(x);
        report(step, "After deconv", x);
        x = Ops.flatten(x, 1, -1);
        report(step, "After flattening", x);
        x = Ops.unsqueeze(x, 1);
        report(step, "After unsqueeze for RNN", x);
        x = rnn.forward(x);
        report(step, "After RNN", x);
        x = gru.forward(x);
        report(step, "After GRU", x);
        x = lstm.forward(x);
        report(step, "After LSTM", x);
        x = Ops.select(x, 1, -1);
        report(step, "After selecting last time step", x);
        x = fc.forward(x);
        report(step, "Output shape", x);
        return x;
    }

    private static void report(BiConsumer<String, int[]> step, String label, Tensor x) {
        if (step != null) step.accept(label, x.shape());
    }
}
