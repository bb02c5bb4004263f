"""Forward mode: the JVP trace and ``jvp``.

A forward trace carries a tangent beside every traced value (``Tracer._tangent``).
Each primitive call computes its answer and pushes the tangents through the
primitive's JVP rules at once, so the cost of a JVP does not depend on the
number of outputs and no tape is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see core/tape.py)

from tapeflow.arguments import check_differentiable, none_message, split_aux
from tapeflow.core.arrays import ops
from tapeflow.core.hints import note_plain_at
from tapeflow.core.leaves import is_inexact, leaf_dtype, value_shape
from tapeflow.core.primitive import FunctionType, resolve_rule
from tapeflow.core.pytree import keystr, tree_flatten, tree_flatten_with_path, tree_unflatten
from tapeflow.core.trace import CustomCall, Trace, gc_paused, pop_trace, push_trace
from tapeflow.core.tracer import Tracer, unwrap
from tapeflow.custom import TracedRuleError
from tapeflow.reverse import vjp

__all__ = ["ForwardTrace", "jvp", "check_tangents"]


class ForwardTrace(Trace):
    """The trace of ``jvp``: tracers carry (primal, tangent)."""

    __slots__ = ()
    kind = "forward-mode (jvp)"

    def process(self, prim: Any, args: tuple, kwargs: dict) -> Any:
        if not self.active:
            raise self.leaked_error()
        if prim.jvp_joint is not None:
            return self._process_joint(prim, args, kwargs)
        # The same unwrapping loop as Tape.process, written out in both: a shared helper
        # would add a Python call (about 5% of the per-op cost) on the hottest path.
        vals = list(args)
        tangents = []
        rules = prim.jvps
        outer = False  # does any argument belong to another (outer) trace?
        i = 0
        for a in args:
            if type(a) is Tracer:
                if a._trace is self:
                    value = vals[i] = a._value
                    if type(value) is Tracer:
                        outer = True
                    try:  # (free in Python 3.11+ unless it raises)
                        rule = rules[i]
                    except IndexError:  # past the listed rules
                        rule = prim.jvp_rest
                    if type(rule) is not FunctionType:  # None, missing, argnum-aware...
                        rule = resolve_rule(prim, rule, i, "JVP")
                    if rule is not None:
                        tangents.append((rule, a._tangent))
                else:
                    outer = True
            i += 1
        # Only re-dispatch when an outer trace must see the call too.
        if outer:
            ans = prim.bind(*vals, **kwargs)
        else:
            ans = prim.impl(*vals, **kwargs) if kwargs else prim.impl(*vals)
        if not tangents:
            return ans
        out_t = tangents[0][0](tangents[0][1], ans, *vals, **kwargs)
        if len(tangents) > 1:
            accumulate = ops.add
            # accumulate, not +: a multi-output primitive's tangents are tuples
            for rule, t in tangents[1:]:
                more = rule(t, ans, *vals, **kwargs)
                out_t = accumulate(out_t, more) if type(out_t) is tuple else out_t + more
        if prim.broadcasts:
            kind = type(out_t)
            # As in the backward pass: scalars of one type fit as they are, arrays when
            # shape and dtype already match; only the rest goes through fit_tangent.
            if kind is not type(ans) or (
                (kind is ndarray or kind is Tracer)
                and (out_t.shape != ans.shape or out_t.dtype != ans.dtype)
            ):
                out_t = ops.fit_tangent(out_t, ans)
        out = _new_tracer(Tracer)
        out._value = ans
        out._trace = self
        out._tangent = out_t
        return out

    def _process_joint(self, prim: Any, args: tuple, kwargs: dict) -> Any:
        """``process`` for a primitive with one JVP rule for all its arguments."""
        vals = list(args)
        tangents: list[Any] = [None] * len(args)
        outer = False
        for i, a in enumerate(args):
            if type(a) is Tracer:
                if a._trace is self:
                    value = vals[i] = a._value
                    if type(value) is Tracer:
                        outer = True
                    tangents[i] = a._tangent
                else:
                    outer = True
        ans = prim.bind(*vals, **kwargs) if outer else prim.impl(*vals, **kwargs)
        out_t = prim.jvp_joint(tangents, ans, *vals, **kwargs)
        if prim.broadcasts:
            out_t = ops.fit_tangent(out_t, ans)
        return self.new_input(ans, out_t)

    def new_input(self, value: Any, tangent: Any) -> Tracer:
        out = _new_tracer(Tracer)
        out._value = value
        out._trace = self
        out._tangent = tangent
        return out

    def own_values(self, leaves: list[Any]) -> list[Any]:
        """``leaves`` with this trace's tracers replaced by their primal values."""
        return [x._value if type(x) is Tracer and x._trace is self else x for x in leaves]

    def process_custom_jvp_call(self, call: CustomCall) -> Any:
        """Run the user's tangent rule on this trace's tangents."""
        vals = self.own_values(call.leaves)
        tangents = [
            x._tangent if type(x) is Tracer and x._trace is self else ops.zeros(x)
            for x in call.leaves
        ]
        out, t_out = call.rules.run_jvp(call, vals, tangents, self)
        return self.wrap_outputs(out, t_out, f"custom_jvp {call.rules.name!r}")

    def process_custom_vjp_call(self, call: CustomCall) -> Any:
        """Find the tangents by transposing the user's backward rule (it is linear)."""
        vals = self.own_values(call.leaves)
        out, pullback = call.rules.forward_and_pullback(call, vals, self)
        traced = [i for i, x in enumerate(call.leaves) if type(x) is Tracer and x._trace is self]
        tangents = [call.leaves[i]._tangent for i in traced]
        out_leaves, out_tree = tree_flatten(out)
        name = f"custom_vjp function {call.rules.name!r}"
        t_out = _transpose_pullback(pullback, out_leaves, traced, tangents, name)
        return self.wrap_outputs(out, tree_unflatten(out_tree, t_out), name)

    def wrap_outputs(self, out: Any, t_out: Any, name: str) -> Any:
        """``out`` with each float leaf traced here, carrying its leaf of ``t_out``."""
        out_paths, out_tree = tree_flatten_with_path(out)
        t_leaves, t_tree = tree_flatten(t_out)
        if t_tree != out_tree:
            raise TypeError(
                f"{name}: the tangent output has structure {t_tree}, but the primal output has "
                f"structure {out_tree}"
            )
        wrapped = []
        for (path, o), t in zip(out_paths, t_leaves, strict=True):
            if not is_inexact(o):
                wrapped.append(o)
                continue
            if value_shape(t) != value_shape(o):
                raise ValueError(
                    f"{name}: the tangent output at {keystr(path)} has shape {value_shape(t)}, "
                    f"but the primal output there has shape {value_shape(o)}"
                )
            if leaf_dtype(t) != leaf_dtype(o) and not isinstance(o, float):
                t = ops.cast(t, o)
            wrapped.append(self.new_input(o, t))
        return tree_unflatten(out_tree, wrapped)


