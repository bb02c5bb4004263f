"""1-d convolution and correlation (numpy.convolve, numpy.correlate), differentiable in both.

The full convolution is a bilinear primitive; the ``same`` and ``valid`` modes
cut a window out of it, and correlation convolves with the flipped sequence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import deflinear, primitive
from tapeflow.numpy.declare import register_numpy
from tapeflow.numpy.meta import as_operand, shape_of
from tapeflow.numpy.products import cast_operands
from tapeflow.numpy.shape import atleast_1d, flip

__all__ = ["convolve", "correlate"]


def _np_convolve_full(a: Any, v: Any) -> Any:
    return np.convolve(a, v, mode="full")


_convolve_full = primitive(_np_convolve_full, name="convolve")


def _convolve_transpose(g: Any, other: Any, n: int) -> Any:
    """Cotangent of one factor of a full convolution: correlate g with the other factor."""
    m = shape_of(other)[0]
    return _convolve_full(g, flip(other, 0))[m - 1 : m - 1 + n]


deflinear(
    _convolve_full,
    lambda g, ans, a, v: _convolve_transpose(g, v, shape_of(a)[0]),
    lambda g, ans, a, v: _convolve_transpose(g, a, shape_of(v)[0]),
)


def _mode_window(full: Any, n: int, m: int, mode: str, swapped: bool = False) -> Any:
    """Cut numpy's 'same' / 'valid' result out of the full convolution."""
    if mode == "full":
        return full
    length = {"same": max(n, m), "valid": max(n, m) - min(n, m) + 1}.get(mode)
    if length is None:
        raise ValueError(f"mode must be one of 'full', 'same' or 'valid', got {mode!r}")
    start = min(n, m) - 1 if mode == "valid" else (min(n, m) - 1) // 2
    if swapped and mode == "same":
        start = (n + m - 1 - length) - start
    return full[start : start + length]


def _check_1d(a: Any, v: Any, name: str) -> tuple[int, int]:
    sa, sv = shape_of(a), shape_of(v)
    if len(sa) != 1 or len(sv) != 1:
        raise ValueError(f"{name}: a and v must be 1-d, got shapes {sa} and {sv}")
    if sa[0] == 0 or sv[0] == 0:
        raise ValueError(f"{name}: a and v cannot be empty")
    return sa[0], sv[0]


def convolve(
    a: Any,
    v: Any,
    mode: str = "full",
    *,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """Discrete 1-d convolution (numpy.convolve), differentiable in ``a`` and ``v``
    (``precision`` and ``preferred_element_type`` are JAX's, see
    :func:`tapeflow.numpy.products.cast_operands`).

    Example:
        >>> convolve(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
        array([1., 3., 2.])
    """
    a, v = cast_operands(
        (atleast_1d(as_operand(a)), atleast_1d(as_operand(v))), preferred_element_type
    )
    n, m = _check_1d(a, v, "convolve")
    return _mode_window(_convolve_full(a, v), n, m, mode)


def correlate(
    a: Any,
    v: Any,
    mode: str = "valid",
    *,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """Cross-correlation of 1-d real sequences (numpy.correlate), differentiable in both
    (``precision`` and ``preferred_element_type`` as for :func:`convolve`)."""
    a, v = cast_operands(
        (atleast_1d(as_operand(a)), atleast_1d(as_operand(v))), preferred_element_type
    )
    n, m = _check_1d(a, v, "correlate")
    if np.issubdtype(np.result_type(a.dtype, v.dtype), np.complexfloating):
        v = np.conjugate(v)
    return _mode_window(_convolve_full(a, flip(v, 0)), n, m, mode, swapped=n < m)


register_numpy(np.convolve, convolve)
register_numpy(np.correlate, correlate)
