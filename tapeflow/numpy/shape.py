"""Shape manipulation (reshape, transpose, concatenate, ...) and its rules.

Shape functions only move entries around, so each VJP moves the cotangent
back the same way and each JVP applies the same function to the tangent.
Most functions here are compositions of a few primitives (``reshape``,
``transpose``, ``broadcast_to``, ``concatenate``, ``flip``, ``roll``, ``pad``,
``diagonal``, indexing); they need no rules of their own. The module ends with
the finite-difference helpers ``diff``/``gradient`` and 1-d
``convolve``/``correlate``, which are differentiable in both arguments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import dtype_of, shape_of
from tapeflow.numpy._linalg_core import _items  # multi-output plumbing (unravel)
from tapeflow.primitive import (
    defjvp,
    defjvp_joint,
    defvjp,
    defvjp_argnum,
    defvjp_direct,
    primitive,
    register_numpy,
    vjp_needs,
)

__all__ = [
    "reshape",
    "transpose",
    "broadcast_to",
    "ravel",
    "swapaxes",
    "concatenate",
    "expand_dims",
    "squeeze",
    "moveaxis",
    "broadcast_arrays",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "split",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "tile",
    "repeat",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "rot90",
    "pad",
    "diag",
    "diagonal",
    "trace",
    "tril",
    "triu",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "copy",
    "meshgrid",
    "diff",
    "gradient",
    "convolve",
    "correlate",
]


def _np_reshape(x: Any, shape: Any, order: str = "C") -> Any:
    return np.reshape(x, shape, order=order)  # type: ignore[call-overload]


_reshape = primitive(_np_reshape, name="reshape")
defvjp_direct(_reshape, lambda g, ans, x, shape, order="C": _reshape(g, shape_of(x), order=order))
defjvp(_reshape, lambda t, ans, x, shape, order="C": _reshape(t, shape, order=order))
vjp_needs(_reshape, ans=False, args=(1,))


def reshape(a: Any, shape: Any, order: str = "C") -> Any:
    """Give an array a new shape without changing its data (numpy.reshape)."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return _reshape(a, tuple(shape), order=order)


def ravel(a: Any, order: str = "C") -> Any:
    """Flatten to one dimension (numpy.ravel)."""
    return _reshape(a, (-1,), order=order)


def _np_transpose(x: Any, axes: Any = None) -> Any:
    return np.transpose(x, axes)


_transpose = primitive(_np_transpose, name="transpose")


def _inverse_axes(axes: Any, ndim: int) -> Any:
    if axes is None:
        return None
    return tuple(np.argsort([a % ndim for a in axes]))


defvjp_direct(
    _transpose,
    lambda g, ans, x, axes=None: _transpose(g, _inverse_axes(axes, len(shape_of(x)))),
)
defjvp(_transpose, lambda t, ans, x, axes=None: _transpose(t, axes))


