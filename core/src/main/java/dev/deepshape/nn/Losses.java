package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.Map;

/**
 * The loss kernels, forward beside backward: the negative log-likelihood over log-probabilities with PyTorch 1.13's
 * label smoothing folded into the same node ({@code NllLossBackward0}), and the functional cross entropy that composes
 * {@code log_softmax} with it exactly as {@code torch.nn.functional.cross_entropy} does.
 *
 * <p>With smoothing ε over C classes, for every sample n whose target is not {@code ignoreIndex}:
 * <pre>
 *   loss_n = (1 − ε)·(−logp[n, t_n]) + (ε / C)·(−Σ_c logp[n, c])
 * </pre>
 * reduced by {@code "mean"} (divided by the number of non-ignored samples), {@code "sum"}, or kept per sample by
 * {@code "none"} (ignored samples give 0). ε = 0 is plain {@code nll_loss}.
 */
public final class Losses {
    private Losses() {}

    /** The three reductions of PyTorch's losses. */
    public enum Reduction {
        NONE, MEAN, SUM;

        /** Parses PyTorch's reduction string, with PyTorch's error for anything else. */
        public static Reduction of(String name) {
            return switch (name == null ? "" : name) {
                case "none" -> NONE;
                case "mean" -> MEAN;
                case "sum" -> SUM;
                default -> throw new IllegalArgumentException(name + " is not a valid value for reduction"
                        + " (expected \"mean\", \"sum\" or \"none\")");
            };
        }

        public String pytorchName() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /**
     * {@code torch.nn.functional.cross_entropy(logits, target, reduction=..., label_smoothing=..., ignore_index=...)}:
     * {@code log_softmax(logits, 1)} followed by {@link #nllLoss}. logits is (N, C), target is (N) class indices,
     * the result is a scalar ("mean", "sum") or (N) ("none").
     */
    public static Tensor crossEntropy(Tensor logits, IntTensor target, Reduction reduction, float labelSmoothing, int ignoreIndex) {
        checkShapes("cross_entropy", logits, target);
        return nllLoss(Ops.logSoftmax(logits, 1), target, reduction, labelSmoothing, ignoreIndex);
    }

    /**
     * Negative log-likelihood of (N, C) log-probabilities against (N) class indices, with label smoothing ε as PyTorch
     * 1.13's {@code cross_entropy} adds it. One autograd node, {@code NllLossBackward0}.
     */
    public static Tensor nllLoss(Tensor logProbs, IntTensor target, Reduction reduction, float labelSmoothing, int ignoreIndex) {
        checkShapes("nll_loss", logProbs, target);
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("label_smoothing must be between 0.0 and 1.0. Got: " + labelSmoothing);
        }
        int n = logProbs.size(0), c = logProbs.size(1);
        int[] t = target.data();
        for (int i = 0; i < n; i++) {
            if (t[i] != ignoreIndex && (t[i] < 0 || t[i] >= c)) {
                throw new IndexOutOfBoundsException("nll_loss: target " + t[i] + " of sample " + i + " is out of bounds for "
                        + c + " classes (expected 0 ≤ target < " + c + ", or ignore_index " + ignoreIndex
                        + "); are the labels 1-based, or does the last layer have too few outputs?");
            }
        }
        float[] logp = Ops.dense(logProbs);
        float[] nll = new float[n];
        float[] smooth = new float[n];
        int count = nllForward(nll, smooth, logp, t, n, c, labelSmoothing, ignoreIndex);
        // PyTorch 1.13 reduces the nll and the smoothing term separately, then mixes them:
        // (1 - ε)·nll_loss(logp) + reduce(-Σ_c logp)·(ε / C), the two scalars formed in double and applied in float.
        float keep = (float) (1.0 - labelSmoothing);
        float spread = (float) ((double) labelSmoothing / c);
        Tensor out;
        if (reduction == Reduction.NONE) {
            float[] loss = new float[n];
            for (int i = 0; i < n; i++) loss[i] = labelSmoothing == 0f ? nll[i] : keep * nll[i] + smooth[i] * spread;
            out = new Tensor(loss, n);
        } else {
            // NOTE: with every sample ignored "mean" is 0/0 = NaN, as in PyTorch.
            float nllRed = reduction == Reduction.MEAN ? (float) sum(nll) / count : (float) sum(nll);
            float smoothRed = reduction == Reduction.MEAN ? (float) sum(smooth) / count : (float) sum(smooth);
            out = Tensor.scalar(labelSmoothing == 0f ? nllRed : keep * nllRed + smoothRed * spread);
        }
        int[] shape = logProbs.shape();
        Tensor targetAsFloat = new Tensor(toFloats(t), n);
        return Ops.record(out, "NllLossBackward0", Map.of("self", logProbs, "target", targetAsFloat), dOut -> {
            float[] dy = Ops.dense(dOut);
            float[] dLogp = Buffers.zeros(n * c);
            nllBackward(dLogp, dy, reduction, t, n, c, labelSmoothing, ignoreIndex, count);
            return new Tensor[] {new Tensor(dLogp, shape)};
        }, logProbs);
    }

    private static float[] toFloats(int[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = v[i];
        return f;
    }

    private static double sum(float[] v) {
        double s = 0;
        for (float x : v) s += x;
        return s;
    }

    // logp is (N, C), target is (N); nll and smooth are (N): −logp[n, t_n] and −Σ_c logp[n, c], 0 where ignored.
    // Returns the number of samples not ignored.
    static int nllForward(float[] nll, float[] smooth, float[] logp, int[] target, int n, int c, float smoothing, int ignoreIndex) {
        int count = 0;
        for (int i = 0; i < n; i++) {
            if (target[i] == ignoreIndex) continue;
            count++;
            nll[i] = -logp[i * c + target[i]];
            if (smoothing == 0f) continue;
            double all = 0;
            for (int k = 0; k < c; k++) all += logp[i * c + k];
            smooth[i] = (float) -all;
        }
        return count;
    }

    // dy is the loss gradient: (N) for "none", one value otherwise; dLogp (N, C) is accumulated with +=.
    static void nllBackward(float[] dLogp, float[] dy, Reduction reduction, int[] target, int n, int c, float smoothing,
                            int ignoreIndex, int count) {
        float onHot = (float) (1.0 - smoothing);
        float spread = (float) ((double) smoothing / c);
        for (int i = 0; i < n; i++) {
            if (target[i] == ignoreIndex) continue;
            float g = switch (reduction) {
                case NONE -> dy[i];
                case SUM -> dy[0];
                case MEAN -> dy[0] / count;
            };
            if (smoothing != 0f) for (int k = 0; k < c; k++) dLogp[i * c + k] += -g * spread;
            dLogp[i * c + target[i]] += -g * onHot;
        }
    }

    static void checkShapes(String op, Tensor input, IntTensor target) {
        if (input.dim() != 2) {
            throw new IllegalArgumentException(op + ": expected input of shape (N, C), got " + Shapes.str(input.shapeRef())
                    + "; flatten extra dimensions first, e.g. logits.flatten(1, -1)");
        }
        if (target.shape().length != 1 || target.shape()[0] != input.size(0)) {
            throw new IllegalArgumentException(op + ": expected target of shape (" + input.size(0) + ") for input of shape "
                    + Shapes.str(input.shapeRef()) + ", got target of shape " + Shapes.str(target.shape())
                    + "; the batch sizes of logits and labels must match");
        }
    }
}
