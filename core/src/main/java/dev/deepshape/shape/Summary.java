package dev.deepshape.shape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A model summary in torchinfo 1.8's layout and footer, computed from a {@link ShapeAnalysis}:
 * <ul>
 * <li>params: every module once (a reused module's row shows {@code (recursive)});</li>
 * <li>input size: the input's elements × 4 bytes; params size: parameters × 4 bytes;</li>
 * <li>forward/backward pass size: twice the output bytes of every call of a module with parameters (torchinfo counts
 * only the first tensor a module returns: an RNN's output sequence, not h_n);</li>
 * <li>estimated total: the sum of the three; sizes in MB of 10^6 bytes, as torchinfo;</li>
 * <li>mult-adds: torchinfo's count (parameters × output positions for convolutions, × N·L for recurrent units, × N for
 * Linear), except ConvTranspose2d, which torchinfo overcounts by stride²: here every unit's {@link ShapeRule#cost}
 * (N·H_in·W_in·C_in·(C_out/groups)·kH·kW plus the bias additions). {@link #torchinfoMultAdds} keeps torchinfo's figure.</li>
 * </ul>
 * Also the per-sample FLOPs: forward 2 per multiply-add plus 1 per bias addition; backward the weight gradients (2 per
 * multiply-add), the bias gradients (1 per addition) and the input gradients (2 per multiply-add) of every layer after
 * the first one with parameters (the model's input needs no gradient). Elementwise work (ReLU, pooling, gate
 * nonlinearities) is not counted.
 */
public final class Summary {
    /** The columns torchinfo can show, by their {@code --columns} names. */
    public enum Column {
        INPUT("input", "Input Shape"), OUTPUT("output", "Output Shape"), PARAMS("params", "Param #"), KERNEL("kernel", "Kernel Shape"),
        MULT_ADDS("mult_adds", "Mult-Adds"), TRAINABLE("trainable", "Trainable");

        public final String key;
        public final String title;

        Column(String key, String title) {
            this.key = key;
            this.title = title;
        }

        public static Column of(String key) {
            for (Column c : values()) if (c.key.equals(key.strip())) return c;
            throw new IllegalArgumentException("unknown column '" + key + "'; columns: input, output, params, kernel, mult_adds, trainable");
        }
    }

    /** torchinfo's default columns when an input size is given. */
    public static final List<Column> DEFAULT_COLUMNS = List.of(Column.OUTPUT, Column.PARAMS);

    private static final int COL_WIDTH = 25;
    private static final double MB = 1e6;

    private final String rootName;
    private final ShapeAnalysis analysis;
    private final List<ShapeAnalysis.Row> rows;
    private final int batch;
    public final long totalParams;
    public final long trainableParams;
    public final long multAdds;
    public final long torchinfoMultAdds;
    public final long inputBytes;
    public final long forwardBackwardBytes;
    public final long paramBytes;
    public final double forwardFlopsPerSample;
    public final double backwardFlopsPerSample;

    /**
     * @param rootName the model's class name for the top row ({@code CombinedModel}, {@code Sequential})
     * @param hidden names of layers that are functional calls in the real model (not modules), left out of the table as torchinfo would
     */
    public Summary(String rootName, ShapeAnalysis analysis, Set<String> hidden) {
        this.rootName = rootName;
        this.analysis = analysis;
        this.batch = analysis.input().length > 0 && analysis.input()[0] == Dims.N ? 1 : -1;
        List<ShapeAnalysis.Row> shown = new ArrayList<>();
        for (ShapeAnalysis.Row r : analysis.rows()) if (!hidden.contains(r.name())) shown.add(r);
        this.rows = List.copyOf(shown);
        long params = 0, macs = 0, tmacs = 0, outBytes = 0;
        double fwd = 0, bwd = 0;
        boolean gradFlows = false;
        int n = batchSize();
        for (ShapeAnalysis.Row r : analysis.rows()) {
            int[] in = Dims.concrete(r.in(), n), out = Dims.concrete(r.out(), n);
            ShapeRule.Cost c = r.rule().cost(in, out);
            macs += c.total();
            tmacs += torchinfoMacs(r.rule(), out);
            if (!r.reused()) params += r.params();
            if (r.params() > 0) outBytes += 2L * 4 * Dims.numel(out);
            fwd += 2.0 * c.weightMacs() + c.biasAdds();
            if (r.params() > 0) {
                bwd += 2.0 * c.weightMacs() + c.biasAdds() + (gradFlows ? 2.0 * c.weightMacs() : 0);
                gradFlows = true;
            }
        }
        this.totalParams = params;
        this.trainableParams = params;
        this.multAdds = macs;
        this.torchinfoMultAdds = tmacs;
        this.inputBytes = 4 * Dims.numel(analysis.input(), n);
        this.forwardBackwardBytes = outBytes;
        this.paramBytes = 4 * params;
        this.forwardFlopsPerSample = fwd / n;
        this.backwardFlopsPerSample = bwd / n;
    }

    /** The batch size the figures use: the input's, or 1 where it is the symbolic N. */
    public int batchSize() { return batch > 0 ? batch : analysis.input()[0]; }

    /**
     * torchinfo 1.8's LayerInfo.calculate_macs: a parameter named weight/bias counts numel × (N·H_out·W_out) in a
     * "Conv" class and numel × out[0] otherwise; any other weight/bias parameter (the recurrent units') numel × out[0]·out[1].
     */
    public static long torchinfoMacs(ShapeRule rule, int[] out) {
        long m = 0;
        for (var e : rule.parameterShapes().entrySet()) {
            long p = Dims.numel(e.getValue());
            String name = e.getKey();
            if (name.equals("weight") || name.equals("bias")) {
                if (rule.type().contains("Conv")) {
                    long pos = out[0];
                    for (int i = 2; i < out.length; i++) pos *= out[i];
                    m += p * pos;
                } else {
                    m += (long) out[0] * p;
                }
            } else {
                m += (long) out[0] * (out.length > 1 ? out[1] : 1) * p;
            }
        }
        return m;
    }

    /** torchinfo's table and footer with the given depth (0: the model's row only) and columns, then the FLOPs block. */
    public String render(int depth, List<Column> columns) {
        List<String[]> lines = new ArrayList<>(); // name, then one cell per column
        ShapeAnalysis.Row last = analysis.rows().getLast();
        Map<Column, String> root = new LinkedHashMap<>();
        root.put(Column.INPUT, Dims.list(analysis.input()));
        root.put(Column.OUTPUT, Dims.list(last.out()));
        root.put(Column.PARAMS, depth == 0 ? String.format("%,d", totalParams) : "--");
        root.put(Column.KERNEL, "--");
        root.put(Column.MULT_ADDS, depth == 0 && multAdds > 0 ? String.format("%,d", multAdds) : "--");
        root.put(Column.TRAINABLE, totalParams > 0 ? "True" : "--");
        lines.add(cells(rootName, root, columns));
        if (depth >= 1) {
            int idx = 0;
            for (ShapeAnalysis.Row r : rows) {
                idx++;
                int n = batchSize();
                Map<Column, String> v = new LinkedHashMap<>();
                v.put(Column.INPUT, Dims.list(r.in()));
                v.put(Column.OUTPUT, Dims.list(r.out()));
                v.put(Column.PARAMS, r.params() == 0 ? "--" : r.reused() ? "(recursive)" : String.format("%,d", r.params()));
                v.put(Column.KERNEL, kernel(r.rule()));
                long macs = r.rule().cost(Dims.concrete(r.in(), n), Dims.concrete(r.out(), n)).total();
                v.put(Column.MULT_ADDS, macs > 0 ? String.format("%,d", macs) : "--");
                v.put(Column.TRAINABLE, r.params() > 0 ? "True" : "--");
                lines.add(cells("├─" + r.rule().type() + ": 1-" + idx, v, columns));
            }
        }
        int nameWidth = 40;
        int max = 0;
        for (String[] l : lines) max = Math.max(max, l[0].length() + 1 + (l[0].startsWith("├─") ? 5 - 2 : 0));
        if (max >= nameWidth) nameWidth = (int) Math.ceil(max / 5.0) * 5;
        int width = columns.size() * COL_WIDTH + nameWidth;
        String divider = "=".repeat(width);
        StringBuilder sb = new StringBuilder();
        sb.append(divider).append('\n');
        String[] header = new String[columns.size() + 1];
        header[0] = "Layer (type:depth-idx)";
        for (int i = 0; i < columns.size(); i++) header[i + 1] = columns.get(i).title;
        row(sb, header, nameWidth);
        sb.append(divider).append('\n');
        for (String[] l : lines) row(sb, l, nameWidth);
        sb.append(divider).append('\n');
        sb.append("Total params: ").append(String.format("%,d", totalParams)).append('\n');
        sb.append("Trainable params: ").append(String.format("%,d", trainableParams)).append('\n');
        sb.append("Non-trainable params: ").append(String.format("%,d", totalParams - trainableParams)).append('\n');
        sb.append("Total mult-adds (").append(unit(multAdds)).append("): ").append(String.format("%.2f", scaled(multAdds))).append('\n');
        sb.append(divider).append('\n');
        sb.append(String.format("Input size (MB): %.2f%n", inputBytes / MB));
        sb.append(String.format("Forward/backward pass size (MB): %.2f%n", forwardBackwardBytes / MB));
        sb.append(String.format("Params size (MB): %.2f%n", paramBytes / MB));
        sb.append(String.format("Estimated Total Size (MB): %.2f%n", (inputBytes + forwardBackwardBytes + paramBytes) / MB));
        sb.append(divider).append('\n');
        if (torchinfoMultAdds != multAdds) {
            sb.append("Mult-adds as torchinfo 1.8 counts them (").append(unit(torchinfoMultAdds)).append("): ")
                    .append(String.format("%.2f", scaled(torchinfoMultAdds))).append(" (it multiplies ConvTranspose2d's parameters by its output positions)\n");
        }
        sb.append(String.format("Forward FLOPs per sample (M): %.2f%n", forwardFlopsPerSample / 1e6));
        sb.append(String.format("Backward FLOPs per sample (M): %.2f%n", backwardFlopsPerSample / 1e6));
        if (batch > 0) sb.append("(the input's batch is symbolic: figures are for N = 1)\n");
        sb.append(divider);
        return sb.toString().replace("\r\n", "\n");
    }

    private static String kernel(ShapeRule r) {
        return switch (r) {
            case Conv2dRule c -> Dims.list(c.kernelSize());
            case ConvTranspose2dRule c -> Dims.list(c.kernelSize());
            case MaxPool2dRule m -> m.kernelSize()[0] == m.kernelSize()[1] ? String.valueOf(m.kernelSize()[0]) : Dims.list(m.kernelSize());
            default -> "--";
        };
    }

    private static String[] cells(String name, Map<Column, String> v, List<Column> columns) {
        String[] out = new String[columns.size() + 1];
        out[0] = name;
        for (int i = 0; i < columns.size(); i++) out[i + 1] = v.get(columns.get(i));
        return out;
    }

    /** torchinfo's format_row: the name left-aligned in its width, each cell in 25 characters, separated by a space. */
    private static void row(StringBuilder sb, String[] c, int nameWidth) {
        StringBuilder l = new StringBuilder(pad(c[0], nameWidth)).append(' ');
        for (int i = 1; i < c.length; i++) l.append(pad(c[i], COL_WIDTH)).append(' ');
        sb.append(l.toString().stripTrailing()).append('\n');
    }

    private static String pad(String s, int w) { return s.length() >= w ? s : s + " ".repeat(w - s.length()); }

    private static String unit(long n) { return n >= 1e12 ? "T" : n >= 1e9 ? "G" : "M"; }

    private static double scaled(long n) { return n >= 1e12 ? n / 1e12 : n >= 1e9 ? n / 1e9 : n / 1e6; }

    /** The figures as JSON, for {@code summary --json}. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("model", rootName);
        m.put("input_shape", Dims.json(analysis.input()));
        m.put("output_shape", Dims.json(analysis.output()));
        List<Object> layers = new ArrayList<>();
        int idx = 0;
        int n = batchSize();
        for (ShapeAnalysis.Row r : rows) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("depth_idx", "1-" + (++idx));
            l.put("name", r.name());
            l.put("type", r.rule().type());
            l.put("input_shape", Dims.json(r.in()));
            l.put("output_shape", Dims.json(r.out()));
            l.put("params", r.params());
            l.put("recursive", r.reused());
            l.put("kernel", kernel(r.rule()));
            l.put("mult_adds", r.rule().cost(Dims.concrete(r.in(), n), Dims.concrete(r.out(), n)).total());
            l.put("trainable", r.params() > 0);
            layers.add(l);
        }
        m.put("layers", layers);
        m.put("total_params", totalParams);
        m.put("trainable_params", trainableParams);
        m.put("non_trainable_params", totalParams - trainableParams);
        m.put("total_mult_adds", multAdds);
        m.put("torchinfo_mult_adds", torchinfoMultAdds);
        m.put("input_size_bytes", inputBytes);
        m.put("forward_backward_pass_size_bytes", forwardBackwardBytes);
        m.put("params_size_bytes", paramBytes);
        m.put("estimated_total_size_bytes", inputBytes + forwardBackwardBytes + paramBytes);
        m.put("forward_flops_per_sample", forwardFlopsPerSample);
        m.put("backward_flops_per_sample", backwardFlopsPerSample);
        return m;
    }
}
