"""Declaring primitives and their rules: the extension API.

A *primitive* is a function that tapeflow treats as one step of a computation: a
traced call records one entry, and each differentiable positional argument has a
rule. Everything about a primitive is attached to its :class:`Primitive` object,
never looked up by name: its implementation, its rules for reverse mode, forward
mode and ``vmap``, and what its reverse-mode rules read.

The declarations, from the most specific to the most general:

* :func:`defelementwise`: an elementwise primitive, declared with its derivative.
  ``rule(u, ans, *args)`` returns ``u`` times the partial derivative; it serves as
  the VJP (``u`` a cotangent) and as the JVP (``u`` a tangent), and ``vmap``
  batches the primitive elementwise.
* :func:`deflinear`: a primitive linear in each positional array argument (``sum``,
  ``reshape``, ``matmul``), declared with its transposes. The JVP applies the
  primitive to the tangent, and the tape keeps only what linearity needs.
* :func:`defvjp` / :func:`defjvp` / :func:`defbatch`: a rule per argument for
  reverse mode (autograd's convention, ``rule(ans, *args) -> (g -> cotangent)``),
  for forward mode (``rule(t, ans, *args) -> tangent``), and a batching rule.
* :func:`vjp_needs` says what the reverse-mode rules read, :func:`nondifferentiable`
  marks a primitive without derivatives.

``None`` instead of a rule means "this argument has no derivative" (an index, a
mask, a shape); an argument with no rule at all fails loudly when a traced value
reaches it. Keyword arguments are static. Rules are written with tapeflow
operations, so a backward pass is itself traced when an outer transform runs:
higher derivatives come for free.
"""

from __future__ import annotations

import inspect
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

from tapeflow.core import arrays
from tapeflow.core.tracer import Tracer

__all__ = [
    "Primitive",
    "primitive",
    "defvjp",
    "defjvp",
    "defvjp_argnum",
    "defjvp_argnum",
    "defjvp_joint",
    "defvjp_joint",
    "joint_parents",
    "defelementwise",
    "deflinear",
    "defbatch",
    "vjp_needs",
    "nondifferentiable",
    "get_primitive",
    "registered_primitives",
    "resolve_rule",
    "MISSING_RULE",
    "EVERY_ARGUMENT",
    "FunctionType",
]

FunctionType = types.FunctionType  # rules of this type are called as they are


class _Missing:
    """Marks an argument for which no rule was registered (distinct from None)."""

    def __repr__(self) -> str:
        return "<missing rule>"


MISSING_RULE: Any = _Missing()

# What vjp_needs stores when the rules of all the arguments together read every argument
# but not the answer (multiply, matmul): the tape then keeps the arguments without a scan.
EVERY_ARGUMENT: frozenset[Any] = frozenset({"every argument"})


