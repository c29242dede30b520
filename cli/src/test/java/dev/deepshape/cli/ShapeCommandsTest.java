package dev.deepshape.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.deepshape.io.Json;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ShapeCommandsTest {
    record Result(int status, String out, String err) {}

    static Result run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int status = cl.execute(args);
        return new Result(status, out.toString(), err.toString());
    }

    @SuppressWarnings("unchecked")
    @Test
    void shapesJsonOfTheReferenceModelEqualsPyTorchs() throws Exception {
        Result r = run("shapes", "--model", "combined", "--json");
        assertEquals(0, r.status, r.err);
        Map<String, Object> got = (Map<String, Object>) Json.parse(r.out.strip());
        Path golden = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(golden.resolve("golden/data/shapes"))) golden = golden.getParent();
        Map<String, Object> want = (Map<String, Object>) Json.parse(Files.readString(golden.resolve("golden/data/shapes/combined.json")));
        assertEquals(want.get("total_params"), got.get("total_params"));
        assertEquals(want.get("output_shape"), got.get("output_shape"));
        List<Map<String, Object>> wl = (List<Map<String, Object>>) want.get("layers"), gl = (List<Map<String, Object>>) got.get("layers");
        for (int i = 0; i < wl.size(); i++) {
            for (String k : List.of("index", "name", "type", "repr", "input_shape", "output_shape", "params")) assertEquals(wl.get(i).get(k), gl.get(i).get(k), i + " " + k);
        }
    }

    @Test
    void shapesTableExplainAndTrace(@TempDir Path dir) throws Exception {
        Result r = run("shapes", "--explain", "--trace", "--input", "N,1,28,28");
        assertEquals(0, r.status, r.err);
        assertTrue(r.out.contains("= ⌊(28 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 28"), r.out);
        assertTrue(r.out.contains("(N, 1, 6272)"), r.out);
        assertTrue(r.out.contains("After deconv: torch.Size([2, 32, 14, 14])"), r.out);
        assertTrue(r.out.contains("all 14 layers agree with the shape rules"), r.out);
        assertTrue(r.out.contains("input (N, 1, 28, 28) → output (N, 10), 896,618 parameters"), r.out);
    }

    @Test
    void shapeErrorsExitOneWithOneMessage(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("bad.spec");
        Files.writeString(spec, "input: (N, 64, 7, 7)\nFlatten()\nrnn = RNN(6272, 128, batch_first=True)\n");
        Result r = run("shapes", "--spec", spec.toString());
        assertEquals(1, r.status);
        assertEquals("deepshape shapes: layer 1 (rnn) RNN(6272, 128, batch_first=True): expected input of shape (N, L, 6272), got (N, 3136); hint: PyTorch reads a 2-D input as one unbatched sequence of N steps, but dimension 0 is the batch; add Unsqueeze(1) before RNN to make it a batch of length-1 sequences (N, 1, 3136)",
                r.err.strip());
        Files.writeString(spec, "input: (N, 1, 28, 28)\nconv = Conv2d(1, 8, 3,, padding=1)\n");
        Result syntax = run("summary", "--spec", spec.toString());
        assertEquals(1, syntax.status);
        assertTrue(syntax.err.strip().startsWith("deepshape summary: " + spec + ":2:23: expected a value"), syntax.err);
        assertEquals(1, syntax.err.strip().lines().count());
    }

    @Test
    void badFlagsExitTwo() {
        assertEquals(2, run("shapes", "--input", "64,x").status);
        assertEquals(2, run("summary", "--columns", "output,flops").status);
        assertEquals(2, run("summary", "--model", "resnet").status);
        assertEquals(2, run("shapes", "--bogus").status);
        assertEquals(2, run("summary", "--depth", "-1").status);
    }

    @Test
    void summaryOfTheReferenceModel() {
        Result r = run("summary", "--model", "combined", "--input", "64,1,28,28");
        assertEquals(0, r.status, r.err);
        assertTrue(r.out.contains("├─ConvTranspose2d: 1-5                   [64, 32, 14, 14]          8,224"), r.out);
        for (String line : List.of("Total params: 896,618", "Input size (MB): 0.20", "Forward/backward pass size (MB): 22.60", "Params size (MB): 3.59",
                "Estimated Total Size (MB): 26.39", "Total mult-adds (M): 329.81", "Mult-adds as torchinfo 1.8 counts them (M): 406.88")) {
            assertTrue(r.out.contains(line), line + "\n" + r.out);
        }
        Result json = run("summary", "--json");
        assertEquals(0, json.status, json.err);
        @SuppressWarnings("unchecked") Map<String, Object> m = (Map<String, Object>) Json.parse(json.out.strip());
        assertEquals(896_618L, ((Number) m.get("total_params")).longValue());
        assertEquals(406_884_992L, ((Number) m.get("torchinfo_mult_adds")).longValue());
        assertEquals(22_598_656L, ((Number) m.get("forward_backward_pass_size_bytes")).longValue());
    }
}