_new_tracer = object.__new__  # makes tracers without running __init__


def _transpose_pullback(
    pullback: Callable[[list[Any]], list[Any]],
    out_leaves: list[Any],
    in_idx: list[int],
    tangents: list[Any],
    name: str,
) -> list[Any]:
    """Apply the transpose of a linear pull-back: output tangents from input tangents.

    The pull-back is recorded once on a fresh tape at a zero cotangent, then
    that tape is replayed backwards from ``tangents`` (the VJP of a linear map
    is its transpose, and the transpose of the transpose is the map).
    """
    float_out = [j for j, o in enumerate(out_leaves) if is_inexact(o)]

    def pull(*u: Any) -> list[Any]:
        cts = [ops.zeros(o) for o in out_leaves]
        for j, uj in zip(float_out, u, strict=True):
            cts[j] = uj
        res = pullback(cts)
        return [ops.zeros(tangents[k]) if res[i] is None else res[i] for k, i in enumerate(in_idx)]

    if not float_out:
        return [ops.zeros(o) for o in out_leaves]
    u0 = [ops.zeros(out_leaves[j]) for j in float_out]
    try:
        at_zero, transpose = vjp(pull, *u0)
    except TracedRuleError as e:
        raise TypeError(
            f"{name}: forward mode (jvp, jacfwd) of a custom_vjp function finds tangents by "
            "transposing its bwd rule, so bwd must be written with tapeflow operations; it "
            f"failed on traced values ({e.__cause__}). Write bwd with tapeflow.numpy, or give "
            "the function a custom_jvp rule instead."
        ) from e
    for v in at_zero:
        if np.any(unwrap(v) != 0):
            raise ValueError(
                f"{name}: bwd(res, g) is not linear in g (it is nonzero at g = 0), so it cannot "
                "be transposed for forward mode. A VJP rule must be linear in its cotangent."
            )
    t_float = transpose([tangents[k] for k in range(len(in_idx))])
    t_out = [ops.zeros(o) for o in out_leaves]
    for j, t in zip(float_out, t_float, strict=True):
        t_out[j] = t
    return t_out


