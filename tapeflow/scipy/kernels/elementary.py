"""Special functions made of elementary ones, on plain arrays: expit, logit, softmax,
log_softmax, xlogy, xlog1py, entr, rel_entr, kl_div.

``softmax`` and ``log_softmax`` subtract the maximum before exponentiating, so logits of
any size (and ``-inf`` entries) give finite, correct values without warnings;
``log_softmax`` never takes the log of an underflowed 0. ``expit`` evaluates
``exp(-|x|)`` only, so it cannot overflow. Python numbers are weak, as in numpy's ufuncs:
a float32 array with ``0.5`` stays float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy.reductions import max_shift
from tapeflow.scipy.kernels.common import as_float64, float_dtype

__all__ = [
    "np_expit",
    "np_logit",
    "np_log_expit",
    "np_xlogy",
    "np_xlog1py",
    "np_entr",
    "np_rel_entr",
    "np_kl_div",
    "np_softmax",
    "np_log_softmax",
]


def _real_operands(name: str, *args: Any) -> tuple[Any, ...]:
    """The arguments as arrays of their common float dtype (complex refused)."""
    for a in args:
        if np.iscomplexobj(a):
            as_float64(a, name)  # raises: SciPy defines it for real input only
    dtype = float_dtype(*args)
    return tuple(np.asarray(a, dtype) for a in args)


def _operands(*args: Any) -> tuple[Any, ...]:
    dtype = float_dtype(*args)
    return tuple(np.asarray(a, dtype) for a in args)


def np_expit(x: Any) -> Any:
    (x,) = _real_operands("expit", x)
    # exp(-|x|) <= 1 never overflows; the two branches are the same function.
    with np.errstate(under="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))[()]


def np_log_expit(x: Any) -> Any:
    (x,) = _real_operands("log_expit", x)
    # -log(1 + exp(-x)) = -logaddexp(0, -x): no overflow for any x.
    return np.negative(np.logaddexp(np.zeros((), np.result_type(x)), np.negative(x)))[()]


def np_logit(p: Any) -> Any:
    (p,) = _real_operands("logit", p)
    # log(0) = -inf and log1p(-1) = -inf are the right limits at p = 0 and 1.
    with np.errstate(divide="ignore", invalid="ignore"):
        return (np.log(p) - np.log1p(-p))[()]


def np_xlogy(x: Any, y: Any, log_fun: Any = np.log) -> Any:
    x, y = _operands(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = x * log_fun(y)
    # 0 where x == 0 (even where log(y) is -inf), unless y is nan.
    return np.where((x == 0) & ~np.isnan(y), np.zeros((), out.dtype), out)[()]


def np_xlog1py(x: Any, y: Any) -> Any:
    return np_xlogy(x, y, np.log1p)


def np_entr(x: Any) -> Any:
    (x,) = _real_operands("entr", x)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = -x * np.log(x)
    return np.where(x > 0, inside, np.where(x == 0, 0, np.where(x < 0, -np.inf, x)))[()]


def np_rel_entr(x: Any, y: Any, kl: bool = False) -> Any:
    x, y = _real_operands("kl_div" if kl else "rel_entr", x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = x * np.log(x / y)
        if kl:
            inside = inside - x + y
    zero = y if kl else np.zeros_like(inside)  # value at x == 0, y >= 0
    out = np.where((x > 0) & (y > 0), inside, np.where((x == 0) & (y >= 0), zero, np.inf))
    out = np.where(np.isnan(x) | np.isnan(y), np.nan, out)
    return out.astype(inside.dtype, copy=False)[()]


def np_kl_div(x: Any, y: Any) -> Any:
    return np_rel_entr(x, y, kl=True)


def _shift(x: np.ndarray, axis: Any) -> np.ndarray:
    if np.iscomplexobj(x):
        # numpy orders complex numbers by real part, then imaginary part (as SciPy does).
        m = np.max(x, axis=axis, keepdims=True)
        return np.where(np.isfinite(m), m, np.zeros((), m.dtype))
    return max_shift(x, axis)


def np_softmax(x: Any, axis: Any = None) -> Any:
    (x,) = _operands(x)
    with np.errstate(under="ignore", invalid="ignore"):
        e = np.exp(x - _shift(x, axis))
        return e / np.sum(e, axis=axis, keepdims=True)


def np_log_softmax(x: Any, axis: Any = None) -> Any:
    (x,) = _operands(x)
    shifted = x - _shift(x, axis)
    with np.errstate(divide="ignore", under="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
