package dev.deepshape.train;

import dev.deepshape.data.Mnist;

/**
 * A model, and its optimiser when training, kept whole on an accelerator: parameters, gradients, the optimiser's
 * state and the data live in device memory, and a training step is one call with no tensor crossing to the host
 * (only the batch's indices go up and the loss, hit count and a finite-gradient flag come back). A backend offers
 * one through {@link dev.deepshape.backend.Backend#deviceModel}; {@link Trainer} and {@link Evaluation} use it when
 * there is one, and the host model and optimiser are brought up to date by {@link #syncToHost} before anything
 * reads them (checkpoints, reports, the fault locator).
 */
public interface DeviceModel extends AutoCloseable {
    /** The outcome of one training step: the batch's mean loss, its correct predictions, and whether the loss and every gradient were finite. */
    record Step(float loss, int hits, boolean finite) {}

    /** One line for logs: the device and what it holds. */
    String describe();

    /**
     * Copies {@code data} to the device now (and whatever else the first step would set up), so that a timed run
     * does not count it; the steps and {@link #logits} do it on first use anyway.
     */
    default void load(Mnist.Dataset data) {}

    /**
     * Forward, loss and backward over the examples {@code order[from..to)} of {@code data}, then the optimiser's step
     * unless the loss or a gradient is not finite (the parameters are then unchanged).
     */
    Step trainStep(Mnist.Dataset data, int[] order, int from, int to);

    /** The logits (count × classes, row-major) of every example of {@code data} in order, in eval mode. */
    float[] logits(Mnist.Dataset data);

    /** Copies the parameters, and the optimiser's state, from the device into the host model and optimiser. */
    void syncToHost();

    /** Frees the device memory. */
    @Override void close();
}
