package dev.deepshape.cli.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A layered (Sugiyama-style) layout of a {@link Graph}, in points:
 * <ol>
 *   <li>break cycles (reverse DFS back edges) and rank by longest path, then pull sources (parameters) down next to
 *       their first consumer;</li>
 *   <li>double the ranks so every edge crosses at least one "band" between two ranks, and give each edge a chain of
 *       dummy nodes; a labelled edge's middle dummy carries its label, sized to the measured text, so labels take part
 *       in ordering and placement and can never overlap a box (as Graphviz does);</li>
 *   <li>order each rank by barycenter sweeps, keeping the order with the fewest crossings;</li>
 *   <li>place nodes across the ranks by repeated least-squares alignment with their neighbours under the minimum
 *       separation constraints (an exact projection by pool-adjacent-violators), so chains come out straight;</li>
 *   <li>route edges through their dummies: straight through a band, smooth cubic curves between bands.</li>
 * </ol>
 * Everything is computed in (u, v) coordinates, u across the ranks and v along them; {@code LR} swaps them at the end.
 */
public final class Layout {
    static final double PAD_X = 10, PAD_Y = 6, MIN_BOX_W = 48;
    static final double NODE_SEP = 22, DUMMY_SEP = 8, EDGE_W = 6, BAND_GAP = 14, MARGIN = 14;
    static final double LABEL_GAP = 5, ARROW_LEN = 8, ARROW_W = 6;

    public record Point(double x, double y) {}

    /** A path segment, in picture coordinates. */
    public sealed interface Seg permits Move, Line, Cubic {}
    public record Move(double x, double y) implements Seg {}
    public record Line(double x, double y) implements Seg {}
    public record Cubic(double x1, double y1, double x2, double y2, double x, double y) implements Seg {}

    /** A placed box: top-left corner and size. */
    public record PlacedBox(Graph.Box box, double x, double y, double w, double h) {}

    /** A routed edge: its path, the arrow head's three corners (empty without arrow) and its label's top-left corner. */
    public record PlacedEdge(Graph.Edge edge, List<Seg> path, List<Point> arrow, Point label, double labelW, double labelH) {}

    /** The whole picture: size, title position, boxes and edges. */
    public record Result(Graph graph, double width, double height, List<PlacedBox> boxes, List<PlacedEdge> edges) {}

    private static final class N {
        final Graph.Box box;   // null for a dummy
        final int edge;        // the edge a dummy belongs to, -1 for a box
        boolean label;         // a dummy that carries its edge's label
        boolean weak;          // a dummy of an edge of (almost) no weight: it bends around the others, leaving from a corner
        double weight = 1;     // a dummy's edge's weight
        int rank, order;
        double sv, left, right, u;
        final List<N> preds = new ArrayList<>(), succs = new ArrayList<>();

        N(Graph.Box box, int edge) { this.box = box; this.edge = edge; }

        boolean dummy() { return box == null; }
    }

    private Layout() {}

    /** The size of a box's text block plus padding: {width, height}. */
    static double[] boxSize(Graph.Box b) {
        double w = 0, h = 0;
        for (Graph.Text t : b.lines()) {
            double size = t.face() == Graph.Face.TITLE ? Fonts.TITLE_SIZE : Fonts.TEXT_SIZE;
            w = Math.max(w, Fonts.width(t.text(), t.face(), size));
            h += Fonts.lineHeight(t.face(), size);
        }
        return new double[] {Math.max(MIN_BOX_W, Math.ceil(w + 2 * PAD_X)), Math.ceil(h + 2 * PAD_Y)};
    }

    static double[] labelSize(String label) {
        return new double[] {Math.ceil(Fonts.width(label, Graph.Face.CODE, Fonts.LABEL_SIZE)), Fonts.lineHeight(Graph.Face.CODE, Fonts.LABEL_SIZE)};
    }

