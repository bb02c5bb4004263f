"""Padding (numpy.pad) in every numpy mode, differentiable in the array.

``mode='constant'`` is a primitive, affine in the array (the padding is a constant).
The other modes pad one axis after another, as numpy does (so the corners that a later
axis adds repeat the padding of the earlier ones), each with the operations its values
come from, and need no rules of their own:

* ``edge`` and ``wrap`` gather entries: gradients sum over the copies;
* ``reflect`` and ``symmetric`` repeat numpy's reflection chunk by chunk, and with
  ``reflect_type='odd'`` subtract each reflected chunk from twice the edge entry;
* ``linear_ramp`` ramps from ``end_values`` to the edge entry;
* ``maximum``, ``minimum``, ``mean`` and ``median`` fill with that statistic of the first
  or last ``stat_length`` entries (tied extrema share the gradient, as in ``max``);
* ``empty`` pads with zeros (numpy leaves those values undefined).

``constant_values``, ``end_values``, ``stat_length`` and ``reflect_type`` are constants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.batching import sole_batched, static_arg, to_front
from tapeflow.core.primitive import defbatch, defjvp, defvjp, primitive
from tapeflow.numpy.declare import register_numpy
from tapeflow.numpy.elementwise import astype, floor, rint
from tapeflow.numpy.indexing import getitem
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.meta import as_operand, contains_tracer, dtype_of, shape_of
from tapeflow.numpy.reductions import max as _max
from tapeflow.numpy.reductions import mean as _mean
from tapeflow.numpy.reductions import min as _min
from tapeflow.numpy.shape import broadcast_to, flip
from tapeflow.numpy.statistics import median as _median

__all__ = ["pad"]


# ----- mode='constant': a primitive ---------------------------------------------------
def _np_pad(x: Any, pad_width: Any, constant_values: Any = 0) -> Any:
    return np.pad(x, pad_width, mode="constant", constant_values=constant_values)


_pad = primitive(_np_pad, name="pad")


def _unpad(g: Any, pad_width: Any) -> Any:
    return g[tuple(slice(lo, n - hi) for (lo, hi), n in zip(pad_width, shape_of(g), strict=False))]


# Affine, not linear (the padding is constant_values): the tangent is padded with zeros.
defvjp(_pad, lambda ans, x, pad_width, constant_values=0: lambda g: _unpad(g, pad_width))
defjvp(_pad, lambda t, ans, x, pad_width, constant_values=0: _pad(t, pad_width=pad_width))


def _pad_batch(args: Any, dims: Any, **kwargs: Any) -> Any:
    if not sole_batched(dims):
        return NotImplemented
    widths = static_arg(args, kwargs, 1, "pad_width")
    value = static_arg(args, kwargs, 2, "constant_values", 0)
    x = to_front(args[0], dims[0])
    return _pad(x, pad_width=((0, 0),) + tuple(widths), constant_values=value), 0


defbatch(_pad, _pad_batch)


# ----- the other modes, one axis at a time ---------------------------------------------
def _along(axis: int, index: Any) -> tuple[Any, ...]:
    """An index that applies ``index`` to ``axis`` and takes everything else."""
    return (slice(None),) * axis + (index,)


def _gather(x: Any, axis: int, lo: int, hi: int, mode: str) -> Any:
    """edge, wrap: numpy's padding of the positions 0..n-1, then a gather."""
    positions = np.pad(np.arange(shape_of(x)[axis]), (lo, hi), mode=mode)  # type: ignore[call-overload]
    return getitem(x, _along(axis, positions))


