package dev.deepshape.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Downloads the MNIST files the way torchvision's {@code MNIST(download=True)} does: each {@code .gz} is fetched
 * from torchvision's mirrors in order, its MD5 compared with the published one, and it is written under a temporary
 * name and renamed into place only once verified, so an interrupted download never leaves a file that looks complete.
 */
public final class MnistDownloader {
    /** torchvision's {@code MNIST.mirrors}, tried in this order. */
    public static final List<String> MIRRORS = List.of(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "http://yann.lecun.com/exdb/mnist/");

    /** A file to fetch and the MD5 of its {@code .gz}, as torchvision's {@code MNIST.resources}. */
    public record Resource(String file, String md5) {}

    public static final List<Resource> RESOURCES = List.of(
            new Resource("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            new Resource("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            new Resource("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            new Resource("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"));

    private final List<String> mirrors;
    private final List<Resource> resources;
    private final PrintStream log;
    private final HttpClient http;

    /** torchvision's mirrors and files; progress lines go to {@code log} (may be null). */
    public MnistDownloader(PrintStream log) { this(MIRRORS, RESOURCES, log); }

    public MnistDownloader(List<String> mirrors, List<Resource> resources, PrintStream log) {
        this.mirrors = List.copyOf(mirrors);
        this.resources = List.copyOf(resources);
        this.log = log;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(15)).followRedirects(HttpClient.Redirect.NORMAL).build();
    }

    /**
     * Fetches every resource that is in {@code dir} neither raw nor gzipped. Throws {@link Mnist.MissingDataException}
     * naming where it looked, what each mirror answered, and how to provide the files by hand.
     */
    public void downloadMissing(Path dir) throws IOException {
        List<String> errors = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        for (Resource r : resources) {
            String base = r.file().substring(0, r.file().length() - ".gz".length());
            if (Mnist.locate(dir, base) != null) continue;
            if (!fetch(dir, r, errors)) missing.add(base);
        }
        if (!missing.isEmpty()) throw new Mnist.MissingDataException(Mnist.missingMessage(dir, missing, errors));
    }

    private boolean fetch(Path dir, Resource r, List<String> errors) throws IOException {
        Files.createDirectories(dir);
        Path target = dir.resolve(r.file());
        Path tmp = dir.resolve("." + r.file() + ".part-" + ProcessHandle.current().pid());
        for (String mirror : mirrors) {
            URI uri = URI.create(mirror + r.file());
            if (log != null) log.println("Downloading " + uri + " to " + target);
            try {
                String md5 = download(uri, tmp);
                if (!md5.equals(r.md5())) {
                    errors.add(uri + ": MD5 " + md5 + ", expected " + r.md5());
                    Files.deleteIfExists(tmp);
                    continue;
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
                return true;
            } catch (IOException e) {
                errors.add(uri + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
                Files.deleteIfExists(tmp);
            } catch (InterruptedException e) {
                Files.deleteIfExists(tmp);
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while downloading " + uri, e);
            }
        }
        return false;
    }

    /** Streams the body to {@code file}, flushed to disk, and returns its MD5 in hex. */
    private String download(URI uri, Path file) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofMinutes(5)).GET().build();
        HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = resp.body()) {
            if (resp.statusCode() != 200) throw new IOException("HTTP " + resp.statusCode());
            MessageDigest md5 = md5();
            try (DigestInputStream in = new DigestInputStream(body, md5);
                 var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                         java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE)) {
                OutputStream out = java.nio.channels.Channels.newOutputStream(ch);
                in.transferTo(out);
                out.flush();
                ch.force(true);
            }
            return HexFormat.of().formatHex(md5.digest());
        }
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no MD5 digest", e);
        }
    }
}