    public static Result of(Graph g) {
        boolean lr = g.rankdir() == Graph.Rankdir.LR;
        int nb = g.boxes().size();
        Map<String, Integer> index = new HashMap<>();
        List<N> nodes = new ArrayList<>();
        double[][] sizes = new double[nb][];
        for (int i = 0; i < nb; i++) {
            Graph.Box b = g.boxes().get(i);
            index.put(b.id(), i);
            sizes[i] = boxSize(b);
            N n = new N(b, -1);
            double su = lr ? sizes[i][1] : sizes[i][0];
            n.sv = lr ? sizes[i][0] : sizes[i][1];
            n.left = n.right = su / 2;
            nodes.add(n);
        }

        // 1. Cycles and ranks, on the boxes only.
        List<Graph.Edge> edges = g.edges();
        int ne = edges.size();
        int[] from = new int[ne], to = new int[ne];
        boolean[] reversed = reverseBackEdges(nb, edges, index, from, to);
        int[] rank = rank(nb, ne, from, to);

        // 2. Dummy chains: boxes sit on even ranks, every edge crosses at least one odd band.
        List<List<N>> chains = new ArrayList<>();
        for (int e = 0; e < ne; e++) {
            List<N> chain = new ArrayList<>();
            if (from[e] == to[e]) { chains.add(chain); continue; } // a self loop is not drawn
            N a = nodes.get(from[e]);
            chain.add(a);
            int r0 = 2 * rank[from[e]], r1 = 2 * rank[to[e]];
            String label = edges.get(e).label();
            int labelRank = (label == null || label.isEmpty()) ? -1 : middleOdd(r0, r1);
            for (int r = r0 + 1; r < r1; r++) {
                N d = new N(null, e);
                d.rank = r;
                d.weak = edges.get(e).weight() <= 0.01;
                d.weight = edges.get(e).weight();
                if (r == labelRank) {
                    double[] ls = labelSize(label);
                    d.label = true;
                    if (lr) { d.left = LABEL_GAP + ls[1]; d.right = EDGE_W / 2; d.sv = ls[0] + 8; }
                    else { d.left = EDGE_W / 2; d.right = LABEL_GAP + ls[0] + 2; d.sv = ls[1] + 2; }
                } else {
                    d.left = d.right = EDGE_W / 2;
                }
                nodes.add(d);
                chain.add(d);
            }
            chain.add(nodes.get(to[e]));
            for (int k = 0; k + 1 < chain.size(); k++) {
                chain.get(k).succs.add(chain.get(k + 1));
                chain.get(k + 1).preds.add(chain.get(k));
            }
            chains.add(chain);
        }
        for (int i = 0; i < nb; i++) nodes.get(i).rank = 2 * rank[i];
        int maxRank = 0;
        for (N n : nodes) maxRank = Math.max(maxRank, n.rank);
        List<List<N>> ranks = new ArrayList<>();
        for (int r = 0; r <= maxRank; r++) ranks.add(new ArrayList<>());

        // 3. Order: DFS discovery order first, then barycenter sweeps.
        initialOrder(nodes, nb, ranks);
        order(ranks);

        // 4. Positions across ranks, then along them.
        place(ranks);
        double minU = Double.MAX_VALUE, maxU = -Double.MAX_VALUE;
        for (N n : nodes) { minU = Math.min(minU, n.u - n.left); maxU = Math.max(maxU, n.u + n.right); }
        double titleH = g.title().isEmpty() ? 0 : Fonts.lineHeight(Graph.Face.TITLE, Fonts.TITLE_SIZE) + 10;
        double titleW = g.title().isEmpty() ? 0 : Fonts.width(g.title(), Graph.Face.TITLE, Fonts.TITLE_SIZE);
        double shiftU = MARGIN - minU + (lr ? titleH : 0);
        for (N n : nodes) n.u += shiftU;
        double[] bandTop = new double[maxRank + 1], band = new double[maxRank + 1];
        double v = MARGIN + (lr ? 0 : titleH);
        for (int r = 0; r <= maxRank; r++) {
            double travel = 0; // the widest sideways step into this rank: a steeper curve for a longer step
            if (r > 0) for (N n : ranks.get(r)) for (N p : n.preds) travel = Math.max(travel, Math.abs(n.u - p.u));
            double gap = r == 0 ? 0 : Math.min(3 * BAND_GAP, Math.max(BAND_GAP, 0.12 * travel));
            for (N n : ranks.get(r)) band[r] = Math.max(band[r], n.sv);
            v += gap;
            bandTop[r] = v;
            v += band[r];
        }
        double extentV = v + MARGIN, extentU = maxU - minU + 2 * MARGIN + (lr ? titleH : 0);
        double width = lr ? extentV : extentU, height = lr ? extentU : extentV;
        width = Math.max(width, titleW + 2 * MARGIN);

        List<PlacedBox> placed = new ArrayList<>();
        for (int i = 0; i < nb; i++) {
            N n = nodes.get(i);
            double vTop = bandTop[n.rank] + (band[n.rank] - n.sv) / 2;
            double uLeft = n.u - n.left;
            placed.add(lr ? new PlacedBox(n.box, vTop, uLeft, sizes[i][0], sizes[i][1]) : new PlacedBox(n.box, uLeft, vTop, sizes[i][0], sizes[i][1]));
        }

        // 5. Routes.
        Map<N, double[]> outPorts = ports(nodes, nb, chains, true), inPorts = ports(nodes, nb, chains, false);
        List<PlacedEdge> routed = new ArrayList<>();
        for (int e = 0; e < ne; e++) {
            List<N> chain = chains.get(e);
            if (chain.isEmpty()) continue;
            List<double[]> pts = new ArrayList<>(); // (u, v)
            N s = chain.getFirst(), t = chain.getLast();
            pts.add(new double[] {portOf(outPorts, s, e, chains), bandTop[s.rank] + (band[s.rank] + s.sv) / 2});
            Point labelAt = null;
            double[] ls = null;
            for (N d : chain.subList(1, chain.size() - 1)) {
                pts.add(new double[] {d.u, bandTop[d.rank]});
                pts.add(new double[] {d.u, bandTop[d.rank] + band[d.rank]});
                if (d.label) {
                    ls = labelSize(edges.get(e).label());
                    double mid = bandTop[d.rank] + band[d.rank] / 2;
                    labelAt = lr ? new Point(mid - ls[0] / 2, d.u - LABEL_GAP - ls[1]) : new Point(d.u + LABEL_GAP, mid - ls[1] / 2);
                }
            }
            pts.add(new double[] {portOf(inPorts, t, e, chains), bandTop[t.rank] + (band[t.rank] - t.sv) / 2});
            if (reversed[e]) java.util.Collections.reverse(pts);
            routed.add(route(edges.get(e), pts, lr, labelAt, ls));
        }
        return new Result(g, Math.ceil(width), Math.ceil(height), placed, routed);
    }