def _reflect(x: Any, axis: int, lo: int, hi: int, include_edge: bool, odd: bool) -> Any:
    """reflect (``include_edge`` false) and symmetric, numpy's chunks repeated until the
    widths are filled: each chunk reflects what is padded so far, at most one period."""
    n = shape_of(x)[axis]
    if n == 1:  # numpy's legacy rule: a single entry is repeated, as with mode='edge'
        return _gather(x, axis, lo, hi, "edge")
    while lo > 0 or hi > 0:
        filled = shape_of(x)[axis]
        offset = 1 if include_edge else 0  # symmetric repeats the edge entry itself
        period = filled // n * n if include_edge else (filled - 1) // (n - 1) * (n - 1)
        if lo > 0:
            k = min(period, lo)
            chunk = getitem(x, _along(axis, np.arange(k - offset, -offset, -1)))
            if odd:
                chunk = 2 * getitem(x, _along(axis, slice(0, 1))) - chunk
            x = concatenate([chunk, x], axis=axis)
            lo -= k
        if hi > 0:
            k = min(period, hi)
            end = shape_of(x)[axis] - 2 + offset
            chunk = getitem(x, _along(axis, np.arange(end, end - k, -1)))
            if odd:
                chunk = 2 * getitem(x, _along(axis, slice(-1, None))) - chunk
            x = concatenate([x, chunk], axis=axis)
            hi -= k
    return x


def _linear_ramp(x: Any, axis: int, lo: int, hi: int, ends: tuple[Any, Any]) -> Any:
    """From ``end_values`` towards the edge entry, ``end + k * (edge - end) / width``
    (numpy's linspace without its endpoint, in the same order of operations)."""
    n, ndim, dtype = shape_of(x)[axis], len(shape_of(x)), np.dtype(dtype_of(x))
    real = np.finfo(dtype).dtype if np.issubdtype(dtype, np.inexact) else np.float64
    pieces: list[Any] = []
    for width, end, edge_at in ((lo, ends[0], 0), (hi, ends[1], n - 1)):
        if not width:
            pieces.append(None)
            continue
        edge = getitem(x, _along(axis, slice(edge_at, edge_at + 1)))
        steps = np.arange(width, dtype=real).reshape((width,) + (1,) * (ndim - axis - 1))
        ramp = steps * ((edge - end) / width) + end
        if not np.issubdtype(dtype, np.inexact):  # numpy's linspace floors for integers
            ramp = astype(floor(ramp), dtype)
        pieces.append(ramp)
    left, right = pieces
    if right is not None:
        right = flip(right, axis=axis)  # the right ramp runs from the edge outwards
    return concatenate([p for p in (left, x, right) if p is not None], axis=axis)


_STATISTICS: dict[str, Callable[..., Any]] = {
    "maximum": _max,
    "minimum": _min,
    "mean": _mean,
    "median": _median,
}


def _statistic(x: Any, axis: int, lo: int, hi: int, lengths: tuple[Any, Any], mode: str) -> Any:
    """maximum, minimum, mean, median of the first (last) ``stat_length`` entries."""
    shape = tuple(shape_of(x))
    n, dtype = shape[axis], np.dtype(dtype_of(x))
    reduce = _STATISTICS[mode]
    pieces = []
    for width, length, left in ((lo, lengths[0], True), (hi, lengths[1], False)):
        if not width:
            continue
        length = n if length is None else min(int(length), n)
        if length == 0 and mode in ("maximum", "minimum"):
            raise ValueError("stat_length of 0 yields no value for padding")
        part = getitem(x, _along(axis, slice(0, length) if left else slice(n - length, n)))
        value = reduce(part, axis=axis, keepdims=True)
        if not np.issubdtype(dtype, np.inexact) and mode in ("mean", "median"):
            value = astype(rint(value), dtype)  # numpy rounds for integer arrays
        block = broadcast_to(value, shape[:axis] + (width,) + shape[axis + 1 :])
        pieces.append((left, block))
    before = [b for left, b in pieces if left]
    after = [b for left, b in pieces if not left]
    return concatenate(before + [x] + after, axis=axis)


# ----- numpy.pad ------------------------------------------------------------------------
# The keyword arguments numpy.pad takes with each mode.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "constant": ("constant_values",),
    "edge": (),
    "wrap": (),
    "empty": (),
    "linear_ramp": ("end_values",),
    "maximum": ("stat_length",),
    "minimum": ("stat_length",),
    "mean": ("stat_length",),
    "median": ("stat_length",),
    "reflect": ("reflect_type",),
    "symmetric": ("reflect_type",),
}


