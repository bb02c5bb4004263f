"""User-defined derivatives: ``custom_vjp``, ``custom_jvp`` and ``stop_gradient``.

A call of a function with custom rules is handed to the highest trace among its
arguments (``process_custom_vjp_call`` / ``process_custom_jvp_call``), which
decides what the rules mean to it; this module holds the rules, checks what the
user's functions return, and runs them for the traces:

============  =====================================  ==========================================
trace         ``custom_vjp``                          ``custom_jvp``
============  =====================================  ==========================================
reverse       ``fwd`` now, ``bwd`` in the backward    the tangent map ``t -> rule(p, t)[1]`` is
              pass (:meth:`forward_and_pullback`)     recorded now and transposed (pulled back
                                                      on its own tape) in the backward pass
                                                      (:meth:`linearize`)
forward       tangent = transpose of ``bwd``, found   ``rule`` now (:meth:`run_jvp`)
              by pulling back through ``bwd``
vmap          a loop over examples, each example      the same
              meeting the traces below
other         the undecorated function                the undecorated function
============  =====================================  ==========================================

The forward trace (custom_vjp) and the reverse trace (custom_jvp) rely on a rule
being linear in its cotangent / tangent, which every correct rule is.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from tapeflow.core.arrays import ops
from tapeflow.core.leaves import is_inexact, leaf_dtype, value_shape
from tapeflow.core.primitive import nondifferentiable, primitive
from tapeflow.core.pytree import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_map,
    tree_unflatten,
)
from tapeflow.core.tape import Tape, pull_back
from tapeflow.core.trace import CustomCall, Trace, closes_over, new_trace, top_trace
from tapeflow.core.tracer import Tracer

__all__ = ["custom_vjp", "custom_jvp", "stop_gradient"]


# ----- stop_gradient --------------------------------------------------------------
def _identity(x: Any) -> Any:
    return x


# Elementwise: vmap batches it as it is (the identity of each example).
_stop_gradient = primitive(_identity, name="stop_gradient", elementwise=True)
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


def _no_symbolic_zeros(symbolic_zeros: bool, where: str) -> None:
    if symbolic_zeros:
        raise NotImplementedError(
            f"{where}(..., symbolic_zeros=True) is not supported: tapeflow passes the rules "
            "zero arrays for inputs without a derivative, never marker objects; drop the "
            "option and treat zeros as arrays"
        )


class TracedRuleError(TypeError):
    """A user's rule failed on traced values (plain numpy where tapeflow ops are needed)."""


