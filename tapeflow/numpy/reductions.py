"""Reductions (sum, mean, max, ...) and their derivative rules.

Every reduction takes ``axis`` (None, an int or a tuple) and ``keepdims`` as
keyword arguments. The VJP of a reduction puts the reduced axes back into the
cotangent (``restore_reduced``) and broadcasts it to the input's shape.

Conventions (also in docs/coverage.md):

* ``max``/``min`` split the gradient equally among tied entries (so do
  ``ptp``, ``nanmax`` and ``nanmin`` in statistics.py, built on them).
* ``prod`` and ``cumprod`` never divide by ``x``: their rules use products of
  the *other* entries (exclusive cumulative products) and a linear recurrence
  (``linear_scan``), so zeros, even several in one slice, get exact first and
  higher derivatives.
* ``logsumexp`` subtracts the maximum before exponentiating (it is scipy's, also
  ``tapeflow.scipy.special.logsumexp``); its gradient is the softmax.
* ``all``, ``any``, ``argmax``, ``argmin`` and ``count_nonzero`` return plain
  values (no gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import axis_rule, batch_size, bcast_front, shift_axis
from tapeflow.core.primitive import (
    defbatch,
    defjvp,
    deflinear,
    defvjp,
    nondifferentiable,
    primitive,
)
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.declare import array_arguments, method, no_out, register_numpy
from tapeflow.numpy.dispatch import ufunc_accumulate, ufunc_reduce
from tapeflow.numpy.elementwise import astype, equal, exp, maximum, minimum
from tapeflow.numpy.elementwise import where as _where
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.meta import dtype_of, normalize_axis, reduced_count, shape_of
from tapeflow.numpy.shape import broadcast_to, flip, ravel, reshape, transpose

__all__ = [
    "sum",
    "mean",
    "max",
    "min",
    "amax",
    "amin",
    "prod",
    "cumsum",
    "cumprod",
    "all",
    "any",
    "argmax",
    "argmin",
    "count_nonzero",
    "logsumexp",
    "linear_scan",
    "restore_reduced",
    "max_shift",
    "masked",
    "masked_count",
]


def restore_reduced(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Reshape a reduction's cotangent so it broadcasts against the input shape."""
    if keepdims or not shape:
        return g
    axes = normalize_axis(axis, len(shape))
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return reshape(g, kept)


