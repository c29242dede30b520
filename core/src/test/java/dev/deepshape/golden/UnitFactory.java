package dev.deepshape.golden;

import dev.deepshape.nn.Conv2d;
import dev.deepshape.nn.ConvTranspose2d;
import dev.deepshape.nn.CrossEntropyLoss;
import dev.deepshape.nn.Flatten;
import dev.deepshape.nn.GRU;
import dev.deepshape.nn.LSTM;
import dev.deepshape.nn.Linear;
import dev.deepshape.nn.MaxPool2d;
import dev.deepshape.nn.Module;
import dev.deepshape.nn.RNN;
import dev.deepshape.nn.ReLU;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Builds a deepshape unit from the PyTorch constructor call that {@code golden/data/index.json} records: positional
 * {@code args} then {@code kwargs}, with PyTorch's argument names and defaults. An argument the factory does not know
 * is an error, so no setting of a golden configuration is silently dropped.
 */
public final class UnitFactory {
    private UnitFactory() {}

    /** The module for every unit but {@code CrossEntropyLoss} (see {@link #loss}). */
    public static Module module(Golden.Config c) {
        Args a = new Args(c);
        Module m = switch (c.unit()) {
            case "Conv2d" -> {
                int in = a.integer(0, "in_channels", null), out = a.integer(1, "out_channels", null);
                int[] k = a.pair(2, "kernel_size", null), s = a.pair(3, "stride", 1L);
                Object padding = a.get(4, "padding", 0L);
                int[] d = a.pair(5, "dilation", 1L);
                int groups = a.integer(6, "groups", 1L);
                boolean bias = a.bool(7, "bias", true);
                yield padding instanceof String p
                        ? new Conv2d(in, out, k, s, p, d, groups, bias)
                        : new Conv2d(in, out, k, s, pair("padding", padding), d, groups, bias);
            }
            case "ConvTranspose2d" -> new ConvTranspose2d(a.integer(0, "in_channels", null), a.integer(1, "out_channels", null),
                    a.pair(2, "kernel_size", null), a.pair(3, "stride", 1L), a.pair(4, "padding", 0L), a.pair(5, "output_padding", 0L),
                    a.integer(6, "groups", 1L), a.bool(7, "bias", true), a.pair(8, "dilation", 1L));
            case "MaxPool2d" -> {
                if (a.bool(4, "return_indices", false)) throw new IllegalArgumentException(c + ": return_indices=True is not supported");
                int[] k = a.pair(0, "kernel_size", null);
                Object stride = a.get(1, "stride", null);
                yield new MaxPool2d(k, stride == null ? null : pair("stride", stride), a.pair(2, "padding", 0L),
                        a.pair(3, "dilation", 1L), a.bool(5, "ceil_mode", false));
            }
            case "RNN" -> new RNN(a.integer(0, "input_size", null), a.integer(1, "hidden_size", null), a.integer(2, "num_layers", 1L),
                    a.string(3, "nonlinearity", "tanh"), a.bool(4, "bias", true), a.bool(5, "batch_first", false),
                    (float) a.real(6, "dropout", 0.0), a.bool(7, "bidirectional", false));
            case "GRU" -> new GRU(a.integer(0, "input_size", null), a.integer(1, "hidden_size", null), a.integer(2, "num_layers", 1L),
                    a.bool(3, "bias", true), a.bool(4, "batch_first", false), (float) a.real(5, "dropout", 0.0), a.bool(6, "bidirectional", false));
            case "LSTM" -> {
                if (a.integer(7, "proj_size", 0L) != 0) throw new IllegalArgumentException(c + ": proj_size is not supported");
                yield new LSTM(a.integer(0, "input_size", null), a.integer(1, "hidden_size", null), a.integer(2, "num_layers", 1L),
                        a.bool(3, "bias", true), a.bool(4, "batch_first", false), (float) a.real(5, "dropout", 0.0), a.bool(6, "bidirectional", false));
            }
            case "Linear" -> new Linear(a.integer(0, "in_features", null), a.integer(1, "out_features", null), a.bool(2, "bias", true));
            case "ReLU" -> {
                a.bool(0, "inplace", false); // no effect on values or gradients
                yield new ReLU();
            }
            case "Flatten" -> new Flatten(a.integer(0, "start_dim", 1L), a.integer(1, "end_dim", -1L));
            default -> throw new IllegalArgumentException(c + ": unit " + c.unit() + " is not a module the factory builds");
        };
        a.checkAllUsed();
        return m;
    }

    /** {@code CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', label_smoothing=0.0)}. */
    public static CrossEntropyLoss loss(Golden.Config c) {
        if (!c.unit().equals("CrossEntropyLoss")) throw new IllegalArgumentException(c + ": " + c.unit() + " is not a loss");
        Args a = new Args(c);
        if (a.get(0, "weight", null) != null) throw new IllegalArgumentException(c + ": class weights are not supported");
        if (a.integer(2, "ignore_index", -100L) != -100) throw new IllegalArgumentException(c + ": ignore_index is not supported here");
        CrossEntropyLoss loss = new CrossEntropyLoss(a.string(4, "reduction", "mean"), (float) a.real(5, "label_smoothing", 0.0));
        a.checkAllUsed();
        return loss;
    }

    /** PyTorch's {@code _pair}: an int means (v, v), a list of two is taken as is. */
    static int[] pair(String name, Object v) {
        if (v instanceof Long l) return new int[] {(int) (long) l, (int) (long) l};
        if (v instanceof List<?> list && list.size() == 2) return new int[] {(int) (long) (Long) list.get(0), (int) (long) (Long) list.get(1)};
        throw new IllegalArgumentException(name + " = " + v + " is neither an int nor a pair of ints");
    }

    /** Positional-or-keyword lookup over one configuration, remembering which kwargs were read. */
    private static final class Args {
        private final Golden.Config c;
        private final Set<String> used = new HashSet<>();
        private int positions;

        Args(Golden.Config c) { this.c = c; }

        Object get(int position, String name, Object dflt) {
            used.add(name);
            positions = Math.max(positions, position + 1);
            if (position < c.args().size()) {
                if (c.kwargs().containsKey(name)) throw new IllegalArgumentException(c + ": " + name + " given both positionally and as a keyword");
                return c.args().get(position);
            }
            return c.kwargs().getOrDefault(name, dflt);
        }

        private Object required(int position, String name, Object dflt) {
            Object v = get(position, name, dflt);
            if (v == null) throw new IllegalArgumentException(c + ": missing required argument " + name);
            return v;
        }

        int integer(int position, String name, Long dflt) { return (int) (long) (Long) required(position, name, dflt); }

        int[] pair(int position, String name, Long dflt) { return UnitFactory.pair(name, required(position, name, dflt)); }

        boolean bool(int position, String name, boolean dflt) { return (Boolean) required(position, name, dflt); }

        String string(int position, String name, String dflt) { return (String) required(position, name, dflt); }

        double real(int position, String name, double dflt) { return ((Number) required(position, name, dflt)).doubleValue(); }

        void checkAllUsed() {
            if (c.args().size() > positions) throw new IllegalArgumentException(c + ": " + c.args().size() + " positional arguments, " + c.unit() + " takes " + positions);
            Set<String> unknown = new HashSet<>(c.kwargs().keySet());
            unknown.removeAll(used);
            if (!unknown.isEmpty()) throw new IllegalArgumentException(c + ": unknown argument(s) " + unknown + " for " + c.unit());
        }
    }
}