def transpose(a: Any, axes: Any = None) -> Any:
    """Permute the axes (reverse them by default), as numpy.transpose."""
    return _transpose(a, None if axes is None else tuple(axes))


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """Interchange two axes (numpy.swapaxes)."""
    ndim = len(shape_of(a))
    axes = list(range(ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return _transpose(a, tuple(axes))


def _np_broadcast_to(x: Any, shape: Any) -> Any:
    return np.broadcast_to(x, shape)


_broadcast_to = primitive(_np_broadcast_to, name="broadcast_to")


def _unbroadcast_vjp(ans: Any, x: Any, shape: Any) -> Any:
    from tapeflow.numpy._cotangent import unbroadcast

    return lambda g: unbroadcast(g, shape_of(x))


defvjp(_broadcast_to, _unbroadcast_vjp)
defjvp(_broadcast_to, lambda t, ans, x, shape: _broadcast_to(t, shape))
vjp_needs(_broadcast_to, ans=False, args=(1,))


def broadcast_to(array: Any, shape: Any) -> Any:
    """Broadcast an array to a new shape (numpy.broadcast_to); read-only result."""
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    return _broadcast_to(array, tuple(shape))


def expand_dims(a: Any, axis: Any) -> Any:
    """Insert length-1 axes (numpy.expand_dims)."""
    return _reshape(a, np.expand_dims(np.empty(shape_of(a), dtype=bool), axis).shape)


def squeeze(a: Any, axis: Any = None) -> Any:
    """Remove length-1 axes (numpy.squeeze)."""
    return _reshape(a, np.squeeze(np.empty(shape_of(a), dtype=bool), axis).shape)


# concatenate is variadic: the arrays are positional arguments of the primitive.
def _np_concatenate(*arrays: Any, axis: int = 0) -> Any:
    return np.concatenate(arrays, axis=axis)


_concatenate = primitive(_np_concatenate, name="concatenate")


def _concatenate_vjp(argnum: int, ans: Any, args: Any, kwargs: Any) -> Any:
    from tapeflow.numpy.indexing import getitem

    axis = kwargs.get("axis", 0)
    ndim = len(shape_of(ans))
    ax = axis % ndim
    start = int(np.sum([shape_of(a)[ax] for a in args[:argnum]]))
    stop = start + shape_of(args[argnum])[ax]
    index = (slice(None),) * ax + (slice(start, stop),)
    return lambda g: getitem(g, index)


defvjp_argnum(_concatenate, _concatenate_vjp)


def _concatenate_jvp(tangents: Any, ans: Any, *args: Any, **kwargs: Any) -> Any:
    # One concatenation of every argument's tangent (zeros where there is none).
    from tapeflow.numpy.creation import zeros_like_shape

    like = next(t for t in tangents if t is not None)
    parts = [
        zeros_like_shape(a, like) if t is None else t for t, a in zip(tangents, args, strict=True)
    ]
    return _concatenate(*parts, **kwargs)


defjvp_joint(_concatenate, _concatenate_jvp)


def concatenate(arrays: Any, axis: int | None = 0) -> Any:
    """Join a sequence of arrays along an existing axis (numpy.concatenate)."""
    arrays = tuple(arrays)
    if axis is None:
        arrays = tuple(ravel(a) for a in arrays)
        axis = 0
    return _concatenate(*arrays, axis=axis)


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """Move axes to new positions, keeping the others in order (numpy.moveaxis)."""
    ndim = len(shape_of(a))
    src = _axes_tuple(source, ndim)
    dst = _axes_tuple(destination, ndim)
    if len(src) != len(dst):
        raise ValueError("moveaxis: `source` and `destination` need the same number of elements")
    order = [i for i in range(ndim) if i not in src]
    for d, s_ in sorted(zip(dst, src, strict=False)):
        order.insert(d, s_)
    return _transpose(a, tuple(order))


def _axes_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    """Axes as non-negative ints in the given order (not sorted), validated."""
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= ax < ndim:
            raise np.exceptions.AxisError(int(ax), ndim)
        out.append(int(ax) % ndim)
    return tuple(out)


def broadcast_arrays(*args: Any) -> tuple[Any, ...]:
    """Broadcast arrays against each other (numpy.broadcast_arrays); returns a tuple."""
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(a if shape_of(a) == shape else broadcast_to(a, shape) for a in args)


# ----- joining -----------------------------------------------------------------
def stack(arrays: Any, axis: int = 0) -> Any:
    """Join arrays of one shape along a new axis (numpy.stack)."""
    arrays = tuple(arrays)
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    shape = shapes.pop()
    ax = _axes_tuple(axis, len(shape) + 1)[0]
    new = shape[:ax] + (1,) + shape[ax:]
    return _concatenate(*(_reshape(a, new) for a in arrays), axis=ax)


def atleast_1d(*arys: Any) -> Any:
    """View inputs as arrays of at least one dimension (numpy.atleast_1d)."""
    out = tuple(a if len(shape_of(a)) >= 1 else _reshape(a, (1,)) for a in arys)
    return out[0] if len(out) == 1 else out


def _at_least_2d(a: Any) -> Any:
    shape = shape_of(a)
    if len(shape) >= 2:
        return a
    return _reshape(a, (1,) * (2 - len(shape)) + shape)


def _at_least_3d(a: Any) -> Any:
    shape = shape_of(a)
    if len(shape) >= 3:
        return a
    new = {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[len(shape)]
    return _reshape(a, new)


def atleast_2d(*arys: Any) -> Any:
    """View inputs as arrays of at least two dimensions (numpy.atleast_2d)."""
    out = tuple(_at_least_2d(a) for a in arys)
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys: Any) -> Any:
    """View inputs as arrays of at least three dimensions (numpy.atleast_3d)."""
    out = tuple(_at_least_3d(a) for a in arys)
    return out[0] if len(out) == 1 else out


def _as_operand(a: Any) -> Any:
    """Lists and scalars become arrays; traced values stay traced."""
    from tapeflow.tracer import Tracer

    return a if type(a) is Tracer or isinstance(a, np.ndarray) else np.asarray(a)


def hstack(tup: Any) -> Any:
    """Stack arrays column-wise (numpy.hstack): axis 1, or axis 0 for 1-d inputs."""
    arrs = [atleast_1d(_as_operand(a)) for a in tup]
    return concatenate(arrs, axis=0 if len(shape_of(arrs[0])) == 1 else 1)


def vstack(tup: Any) -> Any:
    """Stack arrays row-wise (numpy.vstack)."""
    return concatenate([_at_least_2d(_as_operand(a)) for a in tup], axis=0)


def dstack(tup: Any) -> Any:
    """Stack arrays along the third axis (numpy.dstack)."""
    return concatenate([_at_least_3d(_as_operand(a)) for a in tup], axis=2)


def column_stack(tup: Any) -> Any:
    """Stack 1-d arrays as columns of a 2-d array (numpy.column_stack)."""
    cols = []
    for a in tup:
        a = _as_operand(a)
        shape = shape_of(a)
        cols.append(_reshape(a, (-1, 1)) if len(shape) < 2 else a)
    return concatenate(cols, axis=1)


# ----- splitting: lists of differentiable pieces --------------------------------
def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into pieces along ``axis``; sections need not divide evenly (numpy.array_split)."""
    ary = _as_operand(ary)
    ndim = len(shape_of(ary))
    ax = _axes_tuple(axis, ndim)[0]
    n = shape_of(ary)[ax]
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        each, extra = divmod(n, sections)
        sizes = [each + 1] * extra + [each] * (sections - extra)
        bounds = [0] + [int(b) for b in np.cumsum(sizes)]
    else:
        # Python slice semantics (negative or out-of-range indices) as in numpy.
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    lead = (slice(None),) * ax
    return [ary[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:], strict=False)]


# ----- unravel: a flat vector into pieces of given shapes (ravel_pytree's inverse) ----
def _np_unravel(vec: Any, bounds: Any, shapes: Any) -> tuple[Any, ...]:
    return tuple(vec[lo:hi].reshape(shape) for (lo, hi), shape in zip(bounds, shapes, strict=True))


_unravel = primitive(_np_unravel, name="unravel")


def _unravel_vjp(g: Any, ans: Any, vec: Any, bounds: Any, shapes: Any) -> Any:
    # One concatenation of the pieces' cotangents: slicing each piece separately would
    # give each a full-length cotangent (zeros around one piece), all then summed.
    dtype = dtype_of(vec)
    parts = [
        np.zeros(hi - lo, dtype) if gi is None else _reshape(gi, (hi - lo,))
        for gi, (lo, hi) in zip(g, bounds, strict=True)
    ]
    return _concatenate(*parts, axis=0)


def _unravel_batch(args: Any, dims: Any, bounds: Any, shapes: Any) -> Any:
    vec, d = args[0], dims[0]
    if d != 0:
        vec = moveaxis(vec, d, 0)
    n = shape_of(vec)[0]
    pieces = tuple(
        _reshape(vec[:, lo:hi], (n, *shape)) for (lo, hi), shape in zip(bounds, shapes, strict=True)
    )
    return pieces, (0,) * len(pieces)


defvjp_direct(_unravel, _unravel_vjp)
defjvp(_unravel, lambda t, ans, vec, bounds, shapes: _unravel(t, bounds=bounds, shapes=shapes))
_unravel.primitive.batch_rule = _unravel_batch


def unravel_pieces(vec: Any, bounds: Any, shapes: Any) -> list[Any]:
    """``vec[lo:hi].reshape(shape)`` for each bound and shape, as one differentiable step.

    The inverse of ``ravel_pytree``'s concatenation: its gradient is one
    concatenation of the pieces' gradients.

    Example:
        >>> [p.shape for p in unravel_pieces(np.arange(5.0), ((0, 4), (4, 5)), ((2, 2), ()))]
        [(2, 2), ()]
    """
    bounds = tuple((int(lo), int(hi)) for lo, hi in bounds)
    shapes = tuple(tuple(int(n) for n in shape) for shape in shapes)
    return _items(_unravel(vec, bounds=bounds, shapes=shapes), len(bounds))


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into equal pieces or at the given indices along ``axis`` (numpy.split)."""
    if isinstance(indices_or_sections, (int, np.integer)):
        n = shape_of(ary)[_axes_tuple(axis, len(shape_of(ary)))[0]]
        if n % int(indices_or_sections):
            raise ValueError("array split does not result in an equal division")
    return array_split(ary, indices_or_sections, axis)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split column-wise: axis 1, or axis 0 for 1-d arrays (numpy.hsplit)."""
    ndim = len(shape_of(ary))
    if ndim == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, axis=1 if ndim > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split row-wise, along axis 0 of an array of 2 or more dimensions (numpy.vsplit)."""
    if len(shape_of(ary)) < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, axis=0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along the third axis of an array of 3 or more dimensions (numpy.dsplit)."""
    if len(shape_of(ary)) < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, axis=2)


# ----- repetition -----------------------------------------------------------------
def tile(A: Any, reps: Any) -> Any:
    """Repeat an array ``reps`` times along each axis (numpy.tile).

    Written as reshape -> broadcast -> reshape, so the VJP sums the copies.
    """
    A = _as_operand(A)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    shape = shape_of(A)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + tuple(shape)
    reps = (1,) * (d - len(reps)) + reps
    spread = tuple(x for r, n in zip(reps, shape, strict=False) for x in (1, n))
    big = tuple(x for r, n in zip(reps, shape, strict=False) for x in (r, n))
    out = broadcast_to(_reshape(A, spread), big)
    return _reshape(out, tuple(r * n for r, n in zip(reps, shape, strict=False)))


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Any:
    """Repeat each element ``repeats`` times along ``axis`` (flattened when None), as numpy.repeat.

    ``repeats`` is an int or one count per element along ``axis``.
    """
    from tapeflow.tracer import unwrap

    a = _as_operand(a)
    if axis is None:
        a = ravel(a)
        axis = 0
    shape = shape_of(a)
    ax = _axes_tuple(axis, len(shape))[0]
    counts = np.asarray(unwrap(repeats))
    if counts.size == 1:
        r = int(counts.reshape(()))
        out = broadcast_to(
            _reshape(a, shape[: ax + 1] + (1,) + shape[ax + 1 :]),
            shape[: ax + 1] + (r,) + shape[ax + 1 :],
        )
        return _reshape(out, shape[:ax] + (shape[ax] * r,) + shape[ax + 1 :])
    index = np.repeat(np.arange(shape[ax]), counts)
    return a[(slice(None),) * ax + (index,)]


# ----- flips and rotations ---------------------------------------------------------
def _np_flip(x: Any, axis: Any) -> Any:
    return np.flip(x, axis)


_flip = primitive(_np_flip, name="flip")
defvjp_direct(_flip, lambda g, ans, x, axis: _flip(g, axis=axis))
defjvp(_flip, lambda t, ans, x, axis: _flip(t, axis=axis))


def flip(m: Any, axis: Any = None) -> Any:
    """Reverse the order of entries along the given axes (all when None), as numpy.flip."""
    ndim = len(shape_of(m))
    axes = tuple(range(ndim)) if axis is None else _axes_tuple(axis, ndim)
    return _flip(m, axis=axes)


def fliplr(m: Any) -> Any:
    """Reverse the columns (axis 1), as numpy.fliplr."""
    if len(shape_of(m)) < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(m, 1)


def flipud(m: Any) -> Any:
    """Reverse the rows (axis 0), as numpy.flipud."""
    if len(shape_of(m)) < 1:
        raise ValueError("Input must be >= 1-d.")
    return flip(m, 0)


def rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes`` (numpy.rot90)."""
    ndim = len(shape_of(m))
    a0, a1 = _axes_tuple(tuple(axes), ndim)
    if a0 == a1:
        raise ValueError("Axes must be different.")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return _transpose(flip(m, a1), tuple(perm))
    return flip(_transpose(m, tuple(perm)), a1)


def _np_roll(x: Any, shift: Any, axis: Any) -> Any:
    return np.roll(x, shift, axis)


def _negate(shift: Any) -> Any:
    return tuple(-s for s in shift) if isinstance(shift, tuple) else -shift


_roll = primitive(_np_roll, name="roll")
defvjp_direct(_roll, lambda g, ans, x, shift, axis: _roll(g, shift=_negate(shift), axis=axis))
defjvp(_roll, lambda t, ans, x, shift, axis: _roll(t, shift=shift, axis=axis))


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Shift entries cyclically along ``axis`` (the flattened array when None), as numpy.roll."""
    if axis is None:
        return _reshape(_roll(ravel(a), shift=int(shift), axis=0), shape_of(a))
    shift = int(shift) if isinstance(shift, (int, np.integer)) else tuple(int(s) for s in shift)
    axis = int(axis) if isinstance(axis, (int, np.integer)) else tuple(int(s) for s in axis)
    return _roll(a, shift=shift, axis=axis)


# ----- padding -----------------------------------------------------------------------
def _np_pad(x: Any, pad_width: Any, constant_values: Any = 0) -> Any:
    return np.pad(x, pad_width, mode="constant", constant_values=constant_values)


_pad = primitive(_np_pad, name="pad")


def _unpad(g: Any, pad_width: Any) -> Any:
    return g[tuple(slice(lo, n - hi) for (lo, hi), n in zip(pad_width, shape_of(g), strict=False))]


defvjp_direct(_pad, lambda g, ans, x, pad_width, constant_values=0: _unpad(g, pad_width))
defjvp(_pad, lambda t, ans, x, pad_width, constant_values=0: _pad(t, pad_width=pad_width))


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """Pad an array (numpy.pad); differentiable in ``array``.

    ``mode='constant'`` (with constant ``constant_values``) is a primitive; the
    index-based modes ``'edge'``, ``'reflect'``, ``'symmetric'`` and ``'wrap'``
    gather entries of ``array``, so their gradients sum over the copies.

    Example:
        >>> pad(np.array([1.0, 2.0]), 1, constant_values=9.0)
        array([9., 1., 2., 9.])
    """
    from tapeflow.tracer import Tracer

    array = _as_operand(array)
    shape = shape_of(array)
    pairs_of_widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (len(shape), 2))
    widths = tuple((int(lo), int(hi)) for lo, hi in pairs_of_widths)
    if mode == "constant":
        values = kwargs.pop("constant_values", 0)
        if kwargs:
            raise TypeError(
                f"pad: unexpected keyword arguments {sorted(kwargs)} for mode='constant'"
            )
        if type(values) is Tracer:
            raise TypeError("pad: constant_values must be a constant, not a traced value")
        if np.ndim(values):
            # Static keyword arguments must be hashable (tp.jit keys its cache on them).
            pairs = np.broadcast_to(np.asarray(values), (len(shape), 2)).tolist()
            values = tuple(tuple(p) for p in pairs)
        return _pad(array, pad_width=widths, constant_values=values)
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        # Pad each axis's index range the same way, then gather: gradients sum the copies.
        ranges = [
            np.pad(np.arange(n), w, mode=mode, **kwargs)  # type: ignore[call-overload]
            for n, w in zip(shape, widths, strict=True)
        ]
        return array[np.ix_(*ranges)] if shape else array
    raise NotImplementedError(
        f"tapeflow.numpy.pad supports modes 'constant', 'edge', 'reflect', 'symmetric' and 'wrap', "
        f"got mode={mode!r}"
    )


# ----- diagonals and triangles --------------------------------------------------------
def _np_diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    return np.diagonal(x, offset, axis1, axis2).copy()


def _np_diagonal_scatter(
    d: Any, shape: Any, offset: int = 0, axis1: int = 0, axis2: int = 1
) -> Any:
    out = np.zeros(shape, np.result_type(d))
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))
    m = np.shape(d)[-1]
    rows = np.arange(m) + max(-offset, 0)
    cols = np.arange(m) + max(offset, 0)
    view[..., rows, cols] = d
    return out


_diagonal = primitive(_np_diagonal, name="diagonal")
diagonal_scatter = primitive(_np_diagonal_scatter, name="diagonal_scatter")
diagonal_scatter.__doc__ = (
    """Zeros of ``shape`` with ``d`` written on the given diagonal (transpose of diagonal)."""
)
defvjp_direct(
    _diagonal,
    lambda g, ans, x, offset=0, axis1=0, axis2=1: diagonal_scatter(
        g, shape_of(x), offset=offset, axis1=axis1, axis2=axis2
    ),
)
defjvp(
    _diagonal,
    lambda t, ans, x, offset=0, axis1=0, axis2=1: _diagonal(
        t, offset=offset, axis1=axis1, axis2=axis2
    ),
)
defvjp_direct(
    diagonal_scatter,
    lambda g, ans, d, shape, offset=0, axis1=0, axis2=1: _diagonal(
        g, offset=offset, axis1=axis1, axis2=axis2
    ),
    None,
)
defjvp(
    diagonal_scatter,
    lambda t, ans, d, shape, offset=0, axis1=0, axis2=1: diagonal_scatter(
        t, shape, offset=offset, axis1=axis1, axis2=axis2
    ),
    None,
)


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The diagonal of the ``(axis1, axis2)`` planes, as the last axis (numpy.diagonal)."""
    a = _as_operand(a)
    ndim = len(shape_of(a))
    if ndim < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    ax1, ax2 = _axes_tuple((axis1, axis2), ndim)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 cannot be the same")
    return _diagonal(a, offset=int(offset), axis1=ax1, axis2=ax2)


def diag(v: Any, k: int = 0) -> Any:
    """Extract a diagonal (2-d input) or build a diagonal matrix (1-d input), as numpy.diag."""
    v = _as_operand(v)
    shape = shape_of(v)
    if len(shape) == 1:
        n = shape[0] + abs(int(k))
        return diagonal_scatter(v, (n, n), offset=int(k), axis1=0, axis2=1)
    if len(shape) == 2:
        return _diagonal(v, offset=int(k), axis1=0, axis2=1)
    raise ValueError("Input must be 1- or 2-d.")


def trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    """Sum along a diagonal (numpy.trace)."""
    from tapeflow.numpy.reductions import sum

    if out is not None:
        raise TypeError("trace(..., out=...) is not supported on traced arrays")
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def _triangle(m: Any, k: int, lower: bool) -> Any:
    from tapeflow.numpy.elementwise import where

    m = _as_operand(m)
    shape = shape_of(m)
    rows, cols = (shape[-1], shape[-1]) if len(shape) < 2 else shape[-2:]
    mask = np.tri(rows, cols, k if lower else k - 1, dtype=bool)
    return where(mask if lower else ~mask, m, 0)


def tril(m: Any, k: int = 0) -> Any:
    """Zero the entries above the ``k``-th diagonal (numpy.tril; batched over leading axes)."""
    return _triangle(m, int(k), lower=True)


def triu(m: Any, k: int = 0) -> Any:
    """Zero the entries below the ``k``-th diagonal (numpy.triu; batched over leading axes)."""
    return _triangle(m, int(k), lower=False)


# ----- copies and grids --------------------------------------------------------------
def copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    """A copy (numpy.copy). Traced arrays are immutable, so they are returned as they are."""
    from tapeflow.tracer import Tracer

    return a if type(a) is Tracer else np.copy(a, order=order, subok=subok)  # type: ignore[call-overload]


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy") -> tuple:
    """Coordinate grids from 1-d coordinate arrays (numpy.meshgrid), differentiable in them."""
    from tapeflow.numpy.creation import _contains_tracer

    if not _contains_tracer(list(xi)):
        return tuple(np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing))  # type: ignore[call-overload]
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    ndim = len(xi)
    ones = (1,) * ndim
    out = [_reshape(_as_operand(x), ones[:i] + (-1,) + ones[i + 1 :]) for i, x in enumerate(xi)]
    if indexing == "xy" and ndim > 1:
        out[0] = _reshape(out[0], (1, -1) + ones[2:])
        out[1] = _reshape(out[1], (-1, 1) + ones[2:])
    return tuple(out) if sparse else broadcast_arrays(*out)


# ----- finite differences ----------------------------------------------------------------
def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    """The ``n``-th discrete difference along ``axis`` (numpy.diff)."""
    a = _as_operand(a)
    shape = shape_of(a)
    if not shape:
        raise ValueError("diff requires input that is at least one dimensional")
    ax = _axes_tuple(axis, len(shape))[0]
    parts = []
    for extra in (prepend, a, append):
        if extra is None:
            continue
        if extra is not a and not shape_of(extra):
            if isinstance(extra, (int, float, complex)):
                # a Python scalar is weakly typed (NEP 50): keep a's precision.
                extra = np.asarray(extra, np.result_type(dtype_of(a), extra))
            extra = broadcast_to(extra, shape[:ax] + (1,) + shape[ax + 1 :])
        parts.append(extra)
    if len(parts) > 1:
        a = concatenate(parts, axis=ax)
    lead = (slice(None),) * ax
    for _ in range(int(n)):
        a = a[lead + (slice(1, None),)] - a[lead + (slice(None, -1),)]
    return a


def _coordinate_weights(x: Any, edge_order: int) -> tuple[Any, ...]:
    """numpy.gradient's weights for sample coordinates ``x`` (plain, 1-d): for the
    first entry, the interior (arrays) and the last entry, three weights each."""
    dx = np.diff(np.asarray(x, dtype=np.float64))
    d1, d2 = dx[:-1], dx[1:]
    interior = (-d2 / (d1 * (d1 + d2)), (d2 - d1) / (d1 * d2), d1 / (d2 * (d1 + d2)))
    if edge_order == 1:
        first = (-1 / dx[0], 1 / dx[0], 0.0)
        last = (0.0, -1 / dx[-1], 1 / dx[-1])
    else:
        a, b = dx[0], dx[1]
        first = (-(2 * a + b) / (a * (a + b)), (a + b) / (a * b), -a / (b * (a + b)))
        a, b = dx[-2], dx[-1]
        last = (b / (a * (a + b)), -(a + b) / (a * b), (2 * b + a) / (b * (a + b)))
    return first, interior, last


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """Second-order accurate differences of ``f`` (numpy.gradient), differentiable in ``f``.

    ``varargs`` are numpy's spacings: none (1), one scalar for every axis, or
    one per axis, each a scalar or the (constant) sample coordinates along that
    axis. Interior points use central differences, the edges one-sided
    differences of order ``edge_order`` (1 or 2). Returns one array per axis (a
    tuple) or a single array when one axis is asked for.
    """
    from tapeflow.tracer import Tracer

    f = _as_operand(f)
    shape = shape_of(f)
    axes = tuple(range(len(shape))) if axis is None else _axes_tuple(axis, len(shape))
    if len(varargs) == 0:
        spacing: list[Any] = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacing = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    if any(type(h) is Tracer for h in spacing):
        raise TypeError("gradient: spacings and coordinates must be constants, not traced values")
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    outs = []
    for ax, h in zip(axes, spacing, strict=False):
        n = shape[ax]
        if n < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required."
            )
        lead = (slice(None),) * ax

        def at(start: int, stop: Any, lead: tuple = lead) -> Any:
            return f[lead + (slice(start, stop),)]

        if np.ndim(h):
            if np.shape(h) != (n,):
                raise ValueError(
                    "when 1d, distances must match the length of the corresponding dimension"
                )
            outs.append(_coordinate_gradient(f, at, n, ax, _coordinate_weights(h, edge_order)))
            continue
        h = float(h)
        if edge_order == 1:
            first = (at(1, 2) - at(0, 1)) / h
            last = (at(n - 1, n) - at(n - 2, n - 1)) / h
        else:
            first = (-1.5 * at(0, 1) + 2.0 * at(1, 2) - 0.5 * at(2, 3)) / h
            last = (0.5 * at(n - 3, n - 2) - 2.0 * at(n - 2, n - 1) + 1.5 * at(n - 1, n)) / h
        interior = (at(2, None) - at(0, n - 2)) / (2.0 * h)
        outs.append(concatenate([first, interior, last], axis=ax))
    return outs[0] if len(outs) == 1 else tuple(outs)


