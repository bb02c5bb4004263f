"""Every control-flow row of ``cases.ROWS`` in every transform combination, against the
same computation written as a Python loop, at float64 and float32; and against finite
differences (``tp.check_grads``, second order at float64) under each wrapper."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tests.lax.cases import ROWS, Row

DTYPES = (np.float64, np.float32)


class Setup:
    """The inputs of one row at one dtype: ``x``, a batch ``xs`` of it, a tangent ``v``,
    the output weights ``u`` of the scalar loss, and the row's fixed ``data``."""

    def __init__(self, row: Row, dtype: Any) -> None:
        rng = np.random.default_rng(abs(hash(row.name)) % 2**32)
        self.dtype = dtype
        cast = lambda a: np.asarray(a).astype(dtype)  # noqa: E731
        self.x = cast(row.x_domain(rng.standard_normal(row.x_shape)))
        self.xs = cast(row.x_domain(rng.standard_normal((3,) + row.x_shape)))
        self.v = cast(rng.standard_normal(row.x_shape))
        data = row.data(rng)
        if isinstance(data, dict):
            self.data = {k: cast(d) for k, d in data.items()}
        elif data is None or np.issubdtype(np.asarray(data).dtype, np.integer):
            self.data = data
        else:
            self.data = cast(data)
        out_shape = np.shape(row.python(self.x, self.data))
        self.u = cast(rng.standard_normal(out_shape))

    def loss(self, f: Callable[..., Any]) -> Callable[..., Any]:
        return lambda x, d: tnp.sum(f(x, d) * self.u)


def _stack(values: list[Any]) -> Any:
    return tp.tree_util.tree_map(lambda *v: np.stack(v), *values)


# Each combination: (name, run on the lax function, run on the Python-loop reference).
# The references use only eager transforms and a loop over the batch instead of vmap.
def _combos() -> list[tuple[str, Callable, Callable]]:
    def eager(s, f):
        return f(s.x, s.data)

    def grad(s, f):
        return tp.grad(s.loss(f))(s.x, s.data)

    def jvp(s, f):
        return tp.jvp(lambda x: f(x, s.data), (s.x,), (s.v,))

    def vmap(s, f):
        return tp.vmap(f, in_axes=(0, None))(s.xs, s.data)

    def loop(s, f):
        return _stack([f(x, s.data) for x in s.xs])

    def jit(s, f):
        return tp.jit(f)(s.x, s.data)

    def checkpoint(s, f):
        return tp.grad(s.loss(tp.checkpoint(f)))(s.x, s.data)

    def grad_grad(s, f):
        return tp.grad(lambda x: tnp.sum(tp.grad(s.loss(f))(x, s.data) * s.v))(s.x)

    def jvp_grad(s, f):
        return tp.jvp(lambda x: tp.grad(s.loss(f))(x, s.data), (s.x,), (s.v,))[1]

    def grad_jvp(s, f):
        tangent = lambda x: tp.jvp(lambda y: f(y, s.data), (x,), (s.v,))[1]  # noqa: E731
        return tp.grad(lambda x: tnp.sum(tangent(x) * s.u))(s.x)

    def vmap_grad(s, f):
        return tp.vmap(tp.grad(s.loss(f)), in_axes=(0, None))(s.xs, s.data)

    def loop_grad(s, f):
        return _stack([tp.grad(s.loss(f))(x, s.data) for x in s.xs])

    def grad_vmap(s, f):
        batched = tp.vmap(f, in_axes=(0, None))
        return tp.grad(lambda xs: tnp.sum(batched(xs, s.data) * s.u))(s.xs)

    def jit_grad(s, f):
        return tp.jit(tp.grad(s.loss(f)))(s.x, s.data)

    def grad_jit(s, f):
        return tp.grad(s.loss(tp.jit(f)))(s.x, s.data)

    def jit_vmap(s, f):
        return tp.jit(tp.vmap(f, in_axes=(0, None)))(s.xs, s.data)

    def jit_jvp(s, f):
        return tp.jit(lambda x, d: tp.jvp(lambda y: f(y, d), (x,), (s.v,)))(s.x, s.data)

    def jit_grad_grad(s, f):
        hvp = lambda x, d: tp.grad(lambda y: tnp.sum(tp.grad(s.loss(f))(y, d) * s.v))(x)  # noqa: E731
        return tp.jit(hvp)(s.x, s.data)

    def jit_vmap_grad(s, f):
        return tp.jit(tp.vmap(tp.grad(s.loss(f)), in_axes=(0, None)))(s.xs, s.data)

    return [
        ("eager", eager, eager),
        ("grad", grad, grad),
        ("jvp", jvp, jvp),
        ("vmap", vmap, loop),
        ("jit", jit, eager),
        ("checkpoint", checkpoint, grad),
        ("grad-grad", grad_grad, grad_grad),
        ("jvp-grad", jvp_grad, grad_grad),
        ("grad-jvp", grad_jvp, grad_grad),
        ("vmap-grad", vmap_grad, loop_grad),
        ("grad-vmap", grad_vmap, loop_grad),
        ("jit-grad", jit_grad, grad),
        ("grad-jit", grad_jit, grad),
        ("jit-vmap", jit_vmap, loop),
        ("jit-jvp", jit_jvp, jvp),
        ("jit-grad-grad", jit_grad_grad, grad_grad),
        ("jit-vmap-grad", jit_vmap_grad, loop_grad),
    ]