    /** The odd rank nearest the middle of (r0, r1). */
    private static int middleOdd(int r0, int r1) {
        int m = (r0 + r1) / 2;
        return m % 2 == 1 ? m : m - 1 > r0 ? m - 1 : m + 1;
    }

    /** Reverses the edges that close a cycle (DFS back edges); fills from/to with the directed box indices. */
    private static boolean[] reverseBackEdges(int nb, List<Graph.Edge> edges, Map<String, Integer> index, int[] from, int[] to) {
        int ne = edges.size();
        List<List<Integer>> out = new ArrayList<>();
        for (int i = 0; i < nb; i++) out.add(new ArrayList<>());
        for (int e = 0; e < ne; e++) {
            from[e] = index.get(edges.get(e).from());
            to[e] = index.get(edges.get(e).to());
            out.get(from[e]).add(e);
        }
        boolean[] reversed = new boolean[ne];
        int[] state = new int[nb]; // 0 new, 1 on stack, 2 done
        for (int root = 0; root < nb; root++) {
            if (state[root] != 0) continue;
            Deque<int[]> stack = new ArrayDeque<>(); // (node, next edge position)
            stack.push(new int[] {root, 0});
            state[root] = 1;
            while (!stack.isEmpty()) {
                int[] top = stack.peek();
                List<Integer> es = out.get(top[0]);
                if (top[1] == es.size()) { state[top[0]] = 2; stack.pop(); continue; }
                int e = es.get(top[1]++);
                int w = to[e];
                if (state[w] == 1) reversed[e] = true;
                else if (state[w] == 0) { state[w] = 1; stack.push(new int[] {w, 0}); }
            }
        }
        for (int e = 0; e < ne; e++) {
            if (reversed[e]) { int tmp = from[e]; from[e] = to[e]; to[e] = tmp; }
        }
        return reversed;
    }