def _coordinate_gradient(f: Any, at: Any, n: int, ax: int, weights: Any) -> Any:
    first, interior, last = weights
    dtype = dtype_of(f)
    ndim = len(shape_of(f))

    def along(w: Any) -> Any:  # weights as f's dtype, shaped to broadcast along ax
        return np.asarray(w, dtype).reshape((-1,) + (1,) * (ndim - ax - 1))

    def combine(ws: Any, starts: Any) -> Any:
        terms = [at(s, s + 1) * along(w) for w, s in zip(ws, starts, strict=True) if np.any(w)]
        out = terms[0]
        for t in terms[1:]:
            out = out + t
        return out

    middle = at(0, n - 2) * along(interior[0])
    middle = middle + at(1, n - 1) * along(interior[1]) + at(2, None) * along(interior[2])
    edges = combine(first, (0, 1, 2)), combine(last, (n - 3, n - 2, n - 1))
    return concatenate([edges[0], middle, edges[1]], axis=ax)


# ----- 1-d convolution and correlation ------------------------------------------------------
def _np_convolve_full(a: Any, v: Any) -> Any:
    return np.convolve(a, v, mode="full")


_convolve_full = primitive(_np_convolve_full, name="convolve")


def _convolve_vjp(other: Any, n: int) -> Any:
    """Cotangent of one factor of a full convolution: correlate g with the other factor."""
    m = shape_of(other)[0]
    return lambda g: _convolve_full(g, _flip(other, axis=(0,)))[m - 1 : m - 1 + n]