def _spread(g: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    shape = shape_of(x)
    return broadcast_to(restore_reduced(g, shape, axis, keepdims), shape)


def _kept_integer_dtype(a: Any, dtype: Any, promote_integers: bool) -> Any:
    """The integer dtype a sum or product keeps under JAX's ``promote_integers=False``
    (numpy always promotes), or None."""
    if promote_integers or dtype is not None:
        return None
    kind = np.dtype(dtype_of(a)).kind
    return dtype_of(a) if kind in "iu" else None


def _with_dtype(a: Any, dtype: Any) -> Any:
    """numpy's ``dtype=`` argument of reductions: cast the input first (a traced cast)."""
    if dtype is None:
        return a
    return astype(a, dtype)


# ----- numpy's where= and initial= of reductions, as compositions ----------------------
# The mask is an ordinary (positional) argument of the where primitive, never a keyword
# of the reduction: keywords are static (tp.jit keys its cache on them), a mask is data.
def _unmasked(where: Any) -> bool:
    """Whether a reduction's ``where=`` selects every entry: numpy's True, or JAX's None
    (numpy itself would read None as a mask that selects nothing)."""
    return where is True or where is None


def _as_mask(where: Any) -> Any:
    if type(where) is Tracer:
        return where
    where = np.asarray(where)
    if where.dtype != np.bool_:
        raise TypeError(f"where= must be a boolean mask, got an array of dtype {where.dtype}")
    return where


def masked(a: Any, where: Any, fill: Any) -> Any:
    """``a`` with ``fill`` where the reduction's ``where=`` mask is False."""
    if _unmasked(where):
        return a
    where = _as_mask(where)
    shape, mask_shape = tuple(shape_of(a)), tuple(shape_of(where))
    try:
        fits = np.broadcast_shapes(mask_shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"where= of shape {mask_shape} does not broadcast to the shape {shape}")
    return _where(where, a, fill)


def masked_count(a: Any, axis: Any, keepdims: bool, where: Any) -> Any:
    """How many entries of ``a`` the mask selects in each reduced slice: an int without a
    mask, else real values of ``a``'s precision (float32 for float32 and complex64)."""
    if _unmasked(where):
        return reduced_count(a, axis)
    dtype = np.dtype(dtype_of(a))
    dtype = np.finfo(dtype).dtype if np.issubdtype(dtype, np.inexact) else np.float64
    selected = astype(broadcast_to(_as_mask(where), tuple(shape_of(a))), dtype)
    return _sum(selected, axis=axis, keepdims=keepdims)


def _lowest(dtype: Any, largest: bool) -> Any:
    """The fill a max (``largest``) or min ignores: -inf/+inf, or an integer bound."""
    dtype = np.dtype(dtype)
    if np.issubdtype(dtype, np.inexact):
        return -np.inf if largest else np.inf
    if dtype == np.bool_:
        return not largest
    bits = 8 * dtype.itemsize  # the integer bounds (np.iinfo's, spelled out)
    if np.issubdtype(dtype, np.unsignedinteger):
        low, high = 0, (1 << bits) - 1
    else:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return low if largest else high


def _with_initial(result: Any, initial: Any, combine: Any) -> Any:
    """numpy's ``initial=``: one more value joined with every result by ``combine``."""
    if initial is None:
        return result
    if type(initial) is not Tracer:  # a constant of the result's dtype, as numpy casts it
        initial = np.asarray(initial, dtype_of(result))
    return combine(result, initial)


def _add(a: Any, b: Any) -> Any:
    return a + b


def _multiply(a: Any, b: Any) -> Any:
    return a * b


# ----- sum and mean -----------------------------------------------------------
def _np_sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.sum(x, axis=axis, keepdims=keepdims)


def _sum_jit_call(x: str, margs: tuple[Any, ...], kwargs: dict[str, Any], const: Any) -> Any:
    # np.sum is a Python function ending in np.add.reduce: tp.jit calls the ufunc method
    # directly (every bias gradient is a sum).
    if len(margs) != 1 or set(kwargs) - {"axis", "keepdims"}:
        return None  # (not how tnp.sum records it: the general call)
    axis, keepdims = kwargs.get("axis"), kwargs.get("keepdims", False)
    # (np.sum's axis defaults to None, ufunc.reduce's to 0: always passed)
    return f"{const(np.add.reduce)}({x}, {const(axis)}, None, None, {bool(keepdims)!r})"


_sum = primitive(_np_sum, name="sum")
deflinear(_sum, lambda g, ans, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims))
defbatch(_sum, axis_rule(_sum, "all"))
_sum.primitive.jit_call = _sum_jit_call


def sum(  # noqa: A001
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
    *,
    promote_integers: bool = True,
) -> Any:
    """Sum of array elements over the given axes (numpy.sum).

    ``where`` (a boolean mask that broadcasts to ``a``) selects the entries summed;
    ``initial`` is added to every result. Both are differentiable compositions.
    ``promote_integers=False`` keeps an integer input's dtype, as in JAX.

    Example:
        >>> float(sum(np.array([1.0, 2.0, 4.0]), where=np.array([True, False, True]), initial=10))
        15.0
    """
    no_out(out, "sum")
    kept = _kept_integer_dtype(a, dtype, promote_integers)
    a = masked(_with_dtype(a, dtype), where, 0)
    return _with_dtype(_with_initial(_sum(a, axis=axis, keepdims=keepdims), initial, _add), kept)


