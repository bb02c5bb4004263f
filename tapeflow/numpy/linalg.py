"""``tapeflow.numpy.linalg``: differentiable linear algebra (and ``np.linalg`` dispatch).

Every function takes stacks of matrices (``(..., M, N)``) as numpy does.
Primitives (each with a VJP and a JVP written with tapeflow operations, so
derivatives of any order work): ``inv``, ``solve``, ``det``, the log-|det|
of ``slogdet``, ``cholesky``, ``eigh``, ``qr``, ``svd``, the singular values
alone, and ``pinv``. ``norm``, ``matrix_power``, ``multi_dot`` and
``lstsq`` are compositions of those and of the products.

The primitives and their rules live in :mod:`tapeflow.numpy._linalg_core`.
Multi-output functions (``eigh``, ``qr``, ``svd``, ``slogdet``) return
numpy's own named tuples (``EighResult``, ``QRResult``, ``SVDResult``,
``SlogdetResult``), which are pytrees.

Conventions and limits (the derivative is only defined where the function is smooth):

* ``eigh`` and ``cholesky`` read one triangle of the input, exactly as numpy
  does (``UPLO``/``upper``); their gradients live on that triangle (the
  diagonal once, the off-diagonal entries counted for both positions).
* ``eigh``: eigenvector derivatives need distinct eigenvalues. With repeated
  eigenvalues the eigenvectors are not unique and their derivative is
  infinite/NaN; the eigenvalues alone (``eigvalsh``, or only ``w`` used)
  remain differentiable.
* ``svd``: needs ``full_matrices=False`` (or a square input) for traced
  values, and distinct nonzero singular values for the derivative of ``U``
  and ``Vh``; singular values alone (``svd(a, compute_uv=False)``,
  ``svdvals``, the ``'nuc'`` and 2-norms) only need them distinct from
  each other where a tie would make the result non-smooth.
* ``qr``: reduced mode, ``M >= N`` and full column rank.
* ``det``/``slogdet``/``inv``/``solve``: nonsingular matrices.
* ``pinv`` and ``lstsq``: constant (full) rank near the point.
* ``norm`` at the zero vector/matrix: the 2-norm, Frobenius norm and p-norms
  have gradient 0 there (the subgradient of smallest size), not NaN.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.numpy._linalg_core import (
    _T,
    EighResult,
    LinAlgError,
    QRResult,
    SlogdetResult,
    SVDResult,
    _col,
    _inv,
    _mm,
    _pinv,
    _row,
    _solve,
    _square_check,
    _svdvals,
    _tnp,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
)
from tapeflow.numpy.products import _as_array
from tapeflow.primitive import register_numpy

__all__ = [
    "inv",
    "solve",
    "det",
    "slogdet",
    "cholesky",
    "eigh",
    "eigvalsh",
    "qr",
    "svd",
    "svdvals",
    "pinv",
    "norm",
    "vector_norm",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "lstsq",
    "cond",
    "tensorinv",
    "tensorsolve",
    "vecdot",
    "matrix_transpose",
    "trace",
    "diagonal",
    "outer",
    "cross",
    "tensordot",
    "matmul",
    "EighResult",
    "QRResult",
    "SlogdetResult",
    "SVDResult",
    "LinAlgError",
]


# ----- norm -----------------------------------------------------------------------
def _safe_root(s: Any, power: float) -> Any:
    """``s ** power`` for s >= 0 whose derivative at s == 0 is 0 instead of inf/NaN.

    Used for norms of zero vectors: the zero subgradient is the natural choice
    and keeps gradient descent on ``norm(x)`` well defined at the origin.
    """
    tnp = _tnp()
    safe = s + (s == 0)  # comparisons carry no gradient
    root = tnp.sqrt(safe) if power == 0.5 else tnp.power(safe, power)
    return root * (s != 0)


def _abs2(x: Any) -> Any:
    """|x|^2 entrywise (x * x for real input, the cheap and smooth case)."""
    if np.issubdtype(dtype_of(x), np.complexfloating):
        tnp = _tnp()
        return tnp.real(x * tnp.conj(x))
    return x * x


def _vector_norm(x: Any, ord: Any, axis: Any) -> Any:
    """Vector norm over ``axis`` (a tuple), dropping those axes."""
    tnp = _tnp()
    if ord is None or ord == 2:
        return _safe_root(tnp.sum(_abs2(x), axis=axis), 0.5)
    if ord == np.inf:
        return tnp.max(tnp.abs(x), axis=axis)
    if ord == -np.inf:
        return tnp.min(tnp.abs(x), axis=axis)
    if ord == 1:
        return tnp.sum(tnp.abs(x), axis=axis)
    if ord == 0:  # a count: piecewise constant, no gradient
        return tnp.astype(tnp.sum(x != 0, axis=axis), dtype_of(x))
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    p = float(ord)
    return _safe_root(tnp.sum(tnp.abs(x) ** p, axis=axis), 1.0 / p)


def _matrix_norm(x: Any, ord: Any, rc: tuple[int, int]) -> Any:
    """Matrix norm over the axis pair ``rc`` (rows, columns), dropping both axes."""
    tnp = _tnp()
    r, c = rc
    if ord is None or ord == "fro":
        return _safe_root(tnp.sum(_abs2(x), axis=rc), 0.5)
    if ord in (1, -1, np.inf, -np.inf):
        summed_axis, other = (r, c) if ord in (1, -1) else (c, r)
        sums = tnp.sum(tnp.abs(x), axis=summed_axis, keepdims=True)
        pick = tnp.max if ord in (1, np.inf) else tnp.min
        return tnp.reshape(pick(sums, axis=other, keepdims=True), _drop(shape_of(x), rc))
    if ord in (2, -2, "nuc"):
        nd = len(shape_of(x))
        rest = [d for d in range(nd) if d not in rc]
        s = _svdvals(tnp.transpose(x, tuple(rest) + (r, c)))
        if ord == "nuc":
            return tnp.sum(s, axis=-1)
        return s[..., 0] if ord == 2 else s[..., -1]
    raise ValueError("Invalid norm order for matrices.")


def _drop(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    """Vector or matrix norm (numpy.linalg.norm), for every ``ord`` numpy accepts.

    Vectors: ``None``/2, 1, ``inf``, ``-inf``, 0 (a count: no gradient), any
    other p. Matrices: ``None``/``'fro'``, ``'nuc'``, 1, -1, 2, -2, ``inf``,
    ``-inf``. Conventions: the gradient at the zero vector/matrix is 0 for the
    2-, Frobenius and p-norms; ties of ``inf``/``max``-type norms split the
    gradient equally; ``abs`` has derivative 0 at 0.

    Example:
        >>> norm(np.array([3.0, 4.0]))
        np.float64(5.0)
    """
    x = _as_array(x)
    if not np.issubdtype(dtype_of(x), np.inexact):  # as numpy: integers are measured in float64
        x = _tnp().astype(x, np.float64)
    shape = tuple(shape_of(x))
    nd = len(shape)
    if axis is None:
        if ord is None:  # the 2-norm of the flattened array
            out = _safe_root(_tnp().sum(_abs2(x)), 0.5)
            return _tnp().reshape(out, (1,) * nd) if keepdims else out
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))
    elif isinstance(axis, (int, np.integer)):
        axis = (int(axis),)
    for a in axis:
        if not -nd <= a < nd:
            raise np.exceptions.AxisError(int(a), nd)
    axis = tuple(int(a) % nd for a in axis)
    if len(axis) not in (1, 2):
        raise ValueError("Improper number of dimensions to norm.")
    if len(axis) == 2 and axis[0] == axis[1]:
        raise ValueError("Duplicate axes given.")
    expected = (
        tuple(1 if i in axis else n for i, n in enumerate(shape))
        if keepdims
        else _drop(shape, axis)
    )
    if len(axis) == 1:
        out = _vector_norm(x, ord, axis)
    else:
        out = _matrix_norm(x, ord, axis)
    if tuple(shape_of(out)) != expected:
        out = _tnp().reshape(out, expected)
    return out


def vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """Vector norm over ``axis`` (all axes, flattened, by default), numpy.linalg.vector_norm."""
    if axis is None:
        out = _vector_norm(_tnp().ravel(x), ord, (0,))
        return _tnp().reshape(out, (1,) * len(shape_of(x))) if keepdims else out
    return norm(x, ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x: Any, keepdims: bool = False, ord: Any = "fro") -> Any:
    """Matrix norm over the last two axes (numpy.linalg.matrix_norm)."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


