"""Matrix helpers the linear-algebra rules are written with (tapeflow operations).

Every function takes stacks of matrices (``(..., M, N)``) or vectors, traced or not,
so the rules built on them can be differentiated again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.products import einsum, matmul
from tapeflow.numpy.shape import reshape, swapaxes

__all__ = [
    "swap_last",
    "mm",
    "col",
    "row",
    "diag_part",
    "trace_of",
    "eye_like",
    "diag_embed",
    "strict_lower",
    "scalar_to_matrix",
    "read_triangle",
    "triangle_adjoint",
    "gap_inverse",
]


def swap_last(x: Any) -> Any:
    """Transpose the last two axes."""
    return swapaxes(x, -1, -2)


def mm(a: Any, b: Any) -> Any:
    """The matrix product of two (stacks of) matrices."""
    return matmul(a, b)


def col(v: Any) -> Any:
    """(..., n) -> (..., n, 1)."""
    return reshape(v, tuple(shape_of(v)) + (1,))


def row(v: Any) -> Any:
    """(..., n) -> (..., 1, n)."""
    s = tuple(shape_of(v))
    return reshape(v, s[:-1] + (1,) + s[-1:])


def diag_part(m: Any) -> Any:
    return einsum("...ii->...i", m)


def trace_of(m: Any) -> Any:
    return einsum("...ii->...", m)


def eye_like(n: int, like: Any) -> np.ndarray:
    return np.eye(n, dtype=dtype_of(like))


def diag_embed(v: Any) -> Any:
    """(..., n) -> (..., n, n) with ``v`` on the diagonal."""
    return col(v) * eye_like(shape_of(v)[-1], v)


def strict_lower(n: int, like: Any) -> np.ndarray:
    return np.tril(np.ones((n, n), dtype_of(like)), -1)


def scalar_to_matrix(x: Any) -> Any:
    """(...,) -> (..., 1, 1), for batched scalars times batched matrices."""
    return reshape(x, tuple(shape_of(x)) + (1, 1))


def read_triangle(t: Any, lower: bool) -> Any:
    """The symmetric matrix numpy actually sees when it reads one triangle of ``t``."""
    n = shape_of(t)[-1]
    strict = strict_lower(n, t)
    if not lower:
        strict = strict.T
    part = t * strict
    return part + swap_last(part) + t * eye_like(n, t)


def triangle_adjoint(g: Any, lower: bool) -> Any:
    """Transpose of :func:`read_triangle`: the gradient lands on the triangle read."""
    n = shape_of(g)[-1]
    strict = strict_lower(n, g)
    if not lower:
        strict = strict.T
    return (g + swap_last(g)) * strict + g * eye_like(n, g)


def gap_inverse(w: Any) -> Any:
    """F[..., i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    n = shape_of(w)[-1]
    eye = eye_like(n, w)
    return (1 - eye) / (row(w) - col(w) + eye)
