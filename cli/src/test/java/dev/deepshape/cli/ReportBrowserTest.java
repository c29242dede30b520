package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.Json;
import dev.deepshape.report.Report;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

/**
 * report.html in a real browser (headless Chromium): a copy of the page with a small probe script is loaded, the probe
 * writes what rendered (every section and its size, every image's load state and natural size, any error or
 * {@code console.error}) into the DOM, and {@code --dump-dom} hands it back. Then a screenshot of the page as it is,
 * kept in {@code cli/target/report-browser/} for a person to look at.
 */
class ReportBrowserTest {
    static final Path OUT = Path.of("target", "report-browser");

    /** Collects errors from the first moment, checks everything once the page (images included) has loaded. */
    static final String PROBE = """
            <script>
            window.__errors = [];
            window.addEventListener('error', e => window.__errors.push(e.message ? 'error: ' + e.message
                : 'failed to load: ' + (e.target && (e.target.id || e.target.tagName))), true);
            (function () { const ce = console.error; console.error = function () {
              window.__errors.push('console.error: ' + Array.from(arguments).join(' ')); ce.apply(console, arguments); }; })();
            window.addEventListener('load', () => {
              const r = {
                images: Array.from(document.images).map(i => ({id: i.id || i.className, complete: i.complete,
                  naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, shownWidth: i.getBoundingClientRect().width,
                  shownHeight: i.getBoundingClientRect().height})),
                sections: Array.from(document.querySelectorAll('section')).map(s => ({id: s.id,
                  heading: (s.querySelector('h2') || {}).textContent || '', height: s.getBoundingClientRect().height})),
                missing: Array.from(document.querySelectorAll('.missing')).map(m => m.textContent),
                errors: window.__errors,
                height: document.documentElement.scrollHeight,
                width: document.documentElement.scrollWidth
              };
              const pre = document.createElement('pre');
              pre.id = 'deepshape-probe';
              pre.textContent = JSON.stringify(r);
              document.body.appendChild(pre);
            });
            </script>
            """;

    @Test
    @SuppressWarnings("unchecked")
    void everySectionAndPictureRendersWithoutErrors() throws Exception {
        Chromium chromium = Chromium.findOrSkip(OUT.resolve("profiles"));
        Path run = TrainedRun.dir();
        Path page = run.resolve(Report.FILE);
        Files.createDirectories(OUT);
        String html = Files.readString(page, StandardCharsets.UTF_8);
        assertTrue(html.contains("<head>\n"), "the page has a head to put the probe in");
        Path probed = OUT.resolve("report-probed.html");
        Files.writeString(probed, html.replaceFirst("<head>\n", "<head>\n" + Matcher.quoteReplacement(PROBE)), StandardCharsets.UTF_8);

        Chromium.Output dom = chromium.dumpDom(probed);
        Matcher m = Pattern.compile("<pre id=\"deepshape-probe\">(.*?)</pre>", Pattern.DOTALL).matcher(dom.stdout());
        assertTrue(m.find(), "the probe ran after the load event; DOM:\n" + dom.stdout().substring(0, Math.min(2000, dom.stdout().length()))
                + "\nlog:\n" + dom.stderr());
        String json = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
        Map<String, Object> r = (Map<String, Object>) Json.parse(json);
        System.out.println("browser probe: " + json.substring(0, Math.min(600, json.length())) + " ...");

        assertEquals(List.of(), r.get("errors"), "no script errors, failed loads or console errors");
        List<String> consoleErrors = dom.stderr().lines().filter(l -> l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error"))).toList();
        assertEquals(List.of(), consoleErrors, "no console errors in the browser's log");
        assertEquals(List.of(), r.get("missing"), "every part of the report is there");

        List<Map<String, Object>> sections = (List<Map<String, Object>>) r.get("sections");
        List<String> ids = new ArrayList<>();
        for (Map<String, Object> s : sections) {
            ids.add((String) s.get("id"));
            assertEquals(Report.SECTIONS.get(s.get("id")), s.get("heading"), "heading of " + s.get("id"));
            assertTrue(((Number) s.get("height")).doubleValue() > 60, "section " + s.get("id") + " has content: " + s);
        }
        assertEquals(List.copyOf(Report.SECTIONS.keySet()), ids);

        // The architecture diagram, three curves, the confusion matrix and the digit grid.
        List<Map<String, Object>> images = (List<Map<String, Object>>) r.get("images");
        assertEquals(6, images.size(), "images: " + images);
        for (Map<String, Object> img : images) {
            assertEquals(Boolean.TRUE, img.get("complete"), "loaded: " + img);
            assertTrue(((Number) img.get("naturalWidth")).doubleValue() > 0 && ((Number) img.get("naturalHeight")).doubleValue() > 0, "not broken: " + img);
            assertTrue(((Number) img.get("shownWidth")).doubleValue() > 100 && ((Number) img.get("shownHeight")).doubleValue() > 100, "shown: " + img);
        }
        int width = 1280, height = Math.min(20000, ((Number) r.get("height")).intValue());
        assertTrue(((Number) r.get("width")).doubleValue() <= width, "nothing wider than a 1280-pixel window: " + r.get("width"));

        // The page as a person sees it, whole.
        Path shot = OUT.resolve("report.png");
        Files.deleteIfExists(shot);
        chromium.screenshot(page, shot, width, height);
        BufferedImage img = ImageIO.read(shot.toFile());
        assertEquals(width, img.getWidth());
        assertEquals(height, img.getHeight());
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y += 7) for (int x = 0; x < img.getWidth(); x += 7) colours.add(img.getRGB(x, y));
        assertTrue(colours.size() > 50, "the screenshot shows a drawn page, not a blank one: " + colours.size() + " colours");
        assertFalse(dom.stdout().contains("ERR_"), "no network or file errors in the page");
        System.out.println("screenshot of report.html: " + shot.toAbsolutePath() + " (" + width + "×" + height + ")");
    }
}
