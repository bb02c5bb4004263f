"""solve_triangular, cho_factor, cho_solve: triangular solves and Cholesky, differentiable.

``solve_triangular`` is a primitive calling LAPACK through SciPy; its derivatives are
triangular solves again (so every order works) and reach only the triangle that is read
(and not the diagonal with ``unit_diagonal=True``). ``cho_factor`` is numpy's Cholesky
factor with the other triangle of ``a`` kept, as SciPy returns it; ``cho_solve`` is two
triangular solves. ``trans=2`` (conjugate transpose) is ``trans=1`` on ``conj(a)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import defbatch, defjvp, defvjp, primitive, vjp_needs
from tapeflow.numpy.creation import asarray
from tapeflow.numpy.elementwise import conj
from tapeflow.numpy.fitting import unbroadcast
from tapeflow.numpy.linalg import cholesky
from tapeflow.numpy.linalg.matrices import col, mm, row, swap_last
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of
from tapeflow.numpy.shape import reshape
from tapeflow.scipy.linalg.batching import stacked_batch_rule
from tapeflow.scipy.linalg.kernels import np_solve_triangular

__all__ = ["solve_triangular", "cho_factor", "cho_solve"]

_TRANS = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2, "n": 0, "t": 1, "c": 2}

_solve_tri = primitive(np_solve_triangular, name="scipy.linalg.solve_triangular")


def _mask(n: int, like: Any, lower: bool, unit_diagonal: bool) -> np.ndarray:
    """1 on the entries the solve reads, 0 elsewhere."""
    k = -1 if unit_diagonal else 0
    ones = np.ones((n, n), dtype_of(like))
    return np.tril(ones, k) if lower else np.triu(ones, -k)


def _solve(a: Any, rhs: Any, vector: bool, **options: Any) -> Any:
    """The solve for right-hand sides shaped like the answer: stacks of vectors when ``b``
    was one vector (a 2-d stack of them would read as one matrix)."""
    if not vector:
        return _solve_tri(a, rhs, **options)
    x = _solve_tri(a, col(rhs), **options)
    return reshape(x, tuple(shape_of(x))[:-1])


def _outer(u: Any, v: Any, vector: bool) -> Any:
    return col(u) * row(v) if vector else mm(u, swap_last(v))


def _vjp_a(ans: Any, a: Any, b: Any, trans: int = 0, lower: bool = False,
           unit_diagonal: bool = False) -> Any:  # fmt: skip
    vector = len(shape_of(b)) == 1
    mask = _mask(shape_of(a)[-1], a, lower, unit_diagonal)

    def vjp(g: Any) -> Any:
        gb = _solve(a, g, vector, trans=1 - trans, lower=lower, unit_diagonal=unit_diagonal)
        # x = op(T)^-1 b: d x = -op(T)^-1 op(dT) x, so the cotangent of op(T) is -gb x^T.
        ga = -_outer(gb, ans, vector) if trans == 0 else -_outer(ans, gb, vector)
        return unbroadcast(ga * mask, shape_of(a))

    return vjp


def _vjp_b(ans: Any, a: Any, b: Any, trans: int = 0, lower: bool = False,
           unit_diagonal: bool = False) -> Any:  # fmt: skip
    vector = len(shape_of(b)) == 1

    def vjp(g: Any) -> Any:
        gb = _solve(a, g, vector, trans=1 - trans, lower=lower, unit_diagonal=unit_diagonal)
        return unbroadcast(gb, shape_of(b))

    return vjp


def _jvp_a(t: Any, ans: Any, a: Any, b: Any, trans: int = 0, lower: bool = False,
           unit_diagonal: bool = False) -> Any:  # fmt: skip
    dt = t * _mask(shape_of(a)[-1], a, lower, unit_diagonal)
    op = dt if trans == 0 else swap_last(dt)
    vector = len(shape_of(b)) == 1
    rhs = reshape(mm(op, col(ans)), shape_of(ans)) if vector else mm(op, ans)
    return -_solve(a, rhs, vector, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


def _jvp_b(t: Any, ans: Any, a: Any, b: Any, trans: int = 0, lower: bool = False,
           unit_diagonal: bool = False) -> Any:  # fmt: skip
    out = _solve_tri(a, t, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    return out if shape_of(out) == shape_of(ans) else out + 0 * ans


defvjp(_solve_tri, _vjp_a, _vjp_b)
defjvp(_solve_tri, _jvp_a, _jvp_b)
vjp_needs(_solve_tri, ans=True, args={0: (0, "ans"), 1: (0,)})
defbatch(_solve_tri, stacked_batch_rule(_solve_tri, (2, 2), vector_arg=1))


def solve_triangular(
    a: Any,
    b: Any,
    trans: Any = 0,
    lower: bool = False,
    unit_diagonal: bool = False,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``op(a) x = b`` for triangular ``a`` (scipy.linalg.solve_triangular).

    Only the ``lower`` (or upper) triangle of ``a`` is read, without its diagonal when
    ``unit_diagonal``; ``trans`` is 0/'N' (a), 1/'T' (a^T) or 2/'C' (a^H). Stacks of
    matrices broadcast; a 1-d ``b`` is one vector. ``overwrite_b`` and
    ``check_finite`` are accepted for SciPy's signature and ignored (nothing is
    overwritten). Needs SciPy (``tapeflow[scipy]``).

    Example:
        >>> solve_triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([2.0, 3.0]), lower=True)
        array([1., 2.])
    """
    if trans not in _TRANS:
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    op = _TRANS[trans]
    if op == 2:
        a, op = (conj(a), 1) if is_complex(a) else (a, 1)
    return _solve_tri(a, b, trans=op, lower=bool(lower), unit_diagonal=bool(unit_diagonal))


def cho_factor(
    a: Any, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True
) -> tuple[Any, bool]:
    """The Cholesky factor of a symmetric positive-definite ``a``, for :func:`cho_solve`
    (scipy.linalg.cho_factor): ``(c, lower)``.

    ``c`` holds the factor in its ``lower`` (or upper) triangle, read from that triangle
    of ``a``, and ``a``'s own entries in the other one, as SciPy returns it (cho_solve
    never reads them). Differentiable (the factor's derivative is Cholesky's), batched,
    and needs no SciPy.

    Example:
        >>> c, low = cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]]))
        >>> c
        array([[2., 1.],
               [2., 2.]])
    """
    a = asarray(a) if isinstance(a, (list, tuple)) else a
    n = shape_of(a)[-1]
    factor = cholesky(a, upper=not lower)
    other = _mask(n, a, not lower, unit_diagonal=True)
    return factor + a * other, bool(lower)


def cho_solve(
    c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False, check_finite: bool = True
) -> Any:
    """Solve ``a x = b`` from :func:`cho_factor`'s ``(c, lower)`` (scipy.linalg.cho_solve).

    Example:
        >>> cho_solve(cho_factor(np.array([[4.0, 2.0], [2.0, 5.0]])), np.array([6.0, 7.0]))
        array([1., 1.])
    """
    c, lower = c_and_lower
    if lower:  # a = L L^H
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, trans=2, lower=True)
    y = solve_triangular(c, b, trans=2, lower=False)  # a = U^H U
    return solve_triangular(c, y, lower=False)
