"""tapeflow.lax against JAX's documented semantics: signatures, pytrees, edge cases, and
what tracing a loop once means (one copy of the body, residuals kept per iteration)."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import lax
from tapeflow.core.trace import active_traces
from tapeflow.lax.derive import split_vjp
from tapeflow.lax.program import trace_program


def test_scan_returns_the_final_carry_and_the_stacked_outputs() -> None:
    carry, ys = lax.scan(lambda c, x: (c + x, (c, x * 2)), 0.0, np.arange(4.0))
    assert carry == 6.0
    np.testing.assert_array_equal(ys[0], [0.0, 0.0, 1.0, 3.0])
    np.testing.assert_array_equal(ys[1], [0.0, 2.0, 4.0, 6.0])


def test_scan_without_xs_loops_length_times() -> None:
    carry, ys = lax.scan(lambda c, _: (c * 2, c), 1.0, None, length=5)
    assert carry == 32.0
    np.testing.assert_array_equal(ys, [1.0, 2.0, 4.0, 8.0, 16.0])


def test_scan_reverse_runs_from_the_end_and_keeps_the_order_of_ys() -> None:
    carry, ys = lax.scan(lambda c, x: (c * 10 + x, c), 0, np.array([1, 2, 3]), reverse=True)
    assert carry == 321
    np.testing.assert_array_equal(ys, [32, 3, 0])


def test_scan_of_length_zero_returns_the_initial_carry_and_empty_outputs() -> None:
    carry, ys = lax.scan(lambda c, x: (c + x, x * c), np.ones(2), np.zeros((0, 2)))
    np.testing.assert_array_equal(carry, np.ones(2))
    assert ys.shape == (0, 2)
    g = tp.grad(lambda c: tnp.sum(lax.scan(lambda c, x: (c * x, None), c, np.zeros((0, 2)))[0]))
    np.testing.assert_array_equal(g(np.ones(2)), np.ones(2))


def test_scan_carries_pytrees_and_accepts_unroll() -> None:
    def step(c, x):
        return {"a": c["a"] + x["p"], "b": (c["b"][0] * x["q"],)}, None

    xs = {"p": np.ones((3, 2)), "q": np.full(3, 2.0)}
    out, ys = lax.scan(step, {"a": np.zeros(2), "b": (1.0,)}, xs, unroll=2)
    assert ys is None
    np.testing.assert_array_equal(out["a"], [3.0, 3.0])
    assert out["b"][0] == 8.0


def test_fori_loop_with_static_and_traced_bounds() -> None:
    assert lax.fori_loop(0, 5, lambda i, t: t + i, 0) == 10
    assert lax.fori_loop(5, 2, lambda i, t: t + i, 7) == 7  # no iteration
    f = tp.jit(lambda n: lax.fori_loop(0, n, lambda i, t: t + i, np.int64(0)))
    assert f(np.int64(5)) == 10 and f(np.int64(7)) == 21
    assert f.trace_count == 1


def test_switch_clamps_the_index_as_jax_does() -> None:
    branches = [lambda x: x - 1.0, lambda x: x * 10.0]
    assert lax.switch(-3, branches, 2.0) == 1.0
    assert lax.switch(7, branches, 2.0) == 20.0
    f = tp.jit(lambda i, x: lax.switch(i, branches, x))
    assert f(np.int64(9), 2.0) == 20.0 and f(np.int64(-1), 2.0) == 1.0


def test_cond_takes_any_number_of_operands_and_pytrees() -> None:
    out = lax.cond(
        True, lambda a, b: (a["x"] + b, b), lambda a, b: (a["x"] - b, -b), {"x": np.ones(2)}, 3.0
    )
    np.testing.assert_array_equal(out[0], [4.0, 4.0])
    assert lax.cond(False, lambda: 1.0, lambda: 2.0) == 2.0


def test_while_loop_under_vmap_with_a_batched_predicate_stops_each_example_on_its_own() -> None:
    def count_doublings(x):
        return lax.while_loop(lambda c: c[0] < 100.0, lambda c: (c[0] * 2.0, c[1] + 1), (x, 0))

    xs = np.array([1.0, 30.0, 200.0])
    values, counts = tp.vmap(count_doublings)(xs)
    np.testing.assert_array_equal(counts, [7, 2, 0])
    np.testing.assert_array_equal(values, [128.0, 120.0, 200.0])


def test_cond_under_vmap_with_a_batched_predicate_takes_each_examples_branch() -> None:
    # (both branches run on every example: each must be safe on all of them)
    f = lambda x: lax.cond(x > 0, lambda x: tnp.sqrt(tnp.abs(x)), lambda x: x * x, x)  # noqa: E731
    xs = np.array([4.0, -3.0, 9.0])
    np.testing.assert_array_equal(tp.vmap(f)(xs), [2.0, 9.0, 3.0])
    np.testing.assert_allclose(tp.vmap(tp.grad(f))(xs), [0.25, -6.0, 1.0 / 6.0])


def test_select_and_select_n() -> None:
    np.testing.assert_array_equal(
        lax.select(np.array([True, False]), np.ones(2), np.zeros(2)), [1.0, 0.0]
    )
    np.testing.assert_array_equal(
        lax.select_n(np.array([2, 0]), np.zeros(2), np.ones(2), np.full(2, 5.0)), [5.0, 0.0]
    )
    g = tp.grad(lambda a: tnp.sum(lax.select(np.array([True, False]), a * 3.0, a)))(np.ones(2))
    np.testing.assert_array_equal(g, [3.0, 1.0])


def test_stop_gradient_is_reexported() -> None:
    assert lax.stop_gradient is tp.stop_gradient


def test_a_jitted_fori_loop_of_100000_steps_traces_the_body_once() -> None:
    calls = []

    def body(i, v):
        calls.append(i)
        return tnp.sin(v) * 0.5 + 1.0

    f = tp.jit(lambda x: lax.fori_loop(0, 100_000, body, x))
    source = f.lower(np.ones(3))
    assert len(calls) == 1  # one trace of the body for 100,000 iterations
    assert len(source.splitlines()) < 10, source  # the program calls the loop once
    x = np.ones(3)
    for _ in range(3):
        x = np.sin(x) * 0.5 + 1.0
    np.testing.assert_allclose(tp.jit(lambda x: lax.fori_loop(0, 3, body, x))(np.ones(3)), x)


def test_reverse_mode_stacks_residuals_and_checkpoint_trades_them_for_recomputation() -> None:
    w = np.array([0.5, -0.3])

    def cell(h, x):
        return tnp.tanh(tnp.sin(h * w + x) * 2.0 + tnp.cos(x))

    def residuals(body):
        traced = trace_program(body, [np.zeros(2), np.zeros(2)], "body")
        split = split_vjp(traced.program, (True, True), frozenset({0}), [np.zeros(2)] * 2)
        return split.n_stacked

    plain = residuals(lambda h, x: [cell(h, x)])
    checkpointed = residuals(lambda h, x: [tp.checkpoint(cell)(h, x)])
    assert checkpointed == 1  # the carry alone: the inside is computed again
    assert plain > checkpointed


def test_an_exception_in_a_body_leaves_no_trace_behind() -> None:
    def bad(c, x):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        tp.grad(lambda w: lax.scan(bad, w, np.ones(3))[0])(1.0)
    assert active_traces() == ()


def test_a_while_loop_inside_a_scan_body_is_differentiated_once() -> None:
    def f(w, xs):
        def body(c, x):
            grow = lambda v: v * 1.5 + w * 0.1  # noqa: E731
            v = lax.while_loop(lambda v: tnp.sum(v * v) < 4.0 + x, grow, c)
            return v * 0.1, None

        return tnp.sum(lax.scan(body, w, xs)[0])

    def reference(w, xs):
        c = w
        for x in xs:
            v = c
            while np.sum(tp.tracer.unwrap(v) ** 2) < 4.0 + x:
                v = v * 1.5 + w * 0.1
            c = v * 0.1
        return tnp.sum(c)

    w, xs = np.array([0.3, 0.4]), np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(tp.grad(f)(w, xs), tp.grad(reference)(w, xs), rtol=1e-12)
    np.testing.assert_allclose(tp.jit(tp.grad(f))(w, xs), tp.grad(reference)(w, xs), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="inside the body of another"):
        tp.hessian(f)(w, xs)
    assert active_traces() == ()
