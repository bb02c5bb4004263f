"""Bad uses of tapeflow.lax raise errors that name what was wrong and how to fix it."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import lax
from tapeflow.core.trace import active_traces
from tapeflow.jit import ConcretizationError

F32 = np.float32


def _if_in_body(c, x):
    if c > 0:  # Python control flow on a traced value
        return c, x
    return c, x


CASES = [
    (
        "scan carry dtype",
        lambda: lax.scan(
            lambda c, x: ((c[0], c[1] + np.ones(2)), None), (1.0, np.ones(2, F32)), None, length=2
        ),
        TypeError,
        r"carry at \[1\] enters the body as float32\[2\] but comes out as float64\[2\]",
    ),
    (
        "scan carry shape",
        lambda: lax.scan(lambda c, x: (tnp.concatenate([c, c]), None), np.ones(2), None, length=2),
        TypeError,
        r"enters the body as float64\[2\] but comes out as float64\[4\]",
    ),
    (
        "scan carry structure",
        lambda: lax.scan(lambda c, x: ((c, c), None), 1.0, None, length=2),
        TypeError,
        "structure of the initial carry",
    ),
    (
        "scan body result",
        lambda: lax.scan(lambda c, x: c, 1.0, None, length=2),
        TypeError,
        r"pair \(new carry, y\)",
    ),
    (
        "scan lengths",
        lambda: lax.scan(lambda c, x: (c, None), 0.0, (np.ones(3), np.ones(4))),
        ValueError,
        r"different lengths .* \[1\] has 4",
    ),
    (
        "scan scalar input",
        lambda: lax.scan(lambda c, x: (c, None), 0.0, 1.0),
        ValueError,
        "needs a leading axis",
    ),
    (
        "scan without xs or length",
        lambda: lax.scan(lambda c, x: (c, None), 0.0),
        ValueError,
        "length=",
    ),
    (
        "scan Python control flow on a value",
        lambda: lax.scan(_if_in_body, 1.0, np.ones(2)),
        ConcretizationError,
        "tapeflow.lax.cond",
    ),
    (
        "while_loop predicate dtype",
        lambda: lax.while_loop(lambda x: x, lambda x: x - 1.0, 3.0),
        TypeError,
        r"cond_fun must return a boolean scalar, got float64\[\]",
    ),
    (
        "while_loop predicate shape",
        lambda: lax.while_loop(lambda x: x > 0, lambda x: x - 1.0, np.ones(2)),
        TypeError,
        r"boolean scalar, got bool\[2\]",
    ),
    (
        "while_loop carry dtype",
        lambda: lax.while_loop(lambda x: x < 3, lambda x: x + 1.5, 0),
        TypeError,
        r"enters the body as int64\[\] but comes out as float64\[\]",
    ),
    (
        "while_loop carry structure",
        lambda: lax.while_loop(lambda x: x < 3, lambda x: (x, x), 0.0),
        TypeError,
        "structure of init_val",
    ),
    (
        "cond predicate dtype",
        lambda: lax.cond(1.0, lambda: 1.0, lambda: 2.0),
        TypeError,
        r"predicate a boolean must be a scalar, got float64\[\]",
    ),
    (
        "cond predicate shape",
        lambda: lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0),
        TypeError,
        r"got bool\[2\]",
    ),
    (
        "cond branch types",
        lambda: lax.cond(True, lambda x: x, lambda x: x.astype(F32), np.ones(2)),
        TypeError,
        r"at the output false_fun returns float32\[2\] and true_fun returns float64\[2\]",
    ),
    (
        "cond branch structure",
        lambda: lax.cond(True, lambda x: (x, x), lambda x: x, 1.0),
        TypeError,
        "must return the same structure",
    ),
    (
        "switch index dtype",
        lambda: lax.switch(
            1.0,
            [lambda: 1.0],
        ),
        TypeError,
        r"index an integer must be a scalar, got float64\[\]",
    ),
    (
        "fori_loop bounds",
        lambda: lax.fori_loop(0.0, 3, lambda i, v: v, 1.0),
        TypeError,
        r"lower must be an integer scalar, got float64\[\]",
    ),
    (
        "select shapes",
        lambda: lax.select(np.array([True, False, True]), np.ones(2), np.zeros(2)),
        TypeError,
        "must be a scalar or have their shape",
    ),
    (
        "select_n cases",
        lambda: lax.select_n(True, np.ones(2), np.ones(3)),
        TypeError,
        r"case 0 is float64\[2\] and case 1 is float64\[3\]",
    ),
    (
        "associative_scan lengths",
        lambda: lax.associative_scan(tnp.add, (np.ones(3), np.ones(4))),
        ValueError,
        "same length along axis 0",
    ),
    (
        "second derivative of a recorded while_loop under jit",
        lambda: tp.jit(
            tp.grad(tp.grad(lambda a: lax.while_loop(lambda x: x < 10.0, lambda x: x * a, 1.0)))
        )(2.0),
        NotImplementedError,
        "Differentiate outside tp.jit and outside other loops",
    ),
]


@pytest.mark.parametrize("make,error,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_use_raises_a_clear_error(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()
    assert active_traces() == ()  # nothing left behind
