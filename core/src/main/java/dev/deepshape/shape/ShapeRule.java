package dev.deepshape.shape;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The dimension rule of one unit, as a pure function of its hyper-parameters: the output shape for an input shape
 * (whose batch may be the symbolic {@link Dims#N}), the formulas with the numbers substituted, the parameter shapes
 * and the multiply-add count. The units' {@code outputShape} and their forward-time shape checks call these rules, the
 * {@code shapes} and {@code summary} commands print them, and {@link UnitDocs} writes {@code docs/units.md} from them.
 *
 * <pre>{@code
 * ShapeRule conv = new Conv2dRule(1, 32, new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1}, null, new int[] {1, 1}, 1, true);
 * conv.outputShape(new int[] {Dims.N, 1, 28, 28});   // (N, 32, 28, 28)
 * conv.explain(new int[] {64, 1, 28, 28}).get(1);      // "H_out = ⌊(H_in + 2·padding[0] − ...)/stride[0]⌋ + 1 = ⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 28"
 * }</pre>
 */
public sealed interface ShapeRule
        permits Conv2dRule, ConvTranspose2dRule, MaxPool2dRule, RecurrentRule, LinearRule, ReLURule, FlattenRule, UnsqueezeRule, SelectRule {

    /** PyTorch's class name: {@code Conv2d}. */
    String type();

    /** PyTorch's repr of the unit: {@code Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))}. */
    String repr();

    /** The output shape for {@code in}, or a {@link ShapeException} saying what was expected and how to fix it. */
    int[] outputShape(int[] in);

    /** Checks that the unit can take {@code in}; the forward passes call this before computing. */
    default void check(int[] in) { outputShape(in); }

    /**
     * Like {@link #check(int[])}, knowing which dimension of {@code in} is the batch ({@code -1}: unknown). Catches
     * mistakes PyTorch lets through silently, such as a 2-D (N, features) tensor fed to an RNN, which PyTorch reads as
     * one unbatched sequence of N steps.
     */
    default void check(int[] in, int batchDim) { check(in); }

    /** Where the batch dimension is after this unit, given where it is before ({@code -1}: none or unknown). */
    default int batchDimAfter(int[] in, int batchDim) { return batchDim; }

    /** The formula lines with the numbers of {@code in} substituted, ending with the output and the parameters. */
    List<String> explain(int[] in);

    /**
     * The output-size formula in PyTorch's symbols, {@code H_out = ⌊(H_in + 2·padding[0] − ...)/stride[0]⌋ + 1}: the same
     * text {@link #explain} substitutes numbers into, and the line the unit's Javadoc "Shape" section shows (a test
     * checks they agree). Empty for units whose output size needs no formula.
     */
    default List<String> formulas() { return List.of(); }

    /** The parameters by state-dict key, in PyTorch's registration order. Empty for units without parameters. */
    default Map<String, int[]> parameterShapes() { return new LinkedHashMap<>(); }

    /** The number of parameters, {@code sum(p.numel() for p in module.parameters())}. */
    default long params() {
        long n = 0;
        for (int[] s : parameterShapes().values()) n += Dims.numel(s);
        return n;
    }

    /**
     * Multiply-adds of one forward pass on {@code in} (concrete shapes): the products of weights and inputs, and the
     * additions of the biases, counted separately. Zero for units without parameters.
     */
    default Cost cost(int[] in, int[] out) { return Cost.ZERO; }

    /** Multiply-adds split into weight products and bias additions; {@link #total()} is what the summary reports. */
    record Cost(long weightMacs, long biasAdds) {
        public static final Cost ZERO = new Cost(0, 0);

        public long total() { return weightMacs + biasAdds; }
    }

    /** The text {@code a·b·c} of a parameter shape's product, for the explanation of parameter counts. */
    static String paramSum(Map<String, int[]> shapes) {
        StringBuilder sb = new StringBuilder();
        long total = 0;
        for (var e : shapes.entrySet()) {
            if (!sb.isEmpty()) sb.append(" + ");
            sb.append(Dims.product(e.getValue(), 0, e.getValue().length));
            total += Dims.numel(e.getValue());
        }
        return shapes.isEmpty() ? "params = 0" : "params = " + sb + " = " + String.format("%,d", total);
    }

    /** The lines listing the parameter shapes: {@code weight (32, 1, 3, 3) = (out_channels, in_channels/groups, kH, kW)}. */
    static String paramLine(Map<String, int[]> shapes, Map<String, String> symbols) {
        StringBuilder sb = new StringBuilder();
        for (var e : shapes.entrySet()) {
            if (!sb.isEmpty()) sb.append("; ");
            sb.append(e.getKey()).append(' ').append(Dims.str(e.getValue()));
            String sym = symbols.get(e.getKey());
            if (sym != null) sb.append(" = ").append(sym);
        }
        return sb.toString();
    }
}
