"""The control-flow table: one row per loop or branch, each with the same computation
written as a plain Python loop (the reference every transform is compared with)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import lax


@dataclass
class Row:
    """``fun(x, data)`` with ``lax`` control flow and ``python(x, data)`` the same with
    Python control flow; ``x`` is differentiated, ``data`` is fixed. ``x_shape`` is the
    shape of one example of ``x``; ``second_order_under_jit`` is False for the loops that
    ``tp.jit`` differentiates once only (``while_loop`` with a value-dependent count)."""

    name: str
    fun: Callable[[Any, Any], Any]
    python: Callable[[Any, Any], Any]
    x_shape: tuple[int, ...]
    data: Callable[[np.random.Generator], Any]
    covers: tuple[str, ...]
    second_order_under_jit: bool = True
    x_domain: Callable[[np.ndarray], np.ndarray] = lambda z: z


def _cell(h, x, w):
    return tnp.tanh(h * w + x)


# ----- scan ------------------------------------------------------------------------
def scan_rnn(w, xs):
    def step(h, x):
        h = _cell(h, x, w)
        return h, tnp.sin(h) * x

    h, ys = lax.scan(step, w * 0.5, xs)
    return h + tnp.sum(ys, axis=0)


def scan_rnn_py(w, xs):
    h, ys = w * 0.5, []
    for x in xs:
        h = _cell(h, x, w)
        ys.append(tnp.sin(h) * x)
    return h + tnp.sum(tnp.stack(ys), axis=0)


def scan_pytree_reverse(w, xs):
    def step(carry, x):
        a, (b, n) = carry
        a = a * 0.8 + tnp.cos(x["u"] * w) * b
        b = b + x["v"] * a
        return (a, (b, n + 1)), {"out": a * b}

    init = (w, (tnp.ones_like(w), 0))
    (a, (b, n)), ys = lax.scan(step, init, xs, reverse=True)
    return a + b + tnp.sum(ys["out"], axis=0)


def scan_pytree_reverse_py(w, xs):
    a, b, outs = w, tnp.ones_like(w), []
    for t in reversed(range(len(xs["u"]))):
        a = a * 0.8 + tnp.cos(xs["u"][t] * w) * b
        b = b + xs["v"][t] * a
        outs.append(a * b)
    return a + b + tnp.sum(tnp.stack(outs), axis=0)


def scan_nested(w, xs):
    def inner(c, x):
        return c * tnp.tanh(x + w) + 0.1, None

    def outer(c, row):
        c2, _ = lax.scan(inner, c, row)
        return c2 * 0.9, tnp.sum(c2)

    c, ys = lax.scan(outer, w, xs)
    return c + tnp.sum(ys)


def scan_nested_py(w, xs):
    c, ys = w, []
    for row in xs:
        c2 = c
        for x in row:
            c2 = c2 * tnp.tanh(x + w) + 0.1
        c = c2 * 0.9
        ys.append(tnp.sum(c2))
    return c + tnp.sum(tnp.stack(ys))


def scan_checkpointed(w, xs):
    cell = tp.checkpoint(lambda h, x: _cell(h, x, w) * tnp.exp(-(x**2)))
    return lax.scan(lambda h, x: (cell(h, x), None), w, xs)[0]


def scan_checkpointed_py(w, xs):
    h = w
    for x in xs:
        h = _cell(h, x, w) * tnp.exp(-(x**2))
    return h


def lax_map(w, xs):
    return lax.map(lambda x: tnp.sum(tnp.sin(x * w)), xs)


def lax_map_py(w, xs):
    return tnp.stack([tnp.sum(tnp.sin(x * w)) for x in xs])


def lax_map_batched(w, xs):
    return lax.map(lambda x: tnp.sum(tnp.sin(x * w)), xs, batch_size=2)


# ----- fori_loop and while_loop ------------------------------------------------------
def fori_static(w, data):
    # (the index is an int64 array: cast it, or numpy promotes float32 to float64)
    return lax.fori_loop(1, 5, lambda i, v: tnp.sin(v) * w + v / tnp.asarray(i, v.dtype), w * data)


def fori_static_py(w, data):
    v = w * data
    for i in range(1, 5):
        v = tnp.sin(v) * w + v / tnp.asarray(i, v.dtype)
    return v


def fori_traced_bounds(w, data):
    upper = tnp.asarray(data).astype(np.int64)  # a traced bound inside jit and vmap
    return lax.fori_loop(0, upper, lambda i, v: v * tnp.cos(w) + 0.1 * tnp.asarray(i, v.dtype), w)


def fori_traced_bounds_py(w, data):
    v = w
    for i in range(int(data)):
        v = v * tnp.cos(w) + 0.1 * tnp.asarray(i, v.dtype)
    return v


def _grow(v, w):
    return v * 1.3 + 0.2 * tnp.sin(v * w)


def while_count(w, limit):
    """A trip count decided by the values (each example its own under vmap)."""
    return lax.while_loop(lambda v: tnp.sum(v * v) < limit, lambda v: _grow(v, w), w)


def while_count_py(w, limit):
    v = w
    while np.sum(tp.tracer.unwrap(v) ** 2) < limit:
        v = _grow(v, w)
    return v


def newton_sqrt(a, data):
    def body(c):
        x, i = c
        return x - (x * x - a) / (2 * x), i + 1

    def going(c):
        x, i = c
        return (tnp.max(tnp.abs(x * x - a) / a) > 1e-6) & (i < 50)

    return lax.while_loop(going, body, (a + 1.0, 0))[0]


def newton_sqrt_py(a, data):
    x, i = a + 1.0, 0
    while np.max(np.abs(tp.tracer.unwrap((x * x - a) / a))) > 1e-6 and i < 50:
        x, i = x - (x * x - a) / (2 * x), i + 1
    return x


# ----- cond and switch ---------------------------------------------------------------
def cond_in_scan(w, xs):
    def step(h, x):
        h = lax.cond(tnp.sum(x) > 0, lambda h: tnp.sin(h * w) + x, lambda h: h * x - w, h)
        return h, h

    return tnp.sum(lax.scan(step, w, xs)[1], axis=0)


def cond_in_scan_py(w, xs):
    h, ys = w, []
    for x in xs:
        h = tnp.sin(h * w) + x if np.sum(x) > 0 else h * x - w
        ys.append(h)
    return tnp.sum(tnp.stack(ys), axis=0)


def cond_on_x(w, data):
    """The branch depends on the differentiated value (batched predicate under vmap)."""
    return lax.cond(tnp.sum(w) > 0, lambda a, b: tnp.sin(a) * b, lambda a, b: a * a - b, w, data)


def cond_on_x_py(w, data):
    return tnp.sin(w) * data if np.sum(tp.tracer.unwrap(w)) > 0 else w * w - data


def switch_on_x(w, data):
    index = tnp.where(tnp.sum(w) > 1.0, 2, tnp.where(tnp.sum(w) > -1.0, 1, 0))
    branches = [lambda a: tnp.exp(a * 0.3), lambda a: a * data, lambda a: tnp.cos(a) + data]
    return lax.switch(index, branches, w)


def switch_on_x_py(w, data):
    s = np.sum(tp.tracer.unwrap(w))
    if s > 1.0:
        return tnp.cos(w) + data
    if s > -1.0:
        return w * data
    return tnp.exp(w * 0.3)


def _linear_recurrence(first, second):
    """(a1, b1) then (a2, b2): h -> a2 (a1 h + b1) + b2, associative."""
    return first[0] * second[0], first[1] * second[0] + second[1]


def assoc(w, data):
    a, b = tnp.tanh(tnp.outer(data, w)), tnp.sin(tnp.outer(data + 1.0, w))
    return lax.associative_scan(_linear_recurrence, (a, b))[1]


def assoc_py(w, data):
    a, b = tnp.tanh(tnp.outer(data, w)), tnp.sin(tnp.outer(data + 1.0, w))
    h, out = b[0], [b[0]]
    for k in range(1, len(data)):
        h = a[k] * h + b[k]
        out.append(h)
    return tnp.stack(out)


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape)


ROWS = [
    Row("scan-rnn", scan_rnn, scan_rnn_py, (3,), _normal(5, 3), ("scan",)),
    Row(
        "scan-pytree-reverse",
        scan_pytree_reverse,
        scan_pytree_reverse_py,
        (2,),
        lambda rng: {"u": rng.standard_normal((4, 2)), "v": rng.standard_normal((4, 2)) * 0.3},
        ("scan",),
    ),
    Row("scan-nested", scan_nested, scan_nested_py, (2,), _normal(3, 4, 2), ("scan",)),
    Row(
        "scan-checkpoint",
        scan_checkpointed,
        scan_checkpointed_py,
        (3,),
        _normal(4, 3),
        ("scan", "closed_call"),
    ),
    Row("map", lax_map, lax_map_py, (3,), _normal(5, 3), ("scan",)),
    Row("map-batch-size", lax_map_batched, lax_map_py, (3,), _normal(5, 3), ("scan",)),
    Row("fori-static", fori_static, fori_static_py, (3,), _normal(3), ("scan",)),
    Row(
        "fori-traced-bounds",
        fori_traced_bounds,
        fori_traced_bounds_py,
        (3,),
        lambda rng: np.int64(4),
        ("while",),
        second_order_under_jit=False,
    ),
    Row(
        "while-count",
        while_count,
        while_count_py,
        (3,),
        lambda rng: np.float64(30.0),
        ("while",),
        second_order_under_jit=False,
        x_domain=lambda z: 0.3 + 0.5 * np.abs(z),
    ),
    Row(
        "while-newton",
        newton_sqrt,
        newton_sqrt_py,
        (3,),
        lambda rng: None,
        ("while",),
        second_order_under_jit=False,
        x_domain=lambda z: 1.0 + np.abs(z),
    ),
    Row("cond-in-scan", cond_in_scan, cond_in_scan_py, (3,), _normal(5, 3), ("cond", "scan")),
    Row("cond-on-x", cond_on_x, cond_on_x_py, (3,), _normal(3), ("cond",)),
    Row(
        "switch-on-x",
        switch_on_x,
        switch_on_x_py,
        (3,),
        _normal(3),
        ("cond",),
        x_domain=lambda z: 1.5 * z,
    ),
    Row("associative-scan", assoc, assoc_py, (3,), _normal(6), ("associative_scan",)),
]
