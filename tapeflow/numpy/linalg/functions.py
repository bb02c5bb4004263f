"""The functions of ``tnp.linalg`` composed of the primitives: norms, ``matrix_power``,
``multi_dot``, ``lstsq``, ``cond``, the tensor solvers and numpy 2's array-API names."""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer
from tapeflow.numpy.creation import asarray
from tapeflow.numpy.diagonals import diagonal as _diagonal
from tapeflow.numpy.diagonals import trace as _trace
from tapeflow.numpy.elementwise import absolute, astype, conj, real, sqrt, where
from tapeflow.numpy.elementwise import power as _power
from tapeflow.numpy.linalg.kernels import LinAlgError, square_check
from tapeflow.numpy.linalg.matrices import col, mm, row, swap_last
from tapeflow.numpy.linalg.primitives import inv, matrix_rank, pinv, solve, svdvals
from tapeflow.numpy.meta import as_operand, dtype_of, shape_of
from tapeflow.numpy.products import cast_operands, dot
from tapeflow.numpy.products import cross as _cross
from tapeflow.numpy.products import outer as _outer
from tapeflow.numpy.products import tensordot as _tensordot
from tapeflow.numpy.reductions import max as _max
from tapeflow.numpy.reductions import min as _min
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.numpy.shape import ravel, reshape, transpose

__all__ = [
    "norm",
    "vector_norm",
    "matrix_norm",
    "matrix_power",
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
]


# ----- norm -----------------------------------------------------------------------
def _safe_root(s: Any, power: float) -> Any:
    """``s ** power`` for s >= 0 whose derivative at s == 0 is 0 instead of inf/NaN.

    Used for norms of zero vectors: the zero subgradient is the natural choice
    and keeps gradient descent on ``norm(x)`` well defined at the origin.
    """
    safe = s + (s == 0)  # comparisons carry no gradient
    root = sqrt(safe) if power == 0.5 else _power(safe, power)
    return root * (s != 0)


def _abs2(x: Any) -> Any:
    """|x|^2 entrywise (x * x for real input, the cheap and smooth case)."""
    if np.issubdtype(dtype_of(x), np.complexfloating):
        return real(x * conj(x))
    return x * x


def _vector_norm(x: Any, ord: Any, axis: Any) -> Any:
    """Vector norm over ``axis`` (a tuple), dropping those axes."""
    if ord is None or ord == 2:
        return _safe_root(_sum(_abs2(x), axis=axis), 0.5)
    if ord == np.inf:
        return _max(absolute(x), axis=axis)
    if ord == -np.inf:
        return _min(absolute(x), axis=axis)
    if ord == 1:
        return _sum(absolute(x), axis=axis)
    if ord == 0:  # a count: piecewise constant, no gradient
        return astype(_sum(x != 0, axis=axis), dtype_of(x))
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    p = float(ord)
    return _safe_root(_sum(absolute(x) ** p, axis=axis), 1.0 / p)


def _matrix_norm(x: Any, ord: Any, rc: tuple[int, int]) -> Any:
    """Matrix norm over the axis pair ``rc`` (rows, columns), dropping both axes."""
    r, c = rc
    if ord is None or ord == "fro":
        return _safe_root(_sum(_abs2(x), axis=rc), 0.5)
    if ord in (1, -1, np.inf, -np.inf):
        summed_axis, other = (r, c) if ord in (1, -1) else (c, r)
        sums = _sum(absolute(x), axis=summed_axis, keepdims=True)
        pick = _max if ord in (1, np.inf) else _min
        return reshape(pick(sums, axis=other, keepdims=True), _drop(shape_of(x), rc))
    if ord in (2, -2, "nuc"):
        nd = len(shape_of(x))
        rest = [d for d in range(nd) if d not in rc]
        s = svdvals(transpose(x, tuple(rest) + (r, c)))
        if ord == "nuc":
            return _sum(s, axis=-1)
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
    x = asarray(x)  # a list may hold traced values
    if not np.issubdtype(dtype_of(x), np.inexact):  # as numpy: integers are measured in float64
        x = astype(x, np.float64)
    shape = tuple(shape_of(x))
    nd = len(shape)
    if axis is None:
        if ord is None:  # the 2-norm of the flattened array
            out = _safe_root(_sum(_abs2(x)), 0.5)
            return reshape(out, (1,) * nd) if keepdims else out
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
        out = reshape(out, expected)
    return out


