"""Shared by the special-function kernels: dtypes, exact constants, series helpers."""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from tapeflow.scipy.backend import scipy_module

__all__ = [
    "float_dtype",
    "as_float64",
    "finish",
    "is_complex_input",
    "scipy_complex",
    "with_complex",
    "B2K",
    "small_zeta",
    "horner",
    "by_range",
    "shift_above",
    "HALF_LOG_2PI",
    "TWO_OVER_SQRT_PI",
    "SQRT2",
    "SQRT_2_OVER_PI",
    "SQRT_2PI",
    "HALF_SQRT_PI",
    "EULER_GAMMA",
]

TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
EULER_GAMMA = 0.57721566490153286061
SQRT2 = math.sqrt(2.0)
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
SQRT_2PI = math.sqrt(2.0 * math.pi)
HALF_SQRT_PI = 0.5 * math.sqrt(math.pi)


def float_dtype(*args: Any) -> np.dtype[Any]:
    """The dtype of the result: the arguments' common inexact dtype, float64 for integers.

    Python numbers are weak (NEP 50), as in numpy's ufuncs: a float32 array and ``0.5``
    give float32.
    """
    dtype = np.result_type(*(np.asarray(a) if isinstance(a, (list, tuple)) else a for a in args))
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def is_complex_input(*args: Any) -> bool:
    return bool(np.issubdtype(float_dtype(*args), np.complexfloating))


def as_float64(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 array; complex input is refused (never silently made real)."""
    if is_complex_input(x):
        raise TypeError(
            f"scipy.special.{name} takes real input only (as in SciPy), got "
            f"{np.result_type(x)}; pass the real part explicitly if that is what you mean"
        )
    return np.asarray(x, dtype=np.float64)


def finish(out: np.ndarray, dtype: np.dtype[Any]) -> Any:
    # ``[()]`` turns 0-d results into numpy scalars, like numpy's own ufuncs.
    return np.asarray(out).astype(dtype, copy=False)[()]


def scipy_complex(name: str, *args: Any) -> Any:
    """SciPy's ``scipy.special.<name>`` on complex arguments, in their complex dtype."""
    special = scipy_module("special", f"tapeflow.scipy.special.{name} of complex input")
    dtype = float_dtype(*args)
    wide = [
        np.asarray(a, np.complex128) if is_complex_input(a) else np.asarray(a, np.float64)
        for a in args
    ]
    return finish(getattr(special, name)(*wide), dtype)


def with_complex(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A real kernel that hands complex input to SciPy's kernel of the same name."""

    def wrap(real_kernel: Callable[..., Any]) -> Callable[..., Any]:
        def kernel(*args: Any) -> Any:
            if is_complex_input(*args):
                return scipy_complex(name, *args)
            return real_kernel(*args)

        kernel.__name__ = real_kernel.__name__
        kernel.__doc__ = real_kernel.__doc__
        kernel.__wrapped__ = real_kernel  # type: ignore[attr-defined]  # its signature, for docs
        return kernel

    return wrap


# ----- Bernoulli numbers, zeta at the integers, polynomials ---------------------------
def _bernoulli_even(count: int) -> list[Fraction]:
    """B_2, B_4, ..., B_{2 count} exactly, from the standard recurrence."""
    b = [Fraction(1)]
    for m in range(1, 2 * count + 1):
        b.append(-sum((math.comb(m + 1, k) * b[k] for k in range(m)), Fraction(0)) / (m + 1))
    return [b[2 * k] for k in range(1, count + 1)]


B2K = _bernoulli_even(16)


def small_zeta(s: int) -> float:
    """Riemann zeta(s) for integer s >= 2 (Euler-Maclaurin after 16 terms, exact to rounding)."""
    n = 16
    head = math.fsum(k**-s for k in range(1, n))
    tail: float = n ** (1 - s) / (s - 1) + 0.5 * n**-s
    rising = Fraction(s)  # s (s+1) ... (s + 2j - 2)
    for j, b in enumerate(B2K[:6], start=1):
        tail += float(b / math.factorial(2 * j) * rising) * n ** (-s - 2 * j + 1)
        rising *= (s + 2 * j - 1) * (s + 2 * j)
    return head + tail


def horner(coeffs: Any, z: Any) -> Any:
    """sum_k coeffs[k] z^k (z an array or a jet)."""
    coeffs = list(coeffs)
    out = z * 0.0 + coeffs[-1]
    for c in reversed(coeffs[:-1]):
        out = out * z + c
    return out


def by_range(x: np.ndarray, key: np.ndarray, table: Any, fun: Any) -> np.ndarray:
    """``fun(x, terms)`` with the number of terms looked up by the range ``key`` falls in."""
    out = np.empty_like(x)
    lower = -np.inf
    for upper, terms in table:
        sel = (key >= lower) & (key < upper)
        if sel.any():
            out[sel] = fun(x[sel], terms)
        lower = upper
    return out


def shift_above(x: np.ndarray, bound: float, term: Any) -> tuple[np.ndarray, np.ndarray]:
    """Apply a recurrence until every real part is >= bound: (shifted x, sum of term(x + j))."""
    z = x.copy()
    acc = np.zeros_like(x)
    low = z.real < bound
    while low.any():
        acc[low] += term(z[low])
        z[low] += 1.0
        low = z.real < bound
    return z, acc
