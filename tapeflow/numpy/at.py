"""Functional index updates: ``tnp.at(x)[idx].set(v)`` and friends, as in JAX.

Traced arrays are immutable (``x[idx] = v`` raises), so updates return a new
array instead. ``tnp.at(x)`` works on every array a user holds, numpy arrays
and traced ones alike; ``x.at`` is the same object on traced arrays only (numpy's
own class cannot be given an attribute), so code that also runs on plain arrays,
or on arguments that ``grad`` does not differentiate, writes ``tnp.at(x)``:

>>> import numpy as np, tapeflow.numpy as tnp
>>> x = np.zeros(4)
>>> tnp.at(x)[1:3].set(5.0)
array([0., 5., 5., 0.])
>>> x                                   # never modified
array([0., 0., 0., 0.])

On a traced array the same reads ``x.at[1:3].set(v)``. Each update is one
primitive, differentiable in both ``x`` and ``v`` (``v`` broadcasts to the
shape of ``x[idx]``). Repeated indices follow numpy:

* ``set``: the last write wins; the overwritten ``v`` entries get no gradient.
* ``add``: updates accumulate (scatter-add).
* ``multiply``: updates multiply together; the gradient with respect to ``v``
  needs unique indices (as in JAX) and raises otherwise.
* ``min``/``max``: the gradient is split equally among all entries (of ``x``
  and of ``v``) equal to the result, the same tie rule as ``tnp.max``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.batching import batch_size, bcast_front, to_front
from tapeflow.core.primitive import defbatch, defjvp, defvjp, primitive
from tapeflow.core.tracer import Tracer, unwrap
from tapeflow.numpy.declare import array_arguments, method
from tapeflow.numpy.elementwise import astype, equal, real
from tapeflow.numpy.fitting import unbroadcast
from tapeflow.numpy.indexing import batched_index, getitem
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.shape import broadcast_to, reshape

__all__ = ["at", "IndexUpdateHelper", "IndexUpdateRef"]


# ----- static facts about an index (depend on shapes only) --------------------
def _static_index(index: Any) -> Any:
    """Indices carry no gradient: traced entries become their values."""
    if type(index) is Tracer:
        return unwrap(index)
    if type(index) is tuple:
        return tuple(unwrap(i) if type(i) is Tracer else i for i in index)
    if type(index) is list:
        return np.asarray([unwrap(i) for i in index])
    return index


def _is_basic(index: Any) -> bool:
    """Ints, slices, None and Ellipsis only: every entry of x is hit at most once."""
    parts = index if type(index) is tuple else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


def _index_shape(x_shape: tuple[int, ...], index: Any) -> tuple[int, ...]:
    """The shape of ``x[index]`` without touching (or allocating) x's values."""
    return tuple(np.broadcast_to(np.zeros((), np.int8), x_shape)[index].shape)


def _positions(x_shape: tuple[int, ...], index: Any) -> np.ndarray:
    """For every entry of ``x[index]``, the flat position in ``x`` it refers to."""
    flat = np.arange(int(np.prod(x_shape)), dtype=np.intp).reshape(x_shape)
    return np.asarray(flat[index])


def _has_duplicates(x_shape: tuple[int, ...], index: Any) -> bool:
    if _is_basic(index):
        return False
    pos = _positions(x_shape, index).ravel()
    return bool(np.unique(pos).size != pos.size)


def _last_write_mask(x_shape: tuple[int, ...], index: Any) -> np.ndarray | None:
    """Which entries of ``x[index]`` survive a ``set`` (None when all do)."""
    if _is_basic(index):
        return None
    pos = _positions(x_shape, index)
    if np.unique(pos).size == pos.size:
        return None
    order = np.arange(pos.size).reshape(pos.shape)
    winner = np.full(x_shape, -1, dtype=np.intp)
    winner[index] = order  # numpy assigns in order, so the last write wins
    return np.asarray(winner[index] == order)


def _expand(v: Any, x: Any, index: Any) -> Any:
    """``v`` broadcast to the shape of ``x[index]``."""
    target = _index_shape(tuple(shape_of(x)), index)
    return v if tuple(shape_of(v)) == target else broadcast_to(v, target)


def _fit(ct: Any, v: Any) -> Any:
    """Sum a cotangent shaped like ``x[index]`` back to ``v``'s shape and dtype."""
    ct = unbroadcast(ct, tuple(shape_of(v)))
    if isinstance(v, (float, int, complex)):
        return ct
    want, have = dtype_of(v), dtype_of(ct)
    if want != have and np.issubdtype(want, np.inexact):
        if np.issubdtype(have, np.complexfloating) and not np.issubdtype(want, np.complexfloating):
            ct = real(ct)
        ct = astype(ct, want)
    return ct