defvjp(
    _convolve_full,
    lambda ans, a, v: _convolve_vjp(v, shape_of(a)[0]),
    lambda ans, a, v: _convolve_vjp(a, shape_of(v)[0]),
)
defjvp(
    _convolve_full,
    lambda t, ans, a, v: _convolve_full(t, v),
    lambda t, ans, a, v: _convolve_full(a, t),
)


def _mode_window(full: Any, n: int, m: int, mode: str, swapped: bool = False) -> Any:
    """Cut numpy's 'same' / 'valid' result out of the full convolution."""
    if mode == "full":
        return full
    length = {"same": max(n, m), "valid": max(n, m) - min(n, m) + 1}.get(mode)
    if length is None:
        raise ValueError(f"mode must be one of 'full', 'same' or 'valid', got {mode!r}")
    start = min(n, m) - 1 if mode == "valid" else (min(n, m) - 1) // 2
    if swapped and mode == "same":
        start = (n + m - 1 - length) - start
    return full[start : start + length]


def _check_1d(a: Any, v: Any, name: str) -> tuple[int, int]:
    sa, sv = shape_of(a), shape_of(v)
    if len(sa) != 1 or len(sv) != 1:
        raise ValueError(f"{name}: a and v must be 1-d, got shapes {sa} and {sv}")
    if sa[0] == 0 or sv[0] == 0:
        raise ValueError(f"{name}: a and v cannot be empty")
    return sa[0], sv[0]


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """Discrete 1-d convolution (numpy.convolve), differentiable in ``a`` and ``v``.

    Example:
        >>> convolve(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
        array([1., 3., 2.])
    """
    a, v = atleast_1d(_as_operand(a)), atleast_1d(_as_operand(v))
    n, m = _check_1d(a, v, "convolve")
    return _mode_window(_convolve_full(a, v), n, m, mode)


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """Cross-correlation of 1-d real sequences (numpy.correlate), differentiable in both."""
    a, v = atleast_1d(_as_operand(a)), atleast_1d(_as_operand(v))
    n, m = _check_1d(a, v, "correlate")
    if np.issubdtype(np.result_type(a.dtype, v.dtype), np.complexfloating):
        v = np.conjugate(v)
    return _mode_window(_convolve_full(a, flip(v, 0)), n, m, mode, swapped=n < m)