def _closure_error(kind: str, name: str, what: str) -> TypeError:
    return TypeError(
        f"{kind} function {name!r} closes over a traced value: a variable being differentiated "
        f"reached its {what} without being passed as an argument. Pass that value as an "
        "explicit positional argument so the custom rule can give it a cotangent."
    )


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

    def __init__(
        self,
        fun: Callable[..., Any],
        nondiff_argnums: Sequence[int] = (),
        nondiff_argnames: Sequence[str] = (),
    ) -> None:
        if not callable(fun):
            raise TypeError(f"tp.{self.kind} expects a callable, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.name = getattr(fun, "__name__", repr(fun))
        if isinstance(nondiff_argnames, str):
            nondiff_argnames = (nondiff_argnames,)
        self.nondiff_argnames = tuple(nondiff_argnames)
        nums = [int(i) for i in nondiff_argnums] + self._positions_of(self.nondiff_argnames)
        self.nondiff_argnums = tuple(sorted(set(nums)))

    def _positions_of(self, names: tuple[str, ...]) -> list[int]:
        """The positions of the parameters named by ``nondiff_argnames`` (arguments are
        bound to positions before the rules see them)."""
        if not names:
            return []
        params = [
            p.name
            for p in inspect.signature(self.fun).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        for n in names:
            if n not in params:
                raise ValueError(
                    f"tp.{self.kind} {self.name!r}: nondiff_argnames names {n!r}, which is not "
                    f"a positional parameter of the function ({', '.join(params) or 'none'})"
                )
        return [params.index(n) for n in names]

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

    def _process(self, trace: Trace, call: CustomCall) -> Any:  # pragma: no cover
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self._require_rule()
        args = _positional(self.fun, args, kwargs)
        nondiff, diff, diff_pos = self._split(args)
        leaves, in_tree = tree_flatten(diff)
        top = top_trace(leaves)
        if top is None:
            return self.fun(*args)
        return self._process(top, _Call(self.fun, args, leaves, in_tree, self, nondiff, diff_pos))

    def replay(self, call: _Call) -> Callable[..., tuple[Any, ...]]:
        """The call as a function of its input leaves (for replaying a tape)."""

        def replayed(*xs: Any) -> tuple[Any, ...]:
            full = self._rebuild(call.args, call.diff_pos, tree_unflatten(call.tree, xs))
            return tuple(tree_flatten(self.fun(*full))[0])

        return replayed

    def leaf_functions(self, call: _Call) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """The undecorated and the decorated function, each of the call's differentiable
        leaves. Calling the decorated one applies the rules again, under the transforms
        running then: a loop body records the call as one step (see ``tapeflow.lax``)."""

        def primal(*xs: Any) -> Any:
            return self.fun(*self._primals(call, list(xs)))

        def decorated(*xs: Any) -> Any:
            return self(*self._primals(call, list(xs)))

        return primal, decorated

    def _primals(self, call: _Call, vals: list[Any]) -> list[Any]:
        """The positional arguments with the differentiable leaves replaced by ``vals``."""
        return self._rebuild(call.args, call.diff_pos, tree_unflatten(call.tree, vals))


class _Call(CustomCall):
    """A :class:`~tapeflow.core.trace.CustomCall` with its arguments split for the rules."""

    __slots__ = ("nondiff", "diff_pos")

    def __init__(
        self,
        fun: Any,
        args: tuple[Any, ...],
        leaves: list[Any],
        tree: Any,
        rules: Any,
        nondiff: tuple[Any, ...],
        diff_pos: list[int],
    ) -> None:
        super().__init__(fun, args, leaves, tree, rules)
        self.nondiff = nondiff  # the arguments named by nondiff_argnums
        self.diff_pos = diff_pos  # the positions of the others


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

    def __init__(
        self,
        fun: Callable[..., Any],
        nondiff_argnums: Sequence[int] = (),
        nondiff_argnames: Sequence[str] = (),
    ) -> None:
        super().__init__(fun, nondiff_argnums, nondiff_argnames)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(
        self,
        fwd: Callable[..., Any],
        bwd: Callable[..., Any],
        symbolic_zeros: bool = False,
        optimize_remat: bool = False,
    ) -> None:
        """Register the forward function and the backward rule (see the class docstring).

        ``symbolic_zeros=True`` (JAX's marker objects for inputs that carry no
        derivative) is not supported: tapeflow passes zero arrays. ``optimize_remat``
        is accepted and has no effect (it tunes JAX's compiler).
        """
        if not callable(fwd) or not callable(bwd):
            raise TypeError(f"{self.name}.defvjp(fwd, bwd) needs two callables")
        _no_symbolic_zeros(symbolic_zeros, f"{self.name}.defvjp")
        self.fwd, self.bwd = fwd, bwd

    def _require_rule(self) -> None:
        if self.fwd is None or self.bwd is None:
            raise TypeError(
                f"custom_vjp function {self.name!r} has no rule yet; call "
                f"{self.name}.defvjp(fwd, bwd) before using it"
            )

    def _process(self, trace: Trace, call: CustomCall) -> Any:
        return trace.process_custom_vjp_call(call)

    def forward_and_pullback(
        self, call: _Call, vals: list[Any], trace: Trace
    ) -> tuple[Any, Callable[[list[Any]], list[Any]]]:
        """Run ``fwd`` on ``vals`` (the differentiable leaves without ``trace``'s tracers).

        Returns the output and its pull-back: one cotangent per output leaf in, one
        per differentiable input leaf out (``None`` for no gradient).
        """
        assert self.fwd is not None
        res_pair = self.fwd(*self._primals(call, vals))
        if not (isinstance(res_pair, (tuple, list)) and len(res_pair) == 2):
            raise TypeError(
                f"custom_vjp function {self.name!r}: fwd must return a pair (out, residuals), "
                f"got {type(res_pair).__name__}"
            )
        out, residuals = res_pair
        if closes_over(res_pair, trace):
            raise _closure_error("custom_vjp", self.name, "output or residuals")
        out_tree = tree_flatten(out)[1]
        diff = tuple(call.args[i] for i in call.diff_pos)

        def pullback(ct_leaves: list[Any]) -> list[Any]:
            return self._run_bwd(call.nondiff, residuals, tree_unflatten(out_tree, ct_leaves), diff)

        return out, pullback

    def _run_bwd(
        self, nondiff: tuple[Any, ...], residuals: Any, g: Any, diff: tuple[Any, ...]
    ) -> list[Any]:
        assert self.bwd is not None
        try:
            cts = self.bwd(*nondiff, residuals, g)
        except TypeError as e:
            if any(type(x) is Tracer for x in tree_flatten((residuals, g))[0]):
                raise TracedRuleError(
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
                if c is not None and is_inexact(a) and not isinstance(a, float):
                    if leaf_dtype(c) != leaf_dtype(a):
                        c = ops.cast(c, a)
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

    def __init__(
        self,
        fun: Callable[..., Any],
        nondiff_argnums: Sequence[int] = (),
        nondiff_argnames: Sequence[str] = (),
    ) -> None:
        super().__init__(fun, nondiff_argnums, nondiff_argnames)
        self.rule: Callable[..., Any] | None = None

    def defjvp(self, jvp: Callable[..., Any], symbolic_zeros: bool = False) -> Callable[..., Any]:
        """Register ``jvp(primals, tangents) -> (out, tangent_out)``; returns ``jvp``.

        ``symbolic_zeros=True`` is not supported (tapeflow passes zero tangents).
        """
        if not callable(jvp):
            raise TypeError(f"{self.name}.defjvp(rule) needs a callable")
        _no_symbolic_zeros(symbolic_zeros, f"{self.name}.defjvp")
        self.rule = jvp
        return jvp

    def defjvps(self, *jvps: Callable[..., Any] | None) -> None:
        """Register one tangent rule per positional argument: ``jvps[i](t_i, out, *primals)``
        is the output tangent that argument ``i``'s tangent ``t_i`` contributes (``None``
        for an argument without a derivative); the contributions are added.

        Example:
            >>> import tapeflow as tp, tapeflow.numpy as tnp
            >>> @tp.custom_jvp
            ... def f(x, y):
            ...     return tnp.sin(x) * y
            >>> f.defjvps(lambda t, out, x, y: tnp.cos(x) * t * y,
            ...           lambda t, out, x, y: tnp.sin(x) * t)
            >>> float(tp.grad(f, argnums=1)(0.0, 2.0))
            0.0
        """
        if self.nondiff_argnums:
            raise TypeError(
                f"{self.name}.defjvps cannot be used with nondiff_argnums (its rules take every "
                "argument's tangent); register a rule with defjvp instead"
            )
        for j in jvps:
            if j is not None and not callable(j):
                raise TypeError(f"{self.name}.defjvps takes callables or None, got {j!r}")

        def rule(primals: tuple[Any, ...], tangents: tuple[Any, ...]) -> tuple[Any, Any]:
            if len(jvps) != len(primals):
                raise TypeError(
                    f"custom_jvp function {self.name!r}: defjvps got {len(jvps)} rule(s), but "
                    f"the function was called with {len(primals)} positional argument(s); give "
                    "one rule (or None) per argument"
                )
            out = self(*primals)
            total = None
            for j, t in zip(jvps, tangents, strict=True):
                if j is None:
                    continue
                part = j(t, out, *primals)
                total = part if total is None else tree_map(lambda a, b: a + b, total, part)
            if total is None:
                total = tree_map(ops.zeros, out)
            return out, total

        self.rule = rule

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

    def _process(self, trace: Trace, call: CustomCall) -> Any:
        return trace.process_custom_jvp_call(call)

    def run_jvp(
        self, call: _Call, vals: list[Any], tangents: list[Any], trace: Trace
    ) -> tuple[Any, Any]:
        """Run the rule on the primal leaves ``vals`` and their ``tangents``."""
        primals = tuple(tree_unflatten(call.tree, vals))
        out, t_out = self._run_rule(
            call.nondiff, primals, tuple(tree_unflatten(call.tree, tangents))
        )
        if closes_over(out, trace):
            raise _closure_error("custom_jvp", self.name, "output")
        return out, t_out

    def linearize(
        self, call: _Call, vals: list[Any], trace: Trace
    ) -> tuple[Any, Callable[[list[Any]], list[Any]]]:
        """The output, and the transpose of the rule's tangent map as its pull-back.

        The tangent map is recorded once on its own tape, with a tracer for the tangent
        of each leaf traced at ``trace``; pulling back through that tape applies its
        transpose.
        """
        name = f"custom_jvp {self.name!r}"
        leaves = call.leaves
        primals = tuple(tree_unflatten(call.tree, vals))
        traced = [i for i, x in enumerate(leaves) if type(x) is Tracer and x._trace is trace]
        with new_trace(Tape) as lin:
            zeros = [ops.zeros(v) for v in vals]
            t_in = list(zeros)
            for i in traced:
                t_in[i] = lin.new_input(zeros[i])
            out, t_out = self._run_rule(
                call.nondiff, primals, tuple(tree_unflatten(call.tree, t_in))
            )
            out_paths, out_tree = tree_flatten_with_path(out)
            t_leaves, t_tree = tree_flatten(t_out)
        if any(
            type(x) is Tracer and x._trace is not lin and x._trace.level >= trace.level
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
            t if t is not None else ops.zeros(o) for t, o in zip(t_leaves, out_leaves, strict=True)
        ]
        lin_ins = [zeros[i] for i in traced]

        def pullback(ct_leaves: list[Any]) -> list[Any]:
            # Slots 0..len(traced)-1 of `lin` are the traced tangents, in order.
            cts = pull_back(lin, lin_outs, ct_leaves, lin_ins, retain=True)
            full: list[Any] = [None] * len(leaves)
            for i, c in zip(traced, cts, strict=True):
                full[i] = c
            return full

        return out, pullback
