"""Bessel functions on plain arrays: SciPy's kernels (the ``tapeflow[scipy]`` extra).

Inputs are computed in float64 (complex128 where SciPy takes complex arguments) and
returned in the inputs' dtype; an integer order does not make a float32 argument float64.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.scipy.backend import scipy_module
from tapeflow.scipy.kernels.common import as_float64, finish, float_dtype, is_complex_input

__all__ = ["bessel_kernel", "ive_far_from_zero", "np_ive_asymptotic"]


def _result_dtype(args: tuple[Any, ...]) -> Any:
    # Orders are often integers (arrays of int too): they do not decide the float width.
    floats = [a for a in args if not np.issubdtype(np.result_type(a), np.integer)]
    return float_dtype(*floats) if floats else np.dtype(np.float64)


def bessel_kernel(name: str, takes_complex: bool) -> Any:
    """The numpy function of ``scipy.special.<name>``; its last argument may be complex
    when ``takes_complex``."""

    def kernel(*args: Any) -> Any:
        special = scipy_module("special", f"tapeflow.scipy.special.{name}")
        dtype = _result_dtype(args)
        *orders, z = args
        wide = [as_float64(v, name) for v in orders]
        if takes_complex and is_complex_input(z):
            zw = np.asarray(z, np.complex128)
        else:
            zw = as_float64(z, name)
        return finish(getattr(special, name)(*wide, zw), dtype)

    kernel.__name__ = f"np_{name}"
    return kernel


def ive_far_from_zero(v: Any) -> Any:
    """Where ``|x|`` is at least this, :func:`np_ive_asymptotic` reaches double precision
    for order ``v`` (the series' terms fall while ``k`` is below about ``2 |x|`` and
    ``(2k - 1)^2 < 4 v^2`` no longer makes them grow)."""
    return 30.0 + 2.0 * np.square(v)


def np_ive_asymptotic(v: Any, x: Any, n: int = 0) -> Any:
    """The ``n``-th derivative in ``x`` of ``ive(v, x) = exp(-|x|) iv(v, x)`` for real ``x``
    with ``|x| >= ive_far_from_zero(v)``, from the large-argument series
    ``(2 pi |x|)^-1/2 sum_k (-1)^k a_k(v) |x|^-k``, ``a_k = prod_{j<=k} (4v^2 - (2j-1)^2)
    / (k! 8^k)``, differentiated term by term (the recurrences' differences of nearly
    equal terms lose everything there). Negative ``x`` by parity (integer orders; nan
    otherwise, as ive itself). Pure numpy."""
    dtype = _result_dtype((v, x))
    vw, xw = np.broadcast_arrays(np.asarray(v, np.float64), as_float64(x, "ive"))
    y = np.abs(xw)
    mu = 4.0 * vw * vw
    coef = np.ones_like(y)  # (-1)^k a_k(v)
    power = y ** -(0.5 + n)  # y^-(k + 1/2 + n)
    total = np.zeros_like(y)
    last = np.full_like(y, np.inf)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(60):
            falling = math.prod(-(k + 0.5 + i) for i in range(n))
            term = coef * falling * power
            if k > n and np.any(np.abs(term) > last):
                break  # the series diverges from here on: its smallest term is its error
            total += term
            if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
                break
            last = np.abs(term)
            coef = coef * -(mu - (2 * k + 1) ** 2) / (8.0 * (k + 1))
            power = power / y
        out = total / math.sqrt(2.0 * math.pi)
        # x < 0: ive(v, x) = (-1)^v ive(v, -x) for integer v, so d^n/dx^n picks (-1)^(v+n).
        integer = vw == np.round(vw)
        parity = np.where(integer, (-1.0) ** (np.round(vw) + n), np.nan)
        out = np.where(xw < 0, parity * out, out)
    return finish(out, dtype)
