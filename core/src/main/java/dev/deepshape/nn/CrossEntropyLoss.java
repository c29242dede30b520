package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.tensor.IntTensor;
import dev.deepshape.tensor.Tensor;

/**
 * Cross entropy between (N, C) unnormalised logits and (N) class indices, as {@code torch.nn.CrossEntropyLoss}:
 * {@code log_softmax(logits, 1)} ({@code LogSoftmaxBackward0}) then the negative log-likelihood with optional label
 * smoothing ({@code NllLossBackward0}), so the autograd graph reads like PyTorch's.
 *
 * <p>Shape: logits (N, C), target (N) with values in [0, C) or {@code ignoreIndex}; output a scalar for
 * {@code "mean"}/{@code "sum"}, (N) for {@code "none"}. No parameters.
 *
 * <pre>{@code
 * CrossEntropyLoss lossFn = new CrossEntropyLoss();          // reduction="mean", label_smoothing=0, ignore_index=-100
 * Tensor loss = lossFn.forward(model.forward(images), labels);
 * loss.backward();
 * }</pre>
 */
public final class CrossEntropyLoss {
    /** PyTorch's default {@code ignore_index}. */
    public static final int DEFAULT_IGNORE_INDEX = -100;

    private final Losses.Reduction reduction;
    private final float labelSmoothing;
    private final int ignoreIndex;

    /** {@code reduction="mean"}, no label smoothing, {@code ignore_index=-100}. */
    public CrossEntropyLoss() { this("mean", 0f, DEFAULT_IGNORE_INDEX); }

    public CrossEntropyLoss(String reduction, float labelSmoothing) { this(reduction, labelSmoothing, DEFAULT_IGNORE_INDEX); }

    /**
     * @param reduction      "mean" (over samples not ignored), "sum" or "none"
     * @param labelSmoothing ε in [0, 1]: the target becomes (1 − ε)·one_hot + ε/C
     * @param ignoreIndex    samples with this target contribute neither loss nor gradient
     */
    public CrossEntropyLoss(String reduction, float labelSmoothing, int ignoreIndex) {
        this.reduction = Losses.Reduction.of(reduction);
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f)) {
            throw new IllegalArgumentException("CrossEntropyLoss: label_smoothing must be between 0.0 and 1.0. Got: " + labelSmoothing);
        }
        this.labelSmoothing = labelSmoothing;
        this.ignoreIndex = ignoreIndex;
    }

    /** The loss of (N, C) logits against (N) class indices: a scalar, or (N) for {@code reduction="none"}. */
    public Tensor forward(Tensor logits, IntTensor target) {
        return Losses.crossEntropy(logits, target, reduction, labelSmoothing, ignoreIndex);
    }

    public String reduction() { return reduction.pytorchName(); }

    public float labelSmoothing() { return labelSmoothing; }

    public int ignoreIndex() { return ignoreIndex; }

    /**
     * How many rows of (N, C) {@code logits} have their arg-max equal to the target, as
     * {@code (logits.argmax(1) == target).sum()}: the first maximum wins on ties and a NaN counts as the maximum, as
     * {@code torch.max} does.
     */
    public static int correct(Tensor logits, IntTensor target) {
        Losses.checkShapes("correct", logits, target);
        int n = logits.size(0), c = logits.size(1);
        float[] x = Ops.dense(logits);
        int hits = 0;
        for (int i = 0; i < n; i++) {
            int best = 0;
            float max = x[i * c];
            for (int k = 1; k < c && !Float.isNaN(max); k++) {
                float v = x[i * c + k];
                if (v > max || Float.isNaN(v)) {
                    max = v;
                    best = k;
                }
            }
            if (best == target.get(i)) hits++;
        }
        return hits;
    }

    /** PyTorch's repr; non-default arguments are shown as keywords. */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder();
        if (reduction != Losses.Reduction.MEAN) sb.append("reduction='").append(reduction()).append('\'');
        if (labelSmoothing != 0f) sb.append(sb.isEmpty() ? "" : ", ").append("label_smoothing=").append(labelSmoothing);
        if (ignoreIndex != DEFAULT_IGNORE_INDEX) sb.append(sb.isEmpty() ? "" : ", ").append("ignore_index=").append(ignoreIndex);
        return "CrossEntropyLoss(" + sb + ")";
    }
}
