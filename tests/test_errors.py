"""Every error tapeflow raises on purpose: its type and a distinctive part of its message.

``docs/errors.md`` lists the errors by area; each entry has an id (``### `grad-non-scalar` ...``)
and a ``Tested:`` line. The table ``CASES`` below holds one trigger per id tested here;
``test_every_documented_error_is_tested`` keeps the page and the tests in step, and checks
that entries tested elsewhere name a test function that exists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp

ROOT = Path(__file__).resolve().parent.parent
X = np.ones(3)


def in_grad(body: Callable[[Any], Any], x: Any = X) -> Callable[[], Any]:
    """A thunk that runs ``body`` on a traced copy of ``x`` under ``tp.grad``."""
    return lambda: tp.grad(lambda v: tnp.sum(body(v)))(x)


# ----- regression tests for the fixes that came with this page -----------------------------


def test_vjp_fn_rejects_a_cotangent_of_the_wrong_dtype() -> None:
    _, f_vjp = tp.vjp(lambda x: (x * 2.0, {"a": tnp.sum(x)}), np.ones(3))
    with pytest.raises(TypeError, match=r"cotangent at \[1\]\['a'\] has dtype float32.*float64"):
        f_vjp((np.ones(3), {"a": np.float32(1.0)}))
    _, f32 = tp.vjp(lambda x: x * 2, np.ones(2, np.float32))
    with pytest.raises(TypeError, match=r"has dtype float64, but the output has dtype float32"):
        f32(np.ones(2))
    with pytest.raises(TypeError, match=r"complex128.*real cotangent"):
        f32(np.ones(2, np.complex128))
    # the right dtype, Python numbers and integer outputs' cotangents are accepted
    assert f32(np.ones(2, np.float32))[0].dtype == np.float32
    _, f_scalar = tp.vjp(lambda x: tnp.sum(x), np.ones(3))
    np.testing.assert_array_equal(f_scalar(1.0)[0], np.ones(3))
    np.testing.assert_array_equal(f_scalar(2)[0], 2 * np.ones(3))
    _, f_mixed = tp.vjp(lambda x: (x * 2.0, tnp.argmax(x)), np.arange(3.0))
    np.testing.assert_array_equal(f_mixed((np.ones(3), np.zeros((), np.int64)))[0], 2 * np.ones(3))


def test_messages_use_the_right_article() -> None:
    with pytest.raises(TypeError, match="is an int of dtype int64"):
        tp.grad(lambda x: x)(1)
    with pytest.raises(TypeError, match=r"is an ndarray of dtype bool"):
        tp.grad(lambda x: 1.0)(np.array([True]))
    with pytest.raises(TypeError, match="is a str;"):
        tp.grad(lambda x: 1.0)("abc")


def test_jvp_tangents_are_arrays_of_the_output_dtype() -> None:
    _, t = tp.jvp(lambda x: x * tp.stop_gradient(x), (3.0,), (1.0,))
    assert type(t) is np.float64 and t == 3.0
    _, t = tp.jvp(lambda x: x, (3.0,), (1.0,))
    assert type(t) is np.float64
    _, t = tp.jvp(lambda x: x * 2, (np.float32(3.0),), (1.0,))
    assert t.dtype == np.float32 and t == 2.0
    _, t = tp.jvp(lambda x: x * tp.stop_gradient(x), (np.ones(2, np.float32),), (np.ones(2, np.float32),))
    assert t.dtype == np.float32


def test_forward_mode_accumulates_tuple_tangents_of_a_multi_output_primitive() -> None:
    # A primitive with two traced arguments and a tuple answer: the tangent contributions of
    # the two arguments are tuples and must be added entry by entry, not concatenated.
    pair = tp.primitive(lambda a, b: (a + b, a * b), name="test_errors_pair")
    tp.defjvp(pair, lambda t, ans, a, b: (t, t * b), lambda t, ans, a, b: (t, t * a))
    first = tp.primitive(lambda p: p[0], name="test_errors_first")
    second = tp.primitive(lambda p: p[1], name="test_errors_second")
    tp.defjvp(first, lambda t, ans, p: t[0])
    tp.defjvp(second, lambda t, ans, p: t[1])

    def f(a, b):
        p = pair(a, b)
        return first(p), second(p)

    (s, m), (ts, tm) = tp.jvp(f, (2.0, 3.0), (1.0, 10.0))
    assert (s, m) == (5.0, 6.0)
    assert ts == 11.0  # d(a + b) = 1 + 10
    assert tm == 1.0 * 3.0 + 10.0 * 2.0  # d(a * b) = b da + a db