for _np_fun, _impl in (
    (np.reshape, reshape),
    (np.ravel, ravel),
    (np.transpose, transpose),
    (np.swapaxes, swapaxes),
    (np.broadcast_to, broadcast_to),
    (np.expand_dims, expand_dims),
    (np.squeeze, squeeze),
    (np.concatenate, concatenate),
    (np.moveaxis, moveaxis),
    (np.broadcast_arrays, broadcast_arrays),
    (np.stack, stack),
    (np.hstack, hstack),
    (np.vstack, vstack),
    (np.dstack, dstack),
    (np.column_stack, column_stack),
    (np.split, split),
    (np.array_split, array_split),
    (np.hsplit, hsplit),
    (np.vsplit, vsplit),
    (np.dsplit, dsplit),
    (np.tile, tile),
    (np.repeat, repeat),
    (np.flip, flip),
    (np.fliplr, fliplr),
    (np.flipud, flipud),
    (np.roll, roll),
    (np.rot90, rot90),
    (np.pad, pad),
    (np.diag, diag),
    (np.diagonal, diagonal),
    (np.trace, trace),
    (np.tril, tril),
    (np.triu, triu),
    (np.atleast_1d, atleast_1d),
    (np.atleast_2d, atleast_2d),
    (np.atleast_3d, atleast_3d),
    (np.copy, copy),
    (np.meshgrid, meshgrid),
    (np.diff, diff),
    (np.gradient, gradient),
    (np.convolve, convolve),
    (np.correlate, correlate),
):
    register_numpy(_np_fun, _impl)
