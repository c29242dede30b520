package dev.deepshape.shape;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every layer's input and output shape for a model and an input shape, computed from the shape rules alone (nothing
 * runs). A layer that cannot take its input stops the analysis with a {@link ShapeException} naming the layer's index
 * and name.
 *
 * <pre>{@code
 * ShapeAnalysis a = ShapeAnalysis.of(ModelSpec.builtin("combined"), new int[] {Dims.N, 1, 28, 28});
 * a.output();       // (N, 10)
 * a.totalParams();  // 896618
 * }</pre>
 */
public record ShapeAnalysis(int[] input, List<Row> rows) {

    /**
     * One layer: its index and name in the model, its rule, the shapes it takes and gives, and its parameter count
     * (a reused module shows its count again; {@link #totalParams()} counts it once).
     */
    public record Row(int index, String name, ShapeRule rule, boolean reused, int[] in, int[] out) {
        public long params() { return rule.params(); }

        public List<String> explain() { return rule.explain(in); }
    }

    /** Runs the spec's layers over {@code input}. The batch is taken to be dimension 0 when the input has 3 or more dimensions or a symbolic first size. */
    public static ShapeAnalysis of(ModelSpec spec, int[] input) {
        int batchDim = input.length >= 3 || (input.length > 0 && input[0] == Dims.N) ? 0 : -1;
        List<Row> rows = new ArrayList<>();
        int[] x = input.clone();
        for (ModelSpec.Layer l : spec.layers()) {
            int[] out;
            try {
                l.rule().check(x, batchDim);
                out = l.rule().outputShape(x);
                batchDim = l.rule().batchDimAfter(x, batchDim);
            } catch (ShapeException e) {
                throw e.at(l.index(), l.name());
            }
            rows.add(new Row(l.index(), l.name(), l.rule(), l.reused(), x, out));
            x = out;
        }
        return new ShapeAnalysis(input.clone(), List.copyOf(rows));
    }

    public int[] output() { return rows.isEmpty() ? input.clone() : rows.getLast().out.clone(); }

    /** Parameters of the model; a module used twice counts once. */
    public long totalParams() {
        long n = 0;
        for (Row r : rows) if (!r.reused) n += r.params();
        return n;
    }

    /** The {@code shapes --json} document: input, output, total parameters and one object per layer (with the formulas when {@code explain}). */
    public Map<String, Object> toJson(boolean explain) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_shape", Dims.json(input));
        m.put("output_shape", Dims.json(output()));
        m.put("total_params", totalParams());
        List<Object> layers = new ArrayList<>();
        for (Row r : rows) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("index", r.index);
            l.put("name", r.name);
            l.put("type", r.rule.type());
            l.put("repr", r.rule.repr());
            l.put("input_shape", Dims.json(r.in));
            l.put("output_shape", Dims.json(r.out));
            l.put("params", r.params());
            if (r.reused) l.put("reused", true);
            if (explain) l.put("explain", r.explain());
            layers.add(l);
        }
        m.put("layers", layers);
        return m;
    }

    /** The {@code shapes} table: index, name, unit, input shape, output shape, parameters; with {@code explain} the formula lines under each row. */
    public String table(boolean explain) {
        String[] head = {"#", "name", "unit", "input", "output", "params"};
        List<String[]> cells = new ArrayList<>();
        for (Row r : rows) {
            cells.add(new String[] {String.valueOf(r.index), r.name, r.rule.repr(), Dims.str(r.in), Dims.str(r.out),
                    r.reused && r.params() > 0 ? "(reused)" : String.format("%,d", r.params())});
        }
        int[] w = new int[head.length];
        for (int i = 0; i < head.length; i++) w[i] = head[i].length();
        for (String[] c : cells) for (int i = 0; i < c.length; i++) w[i] = Math.max(w[i], c[i].length());
        StringBuilder sb = new StringBuilder();
        line(sb, head, w);
        int total = (head.length - 1) * 2;
        for (int x : w) total += x;
        sb.append("-".repeat(total)).append('\n');
        for (int k = 0; k < cells.size(); k++) {
            line(sb, cells.get(k), w);
            if (explain) for (String e : rows.get(k).explain()) sb.append("      ").append(e).append('\n');
        }
        sb.append("-".repeat(total)).append('\n');
        sb.append("input ").append(Dims.str(input)).append(" → output ").append(Dims.str(output()))
                .append(", ").append(String.format("%,d", totalParams())).append(" parameters\n");
        return sb.toString();
    }

    private static void line(StringBuilder sb, String[] c, int[] w) {
        StringBuilder l = new StringBuilder();
        for (int i = 0; i < c.length; i++) {
            boolean right = i == 0 || i == c.length - 1;
            String pad = " ".repeat(w[i] - c[i].length());
            l.append(right ? pad + c[i] : c[i] + pad);
            if (i < c.length - 1) l.append("  ");
        }
        sb.append(l.toString().stripTrailing()).append('\n');
    }
}
