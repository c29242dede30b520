package dev.deepshape.cli.graph;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.nn.GRU;
import dev.deepshape.nn.LSTM;
import dev.deepshape.nn.Linear;
import dev.deepshape.nn.RNN;
import dev.deepshape.nn.ReLU;
import dev.deepshape.nn.Select;
import dev.deepshape.nn.Sequential;
import dev.deepshape.nn.Flatten;
import dev.deepshape.nn.Unsqueeze;
import dev.deepshape.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Writes the pictures to target/pictures so a person can look at them. */
class PicturesLookTest {
    @Test
    void writePictures() throws Exception {
        Path dir = Path.of("target/pictures");
        Files.createDirectories(dir);
        for (Graph.Rankdir rd : Graph.Rankdir.values()) {
            Graph g = ArchitectureDiagram.of("CombinedModel", Fixtures.s(-1, 1, 28, 28), Fixtures.combined(-1), rd);
            Renderer.write(g, dir.resolve("arch_" + rd + ".png"), 96);
            Renderer.write(g, dir.resolve("arch_" + rd + ".svg"), 96);
            Renderer.write(g, dir.resolve("arch_" + rd + ".dot"), 96);
        }
        Sequential m = new Sequential();
        m.add("0", new Flatten()).add("1", new Unsqueeze(1)).add("rnn", new RNN(64, 16, true)).add("gru", new GRU(16, 12, true))
                .add("lstm", new LSTM(12, 8, true)).add("5", new Select(1, -1)).add("fc", new Linear(8, 10)).add("7", new ReLU());
        Tensor y = m.forward(Tensor.zeros(1, 1, 8, 8));
        for (boolean saved : new boolean[] {false, true}) {
            Graph g = AutogradDiagram.of("Sequential", y, m.namedParameters(), saved, Graph.Rankdir.TB);
            Renderer.write(g, dir.resolve("autograd" + (saved ? "_saved" : "") + ".png"), 96);
        }
        assertTrue(Files.size(dir.resolve("arch_TB.png")) > 1000);
    }
}