def _np_mean(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.mean(x, axis=axis, keepdims=keepdims)


_mean = primitive(_np_mean, name="mean")
deflinear(
    _mean,
    lambda g, ans, x, axis=None, keepdims=False: (
        _spread(g, x, axis, keepdims) / reduced_count(x, axis)
    ),
)
defbatch(_mean, axis_rule(_mean, "all"))


def mean(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    *,
    where: Any = True,
) -> Any:
    """Arithmetic mean over the given axes (numpy.mean), of the entries ``where`` selects.

    Example:
        >>> float(mean(np.array([1.0, 2.0, 4.0]), where=np.array([True, False, True])))
        2.5
    """
    no_out(out, "mean")
    a = _with_dtype(a, dtype)
    if _unmasked(where):
        return _mean(a, axis=axis, keepdims=keepdims)
    total = _sum(masked(a, where, 0), axis=axis, keepdims=keepdims)
    return total / masked_count(a, axis, keepdims, where)


# ----- max and min: ties share the gradient equally -------------------------
def _tie_weights(ans: Any, x: Any, axis: Any, keepdims: bool) -> Any:
    """1/k on each of the k entries equal to the extremum, 0 elsewhere."""
    hit = astype(equal(x, restore_reduced(ans, shape_of(x), axis, keepdims)), dtype_of(x))
    return hit / _sum(hit, axis=axis, keepdims=True)


def _extremum_vjp(ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return lambda g: _spread(g, x, axis, keepdims) * _tie_weights(ans, x, axis, keepdims)


def _extremum_jvp(t: Any, ans: Any, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return _sum(t * _tie_weights(ans, x, axis, keepdims), axis=axis, keepdims=keepdims)


def _np_max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.max(x, axis=axis, keepdims=keepdims)


def _np_min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.min(x, axis=axis, keepdims=keepdims)


_max = primitive(_np_max, name="max")
defvjp(_max, _extremum_vjp)
defjvp(_max, _extremum_jvp)
defbatch(_max, axis_rule(_max, "all"))
_min = primitive(_np_min, name="min")
defvjp(_min, _extremum_vjp)
defjvp(_min, _extremum_jvp)
defbatch(_min, axis_rule(_min, "all"))


def _extremum(
    prim: Any,
    combine: Any,
    largest: bool,
    a: Any,
    axis: Any,
    keepdims: bool,
    initial: Any,
    where: Any,
) -> Any:
    if not _unmasked(where) and initial is None:
        name = combine.__name__
        raise ValueError(
            f"reduction operation '{name}' does not have an identity, so to use a where mask "
            "one has to specify 'initial' (as numpy says)"
        )
    if initial is not None and reduced_count(a, axis) == 0:  # numpy: initial alone
        out_shape = np.sum(np.zeros(shape_of(a), np.int8), axis=axis, keepdims=keepdims).shape
        return np.full(out_shape, initial, dtype_of(a))
    # Masked entries hold the fill that never wins; where every entry is masked, the
    # initial value wins and the masked ones get no gradient.
    a = masked(a, where, _lowest(dtype_of(a), largest))
    return _with_initial(prim(a, axis=axis, keepdims=keepdims), initial, combine)


def max(  # noqa: A001
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
) -> Any:
    """Maximum over the given axes; tied maxima share the gradient equally.

    ``initial`` takes part in every maximum (it is needed with ``where``, as in numpy).

    Example:
        >>> float(max(np.array([1.0, 5.0, 2.0]), where=np.array([True, False, True]), initial=0))
        2.0
    """
    no_out(out, "max")
    return _extremum(_max, maximum, True, a, axis, keepdims, initial, where)


def min(  # noqa: A001
    a: Any,
    axis: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
) -> Any:
    """Minimum over the given axes; tied minima share the gradient equally.

    ``initial`` takes part in every minimum (it is needed with ``where``, as in numpy).

    Example:
        >>> float(min(np.array([1.0, -5.0, 2.0]), where=np.array([True, False, True]), initial=9))
        1.0
    """
    no_out(out, "min")
    return _extremum(_min, minimum, False, a, axis, keepdims, initial, where)


amax = max
amin = min


# ----- shifts and a first-order linear recurrence ---------------------------
def _shift(x: Any, axis: int, fill: Any, forward: bool = True) -> Any:
    """Move entries one step along ``axis`` (towards higher indices when
    ``forward``), dropping the last (first) one and filling the gap with ``fill``."""
    shape = shape_of(x)
    ax = axis % len(shape)
    n = shape[ax]
    if n == 0:
        return x
    edge = np.full(shape[:ax] + (1,) + shape[ax + 1 :], fill, dtype_of(x))
    body = x[(slice(None),) * ax + ((slice(0, n - 1) if forward else slice(1, n)),)]
    return concatenate((edge, body) if forward else (body, edge), axis=ax)


def _np_linear_scan(a: Any, b: Any, axis: int = 0) -> Any:
    # Step k is the affine map h -> a[k] h + b[k]; composing maps is associative, so a
    # doubling (Hillis-Steele) scan needs log2(n) vectorized steps instead of an n-step
    # Python loop: after the step with offset d, (A[k], B[k]) is the composition of
    # maps k-2d+1..k. No division anywhere.
    dtype = np.result_type(a, b)
    A = np.moveaxis(np.array(a, dtype=dtype, copy=True), axis, 0)
    B = np.moveaxis(np.array(b, dtype=dtype, copy=True), axis, 0)
    d = 1
    while d < B.shape[0]:
        B[d:] = B[d:] + A[d:] * B[:-d]
        A[d:] = A[d:] * A[:-d]
        d *= 2
    return np.moveaxis(B, 0, axis)


linear_scan = primitive(_np_linear_scan, name="linear_scan")
array_arguments(linear_scan, 0, 1)
linear_scan.__doc__ = """The recurrence ``h[k] = a[k] * h[k-1] + b[k]`` along ``axis`` (h[-1] = 0).

    ``a`` and ``b`` have the same shape. This is the transpose of itself run
    backwards, which makes it the division-free building block of the
    ``cumprod`` and ``prod`` rules.

    Example:
        >>> linear_scan(np.array([0.0, 2.0, 3.0]), np.array([1.0, 1.0, 1.0]))
        array([ 1.,  3., 10.])
    """


def _scan_back(a: Any, g: Any, axis: int) -> Any:
    """``s[i] = g[i] + a[i+1] * s[i+1]``: the recurrence transposed (run from the end)."""
    a_next = flip(_shift(a, axis, 0, forward=False), axis=axis)
    return flip(linear_scan(a_next, flip(g, axis=axis), axis=axis), axis=axis)


defvjp(
    linear_scan,
    lambda ans, a, b, axis=0: lambda g: _shift(ans, axis, 0) * _scan_back(a, g, axis),
    lambda ans, a, b, axis=0: lambda g: _scan_back(a, g, axis),
)
defjvp(
    linear_scan,
    lambda t, ans, a, b, axis=0: linear_scan(a, t * _shift(ans, axis, 0), axis=axis),
    lambda t, ans, a, b, axis=0: linear_scan(a, t, axis=axis),
)


def _linear_scan_batch(args: Any, dims: Any, **kwargs: Any) -> Any:
    if len(args) != 2:
        return NotImplemented
    size = batch_size(args, dims)
    ranks = [len(shape_of(a)) - (d is not None) for a, d in zip(args, dims, strict=False)]
    if ranks[0] != ranks[1]:
        return NotImplemented
    ax = shift_axis(kwargs.get("axis", 0), ranks[0])
    if ax is None:
        return NotImplemented
    a, b = (bcast_front(x, d, size) for x, d in zip(args, dims, strict=False))
    return linear_scan(a, b, axis=ax), 0


defbatch(linear_scan, _linear_scan_batch)


# ----- cumulative sums and products -----------------------------------------
def _np_cumsum(x: Any, axis: int = 0) -> Any:
    return np.cumsum(x, axis=axis)


def _reverse_cumsum(g: Any, axis: int) -> Any:
    return flip(_cumsum(flip(g, axis=axis), axis=axis), axis=axis)


_cumsum = primitive(_np_cumsum, name="cumsum")
deflinear(_cumsum, lambda g, ans, x, axis=0: _reverse_cumsum(g, axis))
defbatch(_cumsum, axis_rule(_cumsum, "flat"))


def _flat_axis(a: Any, axis: Any) -> tuple[Any, int]:
    """numpy's ``axis=None`` for cumulative functions: work on the flattened array."""
    if axis is None or not shape_of(a):
        return ravel(a), 0
    return a, int(axis)


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative sum along ``axis`` (the flattened array when None), as numpy.cumsum.

    Example:
        >>> cumsum(np.array([1.0, 2.0, 3.0]))
        array([1., 3., 6.])
    """
    no_out(out, "cumsum")
    a = _with_dtype(a, dtype)
    a, ax = _flat_axis(a, axis)
    return _cumsum(a, axis=ax)


def _np_cumprod(x: Any, axis: int = 0) -> Any:
    return np.cumprod(x, axis=axis)


_cumprod = primitive(_np_cumprod, name="cumprod")
# y[k] = prod_{j<=k} x[j].  dy[k]/dx[i] = L[i] * prod_{i<j<=k} x[j] with L the exclusive
# cumulative product (ans shifted by one): both directions are linear recurrences in x,
# so no division by x appears and zeros are handled exactly.
defvjp(
    _cumprod,
    lambda ans, x, axis=0: lambda g: _shift(ans, axis, 1) * _scan_back(x, g, axis),
)
defjvp(
    _cumprod,
    lambda t, ans, x, axis=0: linear_scan(x, t * _shift(ans, axis, 1), axis=axis),
)
defbatch(_cumprod, axis_rule(_cumprod, "flat"))


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """Cumulative product along ``axis`` (flattened when None); exact gradients at zeros.

    Example:
        >>> cumprod(np.array([1.0, 2.0, 3.0]))
        array([1., 2., 6.])
    """
    no_out(out, "cumprod")
    a = _with_dtype(a, dtype)
    a, ax = _flat_axis(a, axis)
    return _cumprod(a, axis=ax)


# ----- prod: gradient = product of the other entries, never ans / x ----------
def _others_product(x: Any, axis: Any) -> Any:
    """For each entry, the product of the other entries of its reduced slice."""
    shape = shape_of(x)
    axes = normalize_axis(axis, len(shape))
    if not axes:
        return np.ones(shape, dtype_of(x))
    kept = [i for i in range(len(shape)) if i not in axes]
    perm = tuple(kept) + axes
    lead = tuple(shape[i] for i in kept)
    rows = reshape(transpose(x, perm), lead + (-1,))
    before = _shift(_cumprod(rows, axis=-1), -1, 1)
    after = flip(_shift(_cumprod(flip(rows, axis=-1), axis=-1), -1, 1), axis=-1)
    others = reshape(before * after, lead + tuple(shape[i] for i in axes))
    return transpose(others, tuple(int(i) for i in np.argsort(perm)))


def _np_prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.prod(x, axis=axis, keepdims=keepdims)


_prod = primitive(_np_prod, name="prod")
defvjp(
    _prod,
    lambda ans, x, axis=None, keepdims=False: (
        lambda g: _spread(g, x, axis, keepdims) * _others_product(x, axis)
    ),
)
defjvp(
    _prod,
    lambda t, ans, x, axis=None, keepdims=False: _sum(
        t * _others_product(x, axis), axis=axis, keepdims=keepdims
    ),
)
defbatch(_prod, axis_rule(_prod, "all"))


def prod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    initial: Any = None,
    where: Any = True,
    *,
    promote_integers: bool = True,
) -> Any:
    """Product over the given axes (numpy.prod); correct gradients with zeros.

    ``where`` selects the entries multiplied; ``initial`` multiplies every result;
    ``promote_integers=False`` keeps an integer input's dtype, as in JAX.

    Example:
        >>> import tapeflow as tp
        >>> tp.grad(prod)(np.array([0.0, 2.0, 3.0]))
        array([6., 0., 0.])
    """
    no_out(out, "prod")
    kept = _kept_integer_dtype(a, dtype, promote_integers)
    a = masked(_with_dtype(a, dtype), where, 1)
    result = _with_initial(_prod(a, axis=axis, keepdims=keepdims), initial, _multiply)
    return _with_dtype(result, kept)


# ----- boolean- and index-valued reductions: plain values, no gradient -----
def _nondiff(np_fun: Any, name: str, none_means: str) -> Any:
    prim = primitive(np_fun, name=name)
    nondifferentiable(prim)
    defbatch(prim, axis_rule(prim, none_means))
    return prim


def _np_all(
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = True
) -> Any:
    """Whether every entry (of those ``where`` selects) is true (numpy.all); ``where=None``
    selects every entry, as in JAX.

    Example:
        >>> bool(all(np.array([True, False]), where=np.array([True, False])))
        True
    """
    mask = True if where is None else where
    return np.all(a, axis=axis, out=out, keepdims=keepdims, where=mask)


def _np_any(
    a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, *, where: Any = True
) -> Any:
    """Whether any entry (of those ``where`` selects) is true (numpy.any); ``where=None``
    selects every entry, as in JAX.

    Example:
        >>> bool(any(np.array([True, False]), where=np.array([False, True])))
        False
    """
    mask = True if where is None else where
    return np.any(a, axis=axis, out=out, keepdims=keepdims, where=mask)


all = _nondiff(_np_all, "all", "all")  # noqa: A001
any = _nondiff(_np_any, "any", "all")  # noqa: A001
argmax = _nondiff(np.argmax, "argmax", "flat")
argmin = _nondiff(np.argmin, "argmin", "flat")
count_nonzero = _nondiff(np.count_nonzero, "count_nonzero", "all")


# ----- logsumexp: the stable log of a sum of exponentials ----------------------------
def max_shift(a: np.ndarray, axis: Any) -> np.ndarray:
    """The max along ``axis`` (keepdims), 0 where it is not finite (all -inf rows...)."""
    m = np.max(a, axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, np.zeros((), m.dtype))


def _np_logsumexp(a: Any, b: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.inexact):
        a = a.astype(np.float64)
    m = max_shift(a, axis)
    with np.errstate(divide="ignore", under="ignore"):
        e = np.exp(a - m)
        if b is not None:
            e = b * e
        out = np.log(np.sum(e, axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis) if axis is not None else out.reshape(())
    return out[()]


_logsumexp = primitive(_np_logsumexp, name="logsumexp")
array_arguments(_logsumexp, 0, 1)


def _lse_weights(ans, a, axis, keepdims):  # type: ignore[no-untyped-def]
    # d logsumexp / d a_i = exp(a_i - ans): the softmax, never above 1. Where the
    # answer is -inf (every term is 0) the weights are 0 rather than nan.
    full = restore_reduced(ans, shape_of(a), axis, keepdims)
    return exp(a - _where(full == -np.inf, 0, full))


def _lse_vjp_a(ans, a, b=None, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    w = _lse_weights(ans, a, axis, keepdims)
    if b is not None:
        w = w * b
    return lambda g: restore_reduced(g, shape_of(a), axis, keepdims) * w


def _lse_vjp_b(ans, a, b, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    w = _lse_weights(ans, a, axis, keepdims)
    return lambda g: restore_reduced(g, shape_of(a), axis, keepdims) * w


def _lse_jvp_a(t, ans, a, b=None, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    w = _lse_weights(ans, a, axis, keepdims)
    if b is not None:
        w = w * b
    return _sum(t * w, axis=axis, keepdims=keepdims)


def _lse_jvp_b(t, ans, a, b, axis=None, keepdims=False):  # type: ignore[no-untyped-def]
    return _sum(t * _lse_weights(ans, a, axis, keepdims), axis=axis, keepdims=keepdims)


defvjp(_logsumexp, _lse_vjp_a, _lse_vjp_b)
defjvp(_logsumexp, _lse_jvp_a, _lse_jvp_b)


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False) -> Any:
    """``log(sum(b * exp(a)))`` along ``axis``, computed without overflow.

    The maximum is subtracted before exponentiating, so huge logits and ``-inf``
    entries are fine (a row of only ``-inf`` gives ``-inf`` and zero gradient).
    The gradient with respect to ``a`` is the softmax (times ``b``).

    Args:
        a: the array.
        axis: int, tuple of ints or None (all axes).
        b: optional non-negative weights broadcastable to ``a`` (differentiable).
        keepdims: keep the reduced axes with length 1.

    Example:
        >>> float(logsumexp(np.array([1000.0, 1000.0])))  # 1000 + log 2
        1000.6931471805599
    """
    if b is not None:
        shape = np.broadcast_shapes(shape_of(a), shape_of(b))
        if shape_of(a) != shape:
            a = broadcast_to(a, shape)
        if shape_of(b) != shape:
            b = broadcast_to(b, shape)
    return _logsumexp(a, b, axis=axis, keepdims=keepdims)


defbatch(_logsumexp, axis_rule(_logsumexp, "all"))


for _np_fun, _impl in (
    (np.sum, sum),
    (np.mean, mean),
    (np.max, max),
    (np.min, min),
    (np.amax, max),
    (np.amin, min),
    (np.prod, prod),
    (np.cumsum, cumsum),
    (np.cumprod, cumprod),
    (np.all, all),
    (np.any, any),
    (np.argmax, argmax),
    (np.argmin, argmin),
    (np.count_nonzero, count_nonzero),
):
    register_numpy(_np_fun, _impl)

ufunc_reduce(np.add, sum, np.add)
ufunc_reduce(np.multiply, prod, np.multiply)
ufunc_reduce(np.maximum, max, np.maximum)
ufunc_reduce(np.minimum, min, np.minimum)
ufunc_reduce(np.logaddexp, logsumexp, np.logaddexp)
ufunc_reduce(np.logical_and, all)
ufunc_reduce(np.logical_or, any)
ufunc_accumulate(np.add, cumsum)
ufunc_accumulate(np.multiply, cumprod)
for _name, _fn in (
    ("sum", sum),
    ("mean", mean),
    ("max", max),
    ("min", min),
    ("prod", prod),
    ("cumsum", cumsum),
    ("cumprod", cumprod),
    ("argmax", argmax),
    ("argmin", argmin),
    ("all", all),
    ("any", any),
):
    method(_name, _fn)
