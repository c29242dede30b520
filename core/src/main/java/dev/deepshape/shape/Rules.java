package dev.deepshape.shape;

/** Small helpers shared by the rules: argument checks, PyTorch's tuple printing, the convolution size formulas. */
final class Rules {
    private Rules() {}

    /** {@code (3, 3)}, as PyTorch prints a 2-tuple. */
    static String tuple(int[] a) { return "(" + a[0] + ", " + a[1] + ")"; }

    /** {@code 2} when both entries agree, else {@code (2, 3)}: how MaxPool2d's repr shows what it was given. */
    static String intOrTuple(int[] a) { return a[0] == a[1] ? String.valueOf(a[0]) : tuple(a); }

    static int[] pair(String unit, String name, int[] v) {
        if (v == null || v.length != 2) throw new IllegalArgumentException(unit + ": " + name + " must have 2 entries (height, width), got " + (v == null ? "null" : java.util.Arrays.toString(v)));
        return v.clone();
    }

    static void atLeast(String unit, String name, int[] v, int min) {
        for (int x : v) if (x < min) throw new IllegalArgumentException(unit + ": " + name + " must be >= " + min + ", got " + tuple(v));
    }

    /** The channel and group checks of the 2-d convolutions, in PyTorch's words. */
    static void channelsAndGroups(String unit, int inChannels, int outChannels, int groups) {
        if (inChannels <= 0 || outChannels <= 0) throw new IllegalArgumentException(unit + ": in_channels and out_channels must be positive, got " + inChannels + " and " + outChannels);
        if (groups <= 0) throw new IllegalArgumentException(unit + ": groups must be a positive integer, got " + groups);
        if (inChannels % groups != 0) throw new IllegalArgumentException(unit + ": in_channels must be divisible by groups, got in_channels=" + inChannels + ", groups=" + groups);
        if (outChannels % groups != 0) throw new IllegalArgumentException(unit + ": out_channels must be divisible by groups, got out_channels=" + outChannels + ", groups=" + groups);
    }

    /** {@code (N, 3, H, W)}, or {@code (3, H, W)} for an unbatched input: the input a convolution with {@code channels} expects. */
    static String expectedImage(int channels, int[] in) {
        return in.length == 3 ? "(" + channels + ", H, W)" : "(N, " + channels + ", H, W)";
    }

    /**
     * The explanation lines of a 2-d convolution: C_out, the two axis formulas, the output, and the parameters, with
     * {@code weightSymbols} naming the weight's axes.
     */
    static java.util.List<String> convExplain(int outChannels, String hLine, String wLine, int[] out, java.util.Map<String, int[]> params, String weightSymbols) {
        java.util.List<String> lines = new java.util.ArrayList<>();
        lines.add("C_out = out_channels = " + outChannels);
        lines.add(hLine);
        lines.add(wLine);
        lines.add("output " + Dims.str(out));
        lines.add(ShapeRule.paramLine(params, java.util.Map.of("weight", weightSymbols, "bias", "(out_channels,)")));
        lines.add(ShapeRule.paramSum(params));
        return lines;
    }

    static boolean isZero(int[] a) { return a[0] == 0 && a[1] == 0; }

    static boolean isOne(int[] a) { return a[0] == 1 && a[1] == 1; }

    /** Sizes other than the batch must be concrete. */
    static void concrete(String repr, String expected, int[] in, int from) {
        for (int i = from; i < in.length; i++) {
            if (in[i] == Dims.N) throw new ShapeException(repr, expected, in, "only the batch dimension may be symbolic, but dimension " + i + " is N");
        }
    }

