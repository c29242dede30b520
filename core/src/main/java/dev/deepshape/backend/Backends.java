package dev.deepshape.backend;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;

/** Finds the backends on the class path and holds the one in use. */
public final class Backends {
    private Backends() {}

    private static volatile Backend current;

    /** Every available backend, the best first; the reference backend is always among them. */
    public static List<Backend> available() {
        List<Backend> list = new ArrayList<>();
        list.add(new ReferenceBackend());
        for (Backend b : ServiceLoader.load(Backend.class)) {
            try {
                if (b.isAvailable() && !b.name().equals("reference")) list.add(b);
            } catch (RuntimeException | LinkageError e) {
                // A backend that cannot start here (missing module or library) is skipped; the reference still works.
            }
        }
        list.sort(Comparator.comparingInt(Backend::priority).reversed());
        return list;
    }

    /** The backend in use: set by {@link #use}, else {@code DEEPSHAPE_BACKEND}, else the best available. */
    public static Backend current() {
        Backend b = current;
        if (b == null) {
            synchronized (Backends.class) {
                if (current == null) {
                    String wanted = System.getenv("DEEPSHAPE_BACKEND");
                    current = wanted == null || wanted.isBlank() ? available().getFirst() : byName(wanted.trim());
                }
                b = current;
            }
        }
        return b;
    }

    /** The best available backend that computes on the host (the CPU): simd where it runs, else the reference. */
    public static Backend bestHost() {
        return available().stream().filter(b -> !b.usesDevice()).findFirst().orElseThrow();
    }

    /** Selects a backend by name; the error lists the names that exist here. */
    public static Backend use(String name) {
        Backend b = byName(name);
        current = b;
        return b;
    }

    /** Makes {@code b} the backend in use (tests compare backends this way). */
    public static void use(Backend b) { current = b; }

    /**
     * Why the backend {@code name} cannot be used here: its own reason (a CUDA backend names the missing library or
     * GPU), or that no such backend is in this build; null when it can.
     */
    public static String whyUnavailable(String name) {
        for (Backend b : ServiceLoader.load(Backend.class)) {
            try {
                if (b.name().equals(name)) return b.unavailableReason();
            } catch (RuntimeException | LinkageError e) {
                return name + " cannot start here: " + e;
            }
        }
        return name.equals("reference") ? null : "no " + name + " backend in this build";
    }

    public static Backend byName(String name) {
        List<Backend> all = available();
        for (Backend b : all) if (b.name().equals(name)) return b;
        throw new IllegalArgumentException("unknown backend '" + name + "'; available here: "
                + all.stream().map(Backend::name).toList());
    }
}