class Primitive:
    """A numpy-level operation and everything tapeflow knows about it.

    Users normally only see the *bound function* returned by :func:`primitive`;
    it carries this object as ``fn.primitive``.
    """

    __slots__ = (
        "name",
        "fun",
        "impl",
        "bind",
        "vjps",
        "vjp_rest",
        "vjp_direct",
        "jvps",
        "jvp_rest",
        "jvp_joint",
        "vjp_joint",
        "broadcasts",
        "elementwise",
        "batch_rule",
        "zero_gradient",
        "residuals",
        "declared_in",
        "jit_call",
        "__weakref__",
    )

    def __init__(
        self,
        fun: Callable[..., Any],
        name: str,
        broadcasts: bool = False,
        elementwise: bool = False,
    ) -> None:
        self.name = name
        self.fun = fun
        # What computes the value; normally ``fun`` itself (see set_fast_impl).
        self.impl = fun
        self.vjps: tuple[Any, ...] = ()
        self.vjp_rest: Any = MISSING_RULE
        # True when the VJP rules take the cotangent first, ``rule(g, ans, *args)``: the
        # form defelementwise and deflinear register, one call per record instead of two.
        self.vjp_direct = False
        self.jvps: tuple[Any, ...] = ()
        self.jvp_rest: Any = MISSING_RULE
        # One JVP rule for all arguments at once (see defjvp_joint), or None.
        self.jvp_joint: Any = None
        # One VJP rule for all traced arguments at once (see defvjp_joint), or None.
        self.vjp_joint: Any = None
        # Broadcasting primitives: the traces sum cotangents back to each input's shape
        # and broadcast tangents up to the output's, so their rules never mention it.
        self.broadcasts = broadcasts
        # The answer has the broadcast shape of the arguments: vmap batches it
        # elementwise, and a scalar answer means that no argument is a large array.
        self.elementwise = broadcasts or elementwise
        self.batch_rule: Any = None
        # Documented zero-gradient primitives (floor, sign, ...): recorded nowhere.
        self.zero_gradient = False
        # What the VJP rules read: None = the answer and every argument; else
        # (keeps_answer, argnums kept), or (keeps_answer, {argnum: argnums its rule
        # reads}). See vjp_needs.
        self.residuals: Any = None
        # The module that declared the primitive (tapeflow's own, or a user's).
        self.declared_in = ""
        # How tp.jit writes a call of this primitive when it has a cheaper form than
        # calling ``fun`` (see tapeflow.jit.codegen), or None.
        self.jit_call: Any = None
        self.bind = _make_bind(self)

    def missing_rule_error(self, kind: str, argnum: int) -> TypeError:
        return TypeError(
            f"tapeflow has no {kind} rule for argument {argnum} of {self.name!r}, but a traced "
            f"value was passed there. Differentiate with respect to another argument, wrap "
            f"the value in tp.stop_gradient, or register a rule with "
            f"tp.def{kind.lower()}(...). See docs/coverage.md for what is supported."
        )

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


def _make_bind(prim: Primitive) -> Callable[..., Any]:
    def bind(*args: Any, **kwargs: Any) -> Any:
        top = None
        sequences = False
        for a in args:
            kind = type(a)
            if kind is Tracer:
                t = a._trace
                if top is None or t.level > top.level:
                    top = t
            elif kind is tuple or kind is list:
                for e in a:  # inline: shapes and index tuples pass here on every call
                    inner = type(e)
                    if inner is Tracer or inner is tuple or inner is list:
                        sequences = True
                        break
        if sequences:
            # Maybe a list of traced values where the primitive reads an array: the array
            # layer stacks it, as numpy's own asarray would (no gradient is dropped).
            lifted = arrays.ops.array_likes(prim, args)
            if lifted is not args:
                return bind(*lifted, **kwargs)
        if top is None:
            return prim.impl(*args, **kwargs) if kwargs else prim.impl(*args)
        return top.process(prim, args, kwargs)

    bind.primitive = prim  # type: ignore[attr-defined]
    bind.__name__ = prim.name.rsplit(".", 1)[-1]
    bind.__qualname__ = bind.__name__
    bind.__doc__ = getattr(prim.fun, "__doc__", None)
    return bind


# ----- declaring and finding primitives -------------------------------------------
# Every primitive declared, by name (for the coverage table, the tests and errors).
_REGISTRY: dict[str, Primitive] = {}


def primitive(
    fun: Callable[..., Any],
    name: str | None = None,
    broadcasts: bool = False,
    elementwise: bool = False,
) -> Any:
    """Declare ``fun`` as a primitive and return its traced version.

    Positional arguments of the returned function may be traced arrays; keyword
    arguments are static. Give it rules with :func:`defelementwise`,
    :func:`deflinear`, or :func:`defvjp` and :func:`defjvp`.

    Args:
        fun: computes the value on plain arrays.
        name: a name unique among primitives (errors and docs show it); by default
            ``fun.__name__``. A name that a primitive declared in another module
            already has is refused, so that no two primitives are ever confused.
        broadcasts: the positional arguments broadcast against each other, as in a
            binary ufunc; the traces then fit cotangents and tangents to each
            argument's shape, so the rules never mention broadcasting.
        elementwise: the answer is computed entry by entry (implied by
            ``broadcasts``): ``vmap`` batches it without a rule of its own.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> cube = tp.primitive(lambda x: x ** 3, name="cube")
        >>> tp.defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
        >>> float(tp.grad(cube)(2.0))
        12.0
    """
    if not callable(fun):
        raise TypeError(f"tp.primitive expects a callable, got {type(fun).__name__}")
    declared_in = _declaring_module()
    if name is None:
        name = getattr(fun, "__name__", None) or repr(fun)
        taken = _REGISTRY.get(name)
        if taken is not None and taken.declared_in != declared_in:
            name = f"{declared_in}.{name}"  # an implicit name never clashes
    else:
        taken = _REGISTRY.get(name)
        if taken is not None and taken.declared_in != declared_in:
            raise ValueError(
                f"tp.primitive: the name {name!r} is taken by {taken!r}, declared in "
                f"{taken.declared_in or 'another module'}; pick another name (names are "
                "unique so that errors, docs and tests never confuse two primitives)"
            )
    prim = Primitive(fun, name, broadcasts, elementwise)
    prim.declared_in = declared_in
    _REGISTRY[name] = prim
    return prim.bind


