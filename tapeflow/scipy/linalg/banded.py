"""solve_banded: a banded solve in LAPACK's band storage, differentiable.

``ab[u + i - j, j] = a[i, j]`` for the ``l`` sub- and ``u`` superdiagonals. The cotangent
of ``ab`` lands on the band only (its unused corners get 0, as SciPy never reads them);
the transposed solve of reverse mode is a banded solve with ``(u, l)`` and the band of
``a^T``, gathered from ``ab``. Derivatives cost O(n (l + u)) besides the solves, and
every order works.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import defbatch, defjvp, defvjp, primitive, vjp_needs
from tapeflow.numpy.fitting import unbroadcast
from tapeflow.numpy.linalg.matrices import col
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.numpy.shape import reshape
from tapeflow.scipy.linalg.batching import stacked_batch_rule
from tapeflow.scipy.linalg.kernels import np_solve_banded

__all__ = ["solve_banded"]

_banded = primitive(np_solve_banded, name="scipy.linalg.solve_banded")


def _band_index(rows: np.ndarray, cols: np.ndarray, n: int) -> tuple[Any, Any, np.ndarray]:
    valid = (cols >= 0) & (cols < n)
    return rows, np.clip(cols, 0, n - 1), valid


def _transposed_band(ab: Any, lower: int, upper: int) -> Any:
    """The band of a^T (``lower`` and ``upper`` swapped): abT[r, j] = ab[l + u - r, r - l + j]."""
    depth, n = shape_of(ab)[-2:]
    r = np.arange(depth)[:, None]
    j = np.arange(n)[None, :]
    rows, cols, valid = _band_index(
        np.broadcast_to(lower + upper - r, (depth, n)), r - lower + j, n
    )
    return ab[..., rows, cols] * valid.astype(dtype_of(ab))


def _as_matrix(x: Any, vector: bool) -> Any:
    return col(x) if vector else x


def _solve(ab: Any, rhs: Any, vector: bool, lower: int, upper: int) -> Any:
    """The solve for right-hand sides shaped like the answer (stacks of vectors when ``b``
    was one vector)."""
    if not vector:
        return _banded(ab, rhs, lower=lower, upper=upper)
    x = _banded(ab, col(rhs), lower=lower, upper=upper)
    return reshape(x, tuple(shape_of(x))[:-1])


def _vjp_ab(ans: Any, ab: Any, b: Any, lower: int = 0, upper: int = 0) -> Any:
    vector = len(shape_of(b)) == 1

    def vjp(g: Any) -> Any:
        gb = _as_matrix(_solve(_transposed_band(ab, lower, upper), g, vector, upper, lower), vector)
        x = _as_matrix(ans, vector)
        depth, n = shape_of(ab)[-2:]
        # d ab[r, j] moves a[i, j] with i = r - u + j: its cotangent is -sum_k gb[i, k] x[j, k].
        r = np.arange(depth)[:, None]
        i = np.broadcast_to(r - upper + np.arange(n)[None, :], (depth, n))
        _, rows, valid = _band_index(i, i, n)
        picked = gb[..., rows, :] * x[..., None, :, :]
        return unbroadcast(-_sum(picked, axis=-1) * valid.astype(dtype_of(picked)), shape_of(ab))

    return vjp


def _vjp_b(ans: Any, ab: Any, b: Any, lower: int = 0, upper: int = 0) -> Any:
    vector = len(shape_of(b)) == 1

    def vjp(g: Any) -> Any:
        gb = _solve(_transposed_band(ab, lower, upper), g, vector, upper, lower)
        return unbroadcast(gb, shape_of(b))

    return vjp


def _band_times(dab: Any, x: Any, upper: int) -> Any:
    """(dA x)[i] = sum_r dab[r, j] x[j] with j = i + u - r, for x of shape (..., n, k)."""
    depth, n = shape_of(dab)[-2:]
    r = np.arange(depth)[:, None]
    j = r * 0 + np.arange(n)[None, :] + upper - r
    rows, cols, valid = _band_index(np.broadcast_to(r, (depth, n)), j, n)
    entries = dab[..., rows, cols] * valid.astype(dtype_of(dab))
    return _sum(entries[..., None] * x[..., cols, :], axis=-3)


def _jvp_ab(t: Any, ans: Any, ab: Any, b: Any, lower: int = 0, upper: int = 0) -> Any:
    vector = len(shape_of(b)) == 1
    product = _band_times(t, _as_matrix(ans, vector), upper)
    if vector:
        product = reshape(product, tuple(shape_of(product))[:-1])
    return -_solve(ab, product, vector, lower, upper)


def _jvp_b(t: Any, ans: Any, ab: Any, b: Any, lower: int = 0, upper: int = 0) -> Any:
    return _banded(ab, t, lower=lower, upper=upper) + 0 * ans


defvjp(_banded, _vjp_ab, _vjp_b)
defjvp(_banded, _jvp_ab, _jvp_b)
vjp_needs(_banded, ans=True, args={0: (0, "ans"), 1: (0,)})
defbatch(_banded, stacked_batch_rule(_banded, (2, 2), vector_arg=1))


def solve_banded(
    l_and_u: tuple[int, int],
    ab: Any,
    b: Any,
    overwrite_ab: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``a x = b`` for a banded ``a`` given in band storage (scipy.linalg.solve_banded).

    ``l_and_u = (l, u)`` counts the nonzero sub- and superdiagonals; ``ab`` has shape
    ``(l + u + 1, M)`` with ``ab[u + i - j, j] = a[i, j]``. A 1-d ``b`` is one vector.
    Differentiable in ``ab`` and ``b``; ``overwrite_*`` and ``check_finite`` are accepted
    and ignored. Needs SciPy (``tapeflow[scipy]``).

    Example:
        >>> ab = np.array([[0.0, 1.0, 1.0], [4.0, 4.0, 4.0], [1.0, 1.0, 0.0]])  # tridiagonal
        >>> solve_banded((1, 1), ab, np.array([5.0, 6.0, 5.0]))
        array([1., 1., 1.])
    """
    lower, upper = (int(v) for v in l_and_u)
    if shape_of(ab)[-2] != lower + upper + 1:
        raise ValueError(
            f"solve_banded: ab must have l + u + 1 = {lower + upper + 1} rows for "
            f"(l, u) = {(lower, upper)}, got shape {tuple(shape_of(ab))}"
        )
    return _banded(ab, b, lower=lower, upper=upper)
