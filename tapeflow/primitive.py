"""Declaring primitives and registering their derivative rules.

A *primitive* is a numpy-level function that tapeflow treats as one step of a
computation: it records one tape entry per call and has one rule per
differentiable positional argument.

Rules (autograd's convention):

* VJP rule for argument ``i``: ``rule(ans, *args, **kwargs) -> (g -> cotangent_i)``.
  The outer call sees the forward answer and arguments and returns the closure
  that maps the output cotangent ``g`` to the cotangent of argument ``i``.
* JVP rule for argument ``i``: ``rule(t, ans, *args, **kwargs) -> tangent_out``,
  the output tangent contributed by tangent ``t`` of argument ``i``.
* ``None`` instead of a rule means "this argument has no derivative" (an index,
  a mask, a shape...). An argument with no registered rule at all fails loudly
  when a traced value reaches it.

Rules are written with tapeflow operations, so the backward pass is itself
traced when an outer transform is running: higher derivatives come for free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.tape import _EVERY_ARGUMENT, _MISSING, _ArgnumRule
from tapeflow.tracer import _NUMPY_DISPATCH, Tracer

__all__ = [
    "Primitive",
    "primitive",
    "defvjp",
    "defvjp_direct",
    "defjvp",
    "defvjp_argnum",
    "defjvp_argnum",
    "nondifferentiable",
    "vjp_needs",
    "get_primitive",
    "registered_primitives",
    "NUMPY_DISPATCH",
]

# Every primitive ever declared, by name (for the coverage table and tests).
_REGISTRY: dict[str, Primitive] = {}

# numpy function or ufunc -> tapeflow function implementing it for traced arrays
# (the tracer module holds the same dict, for its fast path).
NUMPY_DISPATCH: dict[Any, Callable[..., Any]] = _NUMPY_DISPATCH


class Primitive:
    """A numpy-level operation with derivative rules.

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
        "broadcasts",
        "elementwise",
        "batch_rule",
        "zero_gradient",
        "residuals",
        "__weakref__",
    )

    def __init__(self, fun: Callable[..., Any], name: str, broadcasts: bool = False) -> None:
        self.name = name
        self.fun = fun
        # What actually computes the value; normally ``fun`` itself (see set_fast_impl).
        self.impl = fun
        self.vjps: tuple[Any, ...] = ()
        self.vjp_rest: Any = _MISSING
        # True when the VJP rules take the cotangent directly (see defvjp_direct).
        self.vjp_direct = False
        self.jvps: tuple[Any, ...] = ()
        self.jvp_rest: Any = _MISSING
        # One JVP rule for all arguments at once (see defjvp_joint), or None.
        self.jvp_joint: Any = None
        # Binary elementwise ops broadcast their inputs: the tracing machinery then
        # sums cotangents back to each input's shape and broadcasts tangents up.
        self.broadcasts = broadcasts
        # The answer has the broadcast shape of the arguments (ufuncs and broadcasting
        # primitives): a scalar answer then means that no argument is a large array.
        self.elementwise = broadcasts or isinstance(fun, np.ufunc)
        self.batch_rule: Any = None
        # Documented zero-gradient primitives (floor, sign, ...): recorded nowhere.
        self.zero_gradient = False
        # What the VJP rules read: None = the answer and every argument; else
        # (keeps_answer, argnums kept), or (keeps_answer, {argnum: argnums its rule
        # reads}). See vjp_needs.
        self.residuals: Any = None
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
        for a in args:
            if type(a) is Tracer:
                t = a._trace
                if top is None or t.level > top.level:
                    top = t
        if top is None:
            return prim.impl(*args, **kwargs) if kwargs else prim.impl(*args)
        return top.process(prim, args, kwargs)

    bind.primitive = prim  # type: ignore[attr-defined]
    bind.__name__ = prim.name.rsplit(".", 1)[-1]
    bind.__qualname__ = bind.__name__
    bind.__doc__ = getattr(prim.fun, "__doc__", None)
    return bind


def primitive(fun: Callable[..., Any], name: str | None = None, broadcasts: bool = False) -> Any:
    """Declare ``fun`` as a differentiable primitive and return its traced version.

    Positional arguments of the returned function may be traced arrays; keyword
    arguments are static. Register derivative rules with :func:`defvjp` (and
    :func:`defjvp` for forward mode).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> cube = tp.primitive(lambda x: x ** 3, name="cube")
        >>> tp.defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
        >>> float(tp.grad(cube)(2.0))
        12.0
    """
    if not callable(fun):
        raise TypeError(f"tp.primitive expects a callable, got {type(fun).__name__}")
    if name is None:
        name = getattr(fun, "__name__", None) or repr(fun)
    prim = Primitive(fun, name, broadcasts)
    _REGISTRY[name] = prim
    return prim.bind


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


