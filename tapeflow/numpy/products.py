"""Products: matmul, einsum, and the numpy functions built on them.

Two primitives carry every product here:

* ``matmul`` (BLAS-backed; ``dot`` on 1-d/2-d arrays and ``@`` use it), and
* ``einsum``, a variadic primitive whose operands are positional arguments
  and whose subscripts are normalized to explicit labels (no ``...``, an
  explicit output) before the call, so the rules never parse ellipses.

``tensordot``, ``dot`` on N-d arrays, ``inner``, ``vdot`` are einsums;
``outer``, ``kron`` and ``cross`` are broadcasting multiplications.

The VJP of einsum for operand ``i`` is itself one einsum: the cotangent
contracted with the other operands into operand ``i``'s labels. Three details
make that work for any subscript string:

* a label repeated within operand ``i`` (``"ii->i"``, a diagonal) gets a fresh
  label tied to the first one by an identity matrix, so the cotangent lands
  on the diagonal only;
* a label that only operand ``i`` has (summed out: ``"ij->i"``) is brought
  back by a vector of ones, which broadcasts the cotangent along it;
* a length-1 axis that numpy broadcast against a longer one is summed over
  and kept with length 1.
"""

from __future__ import annotations

import functools
import math
import string
from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see core/tape.py)

from tapeflow.batching import moveaxis, to_front
from tapeflow.core.primitive import (
    defbatch,
    defjvp_argnum,
    deflinear,
    defvjp_argnum,
    primitive,
)
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.creation import asarray
from tapeflow.numpy.declare import (
    array_arguments,
    method,
    operator,
    reflected_operator,
    register_numpy,
)
from tapeflow.numpy.elementwise import astype, conj, multiply
from tapeflow.numpy.fitting import fit_cotangent, unbroadcast
from tapeflow.numpy.joining import concatenate
from tapeflow.numpy.meta import as_operand, dtype_of, shape_of
from tapeflow.numpy.shape import ravel, reshape, swapaxes, transpose

__all__ = ["matmul", "dot", "vdot", "inner", "outer", "tensordot", "einsum", "kron", "cross"]

_LABELS = string.ascii_letters


def _as_array(x: Any) -> Any:
    """Traced arrays as they are; lists and scalars as arrays (traced when they hold traced
    values)."""
    return x if type(x) is Tracer or isinstance(x, ndarray) else asarray(x)


def _swap_last(x: Any) -> Any:
    if type(x) is ndarray:  # a plain value (first order): the same view, directly
        return x.swapaxes(-1, -2)
    return swapaxes(x, -1, -2)


# ----- matmul -------------------------------------------------------------------
def _matmul_vjp_x(g: Any, ans: Any, x: Any, y: Any) -> Any:
    if type(g) is ndarray and type(y) is ndarray and g.ndim == 2 and y.ndim == 2:
        return np.matmul(g, y.T)  # plain matrices (first order, a dense layer): numpy directly
    xs, ys = shape_of(x), shape_of(y)
    if len(ys) == 1:  # (..., n) @ (n,) -> (...,)
        return unbroadcast(reshape(g, shape_of(g) + (1,)) * y, xs)
    if len(xs) == 1:  # (n,) @ (..., n, m) -> (..., m)
        gx = matmul(reshape(g, shape_of(g)[:-1] + (1, shape_of(g)[-1])), _swap_last(y))
        return unbroadcast(reshape(gx, shape_of(gx)[:-2] + (xs[0],)), xs)
    return unbroadcast(matmul(g, _swap_last(y)), xs)


def _matmul_vjp_y(g: Any, ans: Any, x: Any, y: Any) -> Any:
    if type(g) is ndarray and type(x) is ndarray and g.ndim == 2 and x.ndim == 2:
        return np.matmul(x.T, g)  # plain matrices (first order, a dense layer): numpy directly
    xs, ys = shape_of(x), shape_of(y)
    if len(xs) == 1 and len(ys) == 1:
        return g * x
    if len(xs) == 1:  # g: (..., m); gy = outer(x, g)
        return unbroadcast(
            reshape(x, (xs[0], 1)) * reshape(g, shape_of(g)[:-1] + (1,) + shape_of(g)[-1:]), ys
        )
    if len(ys) == 1:  # g: (..., k); gy = sum over batch of x^T g
        gy = matmul(_swap_last(x), reshape(g, shape_of(g) + (1,)))
        return unbroadcast(reshape(gy, shape_of(gy)[:-1]), ys)
    return unbroadcast(matmul(_swap_last(x), g), ys)


