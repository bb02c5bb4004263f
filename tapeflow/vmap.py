"""``tp.vmap``: write a function for one example, run it on a whole batch.

``vmap(fun)`` runs ``fun`` once, on :class:`~tapeflow.core.tracer.Tracer` objects of a
:class:`BatchTrace`. Each such tracer holds the *whole* batch as one array and
remembers which axis is the batch axis (``Tracer._batch_axis``); its ``shape``
shows one example's shape, so the function sees exactly what it would see on a
single example. Every primitive call is handled by the primitive's *batching
rule* (``Primitive.batch_rule``, declared with the primitive by ``tp.defbatch``),
which maps "the same operation on every example" onto one call on the batched
arrays (move the batch axis to the front, shift a reduction axis by one, ...).
Elementwise primitives need no rule of their own.

Rules call tapeflow primitives, never raw numpy on traced values, so ``vmap``
composes with every other transform in either order: ``vmap(grad(f))`` gives
per-example gradients, ``grad`` of a ``vmap``-ed loss differentiates through
the batching, and ``vmap(vmap(f))`` maps over two axes.

A primitive without a batching rule falls back to a Python loop over the
batch (one call per example, results stacked), after a one-time
:class:`BatchingFallbackWarning` naming it: slow, but never wrong.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.batching import elementwise_rule, moveaxis
from tapeflow.core.arrays import ops
from tapeflow.core.hints import note_plain_at
from tapeflow.core.pytree import (
    keystr,
    node_of,
    tree_flatten,
    tree_flatten_with_path,
    tree_unflatten,
)
from tapeflow.core.trace import CustomCall, Trace, new_trace
from tapeflow.core.tracer import Tracer

__all__ = ["vmap", "BatchTrace", "BatchingFallbackWarning"]


class BatchingFallbackWarning(UserWarning):
    """A primitive without a batching rule ran as a Python loop over the batch."""


_WARNED: set[str] = set()


class BatchTrace(Trace):
    """The trace of ``vmap``: a tracer's ``_batch_axis`` is the batch axis of its value.

    Tracers of this trace are always batched; a rule that returns an unbatched
    answer (``out_dim`` None) gives back the plain value.
    """

    __slots__ = ("size",)
    kind = "batching (vmap)"
    batched = True

    def __init__(self, level: int, size: int) -> None:
        super().__init__(level)
        self.size = size

    def concrete_error(self, what: str) -> TypeError:
        return TypeError(
            f"{what} needs a single value, but under tp.vmap a traced array holds one value per "
            "example. Python control flow cannot depend on batched values: select with "
            "tnp.where(cond, a, b) instead of `if`, or move the test outside the vmapped function."
        )

    def new_tracer(self, value: Any, axis: int) -> Tracer:
        out = Tracer(value, self)
        out._batch_axis = axis
        return out

    def process(self, prim: Any, args: tuple, kwargs: dict) -> Any:
        if not self.active:
            raise self.leaked_error()
        vals = list(args)
        dims: list[Any] = [None] * len(args)
        for i, a in enumerate(args):
            if type(a) is Tracer and a._trace is self:
                vals[i] = a._value
                dims[i] = a._batch_axis
        rule = prim.batch_rule
        if rule is None and prim.elementwise:
            rule = prim.batch_rule = elementwise_rule(prim)
        result: Any = NotImplemented
        if rule is not None:
            result = rule(vals, dims, **kwargs)
        if result is NotImplemented:
            result = loop_rule(prim, vals, dims, kwargs, self.size)
        out, out_dim = result
        if out_dim is None:
            return out
        return self.new_tracer(out, out_dim)

    def process_custom_vjp_call(self, call: CustomCall) -> Any:
        return self.per_example(call.rules, call.args)

    def process_custom_jvp_call(self, call: CustomCall) -> Any:
        return self.per_example(call.rules, call.args)

    def per_example(self, fun: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        """Run ``fun`` once per example and stack the results.

        A function with custom rules then applies them to each example at the traces
        below ``vmap`` (the same fallback ``vmap`` uses for primitives without a
        batching rule).
        """
        leaves, in_tree = tree_flatten(args)
        outs = []
        for i in range(self.size):
            ex = [
                ops.take(x._value, i, x._batch_axis)
                if type(x) is Tracer and x._trace is self
                else x
                for x in leaves
            ]
            outs.append(tree_flatten(fun(*tree_unflatten(in_tree, ex))))
        out_tree = outs[0][1]
        stacked = [
            self.new_tracer(ops.stack([o[0][k] for o in outs]), 0)
            for k in range(out_tree.num_leaves)
        ]
        return tree_unflatten(out_tree, stacked)


# ----- the fallback: one call per example ----------------------------------------
def loop_rule(prim: Any, vals: list[Any], dims: list[Any], kwargs: dict, size: int) -> Any:
    """Batch any primitive by calling it once per example and stacking the results."""
    if prim.name not in _WARNED:
        _WARNED.add(prim.name)
        warnings.warn(
            f"tp.vmap: primitive {prim.name!r} has no batching rule; running it as a Python loop "
            "over the batch (correct, but slow). Declare one beside the primitive with "
            "tp.defbatch.",
            BatchingFallbackWarning,
            stacklevel=4,
        )
    for d in dims:
        if isinstance(d, tuple):
            raise NotImplementedError(
                f"tp.vmap: {prim.name!r} received a batched multi-output value and has no "
                "batching rule; declare one beside the primitive with tp.defbatch"
            )
    if size == 0:
        raise ValueError(
            f"tp.vmap over an empty batch: {prim.name!r} has no batching rule, and the loop "
            "fallback has no example to run it on to learn the result's shape"
        )
    outs = []
    for i in range(size):
        sliced = [v if d is None else ops.take(v, i, d) for v, d in zip(vals, dims, strict=False)]
        outs.append(prim.bind(*sliced, **kwargs))
    first = outs[0]
    if type(first) is tuple:
        return tuple(ops.stack([o[k] for o in outs]) for k in range(len(first))), (0,) * len(first)
    return ops.stack(outs), 0


# ----- in_axes / out_axes ---------------------------------------------------------
def _is_axis_leaf(spec: Any) -> bool:
    return spec is None or (isinstance(spec, (int, np.integer)) and not isinstance(spec, bool))


def _broadcast_prefix(spec: Any, tree: Any, path: str, what: str, out: list[Any]) -> None:
    """Append one axis spec per leaf of ``tree``, expanding the prefix ``spec``."""
    if _is_axis_leaf(spec):
        out.extend([spec] * len(tree_flatten(tree)[0]))
        return
    s_node = node_of(spec)
    t_node = node_of(tree)
    if s_node is None:
        raise TypeError(
            f"vmap: {what} at {keystr(path)} must be an int, None or a container of them, "
            f"got {spec!r}"
        )
    if t_node is None or s_node[0] is not t_node[0]:
        raise ValueError(
            f"vmap: {what} at {keystr(path)} is a {type(spec).__name__} but the value there is "
            f"a {type(tree).__name__}; the {what} must be a prefix of the value's structure "
            "(an int or None applies to a whole subtree)"
        )
    s_children, s_aux = s_node[1].to_iterable(spec)
    t_children, t_aux = t_node[1].to_iterable(tree)
    s_children, t_children = list(s_children), list(t_children)
    if s_aux != t_aux or len(s_children) != len(t_children):
        raise ValueError(
            f"vmap: {what} at {keystr(path)} has structure {_describe(spec)} but the value "
            f"there has structure {_describe(tree)}"
        )
    keys = t_node[1].keys(tree, t_aux)
    for k, s, t in zip(keys, s_children, t_children, strict=False):
        _broadcast_prefix(s, t, path + str(k), what, out)


def _describe(x: Any) -> str:
    if isinstance(x, dict):
        return f"dict with keys {sorted(x)}"
    if isinstance(x, (tuple, list)):
        return f"{type(x).__name__} of length {len(x)}"
    return type(x).__name__


def _leaf_shape(x: Any) -> tuple[int, ...]:
    return x.shape if hasattr(x, "shape") else np.shape(x)


def _validate_axes_spec(spec: Any, what: str) -> None:
    """Raise TypeError unless ``spec`` is an int, None or a container of them."""
    stack = [spec]
    while stack:
        s = stack.pop()
        if _is_axis_leaf(s):
            continue
        node = node_of(s)
        if node is None:
            raise TypeError(
                f"vmap: {what} must be an int, None, or a tuple/list/dict of them, got {s!r} "
                f"({type(s).__name__})"
            )
        stack.extend(node[1].to_iterable(s)[0])


def vmap(
    fun: Callable[..., Any],
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
) -> Callable[..., Any]:
    """Vectorize ``fun`` over a batch axis of its arguments.

    ``vmap(fun)(xs)`` returns the same as stacking ``fun(x)`` for each slice ``x``
    of ``xs`` along axis 0, but runs each operation once on the whole batch.

    Args:
        fun: a function written for one example.
        in_axes: the batch axis of each positional argument: an int, ``None`` (the
            argument is shared by all examples), or a tuple with one entry per
            positional argument, each an int, ``None`` or a pytree prefix of that
            argument (a dict of axes for a dict argument...). Keyword arguments are
            passed unchanged to every example (not mapped).
        out_axes: where the batch axis goes in each output leaf: an int, ``None``
            (the output must not depend on the batch) or a pytree prefix of the
            output.
        axis_name: a name for the batch axis. JAX's collectives (``psum``...) refer
            to it; tapeflow has no collectives, so the name is only checked to be
            hashable.
        axis_size: the batch size: required when no argument is mapped (every output
            is then repeated ``axis_size`` times), checked against the mapped ones.
        spmd_axis_name: accepted and ignored: it places the batch on devices, which
            numpy does not have.

    Returns:
        The batched function.

    Example:
        >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
        >>> def loss(w, x, y):
        ...     return (tnp.dot(x, w) - y) ** 2
        >>> w, xs, ys = np.ones(3), np.arange(6.0).reshape(2, 3), np.zeros(2)
        >>> tp.vmap(tp.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)  # per-example gradients
        array([[  0.,   6.,  12.],
               [ 72.,  96., 120.]])
    """
    if not callable(fun):
        raise TypeError(f"vmap expects a callable, got {type(fun).__name__}")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    _validate_axes_spec(in_axes, "in_axes")
    _validate_axes_spec(out_axes, "out_axes")
    if axis_name is not None:
        hash(axis_name)  # a name must be hashable, as in JAX
    if axis_size is not None and (
        not isinstance(axis_size, (int, np.integer)) or isinstance(axis_size, bool) or axis_size < 0
    ):
        raise TypeError(f"vmap: axis_size must be a non-negative int, got {axis_size!r}")

    @functools.wraps(fun)
    def batched_fun(*args: Any, **kwargs: Any) -> Any:
        if isinstance(in_axes, tuple):
            if len(in_axes) != len(args):
                raise ValueError(
                    f"vmap: in_axes is a tuple of length {len(in_axes)}, but the function was "
                    f"called with {len(args)} positional argument(s); give one entry per argument"
                )
            specs = in_axes
        elif _is_axis_leaf(in_axes):
            specs = (in_axes,) * len(args)
        else:
            raise TypeError(
                f"vmap: in_axes must be an int, None or a tuple with one entry per positional "
                f"argument, got a {type(in_axes).__name__}; wrap it in a tuple: in_axes=(spec,)"
            )
        leaves, treedef = tree_flatten(args)
        axes: list[Any] = []
        for i, (spec, arg) in enumerate(zip(specs, args, strict=False)):
            _broadcast_prefix(spec, arg, f"[{i}]", "in_axes", axes)
        paths = [p for p, _ in _paths(args)]
        size = None
        first_path = ""
        norm_axes: list[Any] = []
        for path, x, ax in zip(paths, leaves, axes, strict=False):
            if ax is None:
                norm_axes.append(None)
                continue
            shape = _leaf_shape(x)
            nd = len(shape)
            if not -nd <= ax < nd:
                raise ValueError(
                    f"vmap: in_axes={ax} for argument {path} is out of range: that argument "
                    f"has shape {shape} ({nd} dimension(s))"
                    + ("; use None to pass it unbatched" if nd == 0 else "")
                )
            ax = int(ax) % nd
            n = shape[ax]
            if size is None:
                size, first_path = n, path
            elif n != size:
                raise ValueError(
                    f"vmap: inconsistent batch sizes: argument {first_path} has {size} examples "
                    f"along its batch axis but argument {path} has {n} (in_axes={ax})"
                )
            norm_axes.append(ax)
        if axis_size is not None:
            if size is not None and size != axis_size:
                raise ValueError(
                    f"vmap: axis_size={axis_size}, but argument {first_path} has {size} "
                    "examples along its batch axis"
                )
            size = int(axis_size)
        if size is None:
            raise ValueError(
                "vmap: no argument has a batch axis (in_axes is None everywhere); map at "
                "least one argument, or give axis_size to repeat the function's result"
            )
        with new_trace(BatchTrace, size) as trace:
            ins = [
                x if ax is None else trace.new_tracer(x, ax)
                for x, ax in zip(leaves, norm_axes, strict=False)
            ]
            try:
                out = fun(*tree_unflatten(treedef, ins), **kwargs)
            except AttributeError as exc:  # (free unless raised)
                note_plain_at(exc)
                raise
            out_leaves, out_tree = tree_flatten(out)
            o_axes: list[Any] = []
            _broadcast_prefix(out_axes, out, "", "out_axes", o_axes)
            o_paths = [p for p, _ in _paths(out)]
            results = [
                _finish(o, ax, trace, size, p)
                for o, ax, p in zip(out_leaves, o_axes, o_paths, strict=False)
            ]
        return tree_unflatten(out_tree, results)

    return batched_fun


def _paths(tree: Any) -> list[tuple[str, Any]]:
    return [(keystr(p), x) for p, x in tree_flatten_with_path(tree)[0]]


def _finish(o: Any, out_axis: Any, trace: BatchTrace, size: int, path: str) -> Any:
    """Put the batch axis of output leaf ``o`` at ``out_axis``."""
    if type(o) is Tracer and o._trace is trace:
        if out_axis is None:
            raise ValueError(
                f"vmap: out_axes is None for output {path}, but that output depends on the "
                "batched arguments; give it an axis to put the batch on"
            )
        value, dim = o._value, o._batch_axis
        nd = len(_leaf_shape(value))
        if not -nd <= out_axis < nd:
            raise ValueError(
                f"vmap: out_axes={out_axis} for output {path} is out of range for a batched "
                f"output with {nd} dimension(s)"
            )
        return moveaxis(value, dim, int(out_axis) % nd)
    if out_axis is None:
        return o
    # Unbatched output: every example has the same value; repeat it.
    shape = tuple(_leaf_shape(o))
    nd = len(shape) + 1
    if not -nd <= out_axis < nd:
        raise ValueError(
            f"vmap: out_axes={out_axis} for output {path} is out of range for an output with "
            f"{nd} dimension(s)"
        )
    ax = int(out_axis) % nd
    expanded = ops.reshape(o, shape[:ax] + (1,) + shape[ax:])
    full = ops.broadcast_to(expanded, shape[:ax] + (size,) + shape[ax:])
    if type(full) is not Tracer:
        full = np.array(full)  # a writable array, as a loop-and-stack would give
    return full
