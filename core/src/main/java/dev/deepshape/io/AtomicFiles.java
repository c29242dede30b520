package dev.deepshape.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers see either the old content or the complete new content, never a half-written file:
 * a temporary file beside it, flushed to disk, then renamed over the target.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes the bytes the body produces; on any failure the target is untouched and the temporary file removed. */
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * Test seam for the crash-safety test: {@code -Ddeepshape.debug.atomicWritePauseMs=N} waits N ms after the data is
     * in the temporary file and before it is forced and renamed, so that a kill lands mid-write reliably. 0 in use.
     */
    private static final long PAUSE_MS = Long.getLong("deepshape.debug.atomicWritePauseMs", 0);

    public static void write(Path target, Body body) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        String prefix = "." + target.getFileName() + ".tmp-";
        removeStaleTemporaries(dir, prefix);
        Path tmp = dir.resolve(prefix + ProcessHandle.current().pid() + "-" + Thread.currentThread().threadId());
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                OutputStream out = new java.io.BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                body.writeTo(out);
                if (PAUSE_MS > 0) pause();
                out.flush();
                ch.force(true);
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            fsyncDirectory(dir);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> out.write(bytes));
    }

    /** Temporary files of this target left by a process that was killed mid-write (its pid is gone). */
    private static void removeStaleTemporaries(Path dir, String prefix) {
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (!name.startsWith(prefix)) continue;
                String rest = name.substring(prefix.length());
                int dash = rest.indexOf('-');
                try {
                    long pid = Long.parseLong(dash < 0 ? rest : rest.substring(0, dash));
                    if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) continue;
                } catch (NumberFormatException notOurs) {
                    continue;
                }
                Files.deleteIfExists(p);
            }
        } catch (IOException | SecurityException ignored) {
            // NOTE: best effort; a leftover temporary file wastes space but is never read.
        }
    }

    private static void pause() throws IOException {
        try {
            Thread.sleep(PAUSE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while writing");
        }
    }

    /** Makes the rename itself durable (best effort: not every file system lets a directory be opened). */
    private static void fsyncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // NOTE: the data itself is already forced; only the directory entry's durability is best effort.
        }
    }
}