def _declaring_module() -> str:
    """The module that declares a primitive: the caller's, as namedtuple finds __module__.

    It tells tapeflow's own primitives from users', and says where a clashing name was
    declared. Modules of helpers that declare primitives for their callers (they set
    ``DECLARES_FOR_CALLER = True``) are skipped.
    """
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_globals.get("DECLARES_FOR_CALLER"):
        frame = frame.f_back
    return str(frame.f_globals.get("__name__", ""))


def get_primitive(fn: Any) -> Primitive:
    """The :class:`Primitive` behind a bound primitive function (or the object itself)."""
    if isinstance(fn, Primitive):
        return fn
    prim = getattr(fn, "primitive", None)
    if not isinstance(prim, Primitive):
        raise TypeError(
            f"{fn!r} is not a tapeflow primitive; declare it first with tp.primitive(fun)"
        )
    return prim


def registered_primitives(builtin_only: bool = False) -> dict[str, Primitive]:
    """All declared primitives by name (a copy); ``builtin_only`` keeps tapeflow's own."""
    if builtin_only:
        return {k: v for k, v in _REGISTRY.items() if v.declared_in.startswith("tapeflow.")}
    return dict(_REGISTRY)


def set_fast_impl(fn: Any, impl: Callable[..., Any]) -> None:
    """Compute a primitive's values with ``impl`` instead of its numpy function.

    ``impl`` must return exactly what the numpy function returns; it exists for
    speed only (for example the ``*`` operator, which skips numpy's generic ufunc
    machinery on scalars). ``tp.jit`` keeps recording the numpy function.
    """
    get_primitive(fn).impl = impl


# ----- rules ------------------------------------------------------------------------
def _rule_tuple(rules: tuple[Any, ...], what: str) -> tuple[Any, ...]:
    for i, r in enumerate(rules):
        if r is not None and not callable(r):
            raise TypeError(f"{what} rule for argument {i} must be callable or None, got {r!r}")
    return tuple(rules)


def defvjp(fn: Any, *rules: Any, rest: Any = MISSING_RULE) -> None:
    """Register reverse-mode (VJP) rules for a primitive, one per positional argument.

    Each rule is ``lambda ans, *args, **kwargs: lambda g: cotangent`` or ``None``
    (no gradient): it sees the forward answer and arguments and returns the map from
    the output's cotangent ``g`` to this argument's. ``rest`` applies to arguments
    beyond the listed ones.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> logistic = tp.primitive(lambda x: 1 / (1 + np.exp(-x)), name="logistic")
        >>> tp.defvjp(logistic, lambda ans, x: lambda g: g * ans * (1 - ans))
        >>> float(tp.grad(logistic)(0.0))
        0.25
    """
    prim = get_primitive(fn)
    prim.vjps = _rule_tuple(rules, "VJP")
    prim.vjp_direct = False
    if rest is not MISSING_RULE:
        prim.vjp_rest = rest