def _zeros(ans: Any) -> np.ndarray:
    """Zeros to scatter the tangent of ``v`` into: of the answer's dtype, which is x's (a
    real v's tangent, scattered into real zeros, would lose the complex part of x's)."""
    return np.zeros(shape_of(ans), dtype_of(ans))


# ----- the forward computations (numpy, on plain arrays) -----------------------
def _updated(x: Any, v: Any, index: Any, update: Any) -> np.ndarray:
    out = np.array(x, copy=True)
    v = np.asarray(v)
    if v.dtype != out.dtype:
        v = v.astype(out.dtype)
    if update is None:
        out[index] = v
    else:
        update.at(out, index, v)
    return out


def _np_set(x: Any, v: Any, index: Any) -> np.ndarray:
    return _updated(x, v, index, None)


def _np_add(x: Any, v: Any, index: Any) -> np.ndarray:
    return _updated(x, v, index, np.add)


def _np_multiply(x: Any, v: Any, index: Any) -> np.ndarray:
    return _updated(x, v, index, np.multiply)


def _np_min(x: Any, v: Any, index: Any) -> np.ndarray:
    return _updated(x, v, index, np.minimum)


def _np_max(x: Any, v: Any, index: Any) -> np.ndarray:
    return _updated(x, v, index, np.maximum)


at_set = primitive(_np_set, name="at_set")
at_add = primitive(_np_add, name="at_add")
at_multiply = primitive(_np_multiply, name="at_multiply")
at_min = primitive(_np_min, name="at_min")
at_max = primitive(_np_max, name="at_max")
for _prim in (at_set, at_add, at_multiply, at_min, at_max):
    array_arguments(_prim, 0, 1)  # the index is not an array-like


# ----- set: the overwritten part of x and the overwritten v entries get no gradient
def _set_vjp_v(ans: Any, x: Any, v: Any, index: Any) -> Any:
    mask = _last_write_mask(shape_of(x), index)
    if mask is None:
        return lambda g: _fit(getitem(g, index), v)
    return lambda g: _fit(getitem(g, index) * mask, v)


def _set_jvp_v(t: Any, ans: Any, x: Any, v: Any, index: Any) -> Any:
    return at_set(_zeros(ans), t, index=index)


defvjp(at_set, lambda ans, x, v, index: lambda g: at_set(g, 0, index=index), _set_vjp_v)
defjvp(at_set, lambda t, ans, x, v, index: at_set(t, 0, index=index), _set_jvp_v)


# ----- add: x passes g straight through; v collects it from every place it went
def _add_vjp_v(ans: Any, x: Any, v: Any, index: Any) -> Any:
    return lambda g: _fit(getitem(g, index), v)


defvjp(at_add, lambda ans, x, v, index: lambda g: g, _add_vjp_v)
defjvp(
    at_add,
    lambda t, ans, x, v, index: t,
    lambda t, ans, x, v, index: at_add(_zeros(ans), t, index=index),
)


# ----- multiply: ans = x * F with F the product of the updates at each place ---
def _factor(x: Any, v: Any, index: Any) -> Any:
    """F with ``ans == x * F``: ones, times every update at its place (zero-safe)."""
    return at_multiply(np.ones(shape_of(x), dtype_of(x)), v, index=index)


def _require_unique(x: Any, index: Any) -> None:
    if _has_duplicates(shape_of(x), index):
        raise NotImplementedError(
            "the gradient of x.at[idx].multiply(v) with respect to v is only implemented for "
            "indices without repeats (as in JAX); combine the repeated factors of v first"
        )


def _multiply_vjp_v(ans: Any, x: Any, v: Any, index: Any) -> Any:
    _require_unique(x, index)
    return lambda g: _fit(getitem(g * x, index), v)


def _multiply_jvp_v(t: Any, ans: Any, x: Any, v: Any, index: Any) -> Any:
    _require_unique(x, index)
    return at_add(_zeros(ans), getitem(x, index) * t, index=index)


defvjp(
    at_multiply,
    lambda ans, x, v, index: lambda g: g * _factor(x, v, index),
    _multiply_vjp_v,
)
defjvp(
    at_multiply,
    lambda t, ans, x, v, index: t * _factor(x, v, index),
    _multiply_jvp_v,
)


# ----- min / max: ties share the gradient equally (x entries and v entries alike)
def _tie_weights(ans: Any, x: Any, v: Any, index: Any) -> tuple[Any, Any, Any]:
    """(weight of each x entry, weight of each entry of expanded v, count of ties)."""
    dtype = dtype_of(ans)
    hit_x = astype(equal(x, ans), dtype)
    # v is compared as the update stored it, rounded to x's dtype: -1.97 (a Python float)
    # never equals its float32 rounding, and no entry would win (a 0/0 gradient).
    if dtype_of(v) != dtype:
        v = astype(v, dtype) if type(v) is Tracer else np.asarray(v, dtype)
    hit_v = astype(equal(_expand(v, x, index), getitem(ans, index)), dtype)
    count = hit_x + at_add(np.zeros(shape_of(ans), dtype), hit_v, index=index)
    return hit_x, hit_v, count


