package dev.deepshape.nn;

import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies its modules in order, as {@code torch.nn.Sequential}. Children are named "0", "1", ... unless named
 * explicitly; the same module instance may appear twice (its parameters are counted once).
 */
public class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();
    private final List<String> names = new ArrayList<>();

    public Sequential(Module... modules) {
        for (Module m : modules) add(String.valueOf(layers.size()), m);
    }

    /** Appends a module under {@code name}; a name already used must refer to the same instance (module reuse). */
    public Sequential add(String name, Module m) {
        Module existing = children().get(name);
        if (existing != null && existing != m) throw new IllegalArgumentException("Sequential: name '" + name + "' is already used by another module");
        if (existing == null) registerModule(name, m);
        layers.add(m);
        names.add(name);
        return this;
    }

    public List<Module> layers() { return List.copyOf(layers); }

    /** The name of each step, in order (a reused module repeats its name). */
    public List<String> layerNames() { return List.copyOf(names); }

    /** The output shape of the whole chain: each layer's rule applied in turn, without running anything. */
    @Override
    public int[] outputShape(int[] inputShape) {
        int[] shape = inputShape;
        for (Module m : layers) shape = m.outputShape(shape);
        return shape;
    }

    @Override
    public Tensor forward(Tensor x) {
        for (int i = 0; i < layers.size(); i++) {
            Module m = layers.get(i);
            // exact classes: a subclass may change what forward does
            if (m.getClass() == Conv2d.class && i + 2 < layers.size() && layers.get(i + 1).getClass() == ReLU.class
                    && layers.get(i + 2).getClass() == MaxPool2d.class) {
                // pool(relu(conv(x))): the same values and graph as below (the ReLU in place on the convolution's
                // fresh output), and one fused call where no graph is recorded (Conv2d.forwardReluPool)
                x = ((Conv2d) m).forwardReluPool(x, (MaxPool2d) layers.get(i + 2));
                i += 2;
                continue;
            }
            if (m.getClass() == ReLU.class && i + 1 < layers.size() && layers.get(i + 1).getClass() == MaxPool2d.class) {
                MaxPool2d pool = (MaxPool2d) layers.get(i + 1);
                // pool(relu(x)) as one fused kernel: the same values and graph. The ReLU may overwrite x when x is the
                // fresh output of the layer before it, which that layer's backward does not read (conv, linear).
                Module before = i > 0 ? layers.get(i - 1) : null;
                boolean fresh = before instanceof Conv2d || before instanceof ConvTranspose2d || before instanceof Linear;
                x = pool.forwardRelu(x, fresh);
                i++;
                continue;
            }
            x = m.forward(x);
        }
        return x;
    }
}