def _rule_tuple(rules: tuple[Any, ...], what: str) -> tuple[Any, ...]:
    for i, r in enumerate(rules):
        if r is not None and not callable(r):
            raise TypeError(f"{what} rule for argument {i} must be callable or None, got {r!r}")
    return tuple(rules)


def defvjp(fn: Any, *rules: Any, rest: Any = _MISSING) -> None:
    """Register VJP rules for a primitive, one per positional argument.

    Each rule is ``lambda ans, *args, **kwargs: lambda g: cotangent`` or ``None``
    (no gradient). ``rest`` applies to arguments beyond the listed ones.

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
    if rest is not _MISSING:
        prim.vjp_rest = rest


def defvjp_direct(fn: Any, *rules: Any) -> None:
    """Register VJP rules that take the cotangent first: ``rule(g, ans, *args, **kwargs)``.

    The same rules as :func:`defvjp` gives, in one call instead of two: the backward
    pass calls ``rule(g, ans, *args)`` rather than ``rule(ans, *args)(g)``, which
    saves building a closure for every recorded operation. tapeflow uses this form
    for its hottest primitives (arithmetic, the common ufuncs, reductions, matmul).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> from tapeflow.primitive import defvjp_direct
        >>> triple = tp.primitive(lambda x: 3 * x, name="triple_example")
        >>> defvjp_direct(triple, lambda g, ans, x: 3 * g)
        >>> float(tp.grad(triple)(1.0))
        3.0
    """
    prim = get_primitive(fn)
    prim.vjps = _rule_tuple(rules, "VJP")
    prim.vjp_rest = _MISSING
    prim.vjp_direct = True


def defjvp(fn: Any, *rules: Any, rest: Any = _MISSING) -> None:
    """Register forward-mode (JVP) rules, one per positional argument.

    Each rule is ``lambda t, ans, *args, **kwargs: tangent_out`` or ``None``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> cube = tp.primitive(lambda x: x ** 3, name="cube_fwd")
        >>> tp.defjvp(cube, lambda t, ans, x: t * 3 * x ** 2)
        >>> float(tp.jvp(cube, (2.0,), (1.0,))[1])
        12.0
    """
    prim = get_primitive(fn)
    prim.jvps = _rule_tuple(rules, "JVP")
    if rest is not _MISSING:
        prim.jvp_rest = rest


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
    prim.vjp_rest = _ArgnumRule(maker, vjp=True)
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
    prim.jvp_rest = _ArgnumRule(rule, vjp=False)


def defjvp_joint(fn: Any, rule: Callable[..., Any]) -> None:
    """Register one JVP rule that takes every argument's tangent at once.

    ``rule(tangents, ans, *args, **kwargs)`` gets a list with one entry per
    positional argument (``None`` where the argument has no tangent) and returns the
    output tangent. For variadic primitives such as ``concatenate``, where the
    per-argument form would build one full-size tangent per argument and sum them.
    Forward mode uses it instead of the per-argument rules, which stay registered.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> from tapeflow.primitive import defjvp_joint
        >>> total = tp.primitive(lambda *xs: sum(xs), name="total_joint_example")
        >>> defjvp_joint(total, lambda ts, ans, *xs: sum(t for t in ts if t is not None))
        >>> tp.jvp(lambda a: total(a, a, 1.0), (2.0,), (1.0,))[1]
        np.float64(2.0)
    """
    get_primitive(fn).jvp_joint = rule


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
            together = _EVERY_ARGUMENT
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


_BUILTIN_NAMES: set[str] = set()


def mark_builtin_primitives() -> None:
    """Remember the primitives tapeflow itself declares (called once at import)."""
    _BUILTIN_NAMES.update(_REGISTRY)


def set_fast_impl(fn: Any, impl: Callable[..., Any]) -> None:
    """Compute a primitive's values with ``impl`` instead of its numpy function.

    ``impl`` must return exactly what the numpy function returns; it exists for
    speed only (for example the ``*`` operator, which skips numpy's generic ufunc
    machinery on scalars). ``tp.jit`` keeps recording the numpy function.
    """
    get_primitive(fn).impl = impl


def registered_primitives(builtin_only: bool = False) -> dict[str, Primitive]:
    """All declared primitives by name (a copy); ``builtin_only`` drops users' own."""
    if builtin_only:
        return {k: v for k, v in _REGISTRY.items() if k in _BUILTIN_NAMES}
    return dict(_REGISTRY)


def register_numpy(numpy_fun: Any, impl: Callable[..., Any]) -> None:
    """Let ``numpy_fun`` (a ufunc or array function) dispatch to ``impl`` on traced arrays."""
    NUMPY_DISPATCH[numpy_fun] = impl
