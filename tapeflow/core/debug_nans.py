"""Finding the first operation that made a NaN or an infinity: ``tp.debug_nans``.

While the check is on, every primitive's value and every derivative rule's result is
checked: the first one that is not finite while everything it was computed from is
finite raises ``FloatingPointError`` naming the primitive (and, for a rule, which one
and for which argument) and the user's line that called it. Values that are already
NaN when they come in are not reported again, so the error points at the origin.

How it stays free when off: switching it on replaces, on every primitive declared so
far, the function that computes values (``Primitive.impl``) and the forward-mode
rules with checking wrappers, and the tape's ``process`` with one that wraps the
reverse-mode rules of each record (keeping the user's line of the forward call);
switching it off puts the originals back. Nothing on the normal path tests a flag,
except ``tp.jit``, which reads one attribute per call: under the check, a jitted
function runs as plain Python on every call so that each primitive is checked (a
compiled program calls numpy directly).

The switch is process-wide, like numpy's ``np.seterr``.

Example:
    >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
    >>> with tp.debug_nans():
    ...     try:
    ...         tp.grad(lambda x: tnp.sum(tnp.sqrt(x)))(np.zeros(2))
    ...     except FloatingPointError as e:
    ...         print(str(e).split(" returned")[0])
    debug_nans: the reverse-mode (VJP) rule of 'sqrt' for argument 0
"""

from __future__ import annotations

import cmath
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy import ndarray

from tapeflow.core.primitive import FunctionType, Primitive, registered_primitives
from tapeflow.core.tape import Tape
from tapeflow.core.tracer import Tracer
from tapeflow.core.user_frames import describe_location, user_location

__all__ = ["State", "state", "enable", "disable", "debug_nans"]


class State:
    """Whether the check is on (read by ``tp.jit`` on each call)."""

    __slots__ = ("on", "saved", "process")

    def __init__(self) -> None:
        self.on = False
        # Per primitive: (attribute, original, wrapper) for each attribute replaced.
        self.saved: list[tuple[Primitive, str, Any, Any]] = []
        self.process: Any = None


state = State()


# ----- what counts as non-finite ------------------------------------------------------
def _bad(x: Any) -> bool:
    """Whether ``x`` (an array, a scalar, a tuple of them, a tracer) holds a NaN or inf."""
    while type(x) is Tracer:
        x = x._value
    kind = type(x)
    if kind is ndarray:
        return x.dtype.kind in "fc" and not np.isfinite(x).all()
    if kind is float or kind is complex:
        return not cmath.isfinite(x)
    if kind is tuple or kind is list:
        return any(_bad(v) for v in x)
    if isinstance(x, np.inexact):
        return not np.isfinite(x)
    return False


def _any_bad(args: Any, kwargs: dict[str, Any]) -> bool:
    return any(_bad(a) for a in args) or any(_bad(v) for v in kwargs.values())


def _what(x: Any) -> str:
    """``nan (1 of 3 values)``: which non-finite values ``x`` holds, and how many."""
    while type(x) is Tracer:
        x = x._value
    if type(x) in (tuple, list):
        parts = [_what(v) for v in x if _bad(v)]
        return parts[0] if parts else "a non-finite value"
    a = np.asarray(x)
    kinds = []
    if np.isnan(a).any():
        kinds.append("nan")
    if np.isposinf(a.real).any() or np.isposinf(a.imag).any():
        kinds.append("inf")
    if np.isneginf(a.real).any() or np.isneginf(a.imag).any():
        kinds.append("-inf")
    count = int(np.count_nonzero(~np.isfinite(a)))
    return f"{' and '.join(kinds)} ({count} of {a.size} value{'s' if a.size != 1 else ''})"


def _error(what: str, where: Any, called: str = "called") -> FloatingPointError:
    return FloatingPointError(
        f"debug_nans: {what}\n{called} at {describe_location(where)}\n(The check is on because "
        "of tp.debug_nans() or tp.config.debug_nans = True; see docs/debugging-nans.md.)"
    )


# ----- the wrappers -------------------------------------------------------------------
class _Rules(threading.local):
    """The derivative rules running now in this thread, innermost last: a primitive that
    fails inside one is reported as part of it (``divide``, inside the VJP of ``sqrt``)."""

    def __init__(self) -> None:
        self.stack: list[tuple[str, Any]] = []


_rules = _Rules()


