"""checkpoint: same derivatives, one tape entry, lower peak memory."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.trace import active_traces

RNG = np.random.default_rng(1)


def block(x, w):
    return tnp.tanh(x * w + 0.1) * tnp.cos(x)


def net(x, w, remat: bool):
    f = tp.checkpoint(block) if remat else block
    for _ in range(3):
        x = f(x, w)
    return tnp.sum(x**2)


def test_same_gradients_first_and_second_order() -> None:
    x, w = RNG.standard_normal(4), RNG.standard_normal(4)
    for argnums in (0, 1, (0, 1)):
        got = tp.grad(net, argnums)(x, w, True)
        want = tp.grad(net, argnums)(x, w, False)
        for g, h in zip(np.atleast_1d(got), np.atleast_1d(want), strict=True):
            np.testing.assert_allclose(g, h, rtol=1e-12)
    np.testing.assert_allclose(
        tp.hessian(net)(x, w, True), tp.hessian(net)(x, w, False), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        tp.jacrev(tp.jacrev(net))(x, w, True), tp.hessian(net)(x, w, False), rtol=1e-10, atol=1e-12
    )
    s = lambda r: lambda x: tnp.sum(tp.grad(net)(x, w, r) * x)  # noqa: E731
    np.testing.assert_allclose(tp.grad(s(True))(x), tp.grad(s(False))(x), rtol=1e-10)
    assert float(tp.grad(tp.grad(lambda x: net(x, 0.3, True)))(0.2)) == pytest.approx(
        float(tp.grad(tp.grad(lambda x: net(x, 0.3, False)))(0.2)), rel=1e-12
    )
    tp.check_grads(lambda x: net(x, w, True), (x,), order=2, modes=("fwd", "rev"))


def test_one_tape_entry_and_recomputation_in_each_backward_pass() -> None:
    calls = []

    def inner(p, n):
        calls.append(n)
        y = p["a"]
        for _ in range(n):
            y = tnp.sin(y) * p["b"]
        return y

    f = tp.checkpoint(inner)
    sizes = []

    def loss(p):
        tape = active_traces()[-1]
        before = len(tape.records)
        y = f(p, 5)  # the int argument is passed through untouched
        sizes.append(len(tape.records) - before)
        return tnp.sum(y)

    p = {"a": RNG.standard_normal(3), "b": RNG.standard_normal(3)}
    out, f_vjp = tp.vjp(loss, p)
    assert sizes == [2]  # the call entry and its one output: none of the 10 inner operations
    assert calls == [5]
    first = f_vjp(1.0)[0]
    second = f_vjp(1.0)[0]
    assert calls == [5, 5, 5]  # each pull-back re-runs the block
    want = tp.grad(lambda p: tnp.sum(inner(p, 5)))(p)
    for k in p:
        np.testing.assert_allclose(first[k], want[k], rtol=1e-12)
        np.testing.assert_array_equal(first[k], second[k])


def test_other_transforms_just_run_the_function() -> None:
    x = RNG.standard_normal(3)
    f = tp.checkpoint(lambda x: tnp.sin(x) * x)
    np.testing.assert_allclose(f(x), np.sin(x) * x)
    _, t = tp.jvp(f, (x,), (np.ones(3),))
    np.testing.assert_allclose(t, np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(tp.jacfwd(f)(x), np.diag(np.cos(x) * x + np.sin(x)))


def test_exception_inside_checkpoint_leaves_nothing_behind() -> None:
    def bad(x):
        raise FloatingPointError("boom")

    with pytest.raises(FloatingPointError):
        tp.grad(lambda x: tp.checkpoint(bad)(x * 2.0))(1.0)
    assert active_traces() == ()
    # the error during the backward pass (recomputation) is also clean
    state = {"fail": False}

    def flaky(x):
        if state["fail"]:
            raise FloatingPointError("recompute failed")
        return tnp.sin(x)

    out, f_vjp = tp.vjp(tp.checkpoint(flaky), 1.0)
    state["fail"] = True
    with pytest.raises(FloatingPointError):
        f_vjp(1.0)
    assert active_traces() == ()


def _peak_bytes(fun, *args) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fun(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_checkpoint_lowers_peak_memory_on_a_deep_chain() -> None:
    n, depth, per_block = 20_000, 72, 6  # 160 kB per intermediate array

    def layers(x):
        for _ in range(per_block):
            x = tnp.tanh(x * 1.01 + 0.1)
        return x

    def deep(x, remat):
        f = tp.checkpoint(layers) if remat else layers
        for _ in range(depth // per_block):
            x = f(x)
        return tnp.sum(x)

    x = RNG.standard_normal(n)
    g_plain = tp.grad(deep)(x, False)
    g_remat = tp.grad(deep)(x, True)
    np.testing.assert_allclose(g_remat, g_plain, rtol=1e-12)
    plain = _peak_bytes(tp.grad(deep), x, False)
    remat = _peak_bytes(tp.grad(deep), x, True)
    array_bytes = n * 8
    # Without checkpointing the tape keeps each layer's tanh output (the product's
    # input and tanh's answer; the sum keeps only shapes): ~72 arrays.
    assert plain > 60 * array_bytes, plain / array_bytes
    # With it: 12 block boundaries plus one block's intermediates during its replay.
    assert remat < 0.4 * plain, (remat / array_bytes, plain / array_bytes)


def test_closure_over_a_differentiated_value_warns_and_stays_correct() -> None:
    w, x = RNG.standard_normal(3), RNG.standard_normal(3)

    def loss(w, x, remat):
        f = lambda h: tnp.tanh(h * w)
        f = tp.checkpoint(f) if remat else f
        return tnp.sum(f(f(x)))

    with pytest.warns(UserWarning, match="closure.*no memory is saved"):
        got = tp.grad(loss, argnums=(0, 1))(w, x, True)
    want = tp.grad(loss, argnums=(0, 1))(w, x, False)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_checkpoint_composes_with_vmap() -> None:
    xs = RNG.standard_normal((4, 3))
    w = RNG.standard_normal(3)
    per_example = tp.vmap(tp.grad(lambda x: net(x, w, True)))(xs)
    want = np.stack([tp.grad(lambda x: net(x, w, False))(x) for x in xs])
    np.testing.assert_allclose(per_example, want, rtol=1e-12)
    batched = tp.grad(lambda w: tnp.sum(tp.vmap(lambda x: net(x, w, True))(xs)))(w)
    want = tp.grad(lambda w: tnp.sum(tp.vmap(lambda x: net(x, w, False))(xs)))(w)
    np.testing.assert_allclose(batched, want, rtol=1e-12)


def test_cotangent_widened_by_a_careless_rule_is_cast_back_for_the_recomputation():
    # np.float64 * float32 array is float64 (NEP 50): the cotangent reaching the checkpointed
    # block is float64 for a float32 output; the block's own vjp_fn refuses that, so
    # checkpoint casts it back, as the tape does everywhere else.
    widen = tp.primitive(lambda a: a * 1, name="test_checkpoint_widening_rule")
    tp.defvjp(widen, lambda ans, a: lambda g: np.float64(3.0) * g)
    block = tp.checkpoint(lambda u: tnp.sin(u))
    g = tp.grad(lambda v: tnp.sum(widen(block(v))))(np.ones(2, np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 3 * np.cos(1.0) * np.ones(2), rtol=1e-6)
