package dev.deepshape.cli.graph;

/**
 * One step of a model for the architecture diagram: the module's name (its state-dict prefix, or its index when
 * unnamed), its PyTorch repr, its parameter count, the shapes it takes and gives ({@code -1} is the symbolic batch
 * {@code N}), and whether this step reuses a module that an earlier step already used.
 */
public record LayerBox(String name, String repr, long params, int[] inShape, int[] outShape, boolean reused) {}
