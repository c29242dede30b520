package dev.deepshape.shape;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shape rule of {@code ConvTranspose2d}: input (N, C_in, H_in, W_in) or unbatched, output (N, C_out, H_out, W_out)
 * with {@code H_out = (H_in − 1)·stride[0] − 2·padding[0] + dilation[0]·(kernel_size[0] − 1) + output_padding[0] + 1}.
 * Each input pixel scatters a (C_out, kH, kW) patch, scaled by its value per input channel, into the output at stride
 * spacing; overlapping patches add. Parameters: weight (in_channels, out_channels/groups, kH, kW), bias (out_channels).
 */
public record ConvTranspose2dRule(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] outputPadding,
                                  int groups, boolean bias, int[] dilation) implements ShapeRule {

    public ConvTranspose2dRule {
        kernelSize = Rules.pair("ConvTranspose2d", "kernel_size", kernelSize);
        stride = Rules.pair("ConvTranspose2d", "stride", stride);
        padding = Rules.pair("ConvTranspose2d", "padding", padding);
        outputPadding = Rules.pair("ConvTranspose2d", "output_padding", outputPadding);
        dilation = Rules.pair("ConvTranspose2d", "dilation", dilation);
        Rules.channelsAndGroups("ConvTranspose2d", inChannels, outChannels, groups);
        Rules.atLeast("ConvTranspose2d", "kernel_size", kernelSize, 1);
        Rules.atLeast("ConvTranspose2d", "stride", stride, 1);
        Rules.atLeast("ConvTranspose2d", "padding", padding, 0);
        Rules.atLeast("ConvTranspose2d", "output_padding", outputPadding, 0);
        Rules.atLeast("ConvTranspose2d", "dilation", dilation, 1);
        for (int a = 0; a < 2; a++) {
            if (outputPadding[a] >= stride[a] && outputPadding[a] >= dilation[a]) {
                throw new IllegalArgumentException("ConvTranspose2d: output padding must be smaller than either stride or dilation, but got output_padding="
                        + Rules.tuple(outputPadding) + ", stride=" + Rules.tuple(stride) + ", dilation=" + Rules.tuple(dilation));
            }
        }
    }

    @Override public String type() { return "ConvTranspose2d"; }

    @Override
    public String repr() {
        StringBuilder sb = new StringBuilder("ConvTranspose2d(").append(inChannels).append(", ").append(outChannels)
                .append(", kernel_size=").append(Rules.tuple(kernelSize)).append(", stride=").append(Rules.tuple(stride));
        if (!Rules.isZero(padding)) sb.append(", padding=").append(Rules.tuple(padding));
        if (!Rules.isOne(dilation)) sb.append(", dilation=").append(Rules.tuple(dilation));
        if (!Rules.isZero(outputPadding)) sb.append(", output_padding=").append(Rules.tuple(outputPadding));
        if (groups != 1) sb.append(", groups=").append(groups);
        if (!bias) sb.append(", bias=False");
        return sb.append(')').toString();
    }

    private long size(int in, int a) {
        return (long) (in - 1) * stride[a] - 2L * padding[a] + (long) dilation[a] * (kernelSize[a] - 1) + outputPadding[a] + 1;
    }

    @Override
    public int[] outputShape(int[] in) {
        int c = Rules.imageInput(repr(), "ConvTranspose2d", inChannels, outChannels, in);
        int[] out = in.clone();
        out[c] = outChannels;
        for (int a = 0; a < 2; a++) {
            long s = size(in[c + 1 + a], a);
            if (s < 1) {
                throw new ShapeException(repr(), Rules.expectedImage(inChannels, in), in, (a == 0 ? "H" : "W") + "_out = " + explainAxis(in, a, false)
                        + " < 1: the padding " + padding[a] + " crops more than the transposed convolution produces; lower padding");
            }
            out[c + 1 + a] = (int) s;
        }
        return out;
    }

    private String explainAxis(int[] in, int a, boolean withSymbols) {
        String ax = a == 0 ? "H" : "W";
        int v = in[in.length - 2 + a];
        String sym = symbols(a);
        String num = "(" + v + " − 1)·" + stride[a] + " − 2·" + padding[a] + " + " + dilation[a] + "·(" + kernelSize[a] + " − 1) + " + outputPadding[a] + " + 1";
        return (withSymbols ? ax + "_out = " + sym + " = " : "") + num + " = " + size(v, a);
    }

    /** {@code (H_in − 1)·stride[0] − 2·padding[0] + dilation[0]·(kernel_size[0] − 1) + output_padding[0] + 1}, axis {@code a}'s right-hand side. */
    private static String symbols(int a) {
        return "(" + (a == 0 ? "H" : "W") + "_in − 1)·stride[" + a + "] − 2·padding[" + a + "] + dilation[" + a + "]·(kernel_size[" + a + "] − 1) + output_padding["
                + a + "] + 1";
    }

    /** The line of ConvTranspose2d's Javadoc "Shape" section. */
    @Override
    public List<String> formulas() { return List.of("H_out = " + symbols(0)); }

    @Override
    public List<String> explain(int[] in) {
        int[] out = outputShape(in); // NOTE: first, so a bad input fails with the shape error, not inside explainAxis
        return Rules.convExplain(outChannels, explainAxis(in, 0, true), explainAxis(in, 1, true), out, parameterShapes(),
                "(in_channels, out_channels/groups, kernel_size[0], kernel_size[1])");
    }

    @Override
    public Map<String, int[]> parameterShapes() {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("weight", new int[] {inChannels, outChannels / groups, kernelSize[0], kernelSize[1]});
        if (bias) m.put("bias", new int[] {outChannels});
        return m;
    }

    /**
     * Each input value is multiplied into a (out_channels/groups, kH, kW) patch: N·H_in·W_in·in_channels·(out_channels/groups)·kH·kW
     * multiply-adds, plus one bias addition per output value. NOTE: torchinfo 1.8 instead counts the parameters times the
     * output positions (N·H_out·W_out), stride[0]·stride[1] times too many for a stride-2 upsampling.
     */
    @Override
    public Cost cost(int[] in, int[] out) {
        long inPositions = Dims.numel(in) / inChannels;
        long outValues = Dims.numel(out);
        return new Cost(inPositions * inChannels * (long) (outChannels / groups) * kernelSize[0] * kernelSize[1], bias ? outValues : 0);
    }

    @Override public boolean equals(Object o) { return o instanceof ConvTranspose2dRule r && repr().equals(r.repr()); }

    @Override public int hashCode() { return repr().hashCode(); }
}