# Under the check, numpy's floating-point warnings are silenced (np.errstate): each case
# they report, a NaN or inf made from finite values, raises the check's own error instead.
def _checked_impl(prim: Primitive, impl: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        with np.errstate(all="ignore"):
            ans = impl(*args, **kwargs)
        if _bad(ans) and not _any_bad(args, kwargs):
            what = f"{prim.name!r} returned {_what(ans)} from finite inputs"
            if _rules.stack:
                rule, where = _rules.stack[-1]
                raise _error(f"{what}, inside {rule}", where, "the primitive was called")
            raise _error(what, user_location(2))
        return ans

    return checked


def _checked_jvp(prim: Primitive, rule: Callable[..., Any], argnum: Any) -> Callable[..., Any]:
    which = "" if argnum is None else f" for argument {argnum}"
    name = f"the forward-mode (JVP) rule of {prim.name!r}{which}"

    def checked(t: Any, ans: Any, *args: Any, **kwargs: Any) -> Any:
        stack = _rules.stack
        stack.append((name, user_location(2)))
        try:
            with np.errstate(all="ignore"):
                out = rule(t, ans, *args, **kwargs)
        finally:
            stack.pop()
        if _bad(out) and not (_bad(t) or _bad(ans) or _any_bad(args, kwargs)):
            raise _error(
                f"{name} returned {_what(out)} from finite inputs (tangent, answer and arguments)",
                user_location(2),
            )
        return out

    return checked


def _checked_vjp(
    prim: Primitive, rule: Callable[..., Any], argnum: int, where: Any
) -> Callable[..., Any]:
    name = f"the reverse-mode (VJP) rule of {prim.name!r} for argument {argnum}"

    def run(fun: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        stack = _rules.stack
        stack.append((name, where))
        try:
            with np.errstate(all="ignore"):
                return fun(*args, **kwargs)
        finally:
            stack.pop()

    def check(ct: Any, g: Any, ans: Any, args: Any, kwargs: Any) -> Any:
        if _bad(ct) and not (_bad(g) or _bad(ans) or _any_bad(args, kwargs)):
            raise _error(
                f"{name} returned {_what(ct)} from finite inputs (cotangent, answer and arguments)",
                where,
                "the primitive was called",
            )
        return ct

    if prim.vjp_direct:  # rule(g, ans, *args): see Tape.process and backward

        def direct(g: Any, ans: Any, *args: Any, **kwargs: Any) -> Any:
            return check(run(rule, g, ans, *args, **kwargs), g, ans, args, kwargs)

        return direct

    def maker(ans: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        pull = run(rule, ans, *args, **kwargs)
        return lambda g: check(run(pull, g), g, ans, args, kwargs)

    return maker


def _make_checked_process(original: Callable[..., Any]) -> Callable[..., Any]:
    def process(self: Tape, prim: Any, args: tuple, kwargs: dict) -> Any:
        records = self.records
        n = len(records)
        out = original(self, prim, args, kwargs)
        if len(records) > n:
            record = records[-1]
            if record is not None and record[0] is prim:
                where = user_location(2)
                parents = record[4]
                parents[:] = [(a, s, _checked_vjp(prim, r, a, where)) for a, s, r in parents]
        return out

    return process


# ----- switching ----------------------------------------------------------------------
def enable() -> None:
    """Turn the check on (``tp.config.debug_nans = True`` calls it)."""
    if state.on:
        return
    saved = state.saved

    def replace(prim: Primitive, attr: str, wrapper: Any) -> None:
        saved.append((prim, attr, getattr(prim, attr), wrapper))
        setattr(prim, attr, wrapper)

    for prim in registered_primitives().values():
        replace(prim, "impl", _checked_impl(prim, prim.impl))
        if prim.jvps:
            rules = tuple(
                _checked_jvp(prim, r, i) if type(r) is FunctionType else r
                for i, r in enumerate(prim.jvps)
            )
            replace(prim, "jvps", rules)
        if type(prim.jvp_rest) is FunctionType:
            replace(prim, "jvp_rest", _checked_jvp(prim, prim.jvp_rest, None))
        if prim.jvp_joint is not None:
            joint = prim.jvp_joint
            replace(prim, "jvp_joint", _checked_jvp(prim, joint, None))
    state.process = Tape.process
    Tape.process = _make_checked_process(Tape.process)  # type: ignore[method-assign]
    state.on = True


def disable() -> None:
    """Turn the check off, restoring every replaced function."""
    if not state.on:
        return
    state.on = False
    Tape.process = state.process  # type: ignore[method-assign]
    for prim, attr, original, wrapper in reversed(state.saved):
        if getattr(prim, attr) is wrapper:  # (unless re-registered meanwhile)
            setattr(prim, attr, original)
    state.saved.clear()


class debug_nans:  # noqa: N801  (a context manager named like the function it stands for)
    """Check for NaN and inf inside the ``with`` block (or turn the check on or off).

    ``with tp.debug_nans():`` turns the check on for the block and restores the
    previous setting after it; ``tp.debug_nans(False)`` turns it off for a block.
    The same switch is ``tp.config.debug_nans``.

    Example:
        >>> import numpy as np, tapeflow as tp, tapeflow.numpy as tnp
        >>> with tp.debug_nans():
        ...     try:
        ...         tnp.log(np.array([1.0, -1.0]))
        ...     except FloatingPointError as e:
        ...         print(str(e).splitlines()[0])
        debug_nans: 'log' returned nan (1 of 2 values) from finite inputs
    """

    def __init__(self, on: bool = True) -> None:
        self.on = bool(on)
        self.before: list[bool] = []

    def __enter__(self) -> debug_nans:
        self.before.append(state.on)
        enable() if self.on else disable()
        return self

    def __exit__(self, *exc: Any) -> None:
        enable() if self.before.pop() else disable()