# ----- compositions -----------------------------------------------------------------
def matrix_power(a: Any, n: int) -> Any:
    """``a`` multiplied by itself ``n`` times (numpy.linalg.matrix_power); negative
    ``n`` uses the inverse, ``n == 0`` gives the identity (a constant).

    Example:
        >>> matrix_power(np.array([[1.0, 1.0], [0.0, 1.0]]), 3)
        array([[1., 3.],
               [0., 1.]])
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError("exponent must be an integer")
    _square_check(a, "matrix_power")
    n = int(n)
    if n == 0:
        return np.broadcast_to(np.eye(shape_of(a)[-1], dtype=dtype_of(a)), shape_of(a)).copy()
    if n < 0:
        a, n = _inv(a), -n
    result = None
    base = a
    while True:  # binary exponentiation: about log2(n) products
        if n & 1:
            result = base if result is None else _mm(result, base)
        n >>= 1
        if not n:
            return result
        base = _mm(base, base)


def _chain_order(dims: list[int]) -> list[list[int]]:
    """Optimal split points for the product of matrices with sizes dims[i] x dims[i+1]."""
    k = len(dims) - 1
    cost = [[0] * k for _ in range(k)]
    split = [[0] * k for _ in range(k)]
    for length in range(1, k):
        for i in range(k - length):
            j = i + length
            cost[i][j] = -1
            for s in range(i, j):
                c = cost[i][s] + cost[s + 1][j] + dims[i] * dims[s + 1] * dims[j + 1]
                if cost[i][j] < 0 or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, s
    return split


def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """Product of two or more matrices in the cheapest order (numpy.linalg.multi_dot).

    The first array may be 1-d (a row vector) and the last 1-d (a column vector).
    """
    if out is not None:
        raise TypeError("multi_dot(..., out=...) would write in place; assign the result instead")
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        from tapeflow.numpy.products import dot

        return dot(arrays[0], arrays[1])
    first_vec = len(shape_of(arrays[0])) == 1
    last_vec = len(shape_of(arrays[-1])) == 1
    if first_vec:
        arrays[0] = _row(arrays[0])
    if last_vec:
        arrays[-1] = _col(arrays[-1])
    for x in arrays:
        if len(shape_of(x)) != 2:
            raise ValueError("multi_dot: arrays other than the first and last must be 2-d")
    dims = [shape_of(x)[0] for x in arrays] + [shape_of(arrays[-1])[1]]
    split = _chain_order(dims)

    def product(i: int, j: int) -> Any:
        if i == j:
            return arrays[i]
        s = split[i][j]
        return _mm(product(i, s), product(s + 1, j))

    result = product(0, len(arrays) - 1)
    shape = tuple(shape_of(result))
    if first_vec:
        shape = shape[1:]
    if last_vec:
        shape = shape[:-1]
    return _tnp().reshape(result, shape) if shape != tuple(shape_of(result)) else result


def lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    """Least-squares solution of ``a @ x = b`` (numpy.linalg.lstsq).

    Returns ``(x, residuals, rank, s)`` as numpy does. ``x`` is computed as
    ``pinv(a) @ b`` so its derivative with respect to ``a`` and ``b`` is the
    exact one for full-rank ``a``; ``residuals`` (squared 2-norms of the
    residual columns, empty unless ``a`` has full column rank and M > N) and
    the singular values ``s`` are differentiable too; ``rank`` is an integer.
    """
    tnp = _tnp()
    if len(shape_of(a)) != 2:
        raise LinAlgError(f"lstsq: a must be 2-dimensional, got shape {tuple(shape_of(a))}")
    m, n = shape_of(a)
    kwargs = {} if rcond is None else {"rcond": rcond}
    x = _mm(_pinv(a, **kwargs), b)
    rank = matrix_rank(a)
    s = _svdvals(a)
    if int(rank) == n and m > n:
        r = b - _mm(a, x)
        residuals = tnp.sum(r * r, axis=0)
        if len(shape_of(b)) == 1:
            residuals = tnp.reshape(residuals, (1,))
    else:
        residuals = np.empty((0,), dtype=dtype_of(x))
    return x, residuals, rank, s


def cond(x: Any, p: Any = None) -> Any:
    """Condition number (numpy.linalg.cond): ratio of extreme singular values for
    ``p`` in (None, 2, -2), else ``norm(x, p) * norm(inv(x), p)``."""
    if p is None or p == 2 or p == -2:
        s = _svdvals(x)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    _square_check(x, "cond")
    return norm(x, p, axis=(-2, -1)) * norm(_inv(x), p, axis=(-2, -1))


def tensorinv(a: Any, ind: int = 2) -> Any:
    """Inverse of an N-d array seen as a matrix: its first ``ind`` axes against the rest
    (numpy.linalg.tensorinv)."""
    shape = tuple(shape_of(a))
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    rows = int(np.prod(shape[:ind]))
    flat = _tnp().reshape(a, (rows, -1))
    _square_check(flat, "tensorinv")
    return _tnp().reshape(_inv(flat), shape[ind:] + shape[:ind])


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """Solve ``tensordot(a, x, axes=x.ndim) = b`` for ``x`` (numpy.linalg.tensorsolve)."""
    tnp = _tnp()
    nd = len(shape_of(a))
    if axes is not None:
        order = [k for k in range(nd) if k not in [int(ax) % nd for ax in axes]]
        order += [int(ax) % nd for ax in axes]
        a = tnp.transpose(a, tuple(order))
    x_shape = tuple(shape_of(a))[len(shape_of(b)) :]
    size = int(np.prod(x_shape))
    if int(np.prod(shape_of(a))) != size * size:
        raise LinAlgError(
            "Input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"
        )
    x = _solve(tnp.reshape(a, (size, size)), tnp.reshape(b, (size,)))
    return tnp.reshape(x, x_shape)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Dot products of vectors along ``axis``, conjugating ``x1`` (numpy.linalg.vecdot)."""
    tnp = _tnp()
    x1, x2 = _as_array(x1), _as_array(x2)
    if np.issubdtype(dtype_of(x1), np.complexfloating):
        x1 = tnp.conj(x1)
    return tnp.sum(x1 * x2, axis=axis)


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes (numpy.linalg.matrix_transpose)."""
    return _T(x)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """Sum of the diagonal of the last two axes (numpy.linalg.trace)."""
    return _tnp().trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """Diagonal of the last two axes (numpy.linalg.diagonal)."""
    return _tnp().diagonal(x, offset=offset, axis1=-2, axis2=-1)


def _products() -> Any:
    from tapeflow.numpy import products

    return products


def outer(x1: Any, x2: Any, /) -> Any:
    """Outer product of two vectors (numpy.linalg.outer)."""
    if len(shape_of(x1)) != 1 or len(shape_of(x2)) != 1:
        raise ValueError("linalg.outer: both inputs must be 1-dimensional")
    return _products().outer(x1, x2)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Cross product of 3-vectors along ``axis`` (numpy.linalg.cross)."""
    if shape_of(x1)[axis] != 3 or shape_of(x2)[axis] != 3:
        raise ValueError("linalg.cross: both input arrays must be 3-vectors along the axis")
    return _products().cross(x1, x2, axis=axis)