def vector_norm(x: Any, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    """Vector norm over ``axis`` (all axes, flattened, by default), numpy.linalg.vector_norm."""
    if axis is None:
        out = _vector_norm(ravel(x), ord, (0,))
        return reshape(out, (1,) * len(shape_of(x))) if keepdims else out
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
    square_check(a, "matrix_power")
    n = int(n)
    if n == 0:
        return np.broadcast_to(np.eye(shape_of(a)[-1], dtype=dtype_of(a)), shape_of(a)).copy()
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while True:  # binary exponentiation: about log2(n) products
        if n & 1:
            result = base if result is None else mm(result, base)
        n >>= 1
        if not n:
            return result
        base = mm(base, base)


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


def multi_dot(arrays: Any, *, out: Any = None, precision: Any = None) -> Any:
    """Product of two or more matrices in the cheapest order (numpy.linalg.multi_dot).

    The first array may be 1-d (a row vector) and the last 1-d (a column vector).
    ``precision`` is JAX's (see :func:`tapeflow.numpy.products.cast_operands`).
    """
    if out is not None:
        raise TypeError("multi_dot(..., out=...) would write in place; assign the result instead")
    arrays = list(arrays)
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return dot(arrays[0], arrays[1])
    first_vec = len(shape_of(arrays[0])) == 1
    last_vec = len(shape_of(arrays[-1])) == 1
    if first_vec:
        arrays[0] = row(arrays[0])
    if last_vec:
        arrays[-1] = col(arrays[-1])
    for x in arrays:
        if len(shape_of(x)) != 2:
            raise ValueError("multi_dot: arrays other than the first and last must be 2-d")
    dims = [shape_of(x)[0] for x in arrays] + [shape_of(arrays[-1])[1]]
    split = _chain_order(dims)

    def product(i: int, j: int) -> Any:
        if i == j:
            return arrays[i]
        s = split[i][j]
        return mm(product(i, s), product(s + 1, j))

    result = product(0, len(arrays) - 1)
    shape = tuple(shape_of(result))
    if first_vec:
        shape = shape[1:]
    if last_vec:
        shape = shape[:-1]
    return reshape(result, shape) if shape != tuple(shape_of(result)) else result


def lstsq(a: Any, b: Any, rcond: Any = None) -> Any:
    """Least-squares solution of ``a @ x = b`` (numpy.linalg.lstsq).

    Returns ``(x, residuals, rank, s)`` as numpy does. ``x`` is computed as
    ``pinv(a) @ b`` so its derivative with respect to ``a`` and ``b`` is the
    exact one for full-rank ``a``; ``residuals`` (squared 2-norms of the
    residual columns, empty unless ``a`` has full column rank and M > N) and
    the singular values ``s`` are differentiable too; ``rank`` is an integer.

    Under ``tp.jit`` and ``tp.vmap`` the rank is not a number while the function is
    traced, and a shape cannot depend on it: there ``residuals`` has its full-rank shape
    whenever M > N, and holds NaN for a rank-deficient ``a`` (where numpy's is empty).

    Example:
        >>> a, b = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0, 0.0])
        >>> x, residuals, rank, s = lstsq(a, b)
        >>> x.round(6).tolist(), residuals.round(6).tolist(), int(rank)
        ([0.333333, 0.333333], [1.333333], 2)
    """
    if len(shape_of(a)) != 2:
        raise LinAlgError(f"lstsq: a must be 2-dimensional, got shape {tuple(shape_of(a))}")
    m, n = shape_of(a)
    kwargs = {} if rcond is None else {"rcond": rcond}
    x = mm(pinv(a, **kwargs), b)
    rank = matrix_rank(a)
    s = svdvals(a)
    traced_rank = type(rank) is Tracer  # (a plain integer under grad and jvp)
    if m > n and (traced_rank or int(rank) == n):
        r = b - mm(a, x)
        residuals = _sum(real(r * conj(r)), axis=0)  # |r|^2, real for complex a and b too
        if len(shape_of(b)) == 1:
            residuals = reshape(residuals, (1,))
        if traced_rank:
            residuals = where(rank == n, residuals, np.nan)
    else:
        residuals = np.empty((0,), dtype=np.finfo(dtype_of(x)).dtype)
    return x, residuals, rank, s


def cond(x: Any, p: Any = None) -> Any:
    """Condition number (numpy.linalg.cond): ratio of extreme singular values for
    ``p`` in (None, 2, -2), else ``norm(x, p) * norm(inv(x), p)``."""
    if p is None or p == 2 or p == -2:
        s = svdvals(x)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    square_check(x, "cond")
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


def tensorinv(a: Any, ind: int = 2) -> Any:
    """Inverse of an N-d array seen as a matrix: its first ``ind`` axes against the rest
    (numpy.linalg.tensorinv)."""
    shape = tuple(shape_of(a))
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    rows = int(np.prod(shape[:ind]))
    flat = reshape(a, (rows, -1))
    square_check(flat, "tensorinv")
    return reshape(inv(flat), shape[ind:] + shape[:ind])


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """Solve ``tensordot(a, x, axes=x.ndim) = b`` for ``x`` (numpy.linalg.tensorsolve)."""
    nd = len(shape_of(a))
    if axes is not None:
        order = [k for k in range(nd) if k not in [int(ax) % nd for ax in axes]]
        order += [int(ax) % nd for ax in axes]
        a = transpose(a, tuple(order))
    x_shape = tuple(shape_of(a))[len(shape_of(b)) :]
    size = int(np.prod(x_shape))
    if int(np.prod(shape_of(a))) != size * size:
        raise LinAlgError(
            "Input arrays must satisfy the requirement "
            "prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"
        )
    x = solve(reshape(a, (size, size)), reshape(b, (size,)))
    return reshape(x, x_shape)


def vecdot(
    x1: Any,
    x2: Any,
    /,
    *,
    axis: int = -1,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """Dot products of vectors along ``axis``, conjugating ``x1`` (numpy.linalg.vecdot)."""
    x1, x2 = cast_operands((as_operand(x1), as_operand(x2)), preferred_element_type)
    if np.issubdtype(dtype_of(x1), np.complexfloating):
        x1 = conj(x1)
    return _sum(x1 * x2, axis=axis)


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes (numpy.linalg.matrix_transpose)."""
    return swap_last(x)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """Sum of the diagonal of the last two axes (numpy.linalg.trace)."""
    return _trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """Diagonal of the last two axes (numpy.linalg.diagonal)."""
    return _diagonal(x, offset=offset, axis1=-2, axis2=-1)


def outer(x1: Any, x2: Any, /) -> Any:
    """Outer product of two vectors (numpy.linalg.outer)."""
    if len(shape_of(x1)) != 1 or len(shape_of(x2)) != 1:
        raise ValueError("linalg.outer: both inputs must be 1-dimensional")
    return _outer(x1, x2)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """Cross product of 3-vectors along ``axis`` (numpy.linalg.cross)."""
    if shape_of(x1)[axis] != 3 or shape_of(x2)[axis] != 3:
        raise ValueError("linalg.cross: both input arrays must be 3-vectors along the axis")
    return _cross(x1, x2, axis=axis)


def tensordot(
    x1: Any,
    x2: Any,
    /,
    *,
    axes: Any = 2,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """numpy.linalg.tensordot (keyword ``axes``), see :func:`tapeflow.numpy.tensordot`."""
    return _tensordot(x1, x2, axes=axes, preferred_element_type=preferred_element_type)


def matmul(
    x1: Any, x2: Any, /, *, precision: Any = None, preferred_element_type: Any = None
) -> Any:
    """numpy.linalg.matmul, the same as ``x1 @ x2`` (``precision`` and
    ``preferred_element_type`` are JAX's, see :func:`tapeflow.numpy.products.cast_operands`)."""
    return mm(*cast_operands((x1, x2), preferred_element_type))
