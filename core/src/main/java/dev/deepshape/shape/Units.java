package dev.deepshape.shape;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The units a spec may name, with PyTorch's constructor signatures: binds positional and keyword arguments to
 * parameter names (with PyTorch's defaults) and turns them into shape rules.
 */
final class Units {
    private Units() {}

    /** Python's None in a spec. */
    static final Object NONE = new Object() {
        @Override public String toString() { return "None"; }
    };

    private static final Object REQUIRED = new Object();

    /** Parameter names and defaults, in PyTorch's positional order. */
    private static final Map<String, Object[]> SIGNATURES = new LinkedHashMap<>();

    static {
        SIGNATURES.put("Conv2d", new Object[] {"in_channels", REQUIRED, "out_channels", REQUIRED, "kernel_size", REQUIRED, "stride", 1L, "padding", 0L,
                "dilation", 1L, "groups", 1L, "bias", true, "padding_mode", "zeros"});
        SIGNATURES.put("ConvTranspose2d", new Object[] {"in_channels", REQUIRED, "out_channels", REQUIRED, "kernel_size", REQUIRED, "stride", 1L,
                "padding", 0L, "output_padding", 0L, "groups", 1L, "bias", true, "dilation", 1L, "padding_mode", "zeros"});
        SIGNATURES.put("MaxPool2d", new Object[] {"kernel_size", REQUIRED, "stride", NONE, "padding", 0L, "dilation", 1L, "return_indices", false,
                "ceil_mode", false});
        SIGNATURES.put("RNN", new Object[] {"input_size", REQUIRED, "hidden_size", REQUIRED, "num_layers", 1L, "nonlinearity", "tanh", "bias", true,
                "batch_first", false, "dropout", 0.0, "bidirectional", false});
        SIGNATURES.put("GRU", new Object[] {"input_size", REQUIRED, "hidden_size", REQUIRED, "num_layers", 1L, "bias", true, "batch_first", false,
                "dropout", 0.0, "bidirectional", false});
        SIGNATURES.put("LSTM", new Object[] {"input_size", REQUIRED, "hidden_size", REQUIRED, "num_layers", 1L, "bias", true, "batch_first", false,
                "dropout", 0.0, "bidirectional", false, "proj_size", 0L});
        SIGNATURES.put("Linear", new Object[] {"in_features", REQUIRED, "out_features", REQUIRED, "bias", true});
        SIGNATURES.put("ReLU", new Object[] {"inplace", false});
        SIGNATURES.put("Flatten", new Object[] {"start_dim", 1L, "end_dim", -1L});
        SIGNATURES.put("Unsqueeze", new Object[] {"dim", REQUIRED});
        SIGNATURES.put("Select", new Object[] {"dim", REQUIRED, "index", REQUIRED});
    }

    static final List<String> ALL = List.copyOf(SIGNATURES.keySet());

    /** All arguments by name, defaults filled in; errors as Python's TypeError would say them. */
    static Map<String, Object> bind(String unit, List<Object> positional, Map<String, Object> keywords) {
        Object[] sig = SIGNATURES.get(unit);
        int n = sig.length / 2;
        if (positional.size() > n) {
            throw new IllegalArgumentException(unit + "() takes at most " + n + " arguments (" + positional.size() + " given)");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (int i = 0; i < positional.size(); i++) out.put((String) sig[2 * i], positional.get(i));
        for (var e : keywords.entrySet()) {
            boolean known = false;
            for (int i = 0; i < n; i++) known |= sig[2 * i].equals(e.getKey());
            if (!known) throw new IllegalArgumentException(unit + "() got an unexpected keyword argument '" + e.getKey() + "'");
            if (out.containsKey(e.getKey())) throw new IllegalArgumentException(unit + "() got multiple values for argument '" + e.getKey() + "'");
            out.put(e.getKey(), e.getValue());
        }
        Map<String, Object> ordered = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String name = (String) sig[2 * i];
            Object v = out.containsKey(name) ? out.get(name) : sig[2 * i + 1];
            if (v == REQUIRED) throw new IllegalArgumentException(unit + "() missing required argument: '" + name + "'");
            ordered.put(name, v);
        }
        return ordered;
    }

    static int integer(String unit, Map<String, Object> a, String name) {
        Object v = a.get(name);
        if (v instanceof Long l && l >= Integer.MIN_VALUE && l <= Integer.MAX_VALUE) return (int) (long) l;
        throw new IllegalArgumentException(unit + ": " + name + " must be an integer, got " + show(v));
    }

    /** An int or a 2-tuple of ints, as PyTorch's _pair. */
    static int[] pair(String unit, Map<String, Object> a, String name) {
        Object v = a.get(name);
        if (v instanceof Long) {
            int x = integer(unit, a, name);
            return new int[] {x, x};
        }
        if (v instanceof List<?> l && l.size() == 2 && l.get(0) instanceof Long x && l.get(1) instanceof Long y) {
            return new int[] {(int) (long) x, (int) (long) y};
        }
        throw new IllegalArgumentException(unit + ": " + name + " must be an int or a pair of ints, got " + show(v));
    }

    static boolean bool(String unit, Map<String, Object> a, String name) {
        if (a.get(name) instanceof Boolean b) return b;
        throw new IllegalArgumentException(unit + ": " + name + " must be True or False, got " + show(a.get(name)));
    }

    static float real(String unit, Map<String, Object> a, String name) {
        Object v = a.get(name);
        if (v instanceof Number x) return x.floatValue();
        throw new IllegalArgumentException(unit + ": " + name + " must be a number, got " + show(v));
    }

    static String show(Object v) {
        if (v instanceof String s) return "'" + s + "'";
        if (v instanceof List<?> l) return "(" + String.join(", ", l.stream().map(Units::show).toList()) + ")";
        if (v instanceof Boolean b) return b ? "True" : "False";
        return String.valueOf(v);
    }

    private static void unsupported(String unit, Map<String, Object> a, String name, Object only, String why) {
        if (!only.equals(a.get(name))) throw new IllegalArgumentException(unit + ": " + name + "=" + show(a.get(name)) + " is not supported (" + why + ")");
    }

    /** The shape rule for bound arguments. */
    static ShapeRule rule(String unit, Map<String, Object> a) {
        return switch (unit) {
            case "Conv2d" -> {
                unsupported(unit, a, "padding_mode", "zeros", "only zero padding is implemented");
                Object p = a.get("padding");
                String mode = p instanceof String s ? s : null;
                yield new Conv2dRule(integer(unit, a, "in_channels"), integer(unit, a, "out_channels"), pair(unit, a, "kernel_size"), pair(unit, a, "stride"),
                        mode != null ? null : pair(unit, a, "padding"), mode, pair(unit, a, "dilation"), integer(unit, a, "groups"), bool(unit, a, "bias"));
            }
            case "ConvTranspose2d" -> {
                unsupported(unit, a, "padding_mode", "zeros", "ConvTranspose2d only supports zero padding");
                yield new ConvTranspose2dRule(integer(unit, a, "in_channels"), integer(unit, a, "out_channels"), pair(unit, a, "kernel_size"),
                        pair(unit, a, "stride"), pair(unit, a, "padding"), pair(unit, a, "output_padding"), integer(unit, a, "groups"), bool(unit, a, "bias"),
                        pair(unit, a, "dilation"));
            }
            case "MaxPool2d" -> {
                unsupported(unit, a, "return_indices", false, "the indices are not returned");
                yield new MaxPool2dRule(pair(unit, a, "kernel_size"), a.get("stride") == NONE ? null : pair(unit, a, "stride"), pair(unit, a, "padding"),
                        pair(unit, a, "dilation"), bool(unit, a, "ceil_mode"));
            }
            case "RNN", "GRU", "LSTM" -> {
                RecurrentRule.Mode mode = switch (unit) {
                    case "GRU" -> RecurrentRule.Mode.GRU;
                    case "LSTM" -> RecurrentRule.Mode.LSTM;
                    default -> switch (String.valueOf(a.get("nonlinearity"))) {
                        case "tanh" -> RecurrentRule.Mode.RNN_TANH;
                        case "relu" -> RecurrentRule.Mode.RNN_RELU;
                        default -> throw new IllegalArgumentException("RNN: unknown nonlinearity " + show(a.get("nonlinearity")) + "; use 'tanh' or 'relu'");
                    };
                };
                if (unit.equals("LSTM")) unsupported(unit, a, "proj_size", 0L, "LSTM projections are not implemented");
                yield new RecurrentRule(mode, integer(unit, a, "input_size"), integer(unit, a, "hidden_size"), integer(unit, a, "num_layers"),
                        bool(unit, a, "bias"), bool(unit, a, "batch_first"), real(unit, a, "dropout"), bool(unit, a, "bidirectional"));
            }
            case "Linear" -> new LinearRule(integer(unit, a, "in_features"), integer(unit, a, "out_features"), bool(unit, a, "bias"));
            case "ReLU" -> {
                bool(unit, a, "inplace");
                yield new ReLURule();
            }
            case "Flatten" -> new FlattenRule(integer(unit, a, "start_dim"), integer(unit, a, "end_dim"));
            case "Unsqueeze" -> new UnsqueezeRule(integer(unit, a, "dim"));
            case "Select" -> new SelectRule(integer(unit, a, "dim"), integer(unit, a, "index"));
            default -> throw new IllegalArgumentException("unknown unit " + unit);
        };
    }
}