def defjvp(fn: Any, *rules: Any, rest: Any = MISSING_RULE) -> None:
    """Register forward-mode (JVP) rules, one per positional argument.

    Each rule is ``lambda t, ans, *args, **kwargs: tangent_out`` or ``None``: the
    output tangent contributed by the tangent ``t`` of this argument.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> cube = tp.primitive(lambda x: x ** 3, name="cube_fwd")
        >>> tp.defjvp(cube, lambda t, ans, x: t * 3 * x ** 2)
        >>> float(tp.jvp(cube, (2.0,), (1.0,))[1])
        12.0
    """
    prim = get_primitive(fn)
    prim.jvps = _rule_tuple(rules, "JVP")
    if rest is not MISSING_RULE:
        prim.jvp_rest = rest


def defelementwise(fn: Any, *derivatives: Any) -> None:
    """Declare an elementwise primitive's derivative, for every transform at once.

    For argument ``i``, ``derivatives[i]`` is ``lambda u, ans, *args, **kwargs: u *
    d_i`` where ``d_i`` is the partial derivative of the answer with respect to that
    argument, entry by entry (``None``: no derivative). The same function is the VJP
    (``u`` a cotangent) and the JVP (``u`` a tangent): for an elementwise function
    they only differ in what multiplies the derivative. (Complex arguments follow the
    convention of docs/coverage.md: a holomorphic function's VJP is ``g * f'(z)``;
    functions that are not holomorphic, such as ``abs`` of a complex number, need
    separate :func:`defvjp` and :func:`defjvp` rules.) ``vmap`` batches the primitive
    elementwise, and a primitive declared with ``broadcasts=True`` needs no
    broadcasting in its derivatives.

    Example:
        >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
        >>> softplus = tp.primitive(lambda x: np.logaddexp(0.0, x), name="softplus_example")
        >>> tp.defelementwise(softplus, lambda u, ans, x: u / (1 + tnp.exp(-x)))
        >>> float(tp.grad(softplus)(0.0)), float(tp.jvp(softplus, (0.0,), (2.0,))[1])
        (0.5, 1.0)
    """
    prim = get_primitive(fn)
    prim.vjps = prim.jvps = _rule_tuple(derivatives, "derivative")
    prim.vjp_rest = prim.jvp_rest = MISSING_RULE
    prim.vjp_direct = True
    prim.elementwise = True


def deflinear(fn: Any, *transposes: Any) -> None:
    """Declare a primitive linear in each positional argument, with its transposes.

    Linear in each argument while the others are held fixed: ``sum(x)``,
    ``reshape(x, shape)``, ``matmul(x, y)``. The JVP then follows (the primitive
    applied with the tangent in place of the argument), and so does what the tape
    keeps (for each argument, the others). ``transposes[i]`` is ``lambda g, ans,
    *args, **kwargs: cotangent`` for argument ``i``, the transpose of the map from
    that argument to the answer applied to the cotangent ``g``, or ``None`` for an
    argument that is not differentiable (a shape, an index).

    Example:
        >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
        >>> row_sum = tp.primitive(lambda x: x.sum(axis=-1), name="row_sum_example")
        >>> tp.deflinear(row_sum, lambda g, ans, x: tnp.broadcast_to(g[..., None], x.shape))
        >>> tp.grad(lambda x: row_sum(x)[0])(np.ones((2, 3)))
        array([[1., 1., 1.],
               [0., 0., 0.]])
    """
    prim = get_primitive(fn)
    prim.vjps = _rule_tuple(transposes, "transpose")
    prim.vjp_rest = MISSING_RULE
    prim.vjp_direct = True
    bind = prim.bind
    prim.jvps = tuple(
        None if t is None else _tangent_in_place(bind, i, len(transposes))
        for i, t in enumerate(transposes)
    )
    prim.jvp_rest = MISSING_RULE
    # A transpose reads the other arguments (an index, a shape, the other factor), never
    # the answer or its own argument; how many there are, its signature says.
    count = _positional_count([t for t in transposes if t is not None])
    linear_in = [i for i, t in enumerate(transposes) if t is not None]
    if count is None:
        vjp_needs(fn, ans=False, args=True)
    elif len(linear_in) == 1:  # one array argument (sum, reshape, x[index]): the flat form
        vjp_needs(fn, ans=False, args=tuple(j for j in range(count) if j != linear_in[0]))
    else:
        others = {i: tuple(j for j in range(count) if j != i) for i in range(count)}
        vjp_needs(fn, ans=False, args=others)


