package dev.deepshape.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * MNIST (or any dataset in the same IDX layout, e.g. Fashion-MNIST) with torchvision's file names and PyTorch's
 * transform {@code Normalize((0.5,), (0.5,))(ToTensor()(img))}: {@code x = (p/255 − 0.5)/0.5 ∈ [−1, 1]}.
 *
 * <p>The files are {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte}, {@code t10k-images-idx3-ubyte}
 * and {@code t10k-labels-idx1-ubyte}, each raw or with {@code .gz}, directly in the data directory or in
 * torchvision's {@code MNIST/raw/} below it. The data directory is {@code --data DIR}, else the environment variable
 * {@code DEEPSHAPE_DATA}, else {@code ./data} ({@link #dataDir}).
 *
 * <pre>{@code Dataset train = Mnist.load(Mnist.dataDir(null), true, null); // 60000 images of 28×28}</pre>
 */
public final class Mnist {
    private Mnist() {}

    public static final String ENV = "DEEPSHAPE_DATA";
    public static final int NUM_CLASSES = 10;

    /** The four file names, without {@code .gz}: train images, train labels, test images, test labels. */
    public static final List<String> FILES = List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");

    /**
     * One split: {@code count} images of {@code rows × cols} (image {@code i} starts at {@code i·rows·cols}) and their
     * labels. A split read from IDX files keeps the raw bytes (one byte per pixel, 47 MB for MNIST's 60,000 images
     * rather than 188 MB of floats) and normalises a batch at a time ({@link #copyImages}) with exactly the float
     * arithmetic of {@link #normalise}; a split built from floats (made-up data in tests) keeps them as given.
     */
    public static final class Dataset {
        private final String name;
        private final byte[] pixels; // raw pixels, or null when built from floats
        private final float[] images; // given floats, or null when built from pixels
        private final int[] labels;
        private final int count, rows, cols;

        /** A split of already-normalised (or made-up) floats; they are used as given. */
        public Dataset(String name, float[] images, int[] labels, int count, int rows, int cols) {
            this(name, null, images, labels, count, rows, cols);
        }

        private Dataset(String name, byte[] pixels, float[] images, int[] labels, int count, int rows, int cols) {
            long values = pixels != null ? pixels.length : images.length;
            if (values != (long) count * rows * cols || labels.length != count) {
                throw new IllegalArgumentException(name + ": " + values + " pixels and " + labels.length + " labels do not make "
                        + count + " images of " + rows + "×" + cols);
            }
            this.name = name;
            this.pixels = pixels;
            this.images = images;
            this.labels = labels;
            this.count = count;
            this.rows = rows;
            this.cols = cols;
        }

        /** A split of raw 8-bit pixels, normalised on the way out by {@link #normalise}'s transform. */
        public static Dataset ofPixels(String name, byte[] pixels, int[] labels, int count, int rows, int cols) {
            return new Dataset(name, pixels, null, labels, count, rows, cols);
        }

        public String name() { return name; }

        public int[] labels() { return labels; }

        public int count() { return count; }

        public int rows() { return rows; }

        public int cols() { return cols; }

        public int imageSize() { return rows * cols; }

        /**
         * Every image, normalised, as one array: the split's own array when it was built from floats, else a fresh
         * copy (4 bytes per pixel: 188 MB for MNIST's training set). For a batch use {@link #copyImages}.
         */
        public float[] images() {
            if (images != null) return images;
            float[] out = new float[pixels.length];
            normaliseInto(out, 0, pixels, 0, pixels.length);
            return out;
        }

        /** Writes images {@code order[from..to)}, normalised, one after another into {@code dst} from {@code dstOff}. */
        public void copyImages(int[] order, int from, int to, float[] dst, int dstOff) {
            int size = imageSize();
            for (int i = from; i < to; i++, dstOff += size) copyImage(order[i], dst, dstOff);
        }

        /** Writes image {@code index}, normalised, into {@code dst[dstOff .. dstOff + rows·cols)}. */
        public void copyImage(int index, float[] dst, int dstOff) {
            int size = imageSize();
            if (images != null) System.arraycopy(images, index * size, dst, dstOff, size);
            else normaliseInto(dst, dstOff, pixels, index * size, size);
        }

        /** The first {@code n} examples (all when {@code n} is at least the size), sharing nothing with this one. */
        public Dataset first(int n) {
            if (n < 1) throw new IllegalArgumentException(name + ": a subset needs at least 1 example, got " + n);
            if (n >= count) return this;
            int[] y = java.util.Arrays.copyOf(labels, n);
            if (images != null) return new Dataset(name + "[:" + n + "]", java.util.Arrays.copyOf(images, n * imageSize()), y, n, rows, cols);
            return ofPixels(name + "[:" + n + "]", java.util.Arrays.copyOf(pixels, n * imageSize()), y, n, rows, cols);
        }

        @Override public String toString() {
            return "Dataset[" + name + ", " + count + " images of " + rows + "×" + cols + (pixels != null ? ", 8-bit" : "") + "]";
        }
    }

    /** {@code --data DIR} when given, else {@code $DEEPSHAPE_DATA}, else {@code ./data}. */
    public static Path dataDir(String option) {
        if (option != null && !option.isBlank()) return Path.of(option);
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) return Path.of(env);
        return Path.of("data");
    }

    /**
     * Loads the training ({@code train}) or test split from {@code dir}. Missing files are downloaded first when
     * {@code downloader} is not null; otherwise, or when every mirror fails, the error lists where it looked.
     */
    public static Dataset load(Path dir, boolean train, MnistDownloader downloader) throws IOException {
        String imagesName = FILES.get(train ? 0 : 2);
        String labelsName = FILES.get(train ? 1 : 3);
        Path images = locate(dir, imagesName);
        Path labels = locate(dir, labelsName);
        if ((images == null || labels == null) && downloader != null) {
            downloader.downloadMissing(dir);
            images = locate(dir, imagesName);
            labels = locate(dir, labelsName);
        }
        if (images == null || labels == null) throw new MissingDataException(missingMessage(dir, List.of(imagesName, labelsName), null));
        return load(train ? "train" : "test", images, labels);
    }

    /** Reads an image file and a label file and checks that they agree. */
    public static Dataset load(String name, Path imagesFile, Path labelsFile) throws IOException {
        IdxReader.Idx images = IdxReader.readImages(imagesFile);
        IdxReader.Idx labels = IdxReader.readLabels(labelsFile, NUM_CLASSES);
        if (images.count() != labels.count()) {
            throw new IdxReader.FormatException(labelsFile, "holds " + labels.count() + " labels (dimension 0, bytes 4..8), but "
                    + imagesFile.getFileName() + " holds " + images.count() + " images; the two files must come from the same split");
        }
        int n = images.count();
        int[] y = new int[n];
        for (int i = 0; i < n; i++) y[i] = labels.data()[i] & 0xFF;
        return Dataset.ofPixels(name, images.data(), y, n, images.dims()[1], images.dims()[2]);
    }

    /**
     * PyTorch's transform of each of the 256 pixel values, in float32 as ToTensor then Normalize compute it:
     * {@code (p/255 − 0.5)/0.5}. A table lookup gives the very floats the expression gives.
     */
    private static final float[] NORMALISED = new float[256];

    static {
        for (int p = 0; p < 256; p++) NORMALISED[p] = (p / 255f - 0.5f) / 0.5f;
    }

    /** PyTorch's transform, in float32 as ToTensor then Normalize compute it: {@code (p/255 − 0.5)/0.5}. */
    public static float[] normalise(byte[] pixels) {
        float[] out = new float[pixels.length];
        normaliseInto(out, 0, pixels, 0, pixels.length);
        return out;
    }

    /** {@code dst[dstOff + i] = normalise(pixels[from + i])} for {@code i < n}. */
    static void normaliseInto(float[] dst, int dstOff, byte[] pixels, int from, int n) {
        for (int i = 0; i < n; i++) dst[dstOff + i] = NORMALISED[pixels[from + i] & 0xFF];
    }

    /** The file for {@code baseName} in {@code dir} or {@code dir/MNIST/raw}, raw preferred over {@code .gz}; null if none. */
    public static Path locate(Path dir, String baseName) {
        for (Path d : searchDirs(dir)) {
            for (String name : new String[] {baseName, baseName + ".gz"}) {
                Path p = d.resolve(name);
                if (Files.isRegularFile(p)) return p;
            }
        }
        return null;
    }

    static List<Path> searchDirs(Path dir) { return List.of(dir, dir.resolve("MNIST").resolve("raw")); }

    /** Thrown when the files are not there and could not be downloaded; the message says how to provide them. */
    public static final class MissingDataException extends IOException {
        public MissingDataException(String msg) { super(msg); }
    }

    static String missingMessage(Path dir, List<String> names, List<String> downloadErrors) {
        List<String> looked = new ArrayList<>();
        for (Path d : searchDirs(dir)) for (String n : names) looked.add(d.toAbsolutePath().normalize().resolve(n) + "[.gz]");
        StringBuilder sb = new StringBuilder("MNIST files not found; looked for ").append(String.join(", ", looked));
        if (downloadErrors != null && !downloadErrors.isEmpty()) sb.append("; downloading failed: ").append(String.join("; ", downloadErrors));
        sb.append(". Put the four files (").append(String.join(", ", FILES)).append(", raw or .gz) in a folder and pass it with --data DIR")
                .append(" or the ").append(ENV).append(" environment variable");
        return sb.toString();
    }

}
