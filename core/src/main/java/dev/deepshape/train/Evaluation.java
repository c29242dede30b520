package dev.deepshape.train;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.autograd.Ops;
import dev.deepshape.data.DataLoader;
import dev.deepshape.data.Mnist;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Module;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.Tensor;

/**
 * A model's answers on a dataset, in the dataset's order: the mean cross-entropy (as {@code CrossEntropyLoss()} over
 * the whole set), and per example the label, the predicted class ({@code logits.argmax(1)}) and its softmax
 * probability. The confusion matrix and the misclassified digits of the report come from here.
 *
 * <pre>{@code
 * Evaluation e = Evaluation.of(model, test, 1000);
 * e.accuracy();       // percent, the tutorial's "Accuracy of the model on the test images"
 * e.predicted()[17];  // the class the model gave test image 17
 * }</pre>
 */
public record Evaluation(double loss, int correct, int[] labels, int[] predicted, float[] confidence) {
    public Evaluation {
        if (labels.length != predicted.length || labels.length != confidence.length) {
            throw new IllegalArgumentException("an evaluation needs one prediction and confidence per label, got " + labels.length
                    + " labels, " + predicted.length + " predictions and " + confidence.length + " confidences");
        }
    }

    public int count() { return labels.length; }

    /** Percent of examples whose predicted class is the label. */
    public double accuracy() { return count() == 0 ? 0 : 100.0 * correct / count(); }

    /** Runs {@code model} over {@code data} in eval mode without recording a graph, {@code batchSize} examples at a time. */
    public static Evaluation of(Module model, Mnist.Dataset data, int batchSize) {
        // NOTE: a backend that keeps the model on its device (CUDA) evaluates there in a few batches; its logits are
        // scored below exactly as the host's are
        try (DeviceModel device = dev.deepshape.backend.Backends.current().deviceModel(model, null)) {
            if (device != null) return ofLogits(device.logits(data), data);
        }
        int n = data.count();
        int[] predicted = new int[n];
        float[] confidence = new float[n];
        double lossSum = 0;
        int correct = 0;
        CrossEntropyLoss sum = new CrossEntropyLoss("sum", 0f);
        boolean wasTraining = model.isTraining();
        model.eval();
        DataLoader loader = new DataLoader(data, batchSize, false, null);
        try (Autograd.Scope s = Autograd.noGrad(); DataLoader.Epoch it = loader.epoch()) {
            int start = 0;
            while (it.hasNext()) {
                DataLoader.Batch b = it.next();
                // the batch's activations come from the step pool (Buffers); everything is read before it closes
                try (Buffers.Scope batchScope = Buffers.step()) {
                    Tensor logits = model.forward(b.images());
                    lossSum += sum.forward(logits, b.labels()).item();
                    int c = logits.size(1);
                    float[] x = Ops.dense(logits);
                    for (int i = 0; i < b.size(); i++) {
                        score(x, i * c, c, start + i, predicted, confidence);
                        if (predicted[start + i] == data.labels()[start + i]) correct++;
                    }
                }
                start += b.size();
            }
        } finally {
            // NOTE: the pool is kept: between epochs the training steps reuse these very arrays (same lengths);
            // Trainer.run releases it when training ends
            model.train(wasTraining);
        }
        return new Evaluation(lossSum / n, correct, data.labels().clone(), predicted, confidence);
    }

    /**
     * The evaluation of logits (count × classes, row-major, in the order of {@code data}) computed elsewhere (on a
     * device): the same loss, predictions and confidences as {@link #of}. The loss is summed in double here, so it
     * can differ from the host's float sum in the last digits.
     */
    public static Evaluation ofLogits(float[] logits, Mnist.Dataset data) {
        int n = data.count();
        if (n == 0) return new Evaluation(0, 0, new int[0], new int[0], new float[0]);
        int c = logits.length / n;
        int[] predicted = new int[n];
        float[] confidence = new float[n];
        double lossSum = 0;
        int correct = 0;
        for (int i = 0; i < n; i++) {
            double logSumExp = score(logits, i * c, c, i, predicted, confidence);
            lossSum += logSumExp - logits[i * c + data.labels()[i]];
            if (predicted[i] == data.labels()[i]) correct++;
        }
        return new Evaluation(lossSum / n, correct, data.labels().clone(), predicted, confidence);
    }

    /**
     * Row {@code index}'s prediction (the first maximum of {@code x[off .. off+c)}) and its softmax probability, into
     * predicted and confidence; returns logsumexp of the row. softmax(x)[best] = exp(x_best − logsumexp(x)), in double
     * so a confident 1 − 1e-9 is not rounded to 1 early.
     */
    private static double score(float[] x, int off, int c, int index, int[] predicted, float[] confidence) {
        int best = argmax(x, off, c);
        double max = x[off + best], z = 0;
        for (int k = 0; k < c; k++) z += Math.exp(x[off + k] - max);
        predicted[index] = best;
        confidence[index] = (float) (1.0 / z);
        return max + Math.log(z);
    }

    /**
     * The index of the largest of {@code x[off .. off+c)}. NOTE: the same rule as {@link CrossEntropyLoss#correct}
     * ({@code torch.argmax}): the first maximum wins on ties and a NaN counts as the maximum, so the accuracy here is
     * the accuracy {@link Trainer#evaluate} counts.
     */
    static int argmax(float[] x, int off, int c) {
        int best = 0;
        float max = x[off];
        for (int k = 1; k < c && !Float.isNaN(max); k++) {
            float v = x[off + k];
            if (v > max || Float.isNaN(v)) {
                max = v;
                best = k;
            }
        }
        return best;
    }
}
