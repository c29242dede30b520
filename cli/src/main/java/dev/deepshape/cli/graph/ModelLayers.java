package dev.deepshape.cli.graph;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.nn.CombinedModel;
import dev.deepshape.nn.Flatten;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.ReLU;
import dev.deepshape.nn.Select;
import dev.deepshape.nn.Sequential;
import dev.deepshape.nn.Unsqueeze;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The steps of a model with their shapes, for the architecture diagram, found by running the model's layers. */
public final class ModelLayers {
    private ModelLayers() {}

    /**
     * The tutorial's {@link CombinedModel} as the sequence of steps its {@code forward} takes, sharing the model's own
     * modules (so names are its state-dict prefixes and {@code pool} is the same instance twice):
     * conv1, ReLU, pool, conv2, ReLU, pool, deconv, Flatten, Unsqueeze(1), rnn, gru, lstm, Select(1, -1), fc.
     */
    public static Sequential steps(CombinedModel m) {
        return new Sequential().add("conv1", m.conv1).add("1", new ReLU()).add("pool", m.pool).add("conv2", m.conv2).add("4", new ReLU())
                .add("pool", m.pool).add("deconv", m.deconv).add("7", new Flatten()).add("8", new Unsqueeze(1)).add("rnn", m.rnn)
                .add("gru", m.gru).add("lstm", m.lstm).add("12", new Select(1, -1)).add("fc", m.fc);
    }

    /**
     * Every step's input and output shape, by running the steps one at a time on zeros (without recording a graph).
     * With {@code symbolicBatch}, {@code input[0]} is ignored: the steps run with batch 1 and with batch 2, and a size
     * that follows the batch in both runs is shown as N (-1); the input's first size must then be the batch.
     */
    public static List<LayerBox> trace(Sequential seq, int[] input, boolean symbolicBatch) {
        List<int[][]> one = run(seq, withBatch(input, symbolicBatch ? 1 : input[0]));
        List<int[][]> two = symbolicBatch ? run(seq, withBatch(input, 2)) : one;
        List<LayerBox> out = new ArrayList<>();
        Set<Module> seen = new HashSet<>();
        List<Module> layers = seq.layers();
        List<String> names = seq.layerNames();
        for (int i = 0; i < layers.size(); i++) {
            Module m = layers.get(i);
            boolean reused = !seen.add(m);
            long params = 0;
            for (Tensor p : m.namedParameters().values()) params += p.numel();
            out.add(new LayerBox(names.get(i), m.toString(), params, merge(one.get(i)[0], two.get(i)[0]), merge(one.get(i)[1], two.get(i)[1]), reused));
        }
        return out;
    }

    private static int[] withBatch(int[] input, int n) {
        int[] s = input.clone();
        s[0] = n;
        return s;
    }

    private static List<int[][]> run(Sequential seq, int[] input) {
        List<int[][]> shapes = new ArrayList<>();
        try (var ignored = Autograd.noGrad()) {
            Tensor x = Tensor.zeros(input);
            for (Module m : seq.layers()) {
                Tensor y = m.forward(x);
                shapes.add(new int[][] {x.shape(), y.shape()});
                x = y;
            }
        }
        return shapes;
    }

    /** Sizes that differ between the batch-1 and batch-2 runs are the batch: N. */
    private static int[] merge(int[] a, int[] b) {
        int[] s = a.clone();
        for (int d = 0; d < s.length; d++) if (a[d] != b[d]) s[d] = -1;
        return s;
    }
}
