package dev.deepshape.cuda;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds and opens the CUDA libraries the machine already has: the driver ({@code libcuda.so.1}), NVRTC and cuBLAS.
 * The dynamic loader's own search (LD_LIBRARY_PATH, the ld cache) goes first; then {@code DEEPSHAPE_CUDA_LIBS}
 * (folders, colon-separated), {@code CUDA_HOME}/{@code CUDA_PATH}, the usual toolkit folders and the folders of
 * NVIDIA's Python wheels (where a PyTorch install keeps its own cuBLAS and NVRTC).
 */
final class NativeLibs {
    private NativeLibs() {}

    /** A library that could not be opened: the names tried and the folders searched, for the error message. */
    static final class NotFound extends Exception {
        NotFound(String msg) { super(msg); }
    }

    /** Opens the first of {@code names} found; {@code companion} (may be null) is opened first from the same folder. */
    static SymbolLookup open(String what, List<String> names, String companion) throws NotFound {
        List<String> tried = new ArrayList<>();
        for (String name : names) {
            try {
                return SymbolLookup.libraryLookup(name, Arena.global());
            } catch (IllegalArgumentException e) {
                tried.add(name);
            }
        }
        for (Path dir : searchFolders()) {
            for (String name : names) {
                Path p = dir.resolve(name);
                if (!Files.isRegularFile(p)) continue;
                if (companion != null) {
                    // NOTE: libcublas needs libcublasLt of the same release; opening it first from the same folder
                    // lets the loader match it by soname even where that folder is not on the loader's path.
                    for (Path c : companions(dir, companion)) {
                        try {
                            SymbolLookup.libraryLookup(c, Arena.global());
                            break;
                        } catch (IllegalArgumentException ignored) {
                            // try the next candidate
                        }
                    }
                }
                try {
                    return SymbolLookup.libraryLookup(p, Arena.global());
                } catch (IllegalArgumentException e) {
                    tried.add(p + " (" + e.getMessage() + ")");
                }
            }
        }
        throw new NotFound(what + " not found: tried " + String.join(", ", names) + " on the loader's path and in "
                + searchFolders() + (tried.size() > names.size() ? "; failed to open " + tried.subList(names.size(), tried.size()) : "")
                + ". Set DEEPSHAPE_CUDA_LIBS to the folder that holds it");
    }

    private static List<Path> companions(Path dir, String prefix) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, prefix + "*")) {
            for (Path p : ds) out.add(p);
        } catch (IOException ignored) {
            // no companion here
        }
        out.sort(null);
        return out.reversed(); // libX.so.13.1.0 before libX.so.13 before libX.so: the most specific name first
    }

    static List<Path> searchFolders() {
        Set<Path> dirs = new LinkedHashSet<>();
        String extra = System.getenv("DEEPSHAPE_CUDA_LIBS");
        if (extra != null) for (String s : extra.split(":")) if (!s.isBlank()) dirs.add(Path.of(s.trim()));
        for (String env : List.of("CUDA_HOME", "CUDA_PATH")) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                dirs.add(Path.of(v, "lib64"));
                dirs.add(Path.of(v, "targets", "x86_64-linux", "lib"));
            }
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        glob(dirs, Path.of("/usr/local"), "cuda-*", "lib64");
        dirs.add(Path.of("/usr/local/nvidia/lib64"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        dirs.add(Path.of("/usr/lib64"));
        // NVIDIA's wheels: site-packages/nvidia/<part>/lib (CUDA 12) or site-packages/nvidia/cu13/lib (CUDA 13)
        for (Path sp : sitePackages()) glob(dirs, sp.resolve("nvidia"), "*", "lib");
        List<Path> out = new ArrayList<>();
        for (Path d : dirs) if (Files.isDirectory(d)) out.add(d);
        return out;
    }

    private static List<Path> sitePackages() {
        List<Path> out = new ArrayList<>();
        List<Path> libs = new ArrayList<>(List.of(Path.of("/usr/lib"), Path.of("/usr/local/lib")));
        for (Path venvs : List.of(Path.of("/opt"), Path.of(System.getProperty("user.home", "/root")))) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(venvs)) {
                for (Path p : ds) {
                    libs.add(p.resolve(".venv/lib"));
                    libs.add(p.resolve("lib"));
                }
            } catch (IOException | RuntimeException ignored) {
                // not there
            }
        }
        for (Path lib : libs) {
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(lib, "python3*")) {
                for (Path py : ds) {
                    out.add(py.resolve("site-packages"));
                    out.add(py.resolve("dist-packages"));
                }
            } catch (IOException | RuntimeException ignored) {
                // not there
            }
        }
        return out;
    }

    private static void glob(Set<Path> dirs, Path parent, String pattern, String child) {
        if (!Files.isDirectory(parent)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(parent, pattern)) {
            List<Path> found = new ArrayList<>();
            for (Path p : ds) found.add(p.resolve(child));
            found.sort(null);
            dirs.addAll(found.reversed()); // the newest release first
        } catch (IOException ignored) {
            // unreadable: skip
        }
    }
}
