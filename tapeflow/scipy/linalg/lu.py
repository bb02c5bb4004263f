"""lu_factor, lu_solve: the pivoted LU factorization, differentiable in the matrix.

``lu_factor`` returns SciPy's ``(lu, piv)``: the factors packed in one matrix (``L``'s unit
diagonal implied) and the pivots, which are integers and carry no gradient. With the
pivoting held fixed (it is piecewise constant), ``P^T dA = dL U + L dU`` gives the
factors' derivative: with ``F = L^-1 P^T dA U^-1``, ``dL = L strict_lower(F)`` and
``dU = upper(F) U``. The rules are triangular solves, so every order works.
``lu_solve`` is a row permutation and two triangular solves.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import defbatch, defjvp, defvjp, nondifferentiable, primitive
from tapeflow.numpy.elementwise import astype, conj
from tapeflow.numpy.linalg.matrices import mm, swap_last
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of
from tapeflow.numpy.shape import reshape
from tapeflow.scipy.linalg.batching import stacked_batch_rule
from tapeflow.scipy.linalg.kernels import np_lu, np_lu_pivots, np_pivots_to_permutation
from tapeflow.scipy.linalg.triangular import solve_triangular

__all__ = ["lu_factor", "lu_solve"]

_lu = primitive(np_lu, name="scipy.linalg.lu_factor")
_pivots = primitive(np_lu_pivots, name="scipy.linalg.lu_pivots")
nondifferentiable(_pivots)


def _np_permutation_matrix(piv: Any) -> Any:
    """P with P @ x = x[perm] (rows reordered as the pivots say), as a float matrix: a
    product batches and differentiates like any other."""
    perm = np_pivots_to_permutation(piv)
    n = perm.shape[-1]
    return (perm[..., :, None] == np.arange(n)).astype(np.float64)


_permutation = primitive(_np_permutation_matrix, name="scipy.linalg.lu_permutation")
nondifferentiable(_permutation)


def _strict_lower(n: int, like: Any) -> np.ndarray:
    return np.tril(np.ones((n, n), dtype_of(like)), -1)


def _rows(x: Any, perm: Any) -> Any:
    """x[..., perm, :] for a stack of matrices, the order given as a permutation matrix."""
    return mm(astype(perm, dtype_of(x)), x)


def _l_solve(lu: Any, x: Any, trans: int = 0) -> Any:
    return solve_triangular(lu, x, trans=trans, lower=True, unit_diagonal=True)


def _u_solve(lu: Any, x: Any, trans: int = 0) -> Any:
    return solve_triangular(lu, x, trans=trans, lower=False)


def _square(a: Any) -> None:
    m, n = shape_of(a)[-2:]
    if m != n:
        raise NotImplementedError(
            f"tapeflow differentiates lu_factor of square matrices only, got {m}x{n}"
        )


def _lu_jvp(t: Any, ans: Any, a: Any) -> Any:
    _square(a)
    n = shape_of(a)[-1]
    low = _strict_lower(n, ans)
    perm = _permutation(_pivots(a))
    f = swap_last(_u_solve(ans, swap_last(_l_solve(ans, _rows(t, perm))), trans=1))
    unit_l = ans * low + np.eye(n, dtype=dtype_of(ans))
    return mm(unit_l, f * low) + mm(f * (1 - low), ans * (1 - low))


def _lu_vjp(ans: Any, a: Any) -> Any:
    _square(a)
    n = shape_of(a)[-1]
    low = _strict_lower(n, ans)

    def vjp(g: Any) -> Any:
        unit_l = ans * low + np.eye(n, dtype=dtype_of(ans))
        upper = ans * (1 - low)
        gf = mm(swap_last(unit_l), g * low) * low + mm(g * (1 - low), swap_last(upper)) * (1 - low)
        # F = L^-1 P^T dA U^-1, so the cotangent of P^T dA is L^-T gF U^-T.
        permuted = swap_last(_u_solve(ans, swap_last(_l_solve(ans, gf, trans=1))))
        return _rows(permuted, swap_last(_permutation(_pivots(a))))

    return vjp


defjvp(_lu, _lu_jvp)
defvjp(_lu, _lu_vjp)
for _prim in (_lu, _pivots):
    defbatch(_prim, stacked_batch_rule(_prim, (2,)))
defbatch(_permutation, stacked_batch_rule(_permutation, (1,)))


def lu_factor(a: Any, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Any, Any]:
    """The pivoted LU factorization of a square matrix (scipy.linalg.lu_factor): ``(lu,
    piv)`` with ``L`` (unit diagonal implied) and ``U`` packed in ``lu``.

    Differentiable in ``a`` (the pivots are integers, with no gradient); batched over
    leading axes. Needs SciPy (``tapeflow[scipy]``).

    Example:
        >>> lu, piv = lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]]))
        >>> lu, piv
        (array([[3.        , 4.        ],
               [0.33333333, 0.66666667]]), array([1, 1], dtype=int32))
    """
    return _lu(a), _pivots(a)


def lu_solve(
    lu_and_piv: tuple[Any, Any],
    b: Any,
    trans: Any = 0,
    overwrite_b: bool = False,
    check_finite: bool = True,
) -> Any:
    """Solve ``op(a) x = b`` from :func:`lu_factor`'s ``(lu, piv)`` (scipy.linalg.lu_solve).

    ``trans`` is 0/'N', 1/'T' or 2/'C'. Differentiable in ``lu`` and ``b``.

    Example:
        >>> lu_solve(lu_factor(np.array([[1.0, 2.0], [3.0, 4.0]])), np.array([5.0, 6.0]))
        array([-4. ,  4.5])
    """
    lu, piv = lu_and_piv
    op = {0: 0, 1: 1, 2: 2, "N": 0, "T": 1, "C": 2}.get(trans)
    if op is None:
        raise ValueError(f"lu_solve: trans must be 0, 1, 2, 'N', 'T' or 'C', got {trans!r}")
    if op == 2:
        lu, op = (conj(lu), 1) if is_complex(lu) else (lu, 1)
    vector = len(shape_of(b)) == 1
    bm = reshape(b, tuple(shape_of(b)) + (1,)) if vector else b
    perm = _permutation(piv)
    if op == 0:  # a = P L U: x = U^-1 L^-1 P^T b
        x = _u_solve(lu, _l_solve(lu, _rows(bm, perm)))
    else:  # a^T = U^T L^T P^T: x = P L^-T U^-T b
        x = _rows(_l_solve(lu, _u_solve(lu, bm, trans=1), trans=1), swap_last(perm))
    return reshape(x, tuple(shape_of(x))[:-1]) if vector else x