    /** Longest-path ranks; then every source moves down to just above its highest consumer. */
    private static int[] rank(int nb, int ne, int[] from, int[] to) {
        int[] indeg = new int[nb];
        List<List<Integer>> out = new ArrayList<>();
        for (int i = 0; i < nb; i++) out.add(new ArrayList<>());
        for (int e = 0; e < ne; e++) {
            if (from[e] == to[e]) continue;
            indeg[to[e]]++;
            out.get(from[e]).add(to[e]);
        }
        int[] rank = new int[nb];
        List<Integer> topo = new ArrayList<>();
        Deque<Integer> ready = new ArrayDeque<>();
        for (int i = 0; i < nb; i++) if (indeg[i] == 0) ready.add(i);
        while (!ready.isEmpty()) {
            int a = ready.poll();
            topo.add(a);
            for (int b : out.get(a)) {
                rank[b] = Math.max(rank[b], rank[a] + 1);
                if (--indeg[b] == 0) ready.add(b);
            }
        }
        // Pull every node with consumers down to just above its highest consumer, in reverse topological order so a
        // parameter and its AccumulateGrad move together next to the op that uses them.
        for (int k = topo.size() - 1; k >= 0; k--) {
            int i = topo.get(k);
            if (out.get(i).isEmpty()) continue;
            int min = Integer.MAX_VALUE;
            for (int b : out.get(i)) min = Math.min(min, rank[b]);
            rank[i] = Math.max(rank[i], min - 1);
        }
        int lo = Arrays.stream(rank).min().orElse(0);
        for (int i = 0; i < nb; i++) rank[i] -= lo;
        return rank;
    }

    private static void initialOrder(List<N> nodes, int nb, List<List<N>> ranks) {
        java.util.Set<N> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (int i = 0; i < nb; i++) {
            N root = nodes.get(i);
            if (!root.preds.isEmpty() || seen.contains(root)) continue;
            Deque<N> stack = new ArrayDeque<>();
            stack.push(root);
            while (!stack.isEmpty()) {
                N n = stack.pop();
                if (!seen.add(n)) continue;
                ranks.get(n.rank).add(n);
                for (int k = n.succs.size() - 1; k >= 0; k--) stack.push(n.succs.get(k));
            }
        }
        for (N n : nodes) if (seen.add(n)) ranks.get(n.rank).add(n); // nodes only reachable inside a cycle's remains
        for (List<N> r : ranks) for (int k = 0; k < r.size(); k++) r.get(k).order = k;
    }

    private static void order(List<List<N>> ranks) {
        int best = crossings(ranks);
        List<List<N>> bestOrder = copy(ranks);
        for (int iter = 0; iter < 24 && best > 0; iter++) {
            boolean down = iter % 2 == 0;
            for (int k = 1; k < ranks.size(); k++) {
                int r = down ? k : ranks.size() - 1 - k;
                List<N> rank = ranks.get(r);
                Map<N, Double> key = new HashMap<>();
                for (N n : rank) {
                    List<N> nb = down ? n.preds : n.succs;
                    double sum = 0;
                    for (N m : nb) sum += m.order;
                    key.put(n, nb.isEmpty() ? n.order : sum / nb.size());
                }
                rank.sort(Comparator.comparingDouble(key::get)); // stable: ties keep their order
                for (int i = 0; i < rank.size(); i++) rank.get(i).order = i;
            }
            int c = crossings(ranks);
            if (c < best) { best = c; bestOrder = copy(ranks); }
        }
        for (int r = 0; r < ranks.size(); r++) {
            ranks.set(r, bestOrder.get(r));
            for (int i = 0; i < ranks.get(r).size(); i++) ranks.get(r).get(i).order = i;
        }
    }

