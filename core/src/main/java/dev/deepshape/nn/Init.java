package dev.deepshape.nn;

import dev.deepshape.tensor.Tensor;
import java.util.random.RandomGenerator;

/** PyTorch's initialisers, with its fan computations. */
public final class Init {
    private Init() {}

    /** fan_in as {@code torch.nn.init._calculate_fan_in_and_fan_out}: size(1) × the receptive field (dims 2..). */
    public static int fanIn(int... shape) {
        if (shape.length < 2) throw new IllegalArgumentException("fan in can not be computed for a tensor with fewer than 2 dimensions");
        int receptive = 1;
        for (int i = 2; i < shape.length; i++) receptive *= shape[i];
        return shape[1] * receptive;
    }

    /**
     * {@code kaiming_uniform_(w, a=√5)}: U(−b, b) with b = gain·√(3/fan_in), gain = √(2/(1+a²)) = √(1/3), so
     * b = 1/√fan_in. The default of Conv2d, ConvTranspose2d and Linear weights.
     */
    public static Tensor kaimingUniformSqrt5(RandomGenerator rng, int... shape) {
        int fanIn = fanIn(shape);
        float bound = fanIn > 0 ? (float) (1.0 / Math.sqrt(fanIn)) : 0f;
        return Tensor.uniform(rng, -bound, bound, shape);
    }

    /** U(−1/√fanIn, 1/√fanIn): conv and linear biases (fanIn of the weight), and every recurrent parameter (fanIn = hidden_size). */
    public static Tensor uniformFan(RandomGenerator rng, int fanIn, int... shape) {
        float bound = fanIn > 0 ? (float) (1.0 / Math.sqrt(fanIn)) : 0f;
        return Tensor.uniform(rng, -bound, bound, shape);
    }
}
