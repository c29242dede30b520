package dev.deepshape.shape;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape rule of {@code Conv2d}: input (N, C_in, H_in, W_in) or (C_in, H_in, W_in), output (N, C_out, H_out, W_out)
 * with {@code H_out = ⌊(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌋ + 1} (W likewise);
 * {@code padding="same"} keeps H and W (stride 1 only; an odd total padding puts the extra zero after), {@code "valid"}
 * is padding 0. Parameters: weight (out_channels, in_channels/groups, kH, kW), bias (out_channels).
 *
 * @param paddingMode null for numeric {@code padding}, else "same" or "valid"
 */
public record Conv2dRule(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, String paddingMode,
                         int[] dilation, int groups, boolean bias) implements ShapeRule {

    public Conv2dRule {
        kernelSize = Rules.pair("Conv2d", "kernel_size", kernelSize);
        stride = Rules.pair("Conv2d", "stride", stride);
        dilation = Rules.pair("Conv2d", "dilation", dilation);
        if (paddingMode != null && !paddingMode.equals("same") && !paddingMode.equals("valid")) {
            throw new IllegalArgumentException("Conv2d: invalid padding string '" + paddingMode + "', should be one of {'valid', 'same'}");
        }
        padding = paddingMode != null ? new int[] {0, 0} : Rules.pair("Conv2d", "padding", padding);
        Rules.channelsAndGroups("Conv2d", inChannels, outChannels, groups);
        Rules.atLeast("Conv2d", "kernel_size", kernelSize, 1);
        Rules.atLeast("Conv2d", "stride", stride, 1);
        Rules.atLeast("Conv2d", "padding", padding, 0);
        Rules.atLeast("Conv2d", "dilation", dilation, 1);
        if ("same".equals(paddingMode) && !Rules.isOne(stride)) {
            throw new IllegalArgumentException("Conv2d: padding='same' is not supported for strided convolutions (stride=" + Rules.tuple(stride) + ")");
        }
    }

    @Override public String type() { return "Conv2d"; }

    @Override
    public String repr() {
        StringBuilder sb = new StringBuilder("Conv2d(").append(inChannels).append(", ").append(outChannels)
                .append(", kernel_size=").append(Rules.tuple(kernelSize)).append(", stride=").append(Rules.tuple(stride));
        if (paddingMode != null) sb.append(", padding=").append(paddingMode);
        else if (!Rules.isZero(padding)) sb.append(", padding=").append(Rules.tuple(padding));
        if (!Rules.isOne(dilation)) sb.append(", dilation=").append(Rules.tuple(dilation));
        if (groups != 1) sb.append(", groups=").append(groups);
        if (!bias) sb.append(", bias=False");
        return sb.append(')').toString();
    }

    /** Total zero padding added along axis {@code a} (both sides). */
    private int totalPadding(int a) {
        return "same".equals(paddingMode) ? dilation[a] * (kernelSize[a] - 1) : 2 * padding[a];
    }

    @Override
    public int[] outputShape(int[] in) {
        int c = Rules.imageInput(repr(), "Conv2d", inChannels, outChannels, in);
        int[] out = in.clone();
        out[c] = outChannels;
        for (int a = 0; a < 2; a++) {
            int size = in[c + 1 + a];
            long num = (long) size + totalPadding(a) - (long) dilation[a] * (kernelSize[a] - 1) - 1;
            if (num < 0) {
                int need = dilation[a] * (kernelSize[a] - 1) + 1 - totalPadding(a);
                throw new ShapeException(repr(), Rules.expectedImage(inChannels, in), in, (a == 0 ? "H" : "W") + "_out = " + explainAxis(in, a, false)
                        + " < 1: the padded input (" + (size + totalPadding(a)) + ") is smaller than the kernel's reach dilation·(kernel_size − 1) + 1 = "
                        + (dilation[a] * (kernelSize[a] - 1) + 1) + "; the input needs " + (a == 0 ? "H" : "W") + " >= " + need
                        + " (remove a pooling layer before it, or add padding)");
            }
            out[c + 1 + a] = (int) (num / stride[a] + 1);
        }
        return out;
    }

    /** The substituted formula of one spatial axis, ending in its value. */
    private String explainAxis(int[] in, int a, boolean withSymbols) {
        int c = in.length - 3;
        int size = in[c + 1 + a];
        String ax = a == 0 ? "H" : "W";
        if ("same".equals(paddingMode)) {
            int total = totalPadding(a);
            return (withSymbols ? ax + "_out = " + ax + "_in = " : "") + size + " (padding='same' adds dilation·(kernel_size − 1) = "
                    + dilation[a] + "·(" + kernelSize[a] + " − 1) = " + total + " zeros: " + total / 2 + " before, " + (total - total / 2) + " after)";
        }
        long num = (long) size + 2L * padding[a] - (long) dilation[a] * (kernelSize[a] - 1) - 1;
        String symbols = symbols(a);
        String numbers = Rules.windowFormula(String.valueOf(size), String.valueOf(padding[a]), String.valueOf(dilation[a]),
                String.valueOf(kernelSize[a]), String.valueOf(stride[a]), false);
        return (withSymbols ? ax + "_out = " + symbols + " = " : "") + numbers + " = " + (Math.floorDiv(num, stride[a]) + 1);
    }

    /** {@code ⌊(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌋ + 1}: the right-hand side of axis {@code a}'s formula. */
    private static String symbols(int a) {
        return Rules.windowFormula((a == 0 ? "H" : "W") + "_in", "padding[" + a + "]", "dilation[" + a + "]", "kernel_size[" + a + "]", "stride[" + a + "]", false);
    }

    /** {@code H_out = ⌊(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌋ + 1}, the line of Conv2d's Javadoc "Shape" section. */
    @Override
    public List<String> formulas() { return List.of("H_out = " + symbols(0)); }

    @Override
    public List<String> explain(int[] in) {
        int[] out = outputShape(in); // NOTE: first, so a bad input fails with the shape error, not inside explainAxis
        return Rules.convExplain(outChannels, explainAxis(in, 0, true), explainAxis(in, 1, true), out, parameterShapes(),
                "(out_channels, in_channels/groups, kernel_size[0], kernel_size[1])");
    }

    @Override
    public Map<String, int[]> parameterShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("weight", new int[] {outChannels, inChannels / groups, kernelSize[0], kernelSize[1]});
        if (bias) m.put("bias", new int[] {outChannels});
        return m;
    }

    /** Each output value costs (in_channels/groups)·kH·kW multiply-adds plus one bias addition. */
    @Override
    public Cost cost(int[] in, int[] out) {
        long positions = Dims.numel(out) / outChannels; // N·H_out·W_out
        return new Cost(positions * outChannels * (long) (inChannels / groups) * kernelSize[0] * kernelSize[1], bias ? positions * outChannels : 0);
    }

    @Override public boolean equals(Object o) { return o instanceof Conv2dRule r && repr().equals(r.repr()) && java.util.Arrays.equals(padding, r.padding); }

    @Override public int hashCode() { return repr().hashCode(); }
}