    private static List<List<N>> copy(List<List<N>> ranks) {
        List<List<N>> out = new ArrayList<>();
        for (List<N> r : ranks) out.add(new ArrayList<>(r));
        return out;
    }

    /** Edge crossings between consecutive ranks (every pair of edges; the graphs here are small). */
    static int crossings(List<List<N>> ranks) {
        int total = 0;
        for (List<N> rank : ranks) {
            List<int[]> es = new ArrayList<>();
            for (N a : rank) for (N b : a.succs) es.add(new int[] {a.order, b.order});
            for (int i = 0; i < es.size(); i++) {
                for (int j = i + 1; j < es.size(); j++) {
                    if ((long) (es.get(i)[0] - es.get(j)[0]) * (es.get(i)[1] - es.get(j)[1]) < 0) total++;
                }
            }
        }
        return total;
    }

    private static double sep(N a, N b) {
        return a.right + b.left + (a.dummy() && b.dummy() ? DUMMY_SEP / 2 : a.dummy() || b.dummy() ? DUMMY_SEP : NODE_SEP);
    }

    private static double weight(N a, N b) {
        if (a.weak || b.weak) return 0.001;
        return (a.dummy() && b.dummy() ? 8 : a.dummy() || b.dummy() ? 2 : 1) * (a.dummy() ? a.weight : b.weight);
    }

    /** Positions across the ranks: start packed, then alternate sweeps pulling each rank towards its neighbours. */
    private static void place(List<List<N>> ranks) {
        for (List<N> rank : ranks) {
            double u = 0;
            for (int i = 0; i < rank.size(); i++) {
                N n = rank.get(i);
                u = i == 0 ? n.left : u + sep(rank.get(i - 1), n);
                n.u = u;
            }
        }
        for (int iter = 0; iter < 300; iter++) {
            boolean down = iter % 2 == 0;
            for (int k = 0; k < ranks.size(); k++) {
                List<N> rank = ranks.get(down ? k : ranks.size() - 1 - k);
                int m = rank.size();
                double[] want = new double[m], w = new double[m], gap = new double[m];
                for (int i = 0; i < m; i++) {
                    N n = rank.get(i);
                    double sw = 0, su = 0;
                    for (N p : n.preds) { double ww = weight(n, p); sw += ww; su += ww * p.u; }
                    for (N s : n.succs) { double ww = weight(n, s); sw += ww; su += ww * s.u; }
                    want[i] = sw == 0 ? n.u : su / sw;
                    w[i] = sw == 0 ? 0.01 : sw;
                    if (i > 0) gap[i] = sep(rank.get(i - 1), n);
                }
                double[] u = project(want, w, gap);
                for (int i = 0; i < m; i++) rank.get(i).u = u[i];
            }
        }
    }

    /**
     * Minimises Σ w_i (u_i − want_i)² subject to u_i − u_{i−1} ≥ gap_i: with c_i = Σ_{j≤i} gap_j and y_i = u_i − c_i
     * the constraint is y non-decreasing, an isotonic regression solved exactly by pooling adjacent violators.
     */
    static double[] project(double[] want, double[] w, double[] gap) {
        int m = want.length;
        double[] c = new double[m];
        for (int i = 1; i < m; i++) c[i] = c[i - 1] + gap[i];
        double[] bw = new double[m], bs = new double[m];
        int[] bn = new int[m];
        int top = 0;
        for (int i = 0; i < m; i++) {
            bw[top] = w[i];
            bs[top] = w[i] * (want[i] - c[i]);
            bn[top] = 1;
            top++;
            while (top > 1 && bs[top - 2] / bw[top - 2] > bs[top - 1] / bw[top - 1]) {
                bw[top - 2] += bw[top - 1];
                bs[top - 2] += bs[top - 1];
                bn[top - 2] += bn[top - 1];
                top--;
            }
        }
        double[] u = new double[m];
        int i = 0;
        for (int b = 0; b < top; b++) {
            double y = bs[b] / bw[b];
            for (int k = 0; k < bn[b]; k++, i++) u[i] = y + c[i];
        }
        return u;
    }