COMBOS = _combos()
# Under tp.jit a while_loop whose trip count depends on the values is differentiated in
# reverse mode once (its iterations are recorded when the program runs); these combine
# that derivative with a further transform inside the same jit.
RECORDED_ONLY_ONCE = {"jit-grad-grad", "jit-vmap-grad"}


def _tolerance(dtype: Any) -> dict[str, float]:
    return {"rtol": 1e-9, "atol": 1e-10} if dtype == np.float64 else {"rtol": 2e-4, "atol": 2e-5}


def _assert_close(got: Any, want: Any, dtype: Any) -> None:
    got_leaves, got_tree = tp.tree_util.tree_flatten(got)
    want_leaves, want_tree = tp.tree_util.tree_flatten(want)
    assert got_tree == want_tree, f"structure {got_tree} != {want_tree}"
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert np.shape(g) == np.shape(w)
        assert np.result_type(g) == np.result_type(w), (np.result_type(g), np.result_type(w))
        np.testing.assert_allclose(g, w, **_tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("combo", COMBOS, ids=[c[0] for c in COMBOS])
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_combination_matches_the_python_loop(row: Row, combo: Any, dtype: Any) -> None:
    name, run, run_reference = combo
    s = Setup(row, dtype)
    if name in RECORDED_ONLY_ONCE and not row.second_order_under_jit:
        with pytest.raises(NotImplementedError, match="differentiates it once in reverse mode"):
            run(s, row.fun)
        return
    _assert_close(run(s, row.fun), run_reference(s, row.python), dtype)


def _wrappers() -> list[tuple[str, Callable]]:
    return [
        ("plain", lambda row, d: lambda x: row.fun(x, d)),
        ("jit", lambda row, d: lambda x: tp.jit(row.fun)(x, d)),
        ("vmap", lambda row, d: lambda xs: tp.vmap(row.fun, in_axes=(0, None))(xs, d)),
        ("checkpoint", lambda row, d: lambda x: tp.checkpoint(row.fun)(x, d)),
    ]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("wrapper", _wrappers(), ids=[w[0] for w in _wrappers()])
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_against_finite_differences(row: Row, wrapper: Any, dtype: Any) -> None:
    name, wrap = wrapper
    s = Setup(row, dtype)
    fun = wrap(row, s.data)
    x = s.xs if name == "vmap" else s.x
    order = 2 if dtype == np.float64 else 1
    tp.check_grads(fun, (x,), order=order, modes=("rev", "fwd"))


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_compiled_gradient_against_finite_differences(row: Row) -> None:
    """The gradient that tp.jit compiles (its loops run inside the generated program)
    against central differences of the function itself."""
    s = Setup(row, np.float64)
    loss = s.loss(row.fun)
    compiled = tp.jit(tp.grad(loss))(s.x, s.data)
    eps = 1e-6
    numeric = (loss(s.x + eps * s.v, s.data) - loss(s.x - eps * s.v, s.data)) / (2 * eps)
    np.testing.assert_allclose(np.sum(compiled * s.v), numeric, rtol=1e-6, atol=1e-8)
