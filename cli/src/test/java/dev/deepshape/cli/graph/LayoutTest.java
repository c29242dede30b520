package dev.deepshape.cli.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.nn.CombinedModel;
import dev.deepshape.shape.Dims;
import dev.deepshape.shape.ModelSpec;
import dev.deepshape.shape.ShapeAnalysis;
import dev.deepshape.tensor.Rng;
import dev.deepshape.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Legibility, checked on geometry: no two boxes overlap, no label overlaps a box or another label, all inside the picture. */
class LayoutTest {
    static Stream<Arguments> graphs() {
        Rng.manualSeed(0);
        CombinedModel m = new CombinedModel();
        Tensor y = m.forward(Tensor.zeros(1, 1, 28, 28));
        List<Arguments> out = new ArrayList<>();
        for (Graph.Rankdir rd : Graph.Rankdir.values()) {
            out.add(Arguments.of("architecture " + rd, ArchitectureDiagram.of("CombinedModel", combined(), rd)));
            out.add(Arguments.of("autograd " + rd, AutogradDiagram.of("CombinedModel", y, m.namedParameters(), false, rd)));
            out.add(Arguments.of("autograd saved " + rd, AutogradDiagram.of("CombinedModel", y, m.namedParameters(), true, rd)));
        }
        return out.stream();
    }

    /** The reference model's rows with a symbolic batch, from the shape rules. */
    static ShapeAnalysis combined() { return ShapeAnalysis.of(ModelSpec.builtin("combined"), new int[] {Dims.N, 1, 28, 28}); }

    @Test
    void longReprsWrapInLeftToRight() {
        // Fewest lines that fit 24 characters, breaking only between top-level arguments (never inside a tuple).
        assertEquals(List.of("Flatten(start_dim=1,", "end_dim=-1)"), ArchitectureDiagram.wrap("Flatten(start_dim=1, end_dim=-1)", 24));
        assertEquals(List.of("GRU(24, 16,", "batch_first=True,", "bidirectional=True)"),
                ArchitectureDiagram.wrap("GRU(24, 16, batch_first=True, bidirectional=True)", 24));
        // Three lines cannot be 24 wide: the most even three.
        assertEquals(List.of("Conv2d(1, 32,", "kernel_size=(3, 3),", "stride=(1, 1), padding=(1, 1))"),
                ArchitectureDiagram.wrap("Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", 24));
        assertEquals(List.of("ConvTranspose2d(64, 32,", "kernel_size=(2, 2),", "stride=(2, 2))"),
                ArchitectureDiagram.wrap("ConvTranspose2d(64, 32, kernel_size=(2, 2), stride=(2, 2))", 24));
        assertEquals(List.of("ReLU()"), ArchitectureDiagram.wrap("ReLU()", 24));
        assertEquals(List.of("Unbreakable(123456789012345678901234567890)"), ArchitectureDiagram.wrap("Unbreakable(123456789012345678901234567890)", 24));
        double tb = Layout.of(ArchitectureDiagram.of("m", combined(), Graph.Rankdir.TB)).boxes().stream().mapToDouble(Layout.PlacedBox::w).max().orElseThrow();
        double lr = Layout.of(ArchitectureDiagram.of("m", combined(), Graph.Rankdir.LR)).boxes().stream().mapToDouble(Layout.PlacedBox::w).max().orElseThrow();
        assertTrue(lr < 0.5 * tb, "widest LR box " + lr + " vs TB " + tb);
    }

    record R(String what, double x, double y, double w, double h) {
        boolean overlaps(R o) { return x < o.x + o.w && o.x < x + w && y < o.y + o.h && o.y < y + h; }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("graphs")
    void nothingOverlaps(String name, Graph g) {
        Layout.Result r = Layout.of(g);
        List<R> rects = new ArrayList<>();
        for (Layout.PlacedBox b : r.boxes()) rects.add(new R(b.box().id(), b.x(), b.y(), b.w(), b.h()));
        for (Layout.PlacedEdge e : r.edges()) {
            if (e.label() != null) rects.add(new R("label " + e.edge().label(), e.label().x(), e.label().y(), e.labelW(), e.labelH()));
        }
        for (R a : rects) {
            assertTrue(a.x >= 0 && a.y >= 0 && a.x + a.w <= r.width() && a.y + a.h <= r.height(), name + ": " + a + " outside " + r.width() + "x" + r.height());
        }
        for (int i = 0; i < rects.size(); i++) {
            for (int j = i + 1; j < rects.size(); j++) {
                assertTrue(!rects.get(i).overlaps(rects.get(j)), name + ": " + rects.get(i) + " overlaps " + rects.get(j));
            }
        }
        assertEquals(g.boxes().size(), r.boxes().size());
    }

    @Test
    void boxesFitTheirMeasuredText() {
        for (Graph.Rankdir rd : Graph.Rankdir.values()) boxesFit(ArchitectureDiagram.of("m", combined(), rd));
    }

    private static void boxesFit(Graph g) {
        for (Layout.PlacedBox b : Layout.of(g).boxes()) {
            for (Graph.Text t : b.box().lines()) {
                double size = t.face() == Graph.Face.TITLE ? Fonts.TITLE_SIZE : Fonts.TEXT_SIZE;
                assertTrue(Fonts.width(t.text(), t.face(), size) + 2 * Layout.PAD_X <= b.w() + 1e-9, t.text() + " wider than its box");
            }
        }
    }

    @Test
    void projectionKeepsOrderAndGapsAndIsOptimal() {
        double[] want = {5, 3, 9, 9.5, 2}, w = {1, 2, 1, 1, 3}, gap = {0, 2, 1, 4, 1};
        double[] u = Layout.project(want, w, gap);
        double cost = cost(u, want, w);
        for (int i = 1; i < u.length; i++) assertTrue(u[i] - u[i - 1] >= gap[i] - 1e-9);
        // Any feasible perturbation costs at least as much (convex problem: local optimum is global).
        java.util.Random rnd = new java.util.Random(1);
        for (int t = 0; t < 2000; t++) {
            double[] v = u.clone();
            v[rnd.nextInt(v.length)] += rnd.nextGaussian() * 0.5;
            boolean feasible = true;
            for (int i = 1; i < v.length; i++) feasible &= v[i] - v[i - 1] >= gap[i] - 1e-9;
            if (feasible) assertTrue(cost(v, want, w) >= cost - 1e-9);
        }
    }

    private static double cost(double[] u, double[] want, double[] w) {
        double c = 0;
        for (int i = 0; i < u.length; i++) c += w[i] * (u[i] - want[i]) * (u[i] - want[i]);
        return c;
    }
}
