package dev.deepshape.tensor;

import dev.deepshape.autograd.Autograd;
import dev.deepshape.autograd.Node;
import dev.deepshape.autograd.Ops;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * A float32 tensor: a shape, strides and an offset into a flat {@code float[]} storage, plus the autograd state
 * (whether it requires a gradient, its accumulated gradient, and the graph node that produced it).
 *
 * <p>Views ({@link #reshape}, {@link #flatten}, {@link #unsqueeze}, {@link #select}, {@link #transpose}) share storage.
 * Kernels work on contiguous data: {@link #contiguous()} copies only when needed. The math lives in {@link Ops};
 * the instance methods here are shorthand for it.
 */
public final class Tensor {
    private final float[] storage;
    private final int offset;
    private final int[] shape;
    private final int[] strides;

    private boolean requiresGrad;
    private Tensor grad;
    /** Whether {@link #grad()} or {@link #setGrad} let the current gradient out: then its storage is never reused. */
    private boolean gradHandedOut;
    /** The storage of a gradient {@link #zeroGrad()} dropped that nobody else saw, for the next backward to write into. */
    private float[] spareGrad;
    private Node gradFn;
    private String name;

    public Tensor(float[] storage, int offset, int[] shape, int[] strides) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape.clone();
        this.strides = strides.clone();
    }

    /** A contiguous tensor over {@code data} (not copied) with the given shape. */
    public Tensor(float[] data, int... shape) {
        this(data, 0, shape, Shapes.contiguousStrides(shape));
        if (Shapes.numel(shape) != data.length) {
            throw new IllegalArgumentException(data.length + " values cannot fill a tensor of shape " + Shapes.str(shape)
                    + " (" + Shapes.numel(shape) + " elements)");
        }
    }

    // ---- factories ----

    public static Tensor of(float[] data, int... shape) { return new Tensor(data, shape); }

    public static Tensor scalar(float v) { return new Tensor(new float[] {v}); }

    public static Tensor zeros(int... shape) { return new Tensor(new float[Shapes.numel(shape)], shape); }

    public static Tensor full(float value, int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        Arrays.fill(d, value);
        return new Tensor(d, shape);
    }

    public static Tensor ones(int... shape) { return full(1f, shape); }

    public static Tensor zerosLike(Tensor t) { return zeros(t.shape); }

    /** Uniform on [low, high), drawn in row-major order from {@code rng}. */
    public static Tensor uniform(RandomGenerator rng, float low, float high, int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = low + (high - low) * rng.nextFloat();
        return new Tensor(d, shape);
    }

    /** Standard normal, drawn in row-major order from {@code rng}. */
    public static Tensor randn(RandomGenerator rng, int... shape) {
        float[] d = new float[Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) rng.nextGaussian();
        return new Tensor(d, shape);
    }

    // ---- shape and storage ----

    public int[] shape() { return shape.clone(); }

    /** The shape array itself, for kernels that only read it. */
    public int[] shapeRef() { return shape; }

    public int[] strides() { return strides.clone(); }

    public int offset() { return offset; }

    public int dim() { return shape.length; }

    public int size(int dim) { return shape[Shapes.dim(dim, shape.length)]; }

    public int numel() { return Shapes.numel(shape); }

    public boolean isContiguous() {
        int expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /**
     * The flat data of a contiguous tensor that starts at offset 0 (what every kernel takes). Not a copy: writing to it
     * writes the tensor. Fails on views that are not contiguous from offset 0; call {@link #contiguous()} first.
     */
    public float[] data() {
        if (offset != 0 || !isContiguous() || storage.length != numel()) {
            throw new IllegalStateException("data() needs a dense tensor; this one is a view (shape " + Shapes.str(shape)
                    + ", strides " + Arrays.toString(strides) + ", offset " + offset + "): call contiguous() first");
        }
        return storage;
    }

    /** The backing storage, which views share. */
    public float[] storage() { return storage; }

    /** A dense copy of the values in row-major order (works for any view). */
    public float[] toArray() {
        int n = numel();
        float[] out = new float[n];
        if (isContiguous()) {
            System.arraycopy(storage, offset, out, 0, n);
            return out;
        }
        int[] idx = new int[shape.length];
        for (int i = 0; i < n; i++) {
            int p = offset;
            for (int d = 0; d < shape.length; d++) p += idx[d] * strides[d];
            out[i] = storage[p];
            for (int d = shape.length - 1; d >= 0; d--) {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        return out;
    }

    public float get(int... index) {
        if (index.length != shape.length) throw new IllegalArgumentException("index of rank " + index.length + " for tensor of shape " + Shapes.str(shape));
        int p = offset;
        for (int d = 0; d < index.length; d++) {
            int i = index[d] < 0 ? index[d] + shape[d] : index[d];
            if (i < 0 || i >= shape[d]) throw new IndexOutOfBoundsException("index " + index[d] + " is out of bounds for dimension " + d + " with size " + shape[d]);
            p += i * strides[d];
        }
        return storage[p];
    }

    /** The single value of a one-element tensor, as PyTorch's {@code item()}. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item() needs a one-element tensor, got shape " + Shapes.str(shape));
        return storage[offset];
    }

    // ---- autograd state ----

    public boolean requiresGrad() { return requiresGrad; }

    /** Marks a leaf as needing its gradient (returns this, as PyTorch's {@code requires_grad_()}). */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value) throw new IllegalStateException("cannot clear requiresGrad of a non-leaf tensor; use detach()");
        this.requiresGrad = value;
        return this;
    }

    public Tensor grad() {
        gradHandedOut = true;
        return grad;
    }

    public void setGrad(Tensor g) {
        this.grad = g;
        gradHandedOut = true;
    }

    /**
     * The gradient, for the optimisers and the autograd engine: unlike {@link #grad()} it does not count as handing
     * the tensor out, so {@link #zeroGrad()} may keep its storage for the next backward ({@link #takeGradStorage}).
     * The caller must not keep the tensor past the next {@code zeroGrad}.
     */
    public Tensor gradForUpdate() { return grad; }

    /** The autograd engine's {@link #setGrad}: a gradient it made itself, not yet handed to anyone. */
    public void adoptGrad(Tensor g) {
        this.grad = g;
        gradHandedOut = false;
    }

    /**
     * Sets the gradient to {@code null}, as PyTorch's {@code zero_grad(set_to_none=True)} does by default. NOTE: when
     * nobody outside the engine and the optimisers saw the gradient (no {@link #grad()} or {@link #setGrad} since it
     * was made), its array is kept for {@link #takeGradStorage}: a training step then allocates no new 3.2 MB gradient
     * for the reference model's RNN input weights, which made most of a step's garbage and so of its collections.
     */
    public void zeroGrad() {
        if (grad != null && !gradHandedOut && grad.offset == 0 && grad.storage.length == numel()) spareGrad = grad.storage;
        this.grad = null;
        gradHandedOut = false;
    }

    /**
     * An array of {@code n} floats for this parameter's next gradient, whose contents are undefined: the storage of
     * the gradient {@link #zeroGrad()} last dropped unseen if it has that length, else a new one. For an op's backward
     * that writes every element of a parameter's gradient (which the engine then adopts as {@code .grad}).
     */
    public float[] takeGradStorage(int n) {
        float[] s = spareGrad;
        spareGrad = null;
        return s != null && s.length == n ? s : new float[n];
    }

    public Node gradFn() { return gradFn; }

    public boolean isLeaf() { return gradFn == null; }

    /** Attaches the node that produced this tensor; used by {@link Ops} only. */
    public void setGradFn(Node node) {
        this.gradFn = node;
        this.requiresGrad = true;
    }

    /** A name for graph pictures (parameters carry their state-dict key). */
    public String name() { return name; }

    public Tensor name(String n) {
        this.name = n;
        return this;
    }

    /** Runs the backward pass from this scalar with gradient 1. */
    public void backward() {
        if (numel() != 1) throw new IllegalStateException("backward() without a gradient needs a scalar output, got shape " + Shapes.str(shape));
        Autograd.backward(this, Tensor.full(1f, shape));
    }

    public void backward(Tensor gradient) { Autograd.backward(this, gradient); }

    /** The same data without autograd history. */
    public Tensor detach() { return new Tensor(storage, offset, shape, strides); }

    /** A deep copy without autograd history. */
    public Tensor copy() { return new Tensor(toArray(), shape); }

    // ---- shorthand for Ops ----

    public Tensor contiguous() { return Ops.contiguous(this); }
    public Tensor reshape(int... newShape) { return Ops.reshape(this, newShape); }
    public Tensor view(int... newShape) { return Ops.reshape(this, newShape); }
    public Tensor flatten(int startDim, int endDim) { return Ops.flatten(this, startDim, endDim); }
    public Tensor flatten() { return Ops.flatten(this, 0, -1); }
    public Tensor unsqueeze(int dim) { return Ops.unsqueeze(this, dim); }
    public Tensor squeeze(int dim) { return Ops.squeeze(this, dim); }
    public Tensor select(int dim, int index) { return Ops.select(this, dim, index); }
    public Tensor narrow(int dim, int start, int length) { return Ops.narrow(this, dim, start, length); }
    public Tensor transpose(int dim0, int dim1) { return Ops.transpose(this, dim0, dim1); }
    public Tensor add(Tensor o) { return Ops.add(this, o); }
    public Tensor sub(Tensor o) { return Ops.sub(this, o); }
    public Tensor mul(Tensor o) { return Ops.mul(this, o); }
    public Tensor div(Tensor o) { return Ops.div(this, o); }
    public Tensor add(float s) { return Ops.addScalar(this, s); }
    public Tensor mul(float s) { return Ops.mulScalar(this, s); }
    public Tensor neg() { return Ops.mulScalar(this, -1f); }
    public Tensor matmul(Tensor o) { return Ops.matmul(this, o); }
    public Tensor tanh() { return Ops.tanh(this); }
    public Tensor sigmoid() { return Ops.sigmoid(this); }
    public Tensor relu() { return Ops.relu(this); }
    public Tensor exp() { return Ops.exp(this); }
    public Tensor log() { return Ops.log(this); }
    public Tensor sum() { return Ops.sum(this); }
    public Tensor sum(int dim, boolean keepDim) { return Ops.sum(this, dim, keepDim); }
    public Tensor mean() { return Ops.mean(this); }
    public Tensor logSoftmax(int dim) { return Ops.logSoftmax(this, dim); }
    public Tensor softmax(int dim) { return Ops.softmax(this, dim); }

    @Override
    public String toString() {
        float[] v = toArray();
        StringBuilder sb = new StringBuilder("tensor(shape=").append(Shapes.str(shape)).append(", [");
        int n = Math.min(v.length, 8);
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(", ");
            sb.append(String.format("%.4f", v[i]));
        }
        if (v.length > n) sb.append(", ...");
        sb.append("]");
        if (gradFn != null) sb.append(", grad_fn=<").append(gradFn.op()).append('>');
        else if (requiresGrad) sb.append(", requires_grad=True");
        return sb.append(')').toString();
    }
}
