package dev.deepshape.autograd;

import dev.deepshape.backend.Backends;
import dev.deepshape.tensor.Buffers;
import dev.deepshape.tensor.Shapes;
import dev.deepshape.tensor.Tensor;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * The composable operations, each with its backward pass written directly under its forward computation
 * (micrograd's layout). Node labels are PyTorch's backward-function names so graph pictures read like torchviz's.
 * Hot fused units (convolution, pooling, recurrent cells, the loss) live in their own files beside their kernels.
 */
public final class Ops {
    private Ops() {}

    // ---------------------------------------------------------------- graph recording

    /** Records {@code out = op(inputs)} when grad mode is on and any input requires a gradient. Returns {@code out}. */
    public static Tensor record(Tensor out, String op, Map<String, Tensor> saved, Node.Backward backward, Tensor... inputs) {
        return record(out, op, saved, backward, false, inputs);
    }

    /**
     * As {@link #record}, for a backward function whose gradients are all freshly allocated dense tensors that it keeps
     * no reference to, so the engine may adopt them without a copy (see {@link Node#freshGradients()}).
     */
    static Tensor recordFresh(Tensor out, String op, Map<String, Tensor> saved, Node.Backward backward, Tensor... inputs) {
        return record(out, op, saved, backward, true, inputs);
    }

    private static Tensor record(Tensor out, String op, Map<String, Tensor> saved, Node.Backward backward, boolean fresh, Tensor... inputs) {
        if (!Autograd.isGradEnabled()) return out;
        boolean any = false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) any = true;
        if (!any) return out;
        out.setGradFn(new Node(op, inputs, saved, backward, null, fresh));
        return out;
    }

    /** Records a view whose backward adds the output gradient into a region of the input's gradient. */
    private static Tensor recordSlice(Tensor out, String op, Tensor x, Node.SliceGradient slice) {
        if (!Autograd.isGradEnabled() || !x.requiresGrad()) return out;
        int[] in = x.shape();
        // The closure is the readable definition (used if a caller applies the node directly); the engine uses `slice`.
        Node.Backward bw = g -> {
            Tensor full = Tensor.zeros(in);
            copyInto(narrowView(full, slice.dim(), slice.start(), slice.length()), slice.squeezed() ? unsqueeze(g, slice.dim()) : g);
            return new Tensor[] {full};
        };
        out.setGradFn(new Node(op, new Tensor[] {x}, null, bw, slice));
        return out;
    }

    static Map<String, Tensor> saved(Object... nameValue) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) m.put((String) nameValue[i], (Tensor) nameValue[i + 1]);
        return m;
    }

    /** A dense array for reading: the storage itself when the tensor is already dense, else a copy. */
    public static float[] dense(Tensor t) {
        return t.offset() == 0 && t.isContiguous() && t.storage().length == t.numel() ? t.storage() : copy(t);
    }

    /** A dense copy of any view, in an array from {@link Buffers} (a step's arena inside a scope). */
    private static float[] copy(Tensor t) {
        float[] out = Buffers.zeros(t.numel());
        if (t.isContiguous()) {
            System.arraycopy(t.storage(), t.offset(), out, 0, out.length);
            return out;
        }
        // As Tensor.toArray: walk the view's index in row-major order.
        int[] shape = t.shapeRef(), st = t.strides();
        float[] s = t.storage();
        int[] idx = new int[shape.length];
        for (int i = 0; i < out.length; i++) {
            int p = t.offset();
            for (int d = 0; d < shape.length; d++) p += idx[d] * st[d];
            out[i] = s[p];
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- views

    public static Tensor contiguous(Tensor x) {
        if (x.offset() == 0 && x.isContiguous() && x.storage().length == x.numel()) return x;
        Tensor out = new Tensor(copy(x), x.shapeRef());
        return record(out, "CloneBackward0", null, d -> new Tensor[] {d}, x);
    }

    /** A view with a new shape (one dimension may be -1); copies only when {@code x} is not contiguous. */
    public static Tensor reshape(Tensor x, int... newShape) {
        int[] shape = inferShape(x, newShape);
        int[] inShape = x.shape();
        Tensor src = x.isContiguous() ? x : new Tensor(copy(x), inShape);
        Tensor out = new Tensor(src.storage(), src.offset(), shape, Shapes.contiguousStrides(shape));
        return record(out, "ViewBackward0", null, d -> new Tensor[] {reshape(d, inShape)}, x);
    }

    private static int[] inferShape(Tensor x, int[] newShape) {
        int[] shape = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("only one dimension can be inferred in reshape " + Arrays.toString(newShape));
                infer = i;
            } else {
                known *= shape[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || x.numel() % known != 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(newShape) + " is invalid for input of size " + x.numel());
            }
            shape[infer] = (int) (x.numel() / known);
        }
        if (Shapes.numel(shape) != x.numel()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(newShape) + " is invalid for input of size " + x.numel()
                    + " (shape " + Shapes.str(x.shapeRef()) + ")");
        }
        return shape;
    }

    /** Flattens dimensions {@code startDim..endDim} into one, as {@code torch.flatten}. */
    public static Tensor flatten(Tensor x, int startDim, int endDim) {
        int rank = x.dim();
        if (rank == 0) return reshape(x, 1);
        int s = Shapes.dim(startDim, rank);
        int e = Shapes.dim(endDim, rank);
        if (s > e) throw new IllegalArgumentException("flatten() has invalid args: start_dim " + startDim + " cannot come after end_dim " + endDim);
        int[] in = x.shapeRef();
        int[] out = new int[rank - (e - s)];
        int k = 0;
        for (int i = 0; i < s; i++) out[k++] = in[i];
        int prod = 1;
        for (int i = s; i <= e; i++) prod *= in[i];
        out[k++] = prod;
        for (int i = e + 1; i < rank; i++) out[k++] = in[i];
        return reshape(x, out);
    }

    public static Tensor unsqueeze(Tensor x, int dim) {
        int rank = x.dim() + 1;
        int d = Shapes.dim(dim, rank);
        int[] in = x.shapeRef();
        int[] st = x.strides();
        int[] shape = new int[rank];
        int[] strides = new int[rank];
        for (int i = 0, j = 0; i < rank; i++) {
            if (i == d) {
                shape[i] = 1;
                strides[i] = j < in.length ? st[j] * in[j] : 1;
            } else {
                shape[i] = in[j];
                strides[i] = st[j];
                j++;
            }
        }
        Tensor out = new Tensor(x.storage(), x.offset(), shape, strides);
        return record(out, "UnsqueezeBackward0", null, g -> new Tensor[] {squeeze(g, d)}, x);
    }

    public static Tensor squeeze(Tensor x, int dim) {
        int d = Shapes.dim(dim, x.dim());
        int[] in = x.shapeRef();
        if (in[d] != 1) return x;
        int[] st = x.strides();
        int[] shape = new int[in.length - 1];
        int[] strides = new int[in.length - 1];
        for (int i = 0, j = 0; i < in.length; i++) {
            if (i == d) continue;
            shape[j] = in[i];
            strides[j++] = st[i];
        }
        Tensor out = new Tensor(x.storage(), x.offset(), shape, strides);
        return record(out, "SqueezeBackward1", null, g -> new Tensor[] {unsqueeze(g, d)}, x);
    }

    /** {@code x[..., index, ...]} along {@code dim}, dropping that dimension (negative index counts from the end). */
    public static Tensor select(Tensor x, int dim, int index) {
        int d = Shapes.dim(dim, x.dim());
        int[] in = x.shape();
        int i = index < 0 ? index + in[d] : index;
        if (i < 0 || i >= in[d]) {
            throw new IndexOutOfBoundsException("select(): index " + index + " out of range for tensor of size " + Shapes.str(in) + " at dimension " + d);
        }
        int[] st = x.strides();
        int[] shape = new int[in.length - 1];
        int[] strides = new int[in.length - 1];
        for (int a = 0, b = 0; a < in.length; a++) {
            if (a == d) continue;
            shape[b] = in[a];
            strides[b++] = st[a];
        }
        Tensor out = new Tensor(x.storage(), x.offset() + i * st[d], shape, strides);
        return recordSlice(out, "SelectBackward0", x, new Node.SliceGradient(d, i, 1, true));
    }

    /** {@code x.narrow(dim, start, length)}: a slice view. */
    public static Tensor narrow(Tensor x, int dim, int start, int length) {
        int d = Shapes.dim(dim, x.dim());
        int[] in = x.shape();
        if (start < 0 || length < 0 || start + length > in[d]) {
            throw new IndexOutOfBoundsException("narrow(): start " + start + " + length " + length + " exceeds dimension " + d + " of size " + in[d]);
        }
        Tensor out = narrowView(x, d, start, length);
        return recordSlice(out, "SliceBackward0", x, new Node.SliceGradient(d, start, length, false));
    }

    private static Tensor narrowView(Tensor x, int d, int start, int length) {
        int[] shape = x.shape();
        int[] st = x.strides();
        shape[d] = length;
        return new Tensor(x.storage(), x.offset() + start * st[d], shape, st);
    }

    /** Writes {@code src} (same shape) into the view {@code dst}. */
    static void copyInto(Tensor dst, Tensor src) {
        float[] v = src.toArray();
        int[] shape = dst.shapeRef();
        int[] st = dst.strides();
        float[] s = dst.storage();
        int[] idx = new int[shape.length];
        for (int n = 0; n < v.length; n++) {
            int p = dst.offset();
            for (int k = 0; k < shape.length; k++) p += idx[k] * st[k];
            s[p] = v[n];
            for (int k = shape.length - 1; k >= 0; k--) {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
    }

    public static Tensor transpose(Tensor x, int dim0, int dim1) {
        int a = Shapes.dim(dim0, x.dim());
        int b = Shapes.dim(dim1, x.dim());
        int[] shape = x.shape();
        int[] st = x.strides();
        int t = shape[a]; shape[a] = shape[b]; shape[b] = t;
        t = st[a]; st[a] = st[b]; st[b] = t;
        Tensor out = new Tensor(x.storage(), x.offset(), shape, st);
        return record(out, "TransposeBackward0", null, g -> new Tensor[] {transpose(g, a, b)}, x);
    }

    /** Concatenates along {@code dim}; all other dimensions must agree. */
    public static Tensor cat(List<Tensor> xs, int dim) {
        if (xs.isEmpty()) throw new IllegalArgumentException("cat(): expected a non-empty list of tensors");
        int rank = xs.getFirst().dim();
        int d = Shapes.dim(dim, rank);
        int[] shape = xs.getFirst().shape();
        int total = 0;
        for (Tensor t : xs) {
            int[] s = t.shapeRef();
            for (int k = 0; k < rank; k++) {
                if (k != d && s[k] != shape[k]) {
                    throw new IllegalArgumentException("cat(): sizes of tensors must match except in dimension " + d + "; got "
                            + Shapes.str(shape) + " and " + Shapes.str(s));
                }
            }
            total += s[d];
        }
        shape[d] = total;
        Tensor out = Tensor.zeros(shape);
        int[] starts = new int[xs.size()];
        int at = 0;
        for (int i = 0; i < xs.size(); i++) {
            starts[i] = at;
            copyInto(narrowView(out, d, at, xs.get(i).size(d)), xs.get(i));
            at += xs.get(i).size(d);
        }
        Tensor[] inputs = xs.toArray(new Tensor[0]);
        return record(out, "CatBackward0", null, g -> {
            Tensor[] grads = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) {
                grads[i] = new Tensor(narrowView(g, d, starts[i], inputs[i].size(d)).toArray(), inputs[i].shapeRef());
            }
            return grads;
        }, inputs);
    }

    /** Stacks equal-shaped tensors along a new dimension {@code dim}. */
    public static Tensor stack(List<Tensor> xs, int dim) {
        int d = Shapes.dim(dim, xs.getFirst().dim() + 1);
        return cat(xs.stream().map(t -> unsqueeze(t, d)).toList(), d);
    }

    // ---------------------------------------------------------------- elementwise with broadcasting

    private interface BinaryFn { float apply(float a, float b); }

    private static Tensor broadcastBinary(Tensor a, Tensor b, BinaryFn fn) {
        int[] shape = Shapes.broadcast(a.shapeRef(), b.shapeRef());
        float[] out = Buffers.zeros(Shapes.numel(shape));
        float[] x = dense(a);
        float[] y = dense(b);
        if (Arrays.equals(a.shapeRef(), b.shapeRef())) {
            for (int i = 0; i < out.length; i++) out[i] = fn.apply(x[i], y[i]);
            return new Tensor(out, shape);
        }
        int[] sa = broadcastStrides(a.shapeRef(), shape);
        int[] sb = broadcastStrides(b.shapeRef(), shape);
        int rank = shape.length;
        int inner = rank == 0 ? 1 : shape[rank - 1];
        int ia = rank == 0 ? 0 : sa[rank - 1];
        int ib = rank == 0 ? 0 : sb[rank - 1];
        int[] idx = new int[Math.max(rank - 1, 0)];
        for (int o = 0; o < out.length; o += inner) {
            int pa = 0;
            int pb = 0;
            for (int k = 0; k < rank - 1; k++) {
                pa += idx[k] * sa[k];
                pb += idx[k] * sb[k];
            }
            for (int j = 0; j < inner; j++) out[o + j] = fn.apply(x[pa + j * ia], y[pb + j * ib]);
            for (int k = rank - 2; k >= 0; k--) {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
        return new Tensor(out, shape);
    }

    /** Strides into a dense tensor of shape {@code in} when read as the broadcast shape {@code out} (0 on repeated dims). */
    private static int[] broadcastStrides(int[] in, int[] out) {
        int[] dense = Shapes.contiguousStrides(in);
        int[] s = new int[out.length];
        int shift = out.length - in.length;
        for (int i = 0; i < out.length; i++) {
            int j = i - shift;
            s[i] = j < 0 || in[j] == 1 ? 0 : dense[j];
        }
        return s;
    }

    /** Sums a broadcast gradient back down to {@code shape} (the inverse of broadcasting). */
    public static Tensor sumTo(Tensor g, int[] shape) {
        if (Arrays.equals(g.shapeRef(), shape)) return g;
        int[] gs = g.shapeRef();
        float[] src = dense(g);
        float[] out = Buffers.zeros(Shapes.numel(shape));
        int[] st = broadcastStrides(shape, gs);
        int[] idx = new int[gs.length];
        for (int n = 0; n < src.length; n++) {
            int p = 0;
            for (int k = 0; k < gs.length; k++) p += idx[k] * st[k];
            out[p] += src[n];
            for (int k = gs.length - 1; k >= 0; k--) {
                if (++idx[k] < gs[k]) break;
                idx[k] = 0;
            }
        }
        return new Tensor(out, shape);
    }

    public static Tensor add(Tensor a, Tensor b) {
        Tensor out = broadcastBinary(a, b, Float::sum);
        int[] as = a.shape(), bs = b.shape();
        return record(out, "AddBackward0", null, g -> new Tensor[] {sumTo(g, as), sumTo(g, bs)}, a, b);
    }

    public static Tensor sub(Tensor a, Tensor b) {
        Tensor out = broadcastBinary(a, b, (x, y) -> x - y);
        int[] as = a.shape(), bs = b.shape();
        return record(out, "SubBackward0", null, g -> new Tensor[] {sumTo(g, as), sumTo(mulScalar(g, -1f), bs)}, a, b);
    }

    public static Tensor mul(Tensor a, Tensor b) {
        Tensor out = broadcastBinary(a, b, (x, y) -> x * y);
        int[] as = a.shape(), bs = b.shape();
        return record(out, "MulBackward0", saved("self", a, "other", b), g -> new Tensor[] {
                a.requiresGrad() ? sumTo(broadcastBinary(g, b, (x, y) -> x * y), as) : null,
                b.requiresGrad() ? sumTo(broadcastBinary(g, a, (x, y) -> x * y), bs) : null}, a, b);
    }

    public static Tensor div(Tensor a, Tensor b) {
        Tensor out = broadcastBinary(a, b, (x, y) -> x / y);
        int[] as = a.shape(), bs = b.shape();
        return record(out, "DivBackward0", saved("self", a, "other", b), g -> new Tensor[] {
                a.requiresGrad() ? sumTo(broadcastBinary(g, b, (x, y) -> x / y), as) : null,
                // d(a/b)/db = -a/b² = -out/b
                b.requiresGrad() ? sumTo(broadcastBinary(broadcastBinary(g, out, (x, y) -> -x * y), b, (x, y) -> x / y), bs) : null}, a, b);
    }

    private interface UnaryFn { float apply(float v); }

    private static Tensor map(Tensor x, UnaryFn fn) {
        float[] in = dense(x);
        float[] out = Buffers.zeros(in.length);
        for (int i = 0; i < in.length; i++) out[i] = fn.apply(in[i]);
        return new Tensor(out, x.shapeRef());
    }

    /** {@code out[i] = f(a[i], b[i])} over two dense tensors of the same shape. */
    private static Tensor zip(Tensor a, Tensor b, BinaryFn fn) {
        float[] x = dense(a);
        float[] y = dense(b);
        float[] out = Buffers.zeros(x.length);
        for (int i = 0; i < out.length; i++) out[i] = fn.apply(x[i], y[i]);
        return new Tensor(out, a.shapeRef());
    }

    public static Tensor addScalar(Tensor x, float s) {
        Tensor out = map(x, v -> v + s);
        return record(out, "AddBackward1", null, g -> new Tensor[] {g}, x);
    }

    public static Tensor mulScalar(Tensor x, float s) {
        Tensor out = map(x, v -> v * s);
        return record(out, "MulBackward1", null, g -> new Tensor[] {map(g, v -> v * s)}, x);
    }

    public static Tensor tanh(Tensor x) {
        Tensor out = map(x, v -> (float) Math.tanh(v));
        // d tanh = 1 - tanh²: uses the saved result, as PyTorch does
        return record(out, "TanhBackward0", saved("result", out), g -> new Tensor[] {zip(g, out, (d, y) -> d * (1 - y * y))}, x);
    }

    public static Tensor sigmoid(Tensor x) {
        Tensor out = map(x, Ops::sigmoid);
        return record(out, "SigmoidBackward0", saved("result", out), g -> new Tensor[] {zip(g, out, (d, y) -> d * y * (1 - y))}, x);
    }

    /** The logistic function, computed without overflow for large |v|. */
    public static float sigmoid(float v) {
        if (v >= 0) return (float) (1.0 / (1.0 + Math.exp(-v)));
        double e = Math.exp(v);
        return (float) (e / (1.0 + e));
    }

    /** {@code torch.relu}: max(x, 0), a NaN stays NaN; the gradient passes where the result is not ≤ 0. Backend kernels. */
    public static Tensor relu(Tensor x) {
        float[] in = dense(x);
        float[] y = Buffers.zeros(in.length);
        Backends.current().relu(y, in, in.length);
        int[] shape = x.shape();
        Tensor out = new Tensor(y, shape);
        return recordFresh(out, "ReluBackward0", saved("result", out), g -> { // dx is new and nothing else holds it
            float[] dx = Buffers.zeros(y.length);
            Backends.current().reluBackward(dx, dense(g), y, y.length);
            return new Tensor[] {new Tensor(dx, shape)};
        }, x);
    }

    public static Tensor exp(Tensor x) {
        Tensor out = map(x, v -> (float) Math.exp(v));
        return record(out, "ExpBackward0", saved("result", out), g -> new Tensor[] {zip(g, out, (d, y) -> d * y)}, x);
    }

    public static Tensor log(Tensor x) {
        Tensor out = map(x, v -> (float) Math.log(v));
        return record(out, "LogBackward0", saved("self", x), g -> new Tensor[] {zip(g, contiguous(x.detach()), (d, v) -> d / v)}, x);
    }

    /**
     * Inverted dropout as PyTorch's: zeroes each element with probability {@code p} and scales the rest by 1/(1-p);
     * identity when not training or p = 0.
     */
    public static Tensor dropout(Tensor x, float p, boolean training, RandomGenerator rng) {
        if (p < 0 || p > 1) throw new IllegalArgumentException("dropout probability has to be between 0 and 1, but got " + p);
        if (!training || p == 0f) return x;
        float scale = p == 1f ? 0f : 1f / (1f - p);
        float[] mask = Buffers.zeros(x.numel());
        for (int i = 0; i < mask.length; i++) mask[i] = rng.nextFloat() < p ? 0f : scale;
        Tensor m = new Tensor(mask, x.shapeRef());
        Tensor out = zip(x, m, (a, b) -> a * b);
        return record(out, "NativeDropoutBackward0", saved("result1", m), g -> new Tensor[] {zip(g, m, (a, b) -> a * b)}, x);
    }

    // ---------------------------------------------------------------- reductions

    public static Tensor sum(Tensor x) {
        float[] in = dense(x);
        double s = 0;
        for (float v : in) s += v;
        Tensor out = Tensor.scalar((float) s);
        int[] shape = x.shape();
        return record(out, "SumBackward0", null, g -> new Tensor[] {Tensor.full(g.item(), shape)}, x);
    }

    public static Tensor mean(Tensor x) {
        float[] in = dense(x);
        double s = 0;
        for (float v : in) s += v;
        int n = in.length;
        Tensor out = Tensor.scalar((float) (s / n));
        int[] shape = x.shape();
        return record(out, "MeanBackward0", null, g -> new Tensor[] {Tensor.full(g.item() / n, shape)}, x);
    }

    /** Sum over one dimension. */
    public static Tensor sum(Tensor x, int dim, boolean keepDim) {
        int[] in = x.shape();
        int d = Shapes.dim(dim, in.length);
        int outer = prod(in, 0, d), inner = prod(in, d + 1, in.length);
        int size = in[d];
        float[] src = dense(x);
        float[] out = Buffers.zeros(outer * inner);
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < size; k++) {
                int base = (o * size + k) * inner;
                for (int i = 0; i < inner; i++) out[o * inner + i] += src[base + i];
            }
        }
        int[] kept = in.clone();
        kept[d] = 1;
        int[] shape = keepDim ? kept : dropDim(in, d);
        Tensor result = new Tensor(out, shape);
        return record(result, "SumBackward1", null, g -> {
            float[] gv = dense(g);
            float[] dx = Buffers.zeros(src.length);
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < size; k++)
                    System.arraycopy(gv, o * inner, dx, (o * size + k) * inner, inner);
            return new Tensor[] {new Tensor(dx, in)};
        }, x);
    }

    private static int prod(int[] shape, int from, int to) {
        int p = 1;
        for (int i = from; i < to; i++) p *= shape[i];
        return p;
    }

    private static int[] dropDim(int[] shape, int d) {
        int[] out = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != d) out[j++] = shape[i];
        return out;
    }

    /** log_softmax along {@code dim}, computed stably (max subtracted). */
    public static Tensor logSoftmax(Tensor x, int dim) {
        int[] in = x.shape();
        int d = Shapes.dim(dim, in.length);
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= in[i];
        for (int i = d + 1; i < in.length; i++) inner *= in[i];
        int size = in[d];
        float[] src = dense(x);
        float[] out = Buffers.zeros(src.length);
        for (int o = 0; o < outer; o++) {
            for (int i = 0; i < inner; i++) {
                int base = o * size * inner + i;
                float max = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < size; k++) max = Math.max(max, src[base + k * inner]);
                double s = 0;
                for (int k = 0; k < size; k++) s += Math.exp(src[base + k * inner] - max);
                float lse = (float) (max + Math.log(s));
                for (int k = 0; k < size; k++) out[base + k * inner] = src[base + k * inner] - lse;
            }
        }
        Tensor result = new Tensor(out, in);
        int fo = outer, fi = inner;
        return record(result, "LogSoftmaxBackward0", saved("result", result), g -> {
            // dx = dy - softmax · Σ dy
            float[] dy = dense(g);
            float[] dx = Buffers.zeros(dy.length);
            for (int o = 0; o < fo; o++) {
                for (int i = 0; i < fi; i++) {
                    int base = o * size * fi + i;
                    double s = 0;
                    for (int k = 0; k < size; k++) s += dy[base + k * fi];
                    for (int k = 0; k < size; k++) {
                        int p = base + k * fi;
                        dx[p] = dy[p] - (float) (Math.exp(out[p]) * s);
                    }
                }
            }
            return new Tensor[] {new Tensor(dx, in)};
        }, x);
    }

    public static Tensor softmax(Tensor x, int dim) {
        return exp(logSoftmax(x, dim));
    }

    // ---------------------------------------------------------------- matrix products

    /** Matrix product: (m, k)·(k, n), or (..., k)·(k, n) with the leading dimensions flattened. */
    public static Tensor matmul(Tensor a, Tensor b) {
        if (b.dim() != 2 || a.dim() < 2) {
            throw new IllegalArgumentException("matmul supports (..., k)·(k, n); got " + Shapes.str(a.shapeRef()) + " and " + Shapes.str(b.shapeRef()));
        }
        if (a.dim() > 2) {
            int[] lead = Arrays.copyOf(a.shapeRef(), a.dim() - 1);
            Tensor flat = reshape(a, -1, a.size(-1));
            Tensor r = mm(flat, b);
            int[] shape = Arrays.copyOf(lead, lead.length + 1);
            shape[lead.length] = b.size(1);
            return reshape(r, shape);
        }
        return mm(a, b);
    }

    /** (m, k)·(k, n) through the backend's sgemm. */
    public static Tensor mm(Tensor a, Tensor b) {
        int m = a.size(0), k = a.size(1), n = b.size(1);
        if (b.size(0) != k) {
            throw new IllegalArgumentException("mat1 and mat2 shapes cannot be multiplied (" + m + "x" + k + " and " + b.size(0) + "x" + n + ")");
        }
        float[] x = dense(a);
        float[] y = dense(b);
        float[] out = Buffers.zeros(m * n);
        Backends.current().sgemm(false, false, m, n, k, x, 0, k, y, 0, n, out, 0, n, false);
        Tensor result = new Tensor(out, m, n);
        return record(result, "MmBackward0", saved("self", a, "mat2", b), g -> {
            float[] dy = dense(g);
            Tensor da = null, db = null;
            if (a.requiresGrad()) { // dA = dY·Bᵀ
                float[] d = Buffers.zeros(m * k);
                Backends.current().sgemm(false, true, m, k, n, dy, 0, n, y, 0, n, d, 0, k, false);
                da = new Tensor(d, m, k);
            }
            if (b.requiresGrad()) { // dB = Aᵀ·dY
                float[] d = Buffers.zeros(k * n);
                Backends.current().sgemm(true, false, k, n, m, x, 0, k, dy, 0, n, d, 0, n, false);
                db = new Tensor(d, k, n);
            }
            return new Tensor[] {da, db};
        }, a, b);
    }

    /**
     * {@code y = x·Wᵀ + b} as {@code torch.nn.functional.linear}: x is (..., in), weight is (out, in), bias is (out) or
     * null; y is (..., out).
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        int in = weight.size(1), outF = weight.size(0);
        int[] xs = x.shape();
        int rows = x.numel() / Math.max(1, xs[xs.length - 1]);
        float[] xv = dense(x);
        float[] w = dense(weight);
        // with a bias its rows are copied in first, so every element is written before the product adds to it
        float[] out = bias != null ? Buffers.uninitialized(rows * outF) : Buffers.zeros(rows * outF);
        if (bias != null) {
            float[] bv = dense(bias);
            for (int r = 0; r < rows; r++) System.arraycopy(bv, 0, out, r * outF, outF);
        }
        Backends.current().sgemm(false, true, rows, outF, in, xv, 0, in, w, 0, in, out, 0, outF, true);
        int[] shape = xs.clone();
        shape[shape.length - 1] = outF;
        Tensor result = new Tensor(out, shape);
        return recordFresh(result, bias != null ? "AddmmBackward0" : "MmBackward0", saved("mat1", x, "mat2", weight), g -> {
            float[] dy = dense(g);
            Tensor dx = null, dw = null, db = null;
            if (x.requiresGrad()) { // dX = dY·W
                float[] d = Buffers.uninitialized(rows * in); // the product overwrites it (accumulate = false)
                Backends.current().sgemm(false, false, rows, in, outF, dy, 0, outF, w, 0, in, d, 0, in, false);
                dx = new Tensor(d, xs);
            }
            if (weight.requiresGrad()) { // dW = dYᵀ·X
                // NOTE: not the step's arena: the engine adopts it as .grad, which outlives the step; the storage of the
                // gradient the last zero_grad dropped, if nobody else saw it (the product overwrites every element)
                float[] d = weight.takeGradStorage(outF * in);
                Backends.current().sgemm(true, false, outF, in, rows, dy, 0, outF, xv, 0, in, d, 0, in, false);
                dw = new Tensor(d, outF, in);
            }
            if (bias != null && bias.requiresGrad()) {
                float[] d = new float[outF];
                for (int r = 0; r < rows; r++) for (int j = 0; j < outF; j++) d[j] += dy[r * outF + j];
                db = new Tensor(d, outF);
            }
            return new Tensor[] {dx, dw, db};
        }, x, weight, bias);
    }
}