def _leaf_shape_dtype(x: Any) -> tuple[tuple[int, ...], Any]:
    shape = x.shape if hasattr(x, "shape") else np.shape(x)
    dtype = x.dtype if hasattr(x, "dtype") else np.result_type(x)
    return shape, dtype


def _same_float_array(p: Any, t: Any) -> bool:
    """The common case, checked cheaply: two float arrays of one shape and dtype."""
    return (
        type(p) is ndarray
        and type(t) is ndarray
        and p.dtype.kind in "fc"
        and p.shape == t.shape
        and p.dtype == t.dtype
    )


def check_tangents(primals: Any, tangents: Any, name: str) -> tuple[list[Any], list[Any], Any]:
    """Check ``tangents`` against ``primals`` leaf by leaf: structure, shape, dtype.

    Returns ``(primal leaves with paths, tangent leaves with paths, primal treedef)``;
    the paths are only spelled out when something is wrong.
    """
    p_flat, p_tree = tree_flatten(tuple(primals))
    t_flat, t_tree = tree_flatten(tuple(tangents))
    # (Structures of leaf-only tuples are shared objects: `is` settles the usual case.)
    same = p_tree is t_tree or p_tree == t_tree
    if len(p_flat) == 1 and len(t_flat) == 1:  # one array each (hvp, jacfwd columns)
        same = same and _same_float_array(p_flat[0], t_flat[0])
    else:
        same = same and all(_same_float_array(p, t) for p, t in zip(p_flat, t_flat, strict=True))
    if same:
        return [("", p) for p in p_flat], [("", t) for t in t_flat], p_tree
    p_leaves, p_tree = tree_flatten_with_path(tuple(primals))
    t_leaves, t_tree = tree_flatten_with_path(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(
            f"{name}: tangents have structure {t_tree} but primals have structure {p_tree}; "
            "pass one tangent per primal leaf"
        )
    check_differentiable([(f"primal {p}", x) for p, x in p_leaves], name)
    for (path, p), (_, t) in zip(p_leaves, t_leaves, strict=True):
        p_shape, p_dtype = _leaf_shape_dtype(p)
        t_shape, t_dtype = _leaf_shape_dtype(t)
        if p_shape != t_shape:
            raise ValueError(
                f"{name}: the tangent at {keystr(path)} has shape {t_shape}, but the primal has "
                f"shape {p_shape}"
            )
        if isinstance(p, (float, complex)) or np.dtype(t_dtype) == np.dtype(p_dtype):
            continue
        if isinstance(t, (float, int)) and not isinstance(t, bool):
            continue
        raise TypeError(
            f"{name}: the tangent at {keystr(path)} has dtype {t_dtype}, but the primal has dtype "
            f"{p_dtype}; cast it with .astype({np.dtype(p_dtype).name})"
        )
    return p_leaves, t_leaves, p_tree


def jvp(
    fun: Callable[..., Any],
    primals: tuple[Any, ...],
    tangents: tuple[Any, ...],
    has_aux: bool = False,
) -> Any:
    """Evaluate ``fun(*primals)`` and its directional derivative along ``tangents``.

    Returns ``(out, tangent_out)``, or ``(out, tangent_out, aux)`` when
    ``has_aux=True`` and ``fun`` returns a pair ``(out, aux)``; ``tangents`` must
    match ``primals`` leaf by leaf in structure, shape and dtype.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.jvp(lambda x: x ** 2, (3.0,), (1.0,))
        (np.float64(9.0), np.float64(6.0))
    """
    if not callable(fun):
        raise TypeError(f"jvp expects a callable, got {type(fun).__name__}")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp(fun, primals, tangents) takes primals and tangents as tuples (one entry per "
            f"positional argument), got {type(primals).__name__} and {type(tangents).__name__}"
        )
    for n, p in enumerate(primals):
        if p is None:
            raise TypeError(none_message(f"jvp: primal {n}", "close over it instead"))
    p_leaves, t_leaves, p_tree = check_tangents(primals, tangents, "jvp")
    with gc_paused:
        trace = push_trace(ForwardTrace)
        try:
            if not has_aux:
                return _run_forward(fun, trace, p_leaves, t_leaves, p_tree)
            box: list[Any] = []

            def without_aux(*args: Any) -> Any:
                out, aux = split_aux(fun(*args), True, "jvp")
                box.append(aux)
                return out

            out, t_out = _run_forward(without_aux, trace, p_leaves, t_leaves, p_tree)
            # aux carries no tangent: this trace's tracers in it become their values
            aux_leaves, aux_tree = tree_flatten(box[0])
            return out, t_out, tree_unflatten(aux_tree, trace.own_values(aux_leaves))
        except AttributeError as exc:  # (free unless raised)
            note_plain_at(exc)
            raise
        finally:
            pop_trace(trace)


def _run_forward(
    fun: Callable[..., Any],
    trace: ForwardTrace,
    p_leaves: list[tuple[str, Any]],
    t_leaves: list[tuple[str, Any]],
    p_tree: Any,
) -> tuple[Any, Any]:
    """The body of :func:`jvp`, run while ``trace`` is the innermost trace."""
    ins = [
        trace.new_input(p, as_tangent(t, p))
        for (_, p), (_, t) in zip(p_leaves, t_leaves, strict=True)
    ]
    out = fun(*tree_unflatten(p_tree, ins))
    if type(out) is Tracer and out._trace is trace:  # one output array: the short way
        value, tangent = out._value, out._tangent
        if type(value) is ndarray and type(tangent) is ndarray:
            if tangent.shape == value.shape and tangent.dtype == value.dtype:
                return value, tangent
    out_leaves, out_tree = tree_flatten(out)
    values, out_tangents = [], []
    for o in out_leaves:
        if type(o) is Tracer and o._trace is trace:
            values.append(o._value)
            t_shape, o_shape = _leaf_shape_dtype(o._tangent)[0], _leaf_shape_dtype(o._value)[0]
            if t_shape != o_shape:
                raise ValueError(
                    f"jvp: the tangent computed for output leaf {len(values) - 1} has shape "
                    f"{t_shape}, but the output has shape {o_shape}: a JVP rule returned a "
                    "tangent of the wrong shape. Check custom rules with tp.check_grads."
                )
            out_tangents.append(as_tangent(o._tangent, o._value))
        else:
            values.append(o)
            shape, _ = _leaf_shape_dtype(o)
            out_tangents.append(np.zeros(shape, leaf_dtype(o)))
    return tree_unflatten(out_tree, values), tree_unflatten(out_tree, out_tangents)


def as_tangent(t: Any, primal: Any) -> Any:
    """``t`` as an array or numpy scalar of ``primal``'s dtype (never a Python number).

    Rules may produce Python numbers (``1.0 * 3.0`` when a primal is a Python float) or
    a wider dtype; users get tangents typed like the values they belong to, as in JAX.
    """
    if type(t) is ndarray and type(primal) is ndarray and t.dtype == primal.dtype:
        return t  # the common case: already an array of the primal's dtype
    dtype = leaf_dtype(primal)
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating)):
        return t
    t_dtype = getattr(t, "dtype", None)
    if t_dtype is None:  # a Python number
        return np.asarray(t, dtype)[()]
    if t_dtype != dtype:
        return ops.cast(t, primal)
    return t
