"""User-defined derivatives: ``custom_vjp``, ``custom_jvp`` and ``stop_gradient``.

A custom-rule function is handled by the innermost (highest-level) trace among
its arguments only. That trace runs the user's forward code on its own
tracers' values (so outer transforms trace the forward code like any other
code) and records a single *call* entry whose derivative is the user's rule.
Rules run on values that may themselves be traced by outer transforms, so a
rule written with tapeflow operations can be differentiated again.

How each kind of trace handles each kind of rule:

============  =====================================  ==========================================
trace         ``custom_vjp``                          ``custom_jvp``
============  =====================================  ==========================================
reverse       ``fwd`` now, ``bwd`` in the backward    the tangent map ``t -> rule(p, t)[1]`` is
              pass                                    recorded now and transposed (pulled back
                                                      on its own tape) in the backward pass
forward       tangent = transpose of ``bwd``, found   ``rule`` now
              by pulling back through ``bwd``
              recorded on its own tape
vmap          a loop over examples, each example          the same
              meeting the traces below
other         the undecorated function                the undecorated function
============  =====================================  ==========================================

Both transpositions rely on a rule being linear in its cotangent / tangent,
which every correct rule is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from tapeflow.forward import ForwardTrace
from tapeflow.primitive import Primitive, nondifferentiable, primitive
from tapeflow.tape import Tape, new_trace
from tapeflow.tracer import Tracer, unwrap
from tapeflow.transforms import _is_float, _pull_back, leaf_dtype, value_shape, vjp
from tapeflow.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_map,
    tree_unflatten,
)

__all__ = ["custom_vjp", "custom_jvp", "stop_gradient"]


# ----- stop_gradient --------------------------------------------------------------
def _identity(x: Any) -> Any:
    return x


_stop_gradient = primitive(_identity, name="stop_gradient")
nondifferentiable(_stop_gradient)


def stop_gradient(x: Any) -> Any:
    """Return ``x`` unchanged, but with a zero derivative under every transform.

    ``x`` may be a pytree; each leaf is cut from the computation at every level
    of nesting (it is a constant to ``grad``, ``jvp``, ``hessian``...).

    Example:
        >>> import tapeflow as tp
        >>> float(tp.grad(lambda x: x * tp.stop_gradient(x))(3.0))
        3.0
    """
    return tree_map(_stop_gradient, x)


# ----- the call record --------------------------------------------------------------
def _call_impl(*leaves: Any, call: Callable[..., Any]) -> tuple[Any, ...]:
    out: tuple[Any, ...] = call(*leaves)
    return out


def _output_impl(results: tuple[Any, ...], index: int) -> Any:
    return results[index]


def _output_vjp(ans: Any, results: tuple[Any, ...], index: int) -> Callable[[Any], Any]:
    n = len(results)
    return lambda g: tuple(g if k == index else None for k in range(n))


# Not registered: these only appear in records made here. ``call`` computes the
# output leaves from the input leaves, so a record can be replayed as a program.
_CALL = Primitive(_call_impl, "custom_call")
_OUTPUT = Primitive(_output_impl, "custom_output")


class _TracedRuleError(TypeError):
    """A user's rule failed on traced values (plain numpy where tapeflow ops are needed)."""


def _zeros(x: Any) -> np.ndarray:
    return np.zeros(value_shape(x), leaf_dtype(x))


def _top_trace(leaves: list[Any]) -> Any:
    top = None
    for x in leaves:
        if type(x) is Tracer:
            t = x._trace
            if top is None or t.level > top.level:
                top = t
    if top is not None and not top.active:
        raise top.leaked_error()
    return top


def closes_over_trace(tree: Any, top: Any) -> bool:
    """True when ``tree`` holds a value traced at ``top``'s level or above.

    That happens when a function with a custom rule (or a checkpointed one)
    reads a traced value from a closure instead of taking it as an argument:
    such a value cannot be handled by the call's own rule.
    """
    return any(type(x) is Tracer and x._trace.level >= top.level for x in tree_flatten(tree)[0])


