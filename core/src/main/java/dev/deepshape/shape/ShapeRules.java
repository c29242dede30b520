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
import dev.deepshape.nn.RecurrentBase;
import dev.deepshape.nn.Select;
import dev.deepshape.nn.Unsqueeze;

/**
 * The adapter from a unit to its shape rule, read from the unit's public hyper-parameter fields, so a module's
 * {@code outputShape} and its forward-time check can be one call:
 * <pre>{@code
 * int[] out = ShapeRules.of(this).outputShape(x.shapeRef());   // throws ShapeException with the teaching message
 * }</pre>
 */
public final class ShapeRules {
    private ShapeRules() {}

    /** The rule of a unit; an error for containers and modules without one. */
    public static ShapeRule of(Module m) {
        return switch (m) {
            case Conv2d c -> new Conv2dRule(c.inChannels, c.outChannels, c.kernelSize, c.stride, c.padding, c.paddingMode, c.dilation, c.groups,
                    c.localParameters().containsKey("bias"));
            case ConvTranspose2d c -> new ConvTranspose2dRule(c.inChannels, c.outChannels, c.kernelSize, c.stride, c.padding, c.outputPadding, c.groups,
                    c.localParameters().containsKey("bias"), c.dilation);
            case MaxPool2d p -> new MaxPool2dRule(p.kernelSize, p.stride, p.padding, p.dilation, p.ceilMode);
            case RecurrentBase r -> new RecurrentRule(mode(r), r.inputSize, r.hiddenSize, r.numLayers, r.bias, r.batchFirst, r.dropout, r.bidirectional);
            case Linear l -> new LinearRule(l.inFeatures, l.outFeatures, l.bias() != null);
            case ReLU r -> new ReLURule();
            case Flatten f -> new FlattenRule(f.startDim, f.endDim);
            case Unsqueeze u -> new UnsqueezeRule(u.dim);
            case Select s -> new SelectRule(s.dim, s.index);
            default -> throw new IllegalArgumentException("no shape rule for " + m.getClass().getSimpleName() + "; rules exist for the units, not for containers");
        };
    }

    private static RecurrentRule.Mode mode(RecurrentBase r) {
        return switch (r) {
            case RNN rnn -> "relu".equals(rnn.nonlinearity) ? RecurrentRule.Mode.RNN_RELU : RecurrentRule.Mode.RNN_TANH;
            case GRU g -> RecurrentRule.Mode.GRU;
            case LSTM l -> RecurrentRule.Mode.LSTM;
            default -> throw new IllegalArgumentException("unknown recurrent unit " + r.getClass().getSimpleName());
        };
    }
}
