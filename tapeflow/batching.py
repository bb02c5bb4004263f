"""Batching rules: how each primitive runs on a whole batch at once (for ``tp.vmap``).

A rule has the signature ``rule(args, dims, **kwargs) -> (out, out_dim)``:
``args`` are the primitive's positional arguments with vmap's tracers unwrapped
(they may still be tracers of outer transforms), ``dims[i]`` is the batch axis
of ``args[i]`` (``None``: the argument is the same for every example), and
``out_dim`` is the batch axis of the answer (``None``: unbatched). A rule may
return ``NotImplemented`` for a case it does not handle; the call then falls
back to the loop over examples (``tapeflow.vmap.loop_rule``).

Rules call tapeflow primitives (``bind``), never numpy directly on the values,
so outer transforms (``grad`` around ``vmap``, ``jit``) record what they do.

Rules are attached by primitive *name*, family by family, so that primitives
declared in other modules need no import of this one:

- elementwise: every primitive wrapping a numpy ufunc, declared with
  ``broadcasts=True``, or named in ``ELEMENTWISE`` (n-ary, with broadcasting;
  batched outer products go to einsum's kernel)
- reductions and other functions of one array along ``axis`` (``AXIS_RULES``)
- shape: reshape, transpose, broadcast_to, concatenate, stack, pad, diagonal
- indexing: getitem and scatter_add, and batched integer indices
  (``getitem_traced``), which become a gather with ``arange(batch)``
- products: matmul, ``nn.linear`` (einsum has its own rule in
  ``tapeflow/numpy/products.py``)
- layers: convolution and pooling fold the batch into the images' ``N`` axis;
  per-example losses are rebuilt from batched primitives

Primitives that carry their own rule keep it: ``register_rules`` only fills empty
slots. Linear algebra (stacked matrices: batch axis first), ``x.at[...]``, einsum and
a few sorting functions set theirs beside their definitions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.numpy._cotangent import shape_of
from tapeflow.primitive import _REGISTRY, Primitive
from tapeflow.tracer import Tracer

__all__ = [
    "register_rules",
    "has_batch_rule",
    "moveaxis",
    "to_front",
    "batch_size",
    "elementwise_rule",
    "axis_rule",
    "ELEMENTWISE",
    "AXIS_RULES",
]

Rule = Callable[..., Any]


# ----- helpers ----------------------------------------------------------------------
def _ndim(x: Any) -> int:
    return len(shape_of(x))


def _bind(name: str) -> Callable[..., Any]:
    return _REGISTRY[name].bind


def moveaxis(x: Any, src: int, dst: int) -> Any:
    """Move axis ``src`` of ``x`` to position ``dst`` (a tapeflow transpose; no-op if equal)."""
    if src == dst:
        return x
    perm = list(range(_ndim(x)))
    perm.pop(src)
    perm.insert(dst, src)
    return _bind("transpose")(x, tuple(perm))


def to_front(x: Any, dim: int) -> Any:
    """Move the batch axis ``dim`` of ``x`` to axis 0."""
    return moveaxis(x, dim, 0)


def batch_size(args: Any, dims: Any) -> int:
    """The batch size, read off the first batched argument."""
    for a, d in zip(args, dims, strict=False):
        if d is not None:
            return int(shape_of(a)[d])
    raise ValueError("no batched argument")


def _bcast_front(x: Any, d: Any, size: int) -> Any:
    """``x`` with its batch axis at 0; an unbatched ``x`` is repeated ``size`` times."""
    if d is not None:
        return to_front(x, d)
    shape = tuple(shape_of(x))
    return _bind("broadcast_to")(_bind("reshape")(x, (1,) + shape), (size,) + shape)


def _sole_batched(dims: Any) -> bool:
    """True when only the first argument is batched."""
    return dims[0] is not None and all(d is None for d in dims[1:])


# ----- elementwise (n-ary, broadcasting) -------------------------------------------------
_PY_SCALARS = (float, int, bool, complex)


def elementwise_rule(prim: Primitive) -> Rule:
    """Batch an elementwise function whose positional arguments broadcast together."""
    fun = prim.bind

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        # Fastest path (x * 2.0, exp(x)): one batched argument, Python scalars besides.
        first = None
        for a, d in zip(args, dims, strict=False):
            if d is None:
                if type(a) not in _PY_SCALARS:
                    break
            elif first is None:
                first = d
            else:
                break
        else:
            return fun(*args, **kwargs), first
        nds = [_ndim(a) for a in args]
        ranks = [n - (d is not None) for n, d in zip(nds, dims, strict=False)]
        top = max(ranks)
        first = next(d for d in dims if d is not None)
        # Fast path: every batched argument has the batch axis at the same place and the
        # full per-example rank, and unbatched ones broadcast into the axes after it.
        if all(
            (d == first and r == top) if d is not None else r <= top - first
            for d, r in zip(dims, ranks, strict=False)
        ):
            return fun(*args, **kwargs), first
        moved = []
        for a, d, r in zip(args, dims, ranks, strict=False):
            if d is None:
                moved.append(a)
                continue
            a = to_front(a, d)
            if r < top:  # align per-example ranks so the batch axes line up
                shape = tuple(shape_of(a))
                a = _bind("reshape")(a, shape[:1] + (1,) * (top - r) + shape[1:])
            moved.append(a)
        return fun(*moved, **kwargs), 0

    return rule


def _outer_product_rule(prim: Primitive) -> Rule:
    """multiply, plus a fast path for batched outer products ``(B, n, 1) * (B, 1, m)``.

    That product is what the VJP of ``vector @ matrix`` computes for each example (the
    per-example weight gradient); numpy's broadcasting loop is several times slower on
    it than einsum's outer-product kernel.
    """
    general = elementwise_rule(prim)

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        if len(args) == 2 and dims[0] is not None and dims[1] is not None and not kwargs:
            a, b = args
            sa, sb = tuple(shape_of(a)), tuple(shape_of(b))
            if (
                len(sa) == 3
                and len(sb) == 3
                and dims[0] == dims[1] == 0
                and sa[2] == 1
                and sb[1] == 1
                and sa[0] == sb[0]
                and _dtype(a) == _dtype(b)
            ):
                reshape = _bind("reshape")
                out = _bind("einsum")(
                    reshape(a, sa[:2]),
                    reshape(b, sb[:1] + sb[2:]),
                    subscripts="bi,bj->bij",
                    optimize=False,
                )
                return out, 0
        return general(args, dims, **kwargs)

    return rule


def _dtype(x: Any) -> Any:
    return x.dtype if hasattr(x, "dtype") else np.result_type(x)


def unary_rule(prim: Primitive) -> Rule:
    """Batch an elementwise function of its first argument; the others are static."""
    fun = prim.bind

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        if not _sole_batched(dims):
            return NotImplemented
        return fun(*args, **kwargs), dims[0]

    return rule


# Elementwise functions that are not numpy ufuncs (special functions, activations).
ELEMENTWISE = {
    "where", "clip", "expit", "logit", "erf", "erfc", "erfinv", "gammaln", "digamma",
    "polygamma", "xlogy", "xlog1py", "entr", "sigmoid", "relu", "leaky_relu", "elu", "gelu",
    "softplus", "silu", "log1pexp", "logaddexp", "logaddexp2", "maximum", "minimum", "fmax",
    "fmin", "heaviside", "sinc", "i0", "nan_to_num", "angle", "conj", "conjugate", "imag",
    "real", "round", "around", "fix", "isclose", "erfcx", "gamma", "log_ndtr", "ndtr", "ndtri",
}  # fmt: skip
UNARY = {"astype", "stop_gradient"}


# ----- functions of one array along an axis -----------------------------------------
def _axis_default(prim: Primitive) -> Any:
    try:
        params = inspect.signature(prim.fun).parameters
    except (TypeError, ValueError):
        return None
    p = params.get("axis")
    if p is None or p.default is inspect.Parameter.empty:
        return None
    return p.default


def _shift(axis: Any, rank: int) -> Any:
    """A per-example axis (int or tuple) as an axis of the batch-first array, or None if invalid."""
    if isinstance(axis, (tuple, list)):
        out = [_shift(a, rank) for a in axis]
        return None if any(a is None for a in out) else tuple(out)
    if not isinstance(axis, (int, np.integer)) or not -max(rank, 1) <= axis < max(rank, 1):
        return None
    if rank == 0:
        return None
    return int(axis) % rank + 1


def axis_rule(prim: Primitive, none_means: str) -> Rule:
    """Batch ``f(x, axis=..., **static)``: move the batch axis to the front, shift ``axis``.

    ``none_means`` says what ``axis=None`` does for this function: ``"all"`` (every
    axis, passed as a tuple: reductions), ``"flat"`` (the flattened array: cumsum,
    sort, argmax) or ``"loop"`` (no batched equivalent: use the fallback).
    """
    fun = prim.bind
    default = _axis_default(prim)
    names = list(_params(prim))

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        if len(args) > 1:
            # Extra positional arguments must be static parameters (a shift, an order...).
            if not _sole_batched(dims) or len(args) > len(names):
                return NotImplemented
            for a in args[1:]:
                if isinstance(a, (np.ndarray, Tracer, list)):
                    return NotImplemented
            kwargs = {**dict(zip(names[1:], args[1:], strict=False)), **kwargs}
            args = args[:1]
        x = to_front(args[0], dims[0])
        rank = _ndim(x) - 1
        axis = kwargs.get("axis", default)
        if axis is None:
            if none_means == "all":
                kwargs = {**kwargs, "axis": tuple(range(1, rank + 1))}
            elif none_means == "flat":
                if kwargs.get("keepdims"):
                    return NotImplemented
                x = _bind("reshape")(x, (shape_of(x)[0], -1))
                kwargs = {**kwargs, "axis": 1}
            else:
                return NotImplemented
        else:
            shifted = _shift(axis, rank)
            if shifted is None:
                return NotImplemented  # let the loop raise numpy's own error
            kwargs = {**kwargs, "axis": shifted}
        return fun(x, **kwargs), 0

    return rule


# name -> what axis=None means (see axis_rule)
AXIS_RULES = {
    **dict.fromkeys(
        ["sum", "mean", "max", "min", "amax", "amin", "prod", "var", "std", "nansum",
         "nanmean", "nanmax", "nanmin", "nanprod", "nanvar", "nanstd", "logsumexp", "all",
         "any", "ptp", "count_nonzero", "flip", "softmax", "log_softmax", "median",
         "nanmedian"],
        "all",
    ),
    **dict.fromkeys(
        ["cumsum", "cumprod", "nancumsum", "nancumprod", "sort", "argsort", "argmax", "argmin",
         "nanargmax", "nanargmin"],
        "flat",
    ),
    **dict.fromkeys(["diff", "roll", "trapezoid", "trapz", "gradient"], "loop"),
}  # fmt: skip


# ----- shape ------------------------------------------------------------------------
_REQUIRED: Any = object()


def _static(args: Any, kwargs: Any, i: int, name: str, default: Any = _REQUIRED) -> Any:
    """Static parameter ``name``, passed as positional argument ``i`` or as a keyword."""
    if len(args) > i:
        return args[i]
    if name in kwargs:
        return kwargs[name]
    if default is _REQUIRED:
        raise TypeError(f"missing argument {name!r}")
    return default


def _reshape_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    shape = _static(args, kwargs, 1, "shape")
    order = _static(args, kwargs, 2, "order", "C")
    if order != "C" or not _sole_batched(dims):
        return NotImplemented
    x = to_front(args[0], dims[0])
    n = shape_of(x)[0]
    return _bind("reshape")(x, (n,) + tuple(shape)), 0


def _transpose_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    axes = _static(args, kwargs, 1, "axes", None)
    if not _sole_batched(dims):
        return NotImplemented
    x, d = args[0], dims[0]
    rank = _ndim(x) - 1
    per = tuple(reversed(range(rank))) if axes is None else tuple(int(a) % rank for a in axes)
    physical = tuple(a if a < d else a + 1 for a in per)
    return _bind("transpose")(x, (d,) + physical), 0


def _broadcast_to_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    shape = tuple(_static(args, kwargs, 1, "shape"))
    if not _sole_batched(dims):
        return NotImplemented
    x = to_front(args[0], dims[0])
    xs = tuple(shape_of(x))
    lead = len(shape) - (len(xs) - 1)
    if lead < 0:
        return NotImplemented
    x = _bind("reshape")(x, xs[:1] + (1,) * lead + xs[1:])
    return _bind("broadcast_to")(x, xs[:1] + shape), 0


def _concatenate_rule(args: Any, dims: Any, axis: int = 0) -> Any:
    size = batch_size(args, dims)
    rank = _ndim(args[0]) - (dims[0] is not None)
    ax = _shift(axis, rank)
    if ax is None:
        return NotImplemented
    parts = [_bcast_front(a, d, size) for a, d in zip(args, dims, strict=False)]
    return _bind("concatenate")(*parts, axis=ax), 0


def _stack_rule(args: Any, dims: Any, axis: int = 0) -> Any:
    size = batch_size(args, dims)
    rank = _ndim(args[0]) - (dims[0] is not None)
    ax = _shift(axis, rank + 1)
    if ax is None:
        return NotImplemented
    parts = [_bcast_front(a, d, size) for a, d in zip(args, dims, strict=False)]
    return _bind("stack")(*parts, axis=ax), 0


# ----- indexing ---------------------------------------------------------------------
def _is_advanced(e: Any) -> bool:
    return isinstance(e, (np.ndarray, list)) or type(e) is Tracer


def _batched_index(index: Any) -> Any:
    """``index`` with a leading full slice for the batch axis, or None when that would move
    the batch axis (advanced indices separated by a slice go first in numpy's result)."""
    idx = index if type(index) is tuple else (index,)
    if any(isinstance(e, (bool, np.bool_)) for e in idx):
        return None
    if any(_is_advanced(e) for e in idx):
        adv = [k for k, e in enumerate(idx) if _is_advanced(e) or isinstance(e, (int, np.integer))]
        if adv != list(range(adv[0], adv[-1] + 1)):
            return None
    return (slice(None),) + idx


def _getitem_rule(args: Any, dims: Any) -> Any:
    if not _sole_batched(dims):
        return NotImplemented
    index = _batched_index(args[1])
    if index is None:
        return NotImplemented
    return _bind("getitem")(to_front(args[0], dims[0]), index), 0


def _scatter_add_rule(args: Any, dims: Any) -> Any:
    if not _sole_batched(dims):
        return NotImplemented
    g, index, shape, dtype = args
    bindex = _batched_index(index)
    if bindex is None:
        return NotImplemented
    g = to_front(g, dims[0])
    n = shape_of(g)[0]
    return _bind("scatter_add")(g, bindex, (n,) + tuple(shape), dtype), 0


# ----- products ---------------------------------------------------------------------
def _matmul_rule(args: Any, dims: Any) -> Any:
    x, y = args
    dx, dy = dims
    matmul = _bind("matmul")
    reshape = _bind("reshape")
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


# ----- layers: losses, dense, convolution and pooling -----------------------------------
def _linear_rule(args: Any, dims: Any) -> Any:
    (x, w, b), (dx, dw, db) = args, dims
    if dw is None and db is None:  # the layer maps any leading axes: batch goes first
        return _bind("nn.linear")(to_front(x, dx), w, b), 0
    y, dy = _matmul_rule([x, w], [dx, dw])
    return _REGISTRY["add"].batch_rule([y, b], [dy, db])


def _logits_and_hits(args: Any, dims: Any) -> tuple[Any, tuple[int, ...], Any]:
    """Batched logits (batch in front), their shape, and the one-hot mask of the labels."""
    (logits, labels), (dl, dy) = args, dims
    size = batch_size(args, dims)
    logits = _bcast_front(logits, dl, size)
    labels = _bcast_front(labels, dy, size)
    ls = tuple(shape_of(logits))
    hit = _bind("equal")(
        _bind("reshape")(labels, tuple(shape_of(labels)) + (1,)), np.arange(ls[-1])
    )
    return logits, ls, hit


def _softmax_cross_entropy_rule(args: Any, dims: Any) -> Any:
    """Mean over each example's rows of -log_softmax(logits)[label], per example."""
    logits, ls, hit = _logits_and_hits(args, dims)
    logp = _bind("nn.log_softmax")(logits, axis=-1)
    picked = _bind("sum")(
        _bind("multiply")(
            logp, _bind("astype")(hit, logp.dtype if type(logp) is Tracer else np.result_type(logp))
        ),
        axis=-1,
    )
    per_example = _bind("mean")(picked, axis=tuple(range(1, len(ls) - 1)))
    return _bind("negative")(per_example), 0


def _softmax_cross_entropy_grad_rule(args: Any, dims: Any) -> Any:
    """``(softmax(logits) - one_hot(labels)) / rows`` per example, rows counted per example."""
    logits, ls, hit = _logits_and_hits(args, dims)
    rows = 1
    for n in ls[1:-1]:
        rows *= n
    probs = _bind("nn.softmax")(logits, axis=-1)
    dtype = probs.dtype if type(probs) is Tracer else np.result_type(probs)
    diff = _bind("subtract")(probs, _bind("astype")(hit, dtype))
    return _bind("divide")(diff, rows), 0


def merge_rule(prim: Primitive, rows: tuple[int, ...], shape_kw: str | None = None) -> Rule:
    """Batch an op on ``(N, ...)`` arrays by folding the batch into ``N``.

    ``rows`` are the positional arguments whose leading axis is ``N`` (an unbatched one
    is repeated over the batch); the other arguments (weights) must be unbatched.
    ``shape_kw`` names a keyword holding the shape of a rows argument.
    """
    fun = prim.bind

    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        if any(d is not None and i not in rows for i, d in enumerate(dims)):
            return NotImplemented  # a batched weight: no single call does that
        reshape = _bind("reshape")
        new = list(args)
        size = batch_size(args, dims)
        for i in rows:
            x = _bcast_front(args[i], dims[i], size)  # a shared row array is repeated
            xs = tuple(shape_of(x))
            size = xs[0]
            new[i] = reshape(x, (xs[0] * xs[1],) + xs[2:])
        if shape_kw is not None and shape_kw in kwargs:
            shape = tuple(kwargs[shape_kw])
            kwargs = {**kwargs, shape_kw: (size * shape[0],) + shape[1:]}
        out = fun(*new, **kwargs)
        os = tuple(shape_of(out))
        return reshape(out, (size, os[0] // size) + os[1:]), 0

    return rule


def _conv2d_weight_grad_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    """Per-example weight gradients: gather every example's windows once, one einsum."""
    if len(args) != 2:
        return NotImplemented
    size = batch_size(args, dims)
    x, g = (_bcast_front(a, d, size) for a, d in zip(args, dims, strict=False))
    w_shape = tuple(kwargs.get("w_shape", ()))
    if len(w_shape) != 4:
        return NotImplemented
    reshape = _bind("reshape")
    xs, gs = tuple(shape_of(x)), tuple(shape_of(g))
    merged = reshape(x, (xs[0] * xs[1],) + xs[2:])
    win = _bind("nn.window_gather")(
        merged,
        window=w_shape[2:],
        stride=tuple(kwargs.get("stride", (1, 1))),
        padding=kwargs.get("padding", ((0, 0), (0, 0))),
    )
    ws = tuple(shape_of(win))  # (B*N, C, Ho, Wo, kh, kw)
    win = reshape(win, (size, xs[1]) + ws[1:])
    if tuple(gs[3:]) != tuple(ws[2:4]):
        return NotImplemented
    out = _bind("einsum")(win, g, subscripts="bnchwij,bnohw->bocij", optimize="greedy")
    return out, 0


def _bce_with_logits_rule(args: Any, dims: Any) -> Any:
    """Per-example mean of max(x, 0) - x z + log(1 + exp(-|x|)), from batched primitives."""
    size = batch_size(args, dims)
    x, z = (_bcast_front(a, d, size) for a, d in zip(args, dims, strict=False))
    b = _bind
    terms = b("add")(
        b("subtract")(b("maximum")(x, 0.0), b("multiply")(x, z)),
        b("log1p")(b("exp")(b("negative")(b("absolute")(x)))),
    )
    rank = _ndim(terms) - 1
    return b("mean")(terms, axis=tuple(range(1, rank + 1))), 0


_MERGE = {
    "nn.max_pool2d_backward": ((0, 1, 2), None),
    "nn.conv2d": ((0,), None),
    "nn.conv2d_input_grad": ((0,), "x_shape"),
    "nn.window_gather": ((0,), None),
    "nn.window_scatter": ((0,), "x_shape"),
    "nn.max_pool2d": ((0,), None),
    "nn.avg_pool2d": ((0,), None),
    "nn.max_pool2d_weights": ((0, 1), None),
}


# ----- more shape and indexing ------------------------------------------------------
def _pad_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    if not _sole_batched(dims):
        return NotImplemented
    widths = _static(args, kwargs, 1, "pad_width")
    value = _static(args, kwargs, 2, "constant_values", 0)
    x = to_front(args[0], dims[0])
    return _bind("pad")(x, pad_width=((0, 0),) + tuple(widths), constant_values=value), 0


def _diagonal_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    if not _sole_batched(dims):
        return NotImplemented
    x = to_front(args[0], dims[0])
    rank = _ndim(x) - 1
    offset = _static(args, kwargs, 1, "offset", 0)
    a1 = _shift(_static(args, kwargs, 2, "axis1", 0), rank)
    a2 = _shift(_static(args, kwargs, 3, "axis2", 1), rank)
    if a1 is None or a2 is None:
        return NotImplemented
    return _bind("diagonal")(x, offset=offset, axis1=a1, axis2=a2), 0


def _diagonal_scatter_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    if not _sole_batched(dims):
        return NotImplemented
    d = to_front(args[0], dims[0])
    shape = tuple(_static(args, kwargs, 1, "shape"))
    rank = len(shape)
    offset = _static(args, kwargs, 2, "offset", 0)
    a1 = _shift(_static(args, kwargs, 3, "axis1", 0), rank)
    a2 = _shift(_static(args, kwargs, 4, "axis2", 1), rank)
    if a1 is None or a2 is None:
        return NotImplemented
    n = shape_of(d)[0]
    return _bind("diagonal_scatter")(d, (n,) + shape, offset=offset, axis1=a1, axis2=a2), 0


def _linear_scan_rule(args: Any, dims: Any, **kwargs: Any) -> Any:
    if len(args) != 2:
        return NotImplemented
    size = batch_size(args, dims)
    rank = max(_ndim(a) - (d is not None) for a, d in zip(args, dims, strict=False))
    if any(_ndim(a) - (d is not None) != rank for a, d in zip(args, dims, strict=False)):
        return NotImplemented
    ax = _shift(kwargs.get("axis", 0), rank)
    if ax is None:
        return NotImplemented
    a, b = (_bcast_front(x, d, size) for x, d in zip(args, dims, strict=False))
    return _bind("linear_scan")(a, b, axis=ax), 0


def _traced_index_parts(template: Any) -> tuple[Any, ...]:
    return template if type(template) is tuple else (template,)


def _gather_index(args: Any, dims: Any, template: Any, first: int, size: int) -> Any:
    """(parts, template) indexing a batch-first array when some index parts are batched.

    The batch axis is indexed by ``arange(size)``, broadcast against the batched index
    arrays, so example ``i`` reads with its own indices. Returns None when numpy would
    then move the indexed axes (advanced indices separated by slices).
    """
    from tapeflow.numpy.indexing import _Hole

    items = _traced_index_parts(template)
    parts = list(args[first:])
    pdims = list(dims[first:])
    ranks = [_ndim(p) - (d is not None) for p, d in zip(parts, pdims, strict=False)]
    top = max(ranks) if ranks else 0
    kinds = []
    for it in items:
        if type(it) is _Hole:
            p = parts[it.position]
            if np.dtype(p.dtype if type(p) is Tracer else np.result_type(p)) == np.bool_:
                return None
            kinds.append("adv")
        elif isinstance(it, (int, np.integer)) and not isinstance(it, bool):
            kinds.append("adv")
        elif _is_advanced(it):
            return None
        else:
            kinds.append("basic")
    # Advanced entries must come first (right after the batch axis) and be adjacent.
    n_adv = sum(k == "adv" for k in kinds)
    if kinds[:n_adv] != ["adv"] * n_adv:
        return None
    reshape = _bind("reshape")
    new_parts = []
    for p, d, r in zip(parts, pdims, ranks, strict=False):
        if d is not None:
            p = to_front(p, d)
            s = tuple(shape_of(p))
            p = reshape(p, s[:1] + (1,) * (top - r) + s[1:])
        new_parts.append(p)
    batch_index = np.arange(size).reshape((size,) + (1,) * top)
    new_template = (batch_index,) + tuple(
        _Hole(it.position) if type(it) is _Hole else it for it in items
    )
    return new_parts, new_template


def _getitem_traced_rule(args: Any, dims: Any, template: Any) -> Any:
    size = batch_size(args, dims)
    x = _bcast_front(args[0], dims[0], size)
    if all(d is None for d in dims[1:]):
        items = _traced_index_parts(template)
        if _batched_index(tuple(0 if type(i).__name__ == "_Hole" else i for i in items)) is None:
            return NotImplemented
        return _bind("getitem_traced")(x, *args[1:], template=(slice(None),) + items), 0
    found = _gather_index(args, dims, template, 1, size)
    if found is None:
        return NotImplemented
    parts, new_template = found
    return _bind("getitem_traced")(x, *parts, template=new_template), 0


def _scatter_add_traced_rule(args: Any, dims: Any, template: Any, shape: Any, dtype: Any) -> Any:
    size = batch_size(args, dims)
    g = _bcast_front(args[0], dims[0], size)
    shape = (size,) + tuple(shape)
    if all(d is None for d in dims[1:]):
        items = _traced_index_parts(template)
        if _batched_index(tuple(0 if type(i).__name__ == "_Hole" else i for i in items)) is None:
            return NotImplemented
        return _bind("scatter_add_traced")(
            g, *args[1:], template=(slice(None),) + items, shape=shape, dtype=dtype
        ), 0
    found = _gather_index(args, dims, template, 1, size)
    if found is None:
        return NotImplemented
    parts, new_template = found
    return _bind("scatter_add_traced")(
        g, *parts, template=new_template, shape=shape, dtype=dtype
    ), 0


# ----- boolean masks -------------------------------------------------------------------
# Under vmap a comparison gives a traced mask (one per example), and code written for
# plain masks combines them with numpy's bit operators (``mask | other``). For boolean
# operands those are the logical functions; other dtypes keep failing loudly.
def _mask_op(np_fun: Any, logical: str) -> Callable[..., Any]:
    def op(*args: Any, **kwargs: Any) -> Any:
        from tapeflow.numpy import dispatch

        for a in args:
            dtype = a.dtype if hasattr(a, "dtype") else np.result_type(a)
            if np.dtype(dtype) != np.bool_:
                raise dispatch.unsupported_error(np_fun, " on non-boolean traced arrays")
        return _bind(logical)(*args, **kwargs)

    return op


def _register_mask_ops() -> None:
    from tapeflow.primitive import NUMPY_DISPATCH, register_numpy

    for np_fun, logical in (
        (np.bitwise_and, "logical_and"),
        (np.bitwise_or, "logical_or"),
        (np.bitwise_xor, "logical_xor"),
        (np.invert, "logical_not"),
    ):
        if np_fun not in NUMPY_DISPATCH and logical in _REGISTRY:
            register_numpy(np_fun, _mask_op(np_fun, logical))


# ----- registration -------------------------------------------------------------------
_FIXED: dict[str, Rule] = {
    "reshape": _reshape_rule,
    "transpose": _transpose_rule,
    "broadcast_to": _broadcast_to_rule,
    "concatenate": _concatenate_rule,
    "stack": _stack_rule,
    "getitem": _getitem_rule,
    "scatter_add": _scatter_add_rule,
    "matmul": _matmul_rule,
    "nn.linear": _linear_rule,
    "nn.softmax_cross_entropy": _softmax_cross_entropy_rule,
    "nn.softmax_cross_entropy_grad": _softmax_cross_entropy_grad_rule,
    "pad": _pad_rule,
    "diagonal": _diagonal_rule,
    "diagonal_scatter": _diagonal_scatter_rule,
    "linear_scan": _linear_scan_rule,
    "getitem_traced": _getitem_traced_rule,
    "scatter_add_traced": _scatter_add_traced_rule,
    "nn.conv2d_weight_grad": _conv2d_weight_grad_rule,
    "nn.binary_cross_entropy_with_logits": _bce_with_logits_rule,
}


# Generic rules are attached by name only in tapeflow's own namespaces: a user's
# primitive that happens to be called "relu" gets the (always correct) loop instead.
_OWN_PREFIXES = ("nn.", "scipy.special.", "linalg.")


def _short(name: str) -> str | None:
    if "." not in name:
        return name
    return name.rsplit(".", 1)[-1] if name.startswith(_OWN_PREFIXES) else None


def rule_for(prim: Primitive) -> Rule | None:
    """The batching rule tapeflow knows for ``prim`` (by name and kind), or None."""
    name = prim.name
    short = _short(name)
    if name in _FIXED:
        return _FIXED[name]
    if name == "multiply" and "einsum" in _REGISTRY:
        return _outer_product_rule(prim)
    if name in _MERGE:
        rows, shape_kw = _MERGE[name]
        return merge_rule(prim, rows, shape_kw)
    if isinstance(prim.fun, np.ufunc) or prim.broadcasts:
        return elementwise_rule(prim)
    if short is None:
        return None
    if short in AXIS_RULES and "axis" in _params(prim):
        return axis_rule(prim, AXIS_RULES[short])
    if short in UNARY:
        return unary_rule(prim)
    if short in ELEMENTWISE:
        return elementwise_rule(prim)
    return None


def _params(prim: Primitive) -> Any:
    try:
        return inspect.signature(prim.fun).parameters
    except (TypeError, ValueError):
        return {}


_SEEN = 0


def register_rules(force: bool = False) -> None:
    """Attach batching rules to every primitive declared so far that has none.

    Runs at import and again from ``vmap`` whenever new primitives were declared,
    so primitives of modules imported later (``tapeflow.nn``...) are covered too.
    A rule set by hand (``prim.batch_rule = ...``) is never replaced.
    """
    global _SEEN
    if not force and len(_REGISTRY) == _SEEN:
        return
    for prim in list(_REGISTRY.values()):
        if prim.batch_rule is None:
            rule = rule_for(prim)
            if rule is not None:
                prim.batch_rule = rule
    _SEEN = len(_REGISTRY)
    _register_mask_ops()


def has_batch_rule(prim: Any) -> bool:
    """True when ``prim`` (a Primitive or bound function) batches without the loop fallback."""
    from tapeflow.primitive import get_primitive

    register_rules()
    return get_primitive(prim).batch_rule is not None


register_rules()
