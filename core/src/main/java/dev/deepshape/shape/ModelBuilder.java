package dev.deepshape.shape;

import dev.deepshape.nn.Conv2d;
import dev.deepshape.nn.ConvTranspose2d;
import dev.deepshape.nn.Flatten;
import dev.deepshape.nn.GRU;
import dev.deepshape.nn.LSTM;
import dev.deepshape.nn.Linear;
import dev.deepshape.nn.MaxPool2d;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.RNN;
import dev.deepshape.nn.ReLU;
import dev.deepshape.nn.Select;
import dev.deepshape.nn.Sequential;
import dev.deepshape.nn.Unsqueeze;

/**
 * Builds the {@link Sequential} a spec describes: one module per line, named as in the spec (unnamed units by their
 * index), a bare name adding the same instance again. Parameters are initialised as PyTorch does, from
 * {@link dev.deepshape.tensor.Rng#global()}. For the built-in {@code combined} spec the state-dict keys are
 * CombinedModel's ({@code conv1.weight}, ..., {@code fc.bias}).
 */
public final class ModelBuilder {
    private ModelBuilder() {}

    public static Sequential build(ModelSpec spec) {
        Sequential seq = new Sequential();
        java.util.Map<String, Module> built = new java.util.HashMap<>();
        for (ModelSpec.Layer l : spec.layers()) {
            Module m = l.reused() ? built.get(l.name()) : module(l.rule());
            built.put(l.name(), m);
            seq.add(l.name(), m);
        }
        return seq;
    }

    /** The module for a rule: the rule's hyper-parameters passed to the unit's full constructor. */
    public static Module module(ShapeRule rule) {
        return switch (rule) {
            case Conv2dRule c -> c.paddingMode() != null
                    ? new Conv2d(c.inChannels(), c.outChannels(), c.kernelSize(), c.stride(), c.paddingMode(), c.dilation(), c.groups(), c.bias())
                    : new Conv2d(c.inChannels(), c.outChannels(), c.kernelSize(), c.stride(), c.padding(), c.dilation(), c.groups(), c.bias());
            case ConvTranspose2dRule c -> new ConvTranspose2d(c.inChannels(), c.outChannels(), c.kernelSize(), c.stride(), c.padding(), c.outputPadding(),
                    c.groups(), c.bias(), c.dilation());
            case MaxPool2dRule p -> new MaxPool2d(p.kernelSize(), p.stride(), p.padding(), p.dilation(), p.ceilMode());
            case RecurrentRule r -> switch (r.mode()) {
                case RNN_TANH, RNN_RELU -> new RNN(r.inputSize(), r.hiddenSize(), r.numLayers(), r.mode() == RecurrentRule.Mode.RNN_RELU ? "relu" : "tanh",
                        r.bias(), r.batchFirst(), r.dropout(), r.bidirectional());
                case GRU -> new GRU(r.inputSize(), r.hiddenSize(), r.numLayers(), r.bias(), r.batchFirst(), r.dropout(), r.bidirectional());
                case LSTM -> new LSTM(r.inputSize(), r.hiddenSize(), r.numLayers(), r.bias(), r.batchFirst(), r.dropout(), r.bidirectional());
            };
            case LinearRule r -> new Linear(r.inFeatures(), r.outFeatures(), r.bias());
            case ReLURule r -> new ReLU();
            case FlattenRule r -> new Flatten(r.startDim(), r.endDim());
            case UnsqueezeRule r -> new Unsqueeze(r.dim());
            case SelectRule r -> new Select(r.dim(), r.index());
        };
    }
}
