package dev.deepshape.cli;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/**
 * Turns a picture of a digit (PNG, JPEG, any size, colour or grey) into what MNIST images look like: 28×28, grey,
 * white digit on black, then PyTorch's transform {@code (p/255 − 0.5)/0.5}.
 *
 * <p>Steps: grey by ITU-R 601 luma ({@code L = 0.299 R + 0.587 G + 0.114 B}, as PIL's {@code convert("L")}), with
 * transparent pixels over white; inversion when asked ({@code auto}: when the one-pixel border is light on average,
 * the picture is taken to be dark ink on light paper). An image of exactly 28×28 is used as it is; any other size
 * is cropped to the digit's bounding box, scaled by area averaging so that its longer side is 20 pixels (aspect
 * kept), and placed in a 28×28 frame with its centre of mass at the centre, as the MNIST images were made.
 */
final class ImageInput {
    private ImageInput() {}

    static final int SIZE = 28;
    private static final int BOX = 20;

    enum Invert { AUTO, YES, NO }

    /** The prepared image: 28×28 pixel values in [0, 255] (white digit on black) and whether it was inverted. */
    record Prepared(float[] pixels, boolean inverted) {
        /** PyTorch's transform, ready for a (1, 1, 28, 28) tensor. */
        float[] normalised() {
            float[] out = new float[pixels.length];
            for (int i = 0; i < out.length; i++) out[i] = (pixels[i] / 255f - 0.5f) / 0.5f;
            return out;
        }
    }

    static Prepared load(Path file, Invert invert) throws IOException {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": cannot decode the image: " + e.getMessage(), e);
        }
        if (img == null) throw new IOException(file + ": not an image format this Java can read (use PNG or JPEG)");
        return prepare(grey(img), img.getWidth(), img.getHeight(), invert);
    }

    /** Luma in [0, 255], row-major, transparent pixels composited over white. */
    static float[] grey(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        float[] g = new float[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int argb = img.getRGB(x, y);
                float a = (argb >>> 24) / 255f;
                float l = 0.299f * ((argb >> 16) & 0xFF) + 0.587f * ((argb >> 8) & 0xFF) + 0.114f * (argb & 0xFF);
                g[y * w + x] = a * l + (1 - a) * 255f;
            }
        }
        return g;
    }

    static Prepared prepare(float[] grey, int w, int h, Invert invert) {
        boolean inv = switch (invert) {
            case YES -> true;
            case NO -> false;
            case AUTO -> borderMean(grey, w, h) > 127.5f;
        };
        float[] g = grey.clone();
        if (inv) for (int i = 0; i < g.length; i++) g[i] = 255f - g[i];
        if (w == SIZE && h == SIZE) return new Prepared(g, inv);
        return new Prepared(fit(g, w, h), inv);
    }

    static float borderMean(float[] g, int w, int h) {
        double sum = 0;
        int n = 0;
        for (int x = 0; x < w; x++) {
            sum += g[x] + g[(h - 1) * w + x];
            n += 2;
        }
        for (int y = 1; y < h - 1; y++) {
            sum += g[y * w] + g[y * w + w - 1];
            n += 2;
        }
        return (float) (sum / n);
    }

    /** Crop to the ink, scale the longer side to 20 px, centre the mass in 28×28. */
    static float[] fit(float[] g, int w, int h) {
        float max = 0;
        for (float v : g) max = Math.max(max, v);
        float threshold = max * 0.1f;
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                if (g[y * w + x] > threshold) {
                    x0 = Math.min(x0, x); x1 = Math.max(x1, x);
                    y0 = Math.min(y0, y); y1 = Math.max(y1, y);
                }
            }
        }
        if (x1 < 0) { x0 = 0; y0 = 0; x1 = w - 1; y1 = h - 1; } // blank picture: scale all of it
        int cw = x1 - x0 + 1, ch = y1 - y0 + 1;
        double scale = (double) BOX / Math.max(cw, ch);
        int ow = Math.max(1, (int) Math.round(cw * scale)), oh = Math.max(1, (int) Math.round(ch * scale));
        float[] small = areaResize(g, w, x0, y0, cw, ch, ow, oh);
        // Centre of mass of the scaled digit, moved to the frame's centre (clamped so nothing falls outside).
        double mx = 0, my = 0, mass = 0;
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                float v = small[y * ow + x];
                mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
            }
        }
        double cx = mass > 0 ? mx / mass : ow / 2.0, cy = mass > 0 ? my / mass : oh / 2.0;
        int left = clamp((int) Math.round(SIZE / 2.0 - cx), 0, SIZE - ow);
        int top = clamp((int) Math.round(SIZE / 2.0 - cy), 0, SIZE - oh);
        float[] out = new float[SIZE * SIZE];
        for (int y = 0; y < oh; y++) System.arraycopy(small, y * ow, out, (top + y) * SIZE + left, ow);
        return out;
    }

    /**
     * Area-average resampling of the {@code cw×ch} crop at ({@code x0}, {@code y0}) to {@code ow×oh}: each output
     * pixel is the mean of the source area it covers, partial pixels weighted by their overlap.
     */
    static float[] areaResize(float[] g, int w, int x0, int y0, int cw, int ch, int ow, int oh) {
        float[] out = new float[ow * oh];
        double sx = (double) cw / ow, sy = (double) ch / oh;
        for (int oy = 0; oy < oh; oy++) {
            double ya = oy * sy, yb = ya + sy;
            for (int ox = 0; ox < ow; ox++) {
                double xa = ox * sx, xb = xa + sx;
                double sum = 0, area = 0;
                for (int y = (int) Math.floor(ya); y < Math.min(ch, (int) Math.ceil(yb)); y++) {
                    double wy = Math.min(yb, y + 1) - Math.max(ya, y);
                    for (int x = (int) Math.floor(xa); x < Math.min(cw, (int) Math.ceil(xb)); x++) {
                        double wx = Math.min(xb, x + 1) - Math.max(xa, x);
                        sum += wx * wy * g[(y0 + y) * w + x0 + x];
                        area += wx * wy;
                    }
                }
                out[oy * ow + ox] = area > 0 ? (float) (sum / area) : 0f;
            }
        }
        return out;
    }

    private static int clamp(int v, int lo, int hi) { return Math.max(lo, Math.min(hi, v)); }
}
