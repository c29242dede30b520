package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageInputTest {
    @TempDir Path dir;

    /** A 28×28 white-on-black digit-like stroke: a vertical bar with a foot. */
    static float[] glyph() {
        float[] g = new float[28 * 28];
        for (int y = 6; y < 22; y++) for (int x = 12; x < 16; x++) g[y * 28 + x] = 255;
        for (int x = 10; x < 18; x++) g[21 * 28 + x] = 255;
        return g;
    }

    /** Writes grey values as an image, each pixel scaled up {@code k} times, optionally black on white. */
    static Path png(Path file, float[] g, int w, int h, int k, boolean blackOnWhite, String format) throws IOException {
        BufferedImage img = new BufferedImage(w * k, h * k, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h * k; y++) {
            for (int x = 0; x < w * k; x++) {
                int v = Math.round(g[(y / k) * w + x / k]);
                if (blackOnWhite) v = 255 - v;
                img.setRGB(x, y, (v << 16) | (v << 8) | v);
            }
        }
        ImageIO.write(img, format, file.toFile());
        return file;
    }

    @Test
    void a28x28DigitIsUsedAsItIs() throws IOException {
        ImageInput.Prepared p = ImageInput.load(png(dir.resolve("d.png"), glyph(), 28, 28, 1, false, "png"), ImageInput.Invert.AUTO);
        assertFalse(p.inverted(), "a dark border means white on black already");
        assertArrayEquals(glyph(), p.pixels());
        assertEquals(-1f, p.normalised()[0]);
        assertEquals(1f, p.normalised()[6 * 28 + 12]);
    }

    @Test
    void blackOnWhiteIsInvertedAutomaticallyOrOnRequest() throws IOException {
        Path f = png(dir.resolve("ink.png"), glyph(), 28, 28, 1, true, "png");
        ImageInput.Prepared auto = ImageInput.load(f, ImageInput.Invert.AUTO);
        assertTrue(auto.inverted());
        assertArrayEquals(glyph(), auto.pixels());
        assertArrayEquals(auto.pixels(), ImageInput.load(f, ImageInput.Invert.YES).pixels());
        assertEquals(0f, ImageInput.load(f, ImageInput.Invert.NO).pixels()[6 * 28 + 12], "--invert no keeps the dark ink dark");
    }

    @Test
    void aLargePictureIsFittedIntoA20PixelBoxAndCentred() throws IOException {
        // 4× larger, black on white, placed off centre on a wide canvas.
        float[] wide = new float[200 * 140];
        float[] g = glyph();
        for (int y = 0; y < 28; y++) for (int x = 0; x < 28; x++) wide[(y + 2) * 200 + x + 5] = g[y * 28 + x];
        ImageInput.Prepared p = ImageInput.load(png(dir.resolve("big.png"), wide, 200, 140, 1, true, "png"), ImageInput.Invert.AUTO);
        assertTrue(p.inverted());
        float[] px = p.pixels();
        int x0 = 28, x1 = -1, y0 = 28, y1 = -1;
        double mass = 0, mx = 0, my = 0;
        for (int y = 0; y < 28; y++) {
            for (int x = 0; x < 28; x++) {
                float v = px[y * 28 + x];
                if (v > 25) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
                mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
            }
        }
        assertEquals(20, y1 - y0 + 1, "the taller side becomes 20 pixels");
        assertEquals(10, x1 - x0 + 1, "the aspect ratio is kept (8 wide : 16 tall)");
        assertEquals(14, mx / mass, 1.0, "centre of mass in the middle");
        assertEquals(14, my / mass, 1.0);
    }

    @Test
    void areaAveragingKeepsTheMeanBrightness() {
        float[] g = new float[30 * 30];
        for (int i = 0; i < g.length; i++) g[i] = (i * 7919) % 256;
        float[] small = ImageInput.areaResize(g, 30, 0, 0, 30, 30, 7, 7);
        double a = 0, b = 0;
        for (float v : g) a += v;
        for (float v : small) b += v;
        assertEquals(a / g.length, b / small.length, 1e-3);
    }
}
