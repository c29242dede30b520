package dev.deepshape.shape;

import java.util.ArrayList;
import java.util.List;

/**
 * The shape rule of {@code MaxPool2d}: input (N, C, H_in, W_in) or (C, H_in, W_in), output (N, C, H_out, W_out) with
 * {@code H_out = ⌊(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌋ + 1}; with {@code ceil_mode}
 * the division rounds up, but a last window that would start inside the right padding is dropped. No parameters.
 *
 * @param stride null means the kernel size, as PyTorch's default
 */
public record MaxPool2dRule(int[] kernelSize, int[] stride, int[] padding, int[] dilation, boolean ceilMode) implements ShapeRule {

    public MaxPool2dRule {
        kernelSize = Rules.pair("MaxPool2d", "kernel_size", kernelSize);
        stride = stride == null ? kernelSize.clone() : Rules.pair("MaxPool2d", "stride", stride);
        padding = Rules.pair("MaxPool2d", "padding", padding);
        dilation = Rules.pair("MaxPool2d", "dilation", dilation);
        Rules.atLeast("MaxPool2d", "kernel_size", kernelSize, 1);
        Rules.atLeast("MaxPool2d", "stride", stride, 1);
        Rules.atLeast("MaxPool2d", "padding", padding, 0);
        Rules.atLeast("MaxPool2d", "dilation", dilation, 1);
        for (int a = 0; a < 2; a++) {
            if (padding[a] > kernelSize[a] / 2) {
                throw new IllegalArgumentException("MaxPool2d: pad should be at most half of kernel size, but got padding=" + Rules.tuple(padding)
                        + " and kernel_size=" + Rules.tuple(kernelSize));
            }
        }
    }

    @Override public String type() { return "MaxPool2d"; }

    @Override
    public String repr() {
        return "MaxPool2d(kernel_size=" + Rules.intOrTuple(kernelSize) + ", stride=" + Rules.intOrTuple(stride) + ", padding=" + Rules.intOrTuple(padding)
                + ", dilation=" + Rules.intOrTuple(dilation) + ", ceil_mode=" + (ceilMode ? "True" : "False") + ")";
    }

    /** PyTorch's pooling_output_shape. */
    private long size(int in, int a) {
        long num = (long) in + 2L * padding[a] - (long) dilation[a] * (kernelSize[a] - 1) - 1;
        long out = Rules.divRound(num, stride[a], ceilMode) + 1;
        // NOTE: with ceil_mode the last window must start inside the input or the left padding, not the right padding.
        if (ceilMode && (out - 1) * stride[a] >= (long) in + padding[a]) out--;
        return out;
    }

    @Override
    public int[] outputShape(int[] in) {
        int c = Rules.imageInput(repr(), "MaxPool2d", -1, -1, in);
        int[] out = in.clone();
        for (int a = 0; a < 2; a++) {
            long s = size(in[c + 1 + a], a);
            if (s < 1) {
                int reach = dilation[a] * (kernelSize[a] - 1) + 1;
                throw new ShapeException(repr(), in.length == 3 ? "(C, H, W)" : "(N, C, H, W)", in, (a == 0 ? "H" : "W") + "_out = " + explainAxis(in, a, false)
                        + " < 1: the window spans " + reach + " but the input is only " + in[c + 1 + a] + " wide (with padding "
                        + padding[a] + "); the input needs " + (a == 0 ? "H" : "W") + " >= " + (reach - 2 * padding[a]) + " — too many poolings before it?");
            }
            out[c + 1 + a] = (int) s;
        }
        return out;
    }

    private String explainAxis(int[] in, int a, boolean withSymbols) {
        String ax = a == 0 ? "H" : "W";
        int v = in[in.length - 2 + a];
        String sym = symbols(a);
        String num = Rules.windowFormula(String.valueOf(v), String.valueOf(padding[a]), String.valueOf(dilation[a]), String.valueOf(kernelSize[a]),
                String.valueOf(stride[a]), ceilMode);
        long s = size(v, a);
        long raw = Rules.divRound((long) v + 2L * padding[a] - (long) dilation[a] * (kernelSize[a] - 1) - 1, stride[a], ceilMode) + 1;
        String dropped = raw != s ? " − 1 (ceil_mode: the last window would start in the right padding) = " + s : "";
        return (withSymbols ? ax + "_out = " + sym + " = " : "") + num + " = " + raw + dropped;
    }

    /** The right-hand side of axis {@code a}'s formula; ⌈…⌉ with ceil_mode. */
    private String symbols(int a) {
        return Rules.windowFormula((a == 0 ? "H" : "W") + "_in", "padding[" + a + "]", "dilation[" + a + "]", "kernel_size[" + a + "]", "stride[" + a + "]", ceilMode);
    }

    /** The line of MaxPool2d's Javadoc "Shape" section (for ceil_mode=False). */
    @Override
    public List<String> formulas() { return List.of("H_out = " + symbols(0)); }

    @Override
    public List<String> explain(int[] in) {
        int[] out = outputShape(in);
        List<String> lines = new ArrayList<>();
        lines.add("C_out = C_in = " + out[in.length - 3]);
        lines.add(explainAxis(in, 0, true));
        lines.add(explainAxis(in, 1, true));
        lines.add("output " + Dims.str(out));
        lines.add("params = 0");
        return lines;
    }

    @Override public boolean equals(Object o) { return o instanceof MaxPool2dRule r && repr().equals(r.repr()); }

    @Override public int hashCode() { return repr().hashCode(); }
}
