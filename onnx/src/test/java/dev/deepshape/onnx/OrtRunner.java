package dev.deepshape.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.deepshape.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Map;

/** Runs an exported model in ONNX Runtime for Java (CPU, one thread) and compares its output with deepshape's. */
final class OrtRunner implements AutoCloseable {
    private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    OrtRunner(byte[] model) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setIntraOpNumThreads(1);
        options.setInterOpNumThreads(1);
        session = ENV.createSession(model, options);
    }

    /** Runs the graph's "input" → "output" on {@code x}; the result has ORT's output shape. */
    Tensor run(Tensor x) throws OrtException {
        long[] shape = Arrays.stream(x.shapeRef()).asLongStream().toArray();
        try (OnnxTensor in = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x.toArray()), shape);
             OrtSession.Result result = session.run(Map.of("input", in))) {
            OnnxTensor out = (OnnxTensor) result.get("output").orElseThrow();
            FloatBuffer fb = out.getFloatBuffer();
            float[] data = new float[fb.remaining()];
            fb.get(data);
            int[] outShape = Arrays.stream(out.getInfo().getShape()).mapToInt(Math::toIntExact).toArray();
            return new Tensor(data, outShape);
        }
    }

    /** The largest |a − b|, after checking that the shapes agree. */
    static float maxAbsDiff(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shapeRef(), b.shapeRef())) {
            throw new AssertionError("shapes differ: " + Arrays.toString(a.shapeRef()) + " vs " + Arrays.toString(b.shapeRef()));
        }
        float[] x = a.toArray(), y = b.toArray();
        float max = 0;
        for (int i = 0; i < x.length; i++) {
            float d = Math.abs(x[i] - y[i]);
            if (!(d <= max)) max = Float.isNaN(d) ? Float.NaN : d;
            if (Float.isNaN(max)) break;
        }
        return max;
    }

    @Override public void close() throws OrtException { session.close(); }
}