def _positional_count(rules: list[Any]) -> int | None:
    """How many positional arguments of the primitive rules ``(g, ans, *args)`` name, or
    None when one takes ``*args`` (any number)."""
    count = 0
    for rule in rules:
        try:
            params = list(inspect.signature(rule).parameters.values())
        except (TypeError, ValueError):
            return None
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            return None
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        count = max(count, len(positional) - 2)
    return count


def _tangent_in_place(bind: Callable[..., Any], i: int, n: int) -> Callable[..., Any]:
    """The JVP for argument ``i`` of a primitive linear in it: the primitive of the tangent."""
    # (the common cases written out: no list of arguments rebuilt per call)
    if n == 1:
        return lambda t, ans, x, *rest, **kwargs: bind(t, *rest, **kwargs)
    if n == 2 and i == 0:
        return lambda t, ans, x, y, *rest, **kwargs: bind(t, y, *rest, **kwargs)
    if n == 2:
        return lambda t, ans, x, y, *rest, **kwargs: bind(x, t, *rest, **kwargs)

    def jvp(t: Any, ans: Any, *args: Any, **kwargs: Any) -> Any:
        moved = list(args)
        moved[i] = t
        return bind(*moved, **kwargs)

    return jvp


def defbatch(fn: Any, rule: Callable[..., Any]) -> None:
    """Register how ``vmap`` runs a primitive on a whole batch at once.

    ``rule(args, dims, **kwargs)`` gets the positional arguments (``vmap``'s tracers
    unwrapped) and, for each, the axis that runs over the examples (``None``: the
    same for every example); it returns ``(out, out_dim)``, or ``NotImplemented`` for
    a case it does not handle (``vmap`` then calls the primitive once per example).
    Rules call primitives, never numpy directly, so outer transforms see what they do.

    Example:
        >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
        >>> total = tp.primitive(lambda x: x.sum(), name="total_batch_example")
        >>> def batched_total(args, dims):
        ...     x = tnp.moveaxis(args[0], dims[0], 0)
        ...     return tnp.sum(tnp.reshape(x, (x.shape[0], -1)), axis=1), 0
        >>> tp.defbatch(total, batched_total)
        >>> tp.vmap(total)(np.arange(6.0).reshape(2, 3))
        array([ 3., 12.])
    """
    if not callable(rule):
        raise TypeError(f"defbatch: the batching rule must be callable, got {rule!r}")
    get_primitive(fn).batch_rule = rule


def defvjp_argnum(fn: Any, maker: Callable[..., Any]) -> None:
    """Register one VJP rule for every positional argument (variadic primitives).

    ``maker(argnum, ans, args, kwargs)`` returns the closure ``g -> cotangent``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> total = tp.primitive(lambda *xs: sum(xs), name="total_example")
        >>> tp.defvjp_argnum(total, lambda argnum, ans, args, kwargs: lambda g: g)
        >>> tp.grad(lambda a, b: total(a, b, a), argnums=(0, 1))(1.0, 2.0)
        (np.float64(2.0), np.float64(1.0))
    """
    prim = get_primitive(fn)
    prim.vjps = ()
    prim.vjp_rest = ArgnumRule(maker, vjp=True)
    prim.vjp_direct = False


def defjvp_argnum(fn: Any, rule: Callable[..., Any]) -> None:
    """Register one JVP rule for every positional argument.

    ``rule(argnum, t, ans, args, kwargs)`` returns the output tangent.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> total = tp.primitive(lambda *xs: sum(xs), name="total_fwd_example")
        >>> tp.defjvp_argnum(total, lambda argnum, t, ans, args, kwargs: t)
        >>> tp.jvp(lambda a: total(a, a, 1.0), (2.0,), (1.0,))[1]
        np.float64(2.0)
    """
    prim = get_primitive(fn)
    prim.jvps = ()
    prim.jvp_rest = ArgnumRule(rule, vjp=False)


