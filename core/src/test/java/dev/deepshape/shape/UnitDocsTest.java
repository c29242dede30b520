package dev.deepshape.shape;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** docs/units.md is the rules' own output: regenerate with UnitDocs when a rule changes. */
class UnitDocsTest {
    @Test
    void committedPageIsUpToDate() throws Exception {
        Path root = ShapeGoldenTest.goldenDir().getParent().getParent().getParent();
        String committed = Files.readString(root.resolve("docs/units.md"));
        assertEquals(UnitDocs.render(), committed, "docs/units.md is stale: run java -cp core/target/classes dev.deepshape.shape.UnitDocs docs/units.md");
    }
}
