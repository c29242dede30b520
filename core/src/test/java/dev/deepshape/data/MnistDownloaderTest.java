package dev.deepshape.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The download path against a local HTTP server: mirror fallback, MD5 check, no partial files. */
class MnistDownloaderTest {
    @TempDir Path dir;
    HttpServer server;
    String base;
    final byte[] labels = IdxReaderTest.idx(2049, new int[] {3}, new byte[] {1, 2, 3});
    byte[] labelsGz;

    @BeforeEach
    void start() throws IOException {
        labelsGz = IdxReaderTest.gzip(labels);
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/broken/", ex -> { ex.sendResponseHeaders(404, -1); ex.close(); });
        server.createContext("/good/", ex -> {
            ex.sendResponseHeaders(200, labelsGz.length);
            try (OutputStream o = ex.getResponseBody()) { o.write(labelsGz); }
        });
        server.start();
        base = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() { server.stop(0); }

    String md5(byte[] b) throws Exception { return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b)); }

    @Test
    void triesTheMirrorsInOrderAndVerifiesTheMd5() throws Exception {
        var r = new MnistDownloader.Resource("t10k-labels-idx1-ubyte.gz", md5(labelsGz));
        new MnistDownloader(List.of(base + "/broken/", base + "/good/"), List.of(r), null).downloadMissing(dir);
        assertArrayEquals(labelsGz, Files.readAllBytes(dir.resolve("t10k-labels-idx1-ubyte.gz")));
        assertEquals(3, IdxReader.readLabels(dir.resolve("t10k-labels-idx1-ubyte.gz"), 10).count());
        try (var files = Files.list(dir)) { assertEquals(1, files.count(), "no temporary file left"); }
    }

    @Test
    void aWrongMd5LeavesNoFileAndSaysHowToProvideTheData() throws Exception {
        var r = new MnistDownloader.Resource("t10k-labels-idx1-ubyte.gz", "0123456789abcdef0123456789abcdef");
        var d = new MnistDownloader(List.of(base + "/broken/", base + "/good/"), List.of(r), null);
        String m = assertThrows(Mnist.MissingDataException.class, () -> d.downloadMissing(dir)).getMessage();
        assertTrue(m.contains(base + "/broken/t10k-labels-idx1-ubyte.gz: HTTP 404"), m);
        assertTrue(m.contains("MD5 " + md5(labelsGz) + ", expected 0123456789abcdef0123456789abcdef"), m);
        assertTrue(m.contains("--data DIR") && m.contains("DEEPSHAPE_DATA"), m);
        try (var files = Files.list(dir)) { assertEquals(0, files.count(), "nothing written"); }
    }

    @Test
    void offlineNamesWhereItLooked() {
        var d = new MnistDownloader(List.of("http://127.0.0.1:1/"), MnistDownloader.RESOURCES, null);
        String m = assertThrows(Mnist.MissingDataException.class, () -> Mnist.load(dir.resolve("nowhere"), true, d)).getMessage();
        assertTrue(m.startsWith("MNIST files not found; looked for " + dir.resolve("nowhere").toAbsolutePath().resolve("train-images-idx3-ubyte") + "[.gz]"), m);
        assertTrue(m.contains("downloading failed: http://127.0.0.1:1/train-images-idx3-ubyte.gz"), m);
    }

    @Test
    void skipsFilesThatArePresentRawOrGzipped() throws Exception {
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), labels);
        var r = new MnistDownloader.Resource("t10k-labels-idx1-ubyte.gz", "will-not-be-fetched");
        new MnistDownloader(List.of("http://127.0.0.1:1/"), List.of(r), null).downloadMissing(dir);
    }
}