matmul = primitive(np.matmul, name="matmul")
array_arguments(matmul, every=True)
register_numpy(np.matmul, matmul)
# Bilinear: each argument's rule reads the other one (and only the shape of its own).
deflinear(matmul, _matmul_vjp_x, _matmul_vjp_y)


def _ndim(x: Any) -> int:
    return len(shape_of(x))


def _matmul_rule(args: Any, dims: Any) -> Any:
    x, y = args
    dx, dy = dims
    rx = _ndim(x) - (dx is not None)
    ry = _ndim(y) - (dy is not None)
    # The common cases, each one BLAS call on the batch.
    if dy is None and ry == 2:
        if rx == 1:  # (B, k) @ (k, m)
            return matmul(to_front(x, dx), y), 0
        x = to_front(x, dx)
        xs = tuple(shape_of(x))
        flat = matmul(reshape(x, (-1, xs[-1])), y)  # one GEMM instead of a stack of them
        return reshape(flat, xs[:-1] + (shape_of(y)[-1],)), 0
    if dx is None and rx == 2 and ry == 1:  # (n, k) @ (k,) per example = x @ Y^T
        return matmul(x, moveaxis(y, dy, 1)), 1
    # General case: promote vectors to matrices, align ranks, one batched matmul.
    squeeze = []
    if rx == 1:
        x = reshape(x, shape_of(x)[:-1] + (1, shape_of(x)[-1])) if dx is None else x
        if dx is not None:
            x = to_front(x, dx)
            x = reshape(x, shape_of(x)[:1] + (1,) + shape_of(x)[1:])
            dx = 0
        squeeze.append(-2)
        rx = 2
    if ry == 1:
        if dy is not None:
            y = to_front(y, dy)
            dy = 0
        y = reshape(y, shape_of(y) + (1,))
        squeeze.append(-1)
        ry = 2
    top = max(rx, ry)
    moved = []
    for a, d, r in ((x, dx, rx), (y, dy, ry)):
        if d is not None:
            a = to_front(a, d)
            if r < top:
                s = tuple(shape_of(a))
                a = reshape(a, s[:1] + (1,) * (top - r) + s[1:])
        moved.append(a)
    out = matmul(*moved)
    if squeeze:
        dims_out = list(shape_of(out))
        for ax in sorted(squeeze):  # -2 before -1 keeps indices valid
            dims_out.pop(ax)
        out = reshape(out, tuple(dims_out))
    return out, 0


defbatch(matmul, _matmul_rule)
operator("__matmul__", matmul)
reflected_operator("__rmatmul__", matmul)