    /**
     * The 4-D (N, C, H, W) or 3-D unbatched (C, H, W) image input of the 2-d units: checks the rank, that the sizes
     * other than the batch are concrete and non-zero, and, when {@code channels} > 0, the channel count (hinting at the
     * {@code type(C, outChannels, ...)} that would fit, a channels-last layout, or a missing channel axis). Returns the
     * index of the channel axis.
     */
    static int imageInput(String repr, String type, int channels, int outChannels, int[] in) {
        String c4 = channels > 0 ? String.valueOf(channels) : "C";
        String exp4 = "(N, " + c4 + ", H, W)", exp3 = "(" + c4 + ", H, W)";
        if (in.length != 3 && in.length != 4) {
            String hint;
            if (in.length == 2) {
                hint = "a 2-D input has lost its image layout (no " + (channels > 0 ? "channel or " : "") + "spatial axes): was it flattened too early? "
                        + "put this layer before Flatten" + squareImage(in, channels);
            } else if (in.length > 4) {
                hint = "a " + in.length + "-D input has extra leading dimensions; merge or select them first to get a 4-D (N, C, H, W) batch";
            } else {
                hint = "give a 4-D (N, C, H, W) batch or a 3-D (C, H, W) image";
            }
            throw new ShapeException(repr, exp4 + " or " + exp3, in, hint);
        }
        String expected = in.length == 3 ? exp3 : exp4;
        int c = in.length - 3;
        concrete(repr, expected, in, c);
        for (int i = c; i < in.length; i++) {
            if (in[i] == 0) throw new ShapeException(repr, expected, in, "dimension " + i + " is 0; only the batch dimension may be empty");
        }
        if (channels > 0 && in[c] != channels) {
            StringBuilder hint = new StringBuilder("the input has " + in[c] + " channels, so " + type + "(" + in[c] + ", " + outChannels + ", ...) would fit");
            if (in[in.length - 1] == channels) {
                // (N, H, W, C) as images come from most decoders, or (H, W, C) unbatched
                int[] perm = in.length == 4 ? new int[] {0, 3, 1, 2} : new int[] {2, 0, 1};
                int[] fixed = new int[in.length];
                for (int i = 0; i < in.length; i++) fixed[i] = in[perm[i]];
                hint.append("; or is the input channels-last ").append(in.length == 4 ? "(N, H, W, C)" : "(H, W, C)").append("? permute")
                        .append(Dims.str(perm)).append(" makes it ").append(Dims.str(fixed));
            }
            if (in.length == 3 && channels == 1) hint.append("; if ").append(Dims.str(in)).append(" is (N, H, W), add Unsqueeze(1) to make it (N, 1, H, W)");
            throw new ShapeException(repr, expected, in, hint.toString());
        }
        return c;
    }

    /** For a flattened (N, F) input: {@code ; 784 = 1·28·28, so reshape(64, 1, 28, 28) restores square images}, when F is C·s·s. */
    private static String squareImage(int[] in, int channels) {
        int ch = Math.max(channels, 1);
        if (in[1] <= 0 || in[1] % ch != 0) return "";
        int side = (int) Math.round(Math.sqrt(in[1] / (double) ch));
        if (side < 2 || (long) side * side * ch != in[1]) return "";
        return "; " + in[1] + " = " + ch + "·" + side + "·" + side + ", so reshape(" + Dims.dim(in[0]) + ", " + ch + ", " + side + ", " + side
                + ") would restore " + (channels > 0 ? "" : "single-channel ") + "square images";
    }

    /** {@code ⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1}, the sliding-window size formula, with symbols or numbers. */
    static String windowFormula(String in, String p, String d, String k, String s, boolean ceil) {
        return (ceil ? "⌈" : "⌊") + "(" + in + " + 2·" + p + " − " + d + "·(" + k + " − 1) − 1)/" + s + (ceil ? "⌉" : "⌋") + " + 1";
    }

    /** Floor or ceiling division for possibly negative numerators, as PyTorch's pooling_output_shape. */
    static long divRound(long a, long b, boolean ceil) {
        return ceil ? -Math.floorDiv(-a, b) : Math.floorDiv(a, b);
    }

    /** {@code 32·1·3·3} */
    static String times(long... v) {
        StringBuilder sb = new StringBuilder();
        for (long x : v) {
            if (!sb.isEmpty()) sb.append('·');
            sb.append(x);
        }
        return sb.toString();
    }
}