def _closure_error(kind: str, name: str, what: str) -> TypeError:
    return TypeError(
        f"{kind} function {name!r} closes over a traced value: a variable being differentiated "
        f"reached its {what} without being passed as an argument. Pass that value as an "
        "explicit positional argument so the custom rule can give it a cotangent."
    )


def _per_example(top: Any, fun: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    """Run ``fun`` once per example of a ``vmap`` trace and stack the results.

    The custom rule then applies to each example at the traces below ``vmap``
    (the same fallback ``vmap`` uses for primitives without a batching rule).
    """
    from tapeflow.vmap import _example, stack_examples

    leaves, in_tree = tree_flatten(args)
    outs = []
    for i in range(top.size):
        ex = [
            _example(x._value, i, x._aux) if type(x) is Tracer and x._trace is top else x
            for x in leaves
        ]
        outs.append(tree_flatten(fun(*tree_unflatten(in_tree, ex))))
    out_tree = outs[0][1]
    stacked = [
        Tracer(stack_examples([o[0][k] for o in outs]), top, 0) for k in range(out_tree.num_leaves)
    ]
    return tree_unflatten(out_tree, stacked)


def _record_reverse(
    tape: Tape,
    leaves: list[Any],
    vals: list[Any],
    out: Any,
    pullback: Callable[[list[Any]], list[Any]],
    call: Callable[..., tuple[Any, ...]],
) -> Any:
    """Record one call on ``tape`` whose VJP is ``pullback``; return the traced output.

    ``pullback(ct_leaves)`` maps one cotangent per output leaf to one cotangent
    per input leaf (``None`` for no gradient). It runs once per backward pass.
    """
    out_leaves, out_tree = tree_flatten(out)
    results = tuple(out_leaves)
    # The backward pass asks once per traced input with the same cotangent tuple;
    # run the user's rule once per tuple. (g, result) is stored as one pair so that
    # concurrent pull-backs of a kept tape never read each other's result.
    memo: list[Any] = [(None, None)]

    def cotangents(g: tuple[Any, ...]) -> list[Any]:
        seen, result = memo[0]
        if seen is not g:
            result = pullback(
                [_zeros(o) if c is None else c for c, o in zip(g, out_leaves, strict=True)]
            )
            memo[0] = (g, result)
        return result  # type: ignore[no-any-return]

    def rule_for(i: int) -> Callable[..., Any]:
        def rule(ans: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            def pull(g: Any) -> Any:
                ct = cotangents(g)[i]
                return _zeros(vals[i]) if ct is None else ct

            return pull

        return rule

    parents = [
        (i, x._aux, rule_for(i))
        for i, x in enumerate(leaves)
        if type(x) is Tracer and x._trace is tape
    ]
    records = tape.records
    records.append((_CALL, results, vals, {"call": call}, parents))
    call_slot = len(records) - 1
    wrapped = []
    for j, o in enumerate(out_leaves):
        if not _is_float(o):
            wrapped.append(o)
            continue
        records.append((_OUTPUT, o, (results,), {"index": j}, [(0, call_slot, _output_vjp)]))
        wrapped.append(Tracer(o, tape, len(records) - 1))
    return tree_unflatten(out_tree, wrapped)


def _wrap_forward(trace: ForwardTrace, out: Any, t_out: Any, name: str) -> Any:
    """Attach output tangents (checked against the output) to ``out`` on ``trace``."""
    out_paths, out_tree = tree_flatten_with_path(out)
    t_leaves, t_tree = tree_flatten(t_out)
    if t_tree != out_tree:
        raise TypeError(
            f"{name}: the tangent output has structure {t_tree}, but the primal output has "
            f"structure {out_tree}"
        )
    wrapped = []
    for (path, o), t in zip(out_paths, t_leaves, strict=True):
        if not _is_float(o):
            wrapped.append(o)
            continue
        if value_shape(t) != value_shape(o):
            raise ValueError(
                f"{name}: the tangent output at {keystr(path)} has shape {value_shape(t)}, but "
                f"the primal output there has shape {value_shape(o)}"
            )
        if leaf_dtype(t) != leaf_dtype(o) and not isinstance(o, float):
            import tapeflow.numpy as tnp

            t = tnp.astype(t, leaf_dtype(o))
        wrapped.append(Tracer(o, trace, t))
    return tree_unflatten(out_tree, wrapped)


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
    float_out = [j for j, o in enumerate(out_leaves) if _is_float(o)]

    def pull(*u: Any) -> list[Any]:
        cts = [_zeros(o) for o in out_leaves]
        for j, uj in zip(float_out, u, strict=True):
            cts[j] = uj
        res = pullback(cts)
        return [_zeros(tangents[k]) if res[i] is None else res[i] for k, i in enumerate(in_idx)]

    if not float_out:
        return [_zeros(o) for o in out_leaves]
    u0 = [_zeros(out_leaves[j]) for j in float_out]
    try:
        at_zero, transpose = vjp(pull, *u0)
    except _TracedRuleError as e:
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
    t_out = [_zeros(o) for o in out_leaves]
    for j, t in zip(float_out, t_float, strict=True):
        t_out[j] = t
    return t_out


def _positional(
    fun: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Bind keyword arguments to their positions (custom rules see positional args only)."""
    if not kwargs:
        return args
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{getattr(fun, '__name__', fun)}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(
            f"{getattr(fun, '__name__', fun)}: functions with custom derivative rules take "
            f"their arguments positionally; got keyword-only arguments {sorted(bound.kwargs)}"
        )
    return tuple(bound.args)


class _CustomBase:
    """Shared argument handling of :class:`custom_vjp` and :class:`custom_jvp`."""

    kind = "custom"

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        if not callable(fun):
            raise TypeError(f"tp.{self.kind} expects a callable, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(sorted(int(i) for i in nondiff_argnums))
        self.name = getattr(fun, "__name__", repr(fun))

    def _split(self, args: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Any, ...], list[int]]:
        nargs = len(args)
        for i in self.nondiff_argnums:
            if not -nargs <= i < nargs:
                raise ValueError(
                    f"{self.kind} {self.name!r}: nondiff_argnums names argument {i}, but it was "
                    f"called with {nargs} positional argument(s)"
                )
        fixed = {i % nargs for i in self.nondiff_argnums}
        diff_pos = [i for i in range(nargs) if i not in fixed]
        nondiff = tuple(args[i] for i in sorted(fixed))
        for a in nondiff:
            if any(type(x) is Tracer for x in tree_flatten(a)[0]):
                raise TypeError(
                    f"{self.kind} {self.name!r}: an argument listed in nondiff_argnums is a "
                    "traced value; nondiff_argnums are for static values (flags, sizes, "
                    "functions). Pass traced values as ordinary arguments."
                )
        return nondiff, tuple(args[i] for i in diff_pos), diff_pos

    def _rebuild(
        self, args: tuple[Any, ...], diff_pos: list[int], diff: Sequence[Any]
    ) -> list[Any]:
        full = list(args)
        for i, a in zip(diff_pos, diff, strict=True):
            full[i] = a
        return full

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        return functools.partial(self, obj)

    def _require_rule(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _traced(self, c: _Call) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._require_rule()
        args = _positional(self.fun, args, kwargs)
        nondiff, diff, diff_pos = self._split(args)
        leaves, in_tree = tree_flatten(diff)
        top = _top_trace(leaves)
        if getattr(top, "batched", False):
            return _per_example(top, self, args)
        if not isinstance(top, (Tape, ForwardTrace)):
            return self.fun(*args)
        vals = [x._value if type(x) is Tracer and x._trace is top else x for x in leaves]
        return self._traced(_Call(args, nondiff, diff, diff_pos, leaves, in_tree, top, vals))

    def _replay(self, c: _Call) -> Callable[..., tuple[Any, ...]]:
        """The recorded call as a function of its input leaves (for replaying a tape)."""

        def call(*xs: Any) -> tuple[Any, ...]:
            full = self._rebuild(c.args, c.diff_pos, tree_unflatten(c.in_tree, xs))
            return tuple(tree_flatten(self.fun(*full))[0])

        return call


class _Call(NamedTuple):
    """One call of a custom-rule function under a trace, split up for the rule."""

    args: tuple[Any, ...]  # all positional arguments
    nondiff: tuple[Any, ...]  # the nondiff_argnums ones
    diff: tuple[Any, ...]  # the others
    diff_pos: list[int]  # their positions
    leaves: list[Any]  # leaves of `diff`, as received
    in_tree: Any  # treedef of `diff`
    top: Any  # the trace handling the call
    vals: list[Any]  # `leaves` with the top trace's tracers unwrapped


# ----- custom_vjp -------------------------------------------------------------------
class custom_vjp(_CustomBase):
    """Give a function its own reverse-mode derivative.

    Decorate ``f``, then register ``f.defvjp(fwd, bwd)``:

    * ``fwd(*args)`` returns ``(out, residuals)``, where ``out`` equals
      ``f(*args)`` and ``residuals`` is any pytree ``bwd`` needs;
    * ``bwd(residuals, g)`` returns a tuple with one cotangent per positional
      argument (``None`` for a zero cotangent), each shaped like its argument.

    Arguments listed in ``nondiff_argnums`` are static: they are passed first to
    ``bwd`` (``bwd(*nondiff, residuals, g)``) and get no cotangent.

    Write ``bwd`` with tapeflow operations and the result can be differentiated
    again (``grad`` of ``grad``, ``hessian``); forward mode transposes ``bwd``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> @tp.custom_vjp
        ... def clip_gradient(x):
        ...     return x
        >>> clip_gradient.defvjp(lambda x: (x, None),
        ...                      lambda res, g: (tnp.where(g > 1.0, 1.0, g),))
        >>> float(tp.grad(lambda x: 5.0 * clip_gradient(x))(2.0))
        1.0
    """

    kind = "custom_vjp"

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        super().__init__(fun, nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Register the forward function and the backward rule (see the class docstring)."""
        if not callable(fwd) or not callable(bwd):
            raise TypeError(f"{self.name}.defvjp(fwd, bwd) needs two callables")
        self.fwd, self.bwd = fwd, bwd

    def _require_rule(self) -> None:
        if self.fwd is None or self.bwd is None:
            raise TypeError(
                f"custom_vjp function {self.name!r} has no rule yet; call "
                f"{self.name}.defvjp(fwd, bwd) before using it"
            )

    def _traced(self, c: _Call) -> Any:
        assert self.fwd is not None
        top, leaves, vals, nondiff, diff = c.top, c.leaves, c.vals, c.nondiff, c.diff
        res_pair = self.fwd(*self._rebuild(c.args, c.diff_pos, tree_unflatten(c.in_tree, vals)))
        if not (isinstance(res_pair, (tuple, list)) and len(res_pair) == 2):
            raise TypeError(
                f"custom_vjp function {self.name!r}: fwd must return a pair (out, residuals), "
                f"got {type(res_pair).__name__}"
            )
        out, residuals = res_pair
        if closes_over_trace(res_pair, top):
            raise _closure_error("custom_vjp", self.name, "output or residuals")
        out_leaves, out_tree = tree_flatten(out)

        def pullback(ct_leaves: list[Any]) -> list[Any]:
            return self._run_bwd(nondiff, residuals, tree_unflatten(out_tree, ct_leaves), diff)

        if isinstance(top, Tape):
            return _record_reverse(top, leaves, vals, out, pullback, self._replay(c))
        traced = [i for i, x in enumerate(leaves) if type(x) is Tracer and x._trace is top]
        tangents = [leaves[i]._aux for i in traced]
        t_out = _transpose_pullback(
            pullback, out_leaves, traced, tangents, f"custom_vjp function {self.name!r}"
        )
        return _wrap_forward(top, out, tree_unflatten(out_tree, t_out), f"custom_vjp {self.name!r}")

    def _run_bwd(
        self, nondiff: tuple[Any, ...], residuals: Any, g: Any, diff: tuple[Any, ...]
    ) -> list[Any]:
        assert self.bwd is not None
        try:
            cts = self.bwd(*nondiff, residuals, g)
        except TypeError as e:
            if any(type(x) is Tracer for x in tree_flatten((residuals, g))[0]):
                raise _TracedRuleError(
                    f"custom_vjp function {self.name!r}: its bwd rule failed on traced values "
                    f"({e}). bwd receives traced values when its result is differentiated "
                    "again (grad of grad, hessian, jvp): write it with tapeflow.numpy "
                    "operations instead of plain numpy, float() or np.asarray."
                ) from e
            raise
        if not isinstance(cts, (tuple, list)):
            raise TypeError(
                f"custom_vjp function {self.name!r}: bwd must return a tuple with one cotangent "
                f"per differentiable positional argument ({len(diff)}), got "
                f"{type(cts).__name__}; for one argument write `return (g_x,)`"
            )
        if len(cts) != len(diff):
            raise ValueError(
                f"custom_vjp function {self.name!r}: bwd returned {len(cts)} cotangent(s), but "
                f"the function has {len(diff)} differentiable positional argument(s); return one "
                "per argument, None for no gradient"
            )
        flat: list[Any] = []
        for n, (ct, arg) in enumerate(zip(cts, diff, strict=True)):
            a_paths, a_tree = tree_flatten_with_path(arg)
            if ct is None:
                flat.extend(None for _ in a_paths)
                continue
            c_leaves, c_tree = tree_flatten(ct)
            if c_tree != a_tree:
                raise ValueError(
                    f"custom_vjp function {self.name!r}: bwd's cotangent {n} has structure "
                    f"{c_tree}, but argument {n} has structure {a_tree}"
                )
            for (path, a), c in zip(a_paths, c_leaves, strict=True):
                if c is not None and value_shape(c) != value_shape(a):
                    raise ValueError(
                        f"custom_vjp function {self.name!r}: bwd's cotangent for argument "
                        f"{n}{path} has shape {value_shape(c)}, but the argument has shape "
                        f"{value_shape(a)}"
                    )
                if c is not None and _is_float(a) and not isinstance(a, float):
                    if leaf_dtype(c) != leaf_dtype(a):
                        import tapeflow.numpy as tnp

                        c = tnp.astype(c, leaf_dtype(a))
                flat.append(c)
        return flat


# ----- custom_jvp -------------------------------------------------------------------
class custom_jvp(_CustomBase):
    """Give a function its own forward-mode derivative.

    Decorate ``f``, then register ``f.defjvp(rule)`` (usable as a decorator):
    ``rule(primals, tangents)`` gets two tuples, one entry per positional
    argument, and returns ``(out, tangent_out)``. Arguments listed in
    ``nondiff_argnums`` are passed first: ``rule(*nondiff, primals, tangents)``.

    Reverse mode uses the same rule: the tangent map ``t -> rule(p, t)[1]`` is
    linear, and tapeflow records it once and pulls back through it (its
    transpose is the VJP). Write the rule with tapeflow operations for that, and
    for higher derivatives.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> @tp.custom_jvp
        ... def safe_norm(x):
        ...     return tnp.sqrt(tnp.sum(x * x))
        >>> @safe_norm.defjvp
        ... def _(primals, tangents):
        ...     (x,), (t,) = primals, tangents
        ...     n = safe_norm(x)
        ...     return n, tnp.sum(x * t) / tnp.where(n == 0.0, 1.0, n)
        >>> tp.grad(safe_norm)(np.zeros(2))
        array([0., 0.])
    """

    kind = "custom_jvp"

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        super().__init__(fun, nondiff_argnums)
        self.rule: Callable[..., Any] | None = None

    def defjvp(self, rule: Callable[..., Any]) -> Callable[..., Any]:
        """Register ``rule(primals, tangents) -> (out, tangent_out)``; returns ``rule``."""
        if not callable(rule):
            raise TypeError(f"{self.name}.defjvp(rule) needs a callable")
        self.rule = rule
        return rule

    def _run_rule(
        self, nondiff: tuple[Any, ...], primals: tuple[Any, ...], tangents: tuple[Any, ...]
    ) -> tuple[Any, Any]:
        assert self.rule is not None
        res = self.rule(*nondiff, primals, tangents)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise TypeError(
                f"custom_jvp function {self.name!r}: the rule must return a pair "
                f"(out, tangent_out), got {type(res).__name__}"
            )
        return res[0], res[1]

    def _require_rule(self) -> None:
        if self.rule is None:
            raise TypeError(
                f"custom_jvp function {self.name!r} has no rule yet; register one with "
                f"@{self.name}.defjvp"
            )

    def _traced(self, c: _Call) -> Any:
        top, leaves, vals, nondiff, in_tree = c.top, c.leaves, c.vals, c.nondiff, c.in_tree
        name = f"custom_jvp {self.name!r}"
        vals = [x._value if type(x) is Tracer and x._trace is top else x for x in leaves]
        primals = tuple(tree_unflatten(in_tree, vals))
        if isinstance(top, ForwardTrace):
            tangents = [
                x._aux if type(x) is Tracer and x._trace is top else _zeros(x) for x in leaves
            ]
            out, t_out = self._run_rule(nondiff, primals, tuple(tree_unflatten(in_tree, tangents)))
            if closes_over_trace(out, top):
                raise _closure_error("custom_jvp", self.name, "output")
            return _wrap_forward(top, out, t_out, name)

        # Reverse mode: record the tangent map on its own tape, pull back through it later.
        traced = [i for i, x in enumerate(leaves) if type(x) is Tracer and x._trace is top]
        with new_trace(Tape) as lin:
            zeros = [_zeros(v) for v in vals]
            t_in = list(zeros)
            for i in traced:
                t_in[i] = lin.new_input(zeros[i])
            out, t_out = self._run_rule(nondiff, primals, tuple(tree_unflatten(in_tree, t_in)))
            out_paths, out_tree = tree_flatten_with_path(out)
            t_leaves, t_tree = tree_flatten(t_out)
        if any(
            type(x) is Tracer and x._trace is not lin and x._trace.level >= top.level
            for x in tree_flatten((out, t_out))[0]
        ):
            raise _closure_error("custom_jvp", self.name, "output or tangent")
        if t_tree != out_tree:
            raise TypeError(
                f"{name}: the tangent output has structure {t_tree}, but the primal output has "
                f"structure {out_tree}"
            )
        for (path, o), t in zip(out_paths, t_leaves, strict=True):
            if type(o) is Tracer and o._trace is lin:
                raise ValueError(
                    f"{name}: the primal output at {keystr(path)} depends on the tangents; the "
                    "rule must compute `out` from the primals only"
                )
            if t is not None and value_shape(t) != value_shape(o):
                raise ValueError(
                    f"{name}: the tangent output at {keystr(path)} has shape {value_shape(t)}, "
                    f"but the primal output there has shape {value_shape(o)}"
                )
        out_leaves = [o for _, o in out_paths]
        lin_outs = [
            t if t is not None else _zeros(o) for t, o in zip(t_leaves, out_leaves, strict=True)
        ]
        lin_ins = [zeros[i] for i in traced]

        def pullback(ct_leaves: list[Any]) -> list[Any]:
            # Slots 0..len(traced)-1 of `lin` are the traced tangents, in order.
            cts = _pull_back(lin, lin_outs, ct_leaves, lin_ins, retain=True)
            full: list[Any] = [None] * len(leaves)
            for i, c in zip(traced, cts, strict=True):
                full[i] = c
            return full

        return _record_reverse(top, leaves, vals, out, pullback, self._replay(c))
