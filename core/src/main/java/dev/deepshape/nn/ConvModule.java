package dev.deepshape.nn;

import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;

/**
 * The parameter plumbing {@link Conv2d} and {@link ConvTranspose2d} share: PyTorch's initialisation from the weight
 * layout, the accessors, and keeping the fields in step when a state dict replaces a parameter.
 */
abstract class ConvModule extends Module {
    Tensor weight;
    Tensor bias;

    /**
     * Registers {@code weight} of shape {@code wShape}, kaiming_uniform(a=√5), and, when {@code bias}, {@code bias}
     * (out_channels) U(−1/√fan_in, 1/√fan_in) with fan_in taken from {@code wShape} (as PyTorch, for either layout).
     */
    final void initParameters(int[] wShape, int outChannels, boolean bias) {
        this.weight = registerParameter("weight", Init.kaimingUniformSqrt5(Rng.global(), wShape));
        this.bias = bias ? registerParameter("bias", Init.uniformFan(Rng.global(), Init.fanIn(wShape), outChannels)) : null;
    }

    /** The filters: (out_channels, in_channels/groups, kH, kW) for Conv2d, (in_channels, out_channels/groups, kH, kW) for ConvTranspose2d. */
    public Tensor weight() { return weight; }

    /** The per-channel bias, (out_channels), or null when built with {@code bias=false}. */
    public Tensor bias() { return bias; }

    @Override
    protected void onParameterReplaced(String name, Tensor value) {
        if (name.equals("weight")) weight = value; else bias = value;
    }
}
