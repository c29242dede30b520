package dev.deepshape.shape;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ModelSpecTest {
    @Test
    void builtinCombinedIsTheIssuesSpec() {
        ModelSpec builtin = ModelSpec.builtin("combined");
        ModelSpec issue = ModelSpec.parse(ModelSpecTestText.REFERENCE, "issue");
        assertEquals(issue.layers().size(), builtin.layers().size());
        for (int i = 0; i < issue.layers().size(); i++) {
            assertEquals(issue.layers().get(i).name(), builtin.layers().get(i).name());
            assertEquals(issue.layers().get(i).rule().repr(), builtin.layers().get(i).rule().repr());
        }
        assertArrayEquals(new int[] {64, 1, 28, 28}, builtin.input());
        assertEquals(896_618, builtin.params());
        assertTrue(builtin.layers().get(5).reused());
        assertEquals("pool", builtin.layers().get(5).name());
    }

    @Test
    void symbolicBatchAndInputOverride() {
        ModelSpec spec = ModelSpec.builtin("combined");
        ShapeAnalysis a = ShapeAnalysis.of(spec, spec.inputShape(ModelSpec.parseShape("(N, 1, 28, 28)")));
        assertEquals("(N, 10)", Dims.str(a.output()));
        assertEquals("(N, 1, 6272)", Dims.str(a.rows().get(8).out()));
        assertArrayEquals(new int[] {8, 1, 28, 28}, ModelSpec.parseShape("8,1,28,28"));
        assertEquals(List.of(8, 10), Dims.json(ShapeAnalysis.of(spec, new int[] {8, 1, 28, 28}).output()));
    }

    @Test
    void explainSubstitutesTheNumbers() {
        ModelSpec spec = ModelSpec.builtin("combined");
        ShapeAnalysis a = ShapeAnalysis.of(spec, spec.inputShape(null));
        List<String> conv1 = a.rows().get(0).explain();
        assertEquals("H_out = ⌊(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌋ + 1 = ⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 28", conv1.get(1));
        assertEquals("params = 32·1·3·3 + 32 = 320", conv1.getLast());
        assertEquals("H_out = (H_in − 1)·stride[0] − 2·padding[0] + dilation[0]·(kernel_size[0] − 1) + output_padding[0] + 1 = (7 − 1)·2 − 2·0 + 1·(2 − 1) + 0 + 1 = 14",
                a.rows().get(6).explain().get(1));
        assertEquals("dimensions 1..3 merged: 32·14·14 = 6272, (64, 32, 14, 14) → (64, 6272)", a.rows().get(7).explain().get(0));
        assertEquals("params = 128·6272 + 128·128 + 128 + 128 = 819,456", a.rows().get(9).explain().getLast());
        List<String> pool = new MaxPool2dRule(new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1}, new int[] {1, 1}, true).explain(new int[] {1, 1, 7, 6});
        assertEquals("H_out = ⌈(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌉ + 1 = ⌈(7 + 2·1 − 1·(3 − 1) − 1)/2⌉ + 1 = 4", pool.get(1));
        List<String> drop = new MaxPool2dRule(new int[] {2, 2}, new int[] {2, 2}, new int[] {1, 1}, new int[] {1, 1}, true).explain(new int[] {1, 1, 5, 5});
        assertEquals("H_out = ⌈(H_in + 2·padding[0] − dilation[0]·(kernel_size[0] − 1) − 1)/stride[0]⌉ + 1 = ⌈(5 + 2·1 − 1·(2 − 1) − 1)/2⌉ + 1 = 4"
                + " − 1 (ceil_mode: the last window would start in the right padding) = 3", drop.get(1));
    }

    @Test
    void commentsBlankLinesAndQuotedHash() {
        ModelSpec s = ModelSpec.parse("# a model\n\ninput: (2, 3, 8, 8)  # batch of 2\nc = Conv2d(3, 4, 3, padding=\"same\")  # keeps 8x8\n", "t");
        assertEquals("(2, 4, 8, 8)", Dims.str(ShapeAnalysis.of(s, s.inputShape(null)).output()));
    }
}