def _extremum_vjp_x(ans: Any, x: Any, v: Any, index: Any) -> Any:
    hit_x, _, count = _tie_weights(ans, x, v, index)
    return lambda g: g * hit_x / count


def _extremum_vjp_v(ans: Any, x: Any, v: Any, index: Any) -> Any:
    _, hit_v, count = _tie_weights(ans, x, v, index)
    return lambda g: _fit(getitem(g / count, index) * hit_v, v)


def _extremum_jvp_x(t: Any, ans: Any, x: Any, v: Any, index: Any) -> Any:
    hit_x, _, count = _tie_weights(ans, x, v, index)
    return t * hit_x / count


def _extremum_jvp_v(t: Any, ans: Any, x: Any, v: Any, index: Any) -> Any:
    _, hit_v, count = _tie_weights(ans, x, v, index)
    return at_add(_zeros(ans), _expand(t, x, index) * hit_v, index=index) / count


for _prim in (at_min, at_max):
    defvjp(_prim, _extremum_vjp_x, _extremum_vjp_v)
    defjvp(_prim, _extremum_jvp_x, _extremum_jvp_v)


# ----- the public helper objects --------------------------------------------------
class IndexUpdateRef:
    """``x.at[idx]``: pick an update; each method returns a new array."""

    __slots__ = ("_x", "_index")

    def __init__(self, x: Any, index: Any) -> None:
        self._x = x
        self._index = _static_index(index)

    def get(self) -> Any:
        """``x[idx]`` (the same as indexing directly)."""
        return getitem(self._x, self._index)

    def set(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[idx]`` replaced by ``values`` (the last repeat wins)."""
        return at_set(self._x, values, index=self._index)

    def add(self, values: Any) -> Any:
        """A copy of ``x`` with ``values`` added at ``idx`` (repeats accumulate)."""
        return at_add(self._x, values, index=self._index)

    def subtract(self, values: Any) -> Any:
        """A copy of ``x`` with ``values`` subtracted at ``idx`` (repeats accumulate)."""
        return at_add(self._x, -values, index=self._index)

    def multiply(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[idx]`` multiplied by ``values`` (repeats multiply)."""
        return at_multiply(self._x, values, index=self._index)

    def divide(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[idx]`` divided by ``values``."""
        return at_multiply(self._x, 1 / values, index=self._index)

    def min(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[idx] = minimum(x[idx], values)``."""
        return at_min(self._x, values, index=self._index)

    def max(self, values: Any) -> Any:
        """A copy of ``x`` with ``x[idx] = maximum(x[idx], values)``."""
        return at_max(self._x, values, index=self._index)

    def __repr__(self) -> str:
        return f"IndexUpdateRef(index={self._index!r})"


class IndexUpdateHelper:
    """``x.at``: index it (``x.at[idx]``) to get an :class:`IndexUpdateRef`."""

    __slots__ = ("_x",)

    def __init__(self, x: Any) -> None:
        self._x = x

    def __getitem__(self, index: Any) -> IndexUpdateRef:
        return IndexUpdateRef(self._x, index)

    def __repr__(self) -> str:
        return "IndexUpdateHelper (index it: tnp.at(x)[idx].set(v))"


def at(x: Any) -> IndexUpdateHelper:
    """Functional index updates for any array: ``tnp.at(x)[idx].set(v)``.

    The same object is ``x.at`` on traced arrays. Updates never modify ``x``;
    they return a new array and are differentiable in ``x`` and in the values.

    Example:
        >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
        >>> tnp.at(np.arange(3.0))[0].add(10.0)
        array([10.,  1.,  2.])
        >>> float(tp.grad(lambda v: tnp.at(np.zeros(3))[::2].set(v).sum())(1.0))
        2.0
    """
    return IndexUpdateHelper(x)


# ----- vmap: the batch axis goes in front of x and of the values ------------------
def _batch_rule(prim: Any) -> Any:
    def rule(args: Any, dims: Any, index: Any) -> Any:
        (x, v), (dx, dv) = args, dims
        bindex = batched_index(index)
        if bindex is None:
            return NotImplemented  # the batch axis would move: loop over examples
        n = batch_size(args, dims)
        x = bcast_front(x, dx, n)
        if dv is not None:
            v = to_front(v, dv)
            target = _index_shape(tuple(shape_of(x))[1:], index)
            v_shape = tuple(shape_of(v))[1:]
            if len(v_shape) < len(target):
                v = reshape(v, (n,) + (1,) * (len(target) - len(v_shape)) + v_shape)
        return prim(x, v, index=bindex), 0

    return rule


for _prim in (at_set, at_add, at_multiply, at_min, at_max):
    defbatch(_prim, _batch_rule(_prim))


method("at", at, prop=True)