def tensordot(x1: Any, x2: Any, /, *, axes: Any = 2) -> Any:
    """numpy.linalg.tensordot (keyword ``axes``), see :func:`tapeflow.numpy.tensordot`."""
    return _products().tensordot(x1, x2, axes=axes)


def matmul(x1: Any, x2: Any, /) -> Any:
    """numpy.linalg.matmul, the same as ``x1 @ x2``."""
    return _mm(x1, x2)


for _np_fun, _impl in (
    (np.linalg.inv, inv),
    (np.linalg.solve, solve),
    (np.linalg.det, det),
    (np.linalg.slogdet, slogdet),
    (np.linalg.cholesky, cholesky),
    (np.linalg.eigh, eigh),
    (np.linalg.eigvalsh, eigvalsh),
    (np.linalg.qr, qr),
    (np.linalg.svd, svd),
    (np.linalg.svdvals, svdvals),
    (np.linalg.pinv, pinv),
    (np.linalg.norm, norm),
    (np.linalg.vector_norm, vector_norm),
    (np.linalg.matrix_norm, matrix_norm),
    (np.linalg.matrix_power, matrix_power),
    (np.linalg.matrix_rank, matrix_rank),
    (np.linalg.multi_dot, multi_dot),
    (np.linalg.lstsq, lstsq),
    (np.linalg.cond, cond),
    (np.linalg.tensorinv, tensorinv),
    (np.linalg.tensorsolve, tensorsolve),
    (np.linalg.vecdot, vecdot),
    (np.linalg.matrix_transpose, matrix_transpose),
    (np.linalg.trace, trace),
    (np.linalg.diagonal, diagonal),
    (np.linalg.outer, outer),
    (np.linalg.cross, cross),
    (np.linalg.tensordot, tensordot),
    (np.linalg.matmul, matmul),
):
    register_numpy(_np_fun, _impl)