def _pairs(value: Any, ndim: int, what: str, as_index: bool = False) -> tuple[Any, ...]:
    """numpy's per-axis ``(before, after)`` pairs of a scalar, a pair or one pair per axis."""
    if value is None:
        return ((None, None),) * ndim
    array = np.asarray(value)
    if as_index:
        array = np.round(array).astype(np.intp)
        if np.any(array < 0):
            raise ValueError(f"pad: {what} can't contain negative values")
    try:
        pairs = np.broadcast_to(array, (ndim, 2))
    except ValueError:
        raise ValueError(
            f"pad: {what} of shape {array.shape} is not a (before, after) pair, one pair per "
            f"axis, or a scalar, for an array with {ndim} axes"
        ) from None
    return tuple((a, b) for a, b in pairs.tolist())


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """Pad an array (numpy.pad) in any of numpy's modes; differentiable in ``array``.

    See the module's docstring for how each mode is differentiated. A function as
    ``mode`` (which fills the padding in place) is not supported.

    Example:
        >>> pad(np.array([1.0, 2.0]), 1, constant_values=9.0)
        array([9., 1., 2., 9.])
        >>> import tapeflow as tp
        >>> tp.grad(lambda x: pad(x, 2, mode="linear_ramp").sum())(np.array([1.0, 2.0]))
        array([1.5, 1.5])
    """
    if callable(mode):
        raise NotImplementedError(
            "pad: a function as mode fills the padding in place, which traced arrays do not "
            "allow; use one of numpy's named modes, or build the padding with tnp.concatenate"
        )
    if mode not in _KEYWORDS:
        raise ValueError(
            f"pad: mode {mode!r} is not supported; numpy's modes are {list(_KEYWORDS)}"
        )
    unexpected = sorted(set(kwargs) - set(_KEYWORDS[mode]))
    if unexpected:
        raise TypeError(f"pad: unexpected keyword arguments {unexpected} for mode={mode!r}")
    for key, value in kwargs.items():
        if contains_tracer(value):
            raise TypeError(f"pad: {key} must be a constant, not a traced value")
    if mode == "empty":  # numpy leaves the padding undefined: zeros, traced or not
        mode = "constant"
    # (Plain arrays take the same path: tp.jit replays exactly what runs eagerly.)
    array = as_operand(array)
    shape = tuple(shape_of(array))
    ndim = len(shape)
    widths = _pairs(pad_width, ndim, "pad_width", as_index=True)
    if mode == "constant":
        values = kwargs.get("constant_values", 0)
        if np.ndim(values):
            # Static keyword arguments must be hashable (tp.jit keys its cache on them).
            values = tuple(
                tuple(p) for p in np.broadcast_to(np.asarray(values), (ndim, 2)).tolist()
            )
        return _pad(array, pad_width=widths, constant_values=values)
    for axis, ((lo, hi), n) in enumerate(zip(widths, shape, strict=True)):
        if n == 0 and (lo or hi):
            raise ValueError(
                f"can't extend empty axis {axis} using modes other than 'constant' or 'empty'"
            )
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise ValueError(f"pad: reflect_type must be 'even' or 'odd', got {reflect_type!r}")
    ends = _pairs(kwargs.get("end_values", 0), ndim, "end_values")
    lengths = _pairs(kwargs.get("stat_length"), ndim, "stat_length", as_index=True)
    x = array
    for axis, (lo, hi) in enumerate(widths):
        if not (lo or hi):
            continue
        if mode in ("edge", "wrap"):
            x = _gather(x, axis, lo, hi, mode)
        elif mode in ("reflect", "symmetric"):
            x = _reflect(x, axis, lo, hi, mode == "symmetric", reflect_type == "odd")
        elif mode == "linear_ramp":
            x = _linear_ramp(x, axis, lo, hi, ends[axis])
        else:
            x = _statistic(x, axis, lo, hi, lengths[axis], mode)
    return x


register_numpy(np.pad, pad)