def defjvp_joint(fn: Any, rule: Callable[..., Any]) -> None:
    """Register one JVP rule that takes every argument's tangent at once.

    ``rule(tangents, ans, *args, **kwargs)`` gets a list with one entry per
    positional argument (``None`` where the argument has no tangent) and returns the
    output tangent. For variadic primitives such as ``concatenate``, where the
    per-argument form would build one full-size tangent per argument and sum them.
    Forward mode uses it instead of the per-argument rules, which stay registered.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> from tapeflow.core.primitive import defjvp_joint
        >>> total = tp.primitive(lambda *xs: sum(xs), name="total_joint_example")
        >>> defjvp_joint(total, lambda ts, ans, *xs: sum(t for t in ts if t is not None))
        >>> tp.jvp(lambda a: total(a, a, 1.0), (2.0,), (1.0,))[1]
        np.float64(2.0)
    """
    get_primitive(fn).jvp_joint = rule


def defvjp_joint(fn: Any, maker: Callable[..., Any]) -> None:
    """Register one VJP rule that returns the cotangents of all traced arguments at once.

    ``maker(argnums, ans, *args, **kwargs)`` gets the positions of the arguments the
    tape differentiates and returns ``g -> cotangents``, one per position in
    ``argnums`` (``None``: zero). The tape calls it once per backward pass of a record,
    where per-argument rules would each redo the shared work: the loops of
    ``tapeflow.lax`` run one backward loop for all their inputs.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> from tapeflow.core.primitive import defvjp_joint
        >>> total = tp.primitive(lambda *xs: sum(xs), name="total_vjp_joint_example")
        >>> defvjp_joint(total, lambda argnums, ans, *xs: lambda g: [g] * len(argnums))
        >>> tp.grad(lambda a, b: total(a, b, a), argnums=(0, 1))(1.0, 2.0)
        (np.float64(2.0), np.float64(1.0))
    """
    prim = get_primitive(fn)
    prim.vjps = ()
    prim.vjp_rest = _joint_placeholder
    prim.vjp_direct = False
    prim.vjp_joint = maker


