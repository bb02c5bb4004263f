"""What the ``tapeflow.scipy.linalg`` primitives compute: SciPy's LAPACK-backed functions
(the ``tapeflow[scipy]`` extra), applied matrix by matrix over leading batch axes.

Every kernel takes stacks (``(..., M, N)``; the batch axes broadcast against each other)
so that ``vmap`` runs one call per batch, and so that the same code serves SciPy versions
with and without batching of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.scipy.backend import scipy_module

__all__ = [
    "linalg_module",
    "per_matrix",
    "np_solve_triangular",
    "np_expm",
    "np_sqrtm",
    "np_solve_sylvester",
    "np_solve_banded",
    "np_lu",
    "np_lu_pivots",
    "np_pivots_to_permutation",
]


def linalg_module(needed_by: str) -> Any:
    return scipy_module("linalg", f"tapeflow.scipy.linalg.{needed_by}")


def _inexact(*arrays: np.ndarray) -> np.dtype[Any]:
    dtype = np.result_type(*arrays)
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def per_matrix(
    fun: Callable[..., np.ndarray], arrays: list[np.ndarray], cores: list[int], dtype: Any
) -> np.ndarray:
    """``fun`` on each matrix of stacks whose leading axes broadcast (``cores[i]``: how many
    trailing axes of ``arrays[i]`` one call takes)."""
    batch = np.broadcast_shapes(
        *(a.shape[: a.ndim - c] for a, c in zip(arrays, cores, strict=True))
    )
    if not batch:
        return np.asarray(fun(*arrays)).astype(dtype, copy=False)
    full = [
        np.broadcast_to(a, batch + a.shape[a.ndim - c :])
        for a, c in zip(arrays, cores, strict=True)
    ]
    first = np.asarray(fun(*(a[(0,) * len(batch)] for a in full)))
    out = np.empty(batch + first.shape, np.result_type(first.dtype, dtype))
    for index in np.ndindex(*batch):
        out[index] = fun(*(a[index] for a in full))
    return out.astype(dtype, copy=False)


def np_solve_triangular(
    a: Any, b: Any, trans: int = 0, lower: bool = False, unit_diagonal: bool = False
) -> Any:
    """``op(a)^-1 b`` for triangular ``a``; a 1-d ``b`` is one vector, otherwise ``b`` is a
    stack of (M, K) matrices (as numpy.linalg.solve in numpy 2)."""
    linalg = linalg_module("solve_triangular")
    a, b = np.asarray(a), np.asarray(b)
    vector = b.ndim == 1
    bm = b[:, None] if vector else b

    def one(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return linalg.solve_triangular(  # type: ignore[no-any-return]
            a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal, check_finite=False
        )

    out = per_matrix(one, [a, bm], [2, 2], _inexact(a, b))
    return out[..., 0] if vector else out


def np_expm(a: Any) -> Any:
    a = np.asarray(a)
    return per_matrix(linalg_module("expm").expm, [a], [2], _inexact(a))


def np_sqrtm(a: Any) -> Any:
    a = np.asarray(a)
    linalg = linalg_module("sqrtm")

    def one(m: np.ndarray) -> np.ndarray:
        return np.asarray(linalg.sqrtm(m))

    first = one(a.reshape((-1,) + a.shape[-2:])[0]) if a.size else np.zeros(a.shape[-2:])
    # A real matrix may have a complex square root (SciPy then returns complex).
    dtype = np.result_type(_inexact(a), first.dtype)
    if np.issubdtype(dtype, np.complexfloating) and _inexact(a) == np.float32:
        dtype = np.dtype(np.complex64)
    elif _inexact(a) in (np.float32, np.complex64):
        dtype = _inexact(a)
    out = per_matrix(lambda m: one(m).astype(np.complex128), [a], [2], np.complex128)
    if not np.issubdtype(dtype, np.complexfloating):
        if np.any(out.imag != 0):
            dtype = np.result_type(dtype, np.complex64)
        else:
            out = out.real
    return out.astype(dtype, copy=False)


def np_solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    a, b, q = np.asarray(a), np.asarray(b), np.asarray(q)
    linalg = linalg_module("solve_sylvester")
    # All three in one dtype: SciPy's solve_sylvester of real a and b with a complex q
    # returns a wrong answer (residuals of order one), as it solves in a's real Schur form.
    dtype = _inexact(a, b, q)
    a, b, q = a.astype(dtype, copy=False), b.astype(dtype, copy=False), q.astype(dtype, copy=False)
    return per_matrix(linalg.solve_sylvester, [a, b, q], [2, 2, 2], dtype)


def np_solve_banded(ab: Any, b: Any, lower: int = 0, upper: int = 0) -> Any:
    """``A^-1 b`` with ``A`` in LAPACK's band storage ``ab`` (a 1-d ``b``: one vector)."""
    linalg = linalg_module("solve_banded")
    ab, b = np.asarray(ab), np.asarray(b)
    vector = b.ndim == 1
    bm = b[:, None] if vector else b

    def one(ab: np.ndarray, b: np.ndarray) -> np.ndarray:
        return linalg.solve_banded((lower, upper), ab, b, check_finite=False)  # type: ignore[no-any-return]

    out = per_matrix(one, [ab, bm], [2, 2], _inexact(ab, b))
    return out[..., 0] if vector else out


def np_lu(a: Any) -> Any:
    """The packed LU factors of SciPy's lu_factor (unit lower triangle implied)."""
    a = np.asarray(a)
    linalg = linalg_module("lu_factor")
    return per_matrix(lambda m: linalg.lu_factor(m, check_finite=False)[0], [a], [2], _inexact(a))


def np_lu_pivots(a: Any) -> Any:
    """The pivot indices of SciPy's lu_factor (row i was interchanged with row piv[i])."""
    a = np.asarray(a)
    linalg = linalg_module("lu_factor")
    return per_matrix(lambda m: linalg.lu_factor(m, check_finite=False)[1], [a], [2], np.int32)


def np_pivots_to_permutation(piv: Any) -> Any:
    """The row order ``perm`` with ``a[perm] = L U``, from LAPACK's sequence of swaps."""
    piv = np.asarray(piv)
    n = piv.shape[-1]
    flat = piv.reshape(-1, n)
    perm = np.tile(np.arange(n), (flat.shape[0], 1))
    rows = np.arange(flat.shape[0])
    for i in range(n):
        j = flat[:, i]
        current = perm[:, i].copy()
        perm[:, i] = perm[rows, j]
        perm[rows, j] = current
    return perm.reshape(piv.shape)