    /**
     * Where each edge leaves (out) or enters (in) a box along u: one edge at the centre, several spread over the middle
     * of the side in the order of the nodes at their other ends, so they do not cross at the box.
     */
    private static Map<N, double[]> ports(List<N> nodes, int nb, List<List<N>> chains, boolean out) {
        Map<N, double[]> result = new java.util.IdentityHashMap<>();
        for (int i = 0; i < nb; i++) {
            N n = nodes.get(i);
            List<N> other = out ? n.succs : n.preds;
            int k = other.size();
            double[] ports = new double[k];
            List<Integer> strong = new ArrayList<>();
            for (int j = 0; j < k; j++) {
                N o = other.get(j);
                // A dashed relation leaves from near the corner on its side, leaving the centre to the data flow.
                if (o.weak) ports[j] = n.u + Math.signum(o.u - n.u + 1e-9) * Math.max(0, Math.min(n.left, n.right) - 12);
                else strong.add(j);
            }
            strong.sort(Comparator.comparingDouble(j -> other.get(j).u));
            int m = strong.size();
            double spread = m <= 1 ? 0 : Math.min(2 * Math.min(n.left, n.right) * 0.7, (m - 1) * 16.0);
            for (int j = 0; j < m; j++) ports[strong.get(j)] = m <= 1 ? n.u : n.u - spread / 2 + spread * j / (m - 1);
            result.put(n, ports);
        }
        return result;
    }

    /** The port of chain {@code e} at its end box {@code n} (the box's succs/preds are in chain order of creation). */
    private static double portOf(Map<N, double[]> ports, N n, int e, List<List<N>> chains) {
        double[] p = ports.get(n);
        boolean out = ports.get(n) != null && chains.get(e).getFirst() == n;
        List<N> list = out ? n.succs : n.preds;
        N neighbour = out ? chains.get(e).get(1) : chains.get(e).get(chains.get(e).size() - 2);
        for (int j = 0; j < list.size(); j++) if (list.get(j) == neighbour) return p[j];
        return n.u;
    }

    private static PlacedEdge route(Graph.Edge edge, List<double[]> pts, boolean lr, Point labelAt, double[] ls) {
        // Drop repeated points (dummies in an empty band).
        List<double[]> p = new ArrayList<>();
        for (double[] q : pts) {
            if (!p.isEmpty() && Math.abs(p.getLast()[0] - q[0]) < 1e-6 && Math.abs(p.getLast()[1] - q[1]) < 1e-6) continue;
            p.add(q);
        }
        List<Point> arrow = List.of();
        if (edge.arrow() && p.size() >= 2) {
            double[] tip = p.getLast(), prev = p.get(p.size() - 2);
            double dir = Math.signum(tip[1] - prev[1]);
            if (dir == 0) dir = 1;
            double[] base = {tip[0], tip[1] - dir * ARROW_LEN};
            arrow = List.of(xy(tip[0], tip[1], lr), xy(base[0] - ARROW_W / 2, base[1], lr), xy(base[0] + ARROW_W / 2, base[1], lr));
            p.set(p.size() - 1, base);
        }
        List<Seg> path = new ArrayList<>();
        Point start = xy(p.getFirst()[0], p.getFirst()[1], lr);
        path.add(new Move(start.x(), start.y()));
        for (int k = 1; k < p.size(); k++) {
            double[] a = p.get(k - 1), b = p.get(k);
            Point end = xy(b[0], b[1], lr);
            if (Math.abs(a[0] - b[0]) < 0.5) {
                path.add(new Line(end.x(), end.y()));
            } else {
                double mid = (a[1] + b[1]) / 2;
                Point c1 = xy(a[0], mid, lr), c2 = xy(b[0], mid, lr);
                path.add(new Cubic(c1.x(), c1.y(), c2.x(), c2.y(), end.x(), end.y()));
            }
        }
        return new PlacedEdge(edge, path, arrow, labelAt, ls == null ? 0 : ls[0], ls == null ? 0 : ls[1]);
    }

    private static Point xy(double u, double v, boolean lr) { return lr ? new Point(v, u) : new Point(u, v); }
}
