package dev.deepshape.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The step arena: plain arrays outside a scope, reuse only after a scope closes, always zero-filled. */
class BuffersTest {
    @AfterEach
    void drop() { Buffers.release(); }

    @Test
    void outsideAScopeEveryArrayIsNew() {
        assertFalse(Buffers.inScope());
        float[] a = Buffers.zeros(16);
        float[] b = Buffers.zeros(16);
        assertNotSame(a, b);
        assertFalse(Buffers.handedOut(a));
        try (Buffers.Scope s = Buffers.step()) {
            assertFalse(Buffers.handedOut(a), "an array from outside the scope is not the scope's");
        }
        assertNotSame(a, Buffers.zeros(16));
    }

    @Test
    void arraysAreReusedOnlyAfterTheScopeCloses() {
        float[] first, second;
        try (Buffers.Scope s = Buffers.step()) {
            first = Buffers.zeros(16);
            second = Buffers.zeros(16);
            assertNotSame(first, second, "two arrays of one scope are never the same");
            assertTrue(Buffers.handedOut(first));
            assertFalse(Buffers.handedOut(new float[16]));
        }
        assertFalse(Buffers.handedOut(first), "nothing is handed out once the scope closed");
        try (Buffers.Scope s = Buffers.step()) {
            float[] a = Buffers.zeros(16), b = Buffers.zeros(16), c = Buffers.zeros(16);
            assertTrue((a == first || a == second) && (b == first || b == second) && a != b, "the next scope reuses both");
            assertTrue(c != first && c != second, "a third array is new");
            float[] other = Buffers.zeros(17);
            assertEquals(17, other.length, "arrays are pooled by exact length");
        }
    }

    @Test
    void reusedArraysAreZeroFilled() {
        try (Buffers.Scope s = Buffers.step()) {
            float[] a = Buffers.zeros(8);
            java.util.Arrays.fill(a, 3f);
        }
        try (Buffers.Scope s = Buffers.step()) {
            assertArrayEquals(new float[8], Buffers.zeros(8));
        }
        assertEquals(1, Buffers.counts()[0], "one array was reused");
        assertEquals(1, Buffers.counts()[1], "one array was allocated");
    }

    @Test
    void aNestedScopeBelongsToTheOuterOne() {
        float[] inner;
        try (Buffers.Scope outer = Buffers.step()) {
            try (Buffers.Scope nested = Buffers.step()) {
                inner = Buffers.zeros(4);
            }
            assertTrue(Buffers.inScope(), "closing the nested scope leaves the outer one open");
            assertTrue(Buffers.handedOut(inner), "the nested scope's array is still in use");
            assertNotSame(inner, Buffers.zeros(4));
        }
        assertFalse(Buffers.inScope());
    }

    @Test
    void closingTwiceDoesNotEndALaterScope() {
        Buffers.Scope first = Buffers.step();
        first.close();
        try (Buffers.Scope second = Buffers.step()) {
            float[] a = Buffers.zeros(4);
            first.close();
            assertTrue(Buffers.inScope());
            assertTrue(Buffers.handedOut(a));
        }
    }

    @Test
    void otherThreadsGetPlainArrays() throws Exception {
        try (Buffers.Scope s = Buffers.step()) {
            float[] fromOther = CompletableFuture.supplyAsync(() -> {
                assertFalse(Buffers.inScope());
                return Buffers.zeros(8);
            }).get();
            assertFalse(Buffers.handedOut(fromOther));
        }
    }

    @Test
    void releaseInsideAScopeFails() {
        try (Buffers.Scope s = Buffers.step()) {
            assertThrows(IllegalStateException.class, Buffers::release);
        }
        Buffers.release();
        assertArrayEquals(new long[2], Buffers.counts());
    }

    @Test
    void aReleasedPoolStartsOver() {
        float[] a;
        try (Buffers.Scope s = Buffers.step()) {
            a = Buffers.zeros(8);
        }
        Buffers.release();
        try (Buffers.Scope s = Buffers.step()) {
            assertNotSame(a, Buffers.zeros(8));
        }
        try (Buffers.Scope s = Buffers.step()) {
            assertEquals(8, Buffers.zeros(8).length);
        }
    }
    @Test
    void aLeafDetachedFromTheStepTakesItsGradientFromThePoolAParameterDoesNot() {
        Rng.manualSeed(3);
        dev.deepshape.nn.Conv2d conv = new dev.deepshape.nn.Conv2d(2, 3, 3, 1, 1);
        Tensor weight = conv.localParameters().get("weight");
        Tensor x = Tensor.randn(new Rng(4), 2, 2, 5, 5);
        float[] detachedGrad;
        try (Buffers.Scope ignored = Buffers.step()) {
            Tensor y = conv.forward(x);
            Tensor leaf = y.detach().requiresGrad(true); // its storage is the step's: it ends with the step
            assertTrue(Buffers.handedOut(leaf.storage()));
            Tensor out = new dev.deepshape.nn.Conv2d(3, 2, 3, 1, 1).forward(leaf); // its input gradient: fresh, from the pool
            out.backward(Tensor.ones(out.shape()));
            detachedGrad = leaf.gradForUpdate().data();
            assertTrue(Buffers.handedOut(detachedGrad), "adopted from the pool, not copied");
            y.backward(leaf.gradForUpdate());
            assertFalse(Buffers.handedOut(weight.gradForUpdate().data()), "a parameter's gradient outlives the step");
        }
    }
}