# ----- einsum -------------------------------------------------------------------
@functools.lru_cache(maxsize=1024)
def _normalize_einsum(subscripts: str, shapes: tuple[tuple[int, ...], ...]) -> str:
    """Rewrite ``subscripts`` with explicit labels for ``...`` and an explicit output."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        lhs, out = subscripts.split("->")
    else:
        lhs, out = subscripts, None
    ins = lhs.split(",")
    if len(ins) != len(shapes):
        raise ValueError(
            f"einsum: the subscripts {subscripts!r} name {len(ins)} operands but "
            f"{len(shapes)} were given"
        )
    for c in subscripts:
        if c not in _LABELS and c not in ".,->":
            raise ValueError(f"einsum: invalid subscript character {c!r} in {subscripts!r}")
    free = [c for c in _LABELS if c not in subscripts]
    ell_ndims = []
    for spec, shape in zip(ins, shapes, strict=True):
        labels = len(spec.replace("...", ""))
        n = len(shape) - labels if "..." in spec else 0
        if n < 0 or ("..." not in spec and labels != len(shape)):
            raise ValueError(
                f"einsum: operand subscripts {spec!r} do not match an operand of shape {shape}"
            )
        ell_ndims.append(n)
    n_ell = max(ell_ndims, default=0)
    ell = "".join(free[:n_ell])
    ins = [spec.replace("...", ell[n_ell - n :]) for spec, n in zip(ins, ell_ndims, strict=True)]
    if out is None:
        counts: dict[str, int] = {}
        for spec in ins:
            for c in spec:
                if c not in ell:
                    counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, k in counts.items() if k == 1))
    elif "..." in out:
        out = out.replace("...", ell)
    elif n_ell:
        raise ValueError(
            "einsum: the output has no '...' but the operands have broadcast dimensions; "
            "add '...' to the output subscripts"
        )
    return ",".join(ins) + "->" + out


def _sublist_labels(sublist: Any) -> str:
    parts = []
    for s in sublist:
        if s is Ellipsis:
            parts.append("...")
        else:
            parts.append(_LABELS[int(s)])
    return "".join(parts)


def _auto_optimize(operands: tuple[Any, ...]) -> Any:
    # numpy's path optimizer dispatches big pairwise contractions to BLAS, but its
    # planning costs tens of microseconds: only worth it for big or many operands.
    if len(operands) > 2 or sum(math.prod(shape_of(a)) for a in operands) > 4096:
        return "greedy"
    return False


def _np_einsum(*operands: Any, subscripts: str, optimize: Any = None) -> Any:
    if optimize is None:
        optimize = _auto_optimize(operands)
    return np.einsum(subscripts, *operands, optimize=optimize)


_einsum = primitive(_np_einsum, name="einsum")
array_arguments(_einsum, every=True)


def _einsum_vjp(argnum: int, ans: Any, args: Any, kwargs: Any) -> Any:
    lhs, out = kwargs["subscripts"].split("->")
    ins = lhs.split(",")
    spec, shape, dtype = ins[argnum], shape_of(args[argnum]), dtype_of(args[argnum])
    sizes: dict[str, int] = {}
    for s, a in zip(ins, args, strict=True):
        for c, n in zip(s, shape_of(a), strict=True):
            sizes[c] = max(sizes.get(c, 1), n)
    fresh = iter(c for c in _LABELS if c not in kwargs["subscripts"])
    specs = [out] + [s for j, s in enumerate(ins) if j != argnum]
    others = [a for j, a in enumerate(args) if j != argnum]
    # Labels that the cotangent or another operand carries at full length (a length-1
    # occurrence would make einsum produce a length-1 axis instead of broadcasting).
    present = {c for c, n in zip(out, shape_of(ans), strict=True) if n == sizes[c]}
    for s, a in zip(specs[1:], others, strict=True):
        present.update(c for c, n in zip(s, shape_of(a), strict=True) if n == sizes[c])
    target, seen = [], set()
    for c, n in zip(spec, shape, strict=True):
        if n == 1 and sizes[c] != 1:  # broadcast length-1 axis: sum over c, keep length 1
            f = next(fresh)
            target.append(f)
            others.append(np.ones(1, dtype))
            specs.append(f)
        elif c in seen:  # repeated label: a diagonal of this operand
            f = next(fresh)
            target.append(f)
            others.append(np.eye(n, dtype=dtype))
            specs.append(c + f)
        else:
            seen.add(c)
            target.append(c)
            if c not in present:  # summed out within this operand only: broadcast back
                others.append(np.ones(n, dtype))
                specs.append(c)
                present.add(c)
    sub = ",".join(specs) + "->" + "".join(target)

    arg = args[argnum]

    def vjp(g: Any) -> Any:
        ct = _einsum(g, *others, subscripts=sub)
        # mixed dtypes (float32 with float64, real with complex): cast back, real part for
        # real input
        return ct if dtype_of(ct) == dtype else fit_cotangent(ct, arg)

    return vjp


def _einsum_jvp(argnum: int, t: Any, ans: Any, args: Any, kwargs: Any) -> Any:
    ops = [t if j == argnum else a for j, a in enumerate(args)]
    out = _einsum(*ops, **kwargs)
    return out if dtype_of(out) == dtype_of(ans) else astype(out, dtype_of(ans))


defvjp_argnum(_einsum, _einsum_vjp)
defjvp_argnum(_einsum, _einsum_jvp)


def _einsum_batch(args: Any, dims: Any, subscripts: str, optimize: Any = None) -> Any:
    """``tp.vmap`` rule: the batch axis becomes one more label, put first in the output."""
    lhs, out = subscripts.split("->")
    label = next(c for c in _LABELS if c not in subscripts)
    ins = [
        s if d is None else s[:d] + label + s[d:] for s, d in zip(lhs.split(","), dims, strict=True)
    ]
    return _einsum(*args, subscripts=",".join(ins) + "->" + label + out, optimize=optimize), 0


defbatch(_einsum, _einsum_batch)


def einsum(
    *operands: Any,
    out: Any = None,
    optimize: Any = None,
    precision: Any = None,
    preferred_element_type: Any = None,
    **kwargs: Any,
) -> Any:
    """Einstein summation, as numpy.einsum, differentiable in every operand.

    Accepts any subscript string (implicit or explicit output, ``...``,
    repeated labels for diagonals and traces, the same array passed twice)
    and numpy's interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``.
    ``optimize`` is passed to numpy; by default tapeflow lets numpy plan the
    contraction only for large or many operands. ``precision`` and
    ``preferred_element_type`` are JAX's (see :func:`cast_operands`).

    Example:
        >>> a = np.arange(6.0).reshape(2, 3)
        >>> einsum("ij,ij->i", a, a)
        array([ 5., 50.])
    """
    if out is not None:
        raise TypeError("tnp.einsum(..., out=...) would write in place; assign the result instead")
    defaults = {"dtype": None, "casting": "safe", "order": "K"}
    unsupported = sorted(k for k, v in kwargs.items() if k not in defaults or v != defaults[k])
    if unsupported:
        raise TypeError(f"tnp.einsum does not support the arguments {unsupported}")
    if not operands:
        raise TypeError("einsum needs subscripts and at least one operand")
    if isinstance(operands[0], str):
        subscripts, arrays = operands[0], operands[1:]
    else:  # interleaved form: op0, sublist0, op1, sublist1, ..., [sublist_out]
        arrays = operands[0::2] if len(operands) % 2 == 0 else operands[0:-1:2]
        sublists = operands[1::2]
        subscripts = ",".join(_sublist_labels(s) for s in sublists)
        if len(operands) % 2:
            subscripts += "->" + _sublist_labels(operands[-1])
    arrays = cast_operands(arrays, preferred_element_type)
    normalized = _normalize_einsum(subscripts, tuple(tuple(shape_of(a)) for a in arrays))
    return _einsum(*arrays, subscripts=normalized, optimize=optimize)


# ----- JAX's precision= and preferred_element_type= of products ---------------------
def cast_operands(operands: Any, preferred_element_type: Any) -> tuple[Any, ...]:
    """The operands of a product, cast to JAX's ``preferred_element_type`` (the dtype the
    product accumulates and returns) when it is given.

    JAX's ``precision`` needs nothing: numpy computes in the operands' dtype at full
    precision, which is what JAX's ``precision`` settings choose between on a CPU.
    """
    pieces: tuple[Any, ...] = tuple(operands)
    if preferred_element_type is None:
        return pieces
    dtype = np.dtype(preferred_element_type)
    return tuple(astype(as_operand(x), dtype) for x in pieces)


# ----- functions built on matmul / einsum -----------------------------------------
def _axes_list(axes: Any, ndim: int) -> list[int]:
    if isinstance(axes, (int, np.integer)):
        axes = [axes]
    return [int(a) % ndim if ndim else int(a) for a in axes]


def tensordot(
    a: Any, b: Any, axes: Any = 2, *, precision: Any = None, preferred_element_type: Any = None
) -> Any:
    """Sum products over the given axes of ``a`` and ``b`` (numpy.tensordot).

    ``axes`` is an int N (the last N axes of ``a`` with the first N of ``b``) or
    a pair of axis sequences; ``precision`` and ``preferred_element_type`` are JAX's
    (see :func:`cast_operands`).

    Example:
        >>> tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
        (2, 4)
    """
    a, b = cast_operands((a, b), preferred_element_type)
    if not isinstance(axes, (int, np.integer)):
        axes = tuple(tuple(int(i) for i in np.atleast_1d(ax)) for ax in axes)
    return _einsum(
        a, b, subscripts=_tensordot_subscripts(tuple(shape_of(a)), tuple(shape_of(b)), axes)
    )


@functools.lru_cache(maxsize=1024)
def _tensordot_subscripts(sa: tuple[int, ...], sb: tuple[int, ...], axes: Any) -> str:
    na, nb = len(sa), len(sb)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > na or n > nb:
            raise ValueError(
                f"tensordot: cannot contract {n} axes of arrays with {na} and {nb} dims"
            )
        axes_a, axes_b = list(range(na - n, na)), list(range(n))
    else:
        axes_a, axes_b = _axes_list(axes[0], na), _axes_list(axes[1], nb)
        if len(axes_a) != len(axes_b):
            raise ValueError("tensordot: the two axis lists must have the same length")
    if na + nb > len(_LABELS):
        raise ValueError("tensordot: too many dimensions for einsum labels")
    la = list(_LABELS[:na])
    lb = list(_LABELS[na : na + nb])
    for i, j in zip(axes_a, axes_b, strict=True):
        if sa[i] != sb[j]:
            raise ValueError(
                f"tensordot: shape mismatch, axis {i} of a has length {sa[i]} but "
                f"axis {j} of b has length {sb[j]}"
            )
        lb[j] = la[i]
    out = [c for i, c in enumerate(la) if i not in axes_a] + [
        c for j, c in enumerate(lb) if j not in axes_b
    ]
    return "".join(la) + "," + "".join(lb) + "->" + "".join(out)


def dot(
    a: Any,
    b: Any,
    out: Any = None,
    *,
    precision: Any = None,
    preferred_element_type: Any = None,
) -> Any:
    """numpy.dot: matmul for 1-d and 2-d arrays, a product for 0-d ones, and for
    N-d arrays a sum over the last axis of ``a`` and the second-to-last of ``b``
    (``precision`` and ``preferred_element_type`` as in :func:`cast_operands`)."""
    if out is not None:
        raise TypeError("tnp.dot(..., out=...) would write in place; assign the result instead")
    a, b = cast_operands((_as_array(a), _as_array(b)), preferred_element_type)
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    if na <= 2 and nb <= 2:
        return matmul(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 2 if nb >= 2 else 0]))


def vdot(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """The dot product of the flattened arrays, conjugating ``a`` (numpy.vdot)."""
    a, b = cast_operands((_as_array(a), _as_array(b)), preferred_element_type)
    if np.issubdtype(dtype_of(a), np.complexfloating):
        a = conj(a)
    return _einsum(ravel(a), ravel(b), subscripts="i,i->")


def inner(a: Any, b: Any, *, precision: Any = None, preferred_element_type: Any = None) -> Any:
    """Sum of products over the last axes of ``a`` and ``b`` (numpy.inner)."""
    a, b = cast_operands((_as_array(a), _as_array(b)), preferred_element_type)
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return multiply(a, b)
    return tensordot(a, b, axes=([na - 1], [nb - 1]))


def outer(a: Any, b: Any, out: Any = None) -> Any:
    """``a.ravel()[:, None] * b.ravel()[None, :]`` (numpy.outer)."""
    if out is not None:
        raise TypeError("tnp.outer(..., out=...) would write in place; assign the result instead")
    a, b = _as_array(a), _as_array(b)
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def kron(a: Any, b: Any) -> Any:
    """Kronecker product (numpy.kron): blocks of ``b`` scaled by the entries of ``a``.

    Example:
        >>> kron(np.eye(2), np.ones((2, 2))).shape
        (4, 4)
    """
    sa, sb = tuple(shape_of(a)), tuple(shape_of(b))
    n = max(len(sa), len(sb))
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    # Interleave the axes: a on even positions, b on odd ones, then merge the pairs.
    a2 = reshape(a, tuple(x for d in sa for x in (d, 1)))
    b2 = reshape(b, tuple(x for d in sb for x in (1, d)))
    return reshape(a2 * b2, tuple(x * y for x, y in zip(sa, sb, strict=True)))


def _move_last(x: Any, axis: int) -> Any:
    nd = len(shape_of(x))
    axis %= nd
    if axis == nd - 1:
        return x
    return transpose(x, [d for d in range(nd) if d != axis] + [axis])


def cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: int | None = None
) -> Any:
    """Cross product of 3-vectors (or the scalar z component for 2-vectors), numpy.cross.

    Example:
        >>> cross(np.array([1.0, 0, 0]), np.array([0.0, 1, 0]))
        array([0., 0., 1.])
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _move_last(_as_array(a), axisa), _move_last(_as_array(b), axisb)
    na, nb = shape_of(a)[-1], shape_of(b)[-1]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("cross: incompatible dimensions (vector length must be 2 or 3)")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    if na == 2 and nb == 2:
        return a0 * b1 - a1 * b0
    a2 = a[..., 2] if na == 3 else None
    b2 = b[..., 2] if nb == 3 else None
    z = a0 * b1 - a1 * b0
    if a2 is None:
        parts = [a1 * b2, -(a0 * b2), z]
    elif b2 is None:
        parts = [-(a2 * b1), a2 * b0, z]
    else:
        parts = [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, z]
    c = concatenate([reshape(p, tuple(shape_of(p)) + (1,)) for p in parts], axis=-1)
    nd = len(shape_of(c))
    axisc %= nd
    if axisc == nd - 1:
        return c
    order = list(range(nd - 1))
    order.insert(axisc, nd - 1)
    return transpose(c, order)


for _np_fun, _impl in (
    (np.dot, dot),
    (np.vdot, vdot),
    (np.inner, inner),
    (np.outer, outer),
    (np.tensordot, tensordot),
    (np.einsum, einsum),
    (np.kron, kron),
    (np.cross, cross),
):
    register_numpy(_np_fun, _impl)
method("dot", dot)
