"""Matrix helpers the linear-algebra rules are written with (tapeflow operations).

Every function takes stacks of matrices (``(..., M, N)``) or vectors, traced or not,
so the rules built on them can be differentiated again. Complex matrices are welcome:
``adjoint`` and ``conj_of`` conjugate them and leave real ones as they are (no extra
operation on the real path).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy.elementwise import conj, real
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of
from tapeflow.numpy.products import einsum, matmul
from tapeflow.numpy.shape import reshape, swapaxes

__all__ = [
    "swap_last",
    "conj_of",
    "adjoint",
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


def conj_of(x: Any) -> Any:
    """The complex conjugate; a real ``x`` itself."""
    return conj(x) if is_complex(x) else x


def adjoint(x: Any) -> Any:
    """The conjugate transpose of the last two axes (the transpose for real ``x``)."""
    return swap_last(conj_of(x))


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


def _real_diagonal(x: Any) -> Any:
    """The diagonal of ``x`` as a matrix, its real part for complex ``x``."""
    d = real(x) if is_complex(x) else x
    return d * eye_like(shape_of(x)[-1], d)


def read_triangle(t: Any, lower: bool) -> Any:
    """The symmetric (Hermitian) matrix numpy actually sees when it reads one triangle of
    ``t``: LAPACK takes the imaginary parts of a complex diagonal to be zero."""
    strict = strict_lower(shape_of(t)[-1], t)
    part = t * (strict if lower else strict.T)
    return part + adjoint(part) + _real_diagonal(t)


def triangle_adjoint(g: Any, lower: bool) -> Any:
    """Transpose of :func:`read_triangle`: the gradient lands on the triangle read (for
    complex matrices, the transpose under tapeflow's pairing ``Re sum(g * t)``)."""
    strict = strict_lower(shape_of(g)[-1], g)
    return (g + adjoint(g)) * (strict if lower else strict.T) + _real_diagonal(g)


def gap_inverse(w: Any) -> Any:
    """F[..., i, j] = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    n = shape_of(w)[-1]
    eye = eye_like(n, w)
    return (1 - eye) / (row(w) - col(w) + eye)
