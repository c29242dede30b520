package dev.deepshape.nn;

import dev.deepshape.autograd.Ops;
import dev.deepshape.shape.ShapeRule;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;

/**
 * {@code y = x·Wᵀ + b}, as {@code torch.nn.Linear}.
 *
 * <p>Shape: input (*, in_features), output (*, out_features). Parameters: {@code weight} (out_features, in_features),
 * {@code bias} (out_features). Initialisation: weight kaiming_uniform(a=√5), i.e. U(−1/√in, 1/√in); bias U(−1/√in, 1/√in).
 *
 * <pre>{@code Linear fc = new Linear(32, 10); Tensor logits = fc.forward(Tensor.zeros(64, 32)); // (64, 10)}</pre>
 */
public class Linear extends Module {
    public final int inFeatures;
    public final int outFeatures;
    private Tensor weight;
    private Tensor bias;

    public Linear(int inFeatures, int outFeatures) { this(inFeatures, outFeatures, true); }

    public Linear(int inFeatures, int outFeatures, boolean bias) {
        if (inFeatures < 0 || outFeatures < 0) {
            throw new IllegalArgumentException("Linear: in_features and out_features must be >= 0, got " + inFeatures + " and " + outFeatures);
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Init.kaimingUniformSqrt5(Rng.global(), outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Init.uniformFan(Rng.global(), inFeatures, outFeatures)) : null;
    }

    public Tensor weight() { return weight; }

    public Tensor bias() { return bias; }

    @Override
    protected void onParameterReplaced(String name, Tensor value) {
        if (name.equals("weight")) weight = value; else bias = value;
    }

    @Override
    public Tensor forward(Tensor x) {
        shapeRule().check(x.shapeRef());
        return Ops.linear(x, weight, bias);
    }

    @Override
    public String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + (bias != null ? "True" : "False");
    }
}