def _joint_placeholder(ans: Any, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
    raise AssertionError("a joint VJP rule is called through joint_parents")


def joint_parents(maker: Callable[..., Any], parents: list[Any]) -> list[Any]:
    """A tape record's ``parents`` with rules that share one call of a joint VJP ``maker``.

    Each backward pass calls the rules of one record with the same cotangent object;
    the first call computes every cotangent, the others read theirs. ``(g, result)`` is
    stored as one pair so that concurrent pull-backs of a kept tape never mix them.
    """
    argnums = tuple(p[0] for p in parents)
    memo: list[Any] = [(None, None)]

    def rule_for(k: int) -> Callable[..., Any]:
        def rule(ans: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
            def pull(g: Any) -> Any:
                seen, result = memo[0]
                if seen is not g:
                    result = list(maker(argnums, ans, *args, **kwargs)(g))
                    memo[0] = (g, result)
                return result[k]

            return pull

        return rule

    return [(argnum, slot, rule_for(k)) for k, (argnum, slot, _) in enumerate(parents)]


def vjp_needs(fn: Any, ans: bool = True, args: Any = ()) -> None:
    """Declare which values a primitive's VJP rules read, so the tape keeps only those.

    By default the tape keeps a primitive's answer and all its arguments until the
    backward pass. Rules that only need shapes and dtypes (``add``, ``reshape``), or
    only the answer (``exp``, ``tanh``), let the tape replace the other values by
    light stand-ins carrying just ``shape`` and ``dtype``, so large intermediates
    are freed during the forward pass. A rule that touches a dropped value fails
    loudly (the stand-in supports no arithmetic).

    Args:
        fn: the primitive.
        ans: whether the rules read the forward answer.
        args: the argument numbers whose values the rules read (others keep only
            their shape and dtype); ``True`` for all of them; or a dict giving, for
            each argument number, the arguments *its own* rule reads (and ``"ans"``
            when it reads the answer). With the dict the tape keeps only what the
            rules of the traced arguments need: in ``x * 2.0`` with ``x`` traced,
            the rule for ``x`` reads the ``2.0``, so ``x`` itself can be freed.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> double = tp.primitive(lambda x: 2 * x, name="double_example")
        >>> tp.defvjp(double, lambda ans, x: lambda g: 2 * g)
        >>> tp.vjp_needs(double, ans=False, args=())
        >>> tp.grad(lambda x: double(x).sum())(np.ones(3))
        array([2., 2., 2.])
    """
    prim = get_primitive(fn)
    if isinstance(args, dict):
        per_arg: dict[int, frozenset[Any]] = {}
        for i, needs in args.items():
            if type(i) is not int:
                raise TypeError(
                    f"vjp_needs: the keys of args must be argument numbers (ints), got {i!r}"
                )
            needs = frozenset(needs)
            if any(n != "ans" and type(n) is not int for n in needs):
                raise TypeError(
                    f"vjp_needs: argument {i}'s rule must list argument numbers and 'ans', "
                    f"got {sorted(map(repr, needs))}"
                )
            per_arg[i] = needs
        # Under None, what the rules read when every argument is traced.
        together = frozenset().union(*per_arg.values())
        if together >= set(per_arg) and "ans" not in together:
            together = EVERY_ARGUMENT
        per_arg_all: dict[Any, frozenset[Any]] = {**per_arg, None: together}
        prim.residuals = (bool(ans), per_arg_all)
    elif ans and args is True:
        prim.residuals = None
    else:
        prim.residuals = (bool(ans), None if args is True else frozenset(args))


def nondifferentiable(fn: Any) -> None:
    """Mark every argument of a primitive as having no derivative.

    Used for functions whose outputs are indices, booleans or other piecewise
    constant values (comparisons, argmax, floor...): traced inputs are unwrapped
    and a plain value is returned.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> is_big = tp.primitive(lambda x: x > 10, name="is_big_example")
        >>> tp.nondifferentiable(is_big)
        >>> tp.grad(lambda x: x * is_big(x))(20.0)
        np.float64(1.0)
    """
    prim = get_primitive(fn)
    prim.vjps = ()
    prim.vjp_rest = None
    prim.vjp_direct = False
    prim.jvps = ()
    prim.jvp_rest = None
    prim.zero_gradient = True


def defvjp_direct(fn: Any, *rules: Any) -> None:
    """Deprecated: declare the primitive with :func:`defelementwise` or :func:`deflinear`.

    Registers VJP rules that take the cotangent first, ``rule(g, ans, *args)``; the
    declarations above register rules of that form, and :func:`defvjp` is the one
    public VJP convention.
    """
    warnings.warn(
        "tp.defvjp_direct is deprecated: declare elementwise primitives with "
        "tp.defelementwise and linear ones with tp.deflinear (both register the same fast "
        "rules), or use tp.defvjp",
        DeprecationWarning,
        stacklevel=2,
    )
    prim = get_primitive(fn)
    prim.vjps = _rule_tuple(rules, "VJP")
    prim.vjp_rest = MISSING_RULE
    prim.vjp_direct = True


# ----- looking rules up (the traces) ------------------------------------------------
class ArgnumRule:
    """Adapts an argnum-aware rule to the per-argument calling convention.

    Registered by ``defvjp_argnum`` / ``defjvp_argnum`` for variadic primitives;
    the trace asks it for a per-argument rule (cached) when an argument is traced.
    """

    __slots__ = ("maker", "vjp", "cache")

    def __init__(self, maker: Callable[..., Any], vjp: bool) -> None:
        self.maker = maker
        self.vjp = vjp
        self.cache: dict[int, Callable[..., Any]] = {}

    def for_argnum(self, argnum: int) -> Callable[..., Any]:
        rule = self.cache.get(argnum)
        if rule is None:
            maker = self.maker
            if self.vjp:
                rule = lambda ans, *args, **kwargs: maker(argnum, ans, args, kwargs)
            else:
                rule = lambda t, ans, *args, **kwargs: maker(argnum, t, ans, args, kwargs)
            self.cache[argnum] = rule
        return rule


def resolve_rule(prim: Primitive, rule: Any, argnum: int, kind: str = "VJP") -> Any:
    """The ``kind`` rule for ``argnum`` when the registered one is not a plain function."""
    if rule is MISSING_RULE:
        raise prim.missing_rule_error(kind, argnum)
    if type(rule) is ArgnumRule:
        return rule.for_argnum(argnum)
    return rule  # None (no gradient) or any other callable
