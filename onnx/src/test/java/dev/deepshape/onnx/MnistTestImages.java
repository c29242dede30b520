package dev.deepshape.onnx;

import dev.deepshape.tensor.Tensor;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * The first MNIST test images, read from {@code $DEEPSHAPE_DATA/t10k-images-idx3-ubyte.gz} (IDX: big-endian magic
 * 2051, count, rows, cols, then bytes) and normalised as the tutorial does: x = (p/255 − 0.5)/0.5.
 */
final class MnistTestImages {
    private MnistTestImages() {}

    /** The directory with the MNIST files, or null when {@code DEEPSHAPE_DATA} is unset or lacks them. */
    static Path dataDir() {
        String env = System.getenv("DEEPSHAPE_DATA");
        if (env == null) return null;
        Path dir = Path.of(env);
        return Files.isRegularFile(dir.resolve("t10k-images-idx3-ubyte.gz")) ? dir : null;
    }

    /** Images {@code from .. from+count-1} of the test set as (count, 1, 28, 28). */
    static Tensor read(Path dir, int from, int count) throws IOException {
        Path file = dir.resolve("t10k-images-idx3-ubyte.gz");
        try (InputStream raw = new GZIPInputStream(Files.newInputStream(file)); DataInputStream in = new DataInputStream(raw)) {
            int magic = in.readInt();
            if (magic != 2051) throw new IOException(file + ": byte 0: expected IDX magic 2051 (images), got " + magic);
            int n = in.readInt(), rows = in.readInt(), cols = in.readInt();
            if (rows != 28 || cols != 28 || from + count > n) {
                throw new IOException(file + ": bytes 4-15: expected at least " + (from + count) + " images of 28×28, got " + n + " of " + rows + "×" + cols);
            }
            in.skipNBytes((long) from * rows * cols);
            byte[] pixels = new byte[count * rows * cols];
            in.readFully(pixels);
            float[] x = new float[pixels.length];
            for (int i = 0; i < x.length; i++) x[i] = ((pixels[i] & 0xff) / 255f - 0.5f) / 0.5f;
            return new Tensor(x, count, 1, rows, cols);
        }
    }
}
