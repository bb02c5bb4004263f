"""Traces, trace levels and the per-thread trace stack.

Every running transform owns one *trace*. Traces are numbered by an integer
*level*, increasing with nesting depth, and kept on a per-thread stack, so two
threads differentiating at once never see each other's records.

A traced array (:class:`~tapeflow.core.tracer.Tracer`) remembers the trace that
created it. When a primitive receives traced arguments, the trace with the highest
level among them processes the call (``Trace.process``): it unwraps its own
tracers, calls the primitive again on the unwrapped values (so lower-level traces
see the call too), and wraps the answer. Values traced by an outer transform are
therefore plain constants to an inner one, yet still recorded by the outer one:
this is what makes ``grad(grad(f))`` correct.

Calls that are not primitives, functions with custom derivative rules and
checkpointed functions, are handed to the highest trace too, through
``process_custom_vjp_call``, ``process_custom_jvp_call`` and
``process_checkpoint_call``. Each trace type decides what they mean to it; the
base class runs the undecorated function, which is right for any trace that only
looks at primitives.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterable
from typing import Any

from tapeflow.core.pytree import tree_flatten
from tapeflow.core.tracer import Tracer

__all__ = [
    "Trace",
    "CustomCall",
    "new_trace",
    "push_trace",
    "pop_trace",
    "current_level",
    "active_traces",
    "top_trace",
    "closes_over",
    "gc_paused",
]


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.stack: list[Trace] = []
        # How many gc pauses this thread holds (see _GCPause): only its outermost one
        # touches the process-wide state.
        self.gc_holds = 0


_state = _ThreadState()


class CustomCall:
    """A call of a function with custom derivative rules, as traces see it.

    The transform that owns the rules (``tapeflow.custom``) builds it; each trace's
    ``process_custom_*_call`` decides what to do with it. ``fun`` is the undecorated
    function and ``args`` its positional arguments; ``leaves`` are the differentiable
    arguments flattened (``tree`` rebuilds them), and ``rules`` is the object that
    holds the user's rules and knows how to run them.
    """

    __slots__ = ("fun", "args", "leaves", "tree", "rules")

    def __init__(self, fun: Any, args: tuple[Any, ...], leaves: list[Any], tree: Any, rules: Any):
        self.fun = fun
        self.args = args
        self.leaves = leaves
        self.tree = tree
        self.rules = rules


class Trace:
    """Base class of every trace. Subclasses implement :meth:`process`."""

    __slots__ = ("level", "active", "__weakref__")
    kind = "trace"
    # True for vmap's trace: its tracers hold a whole batch but show one example's shape.
    batched = False
    # True for jit's trace: it records a program that later calls run on other values.
    compiles = False
    # True for reverse mode's tape: a loop under it keeps what each iteration's rules read.
    reverse_mode = False

    def __init__(self, level: int) -> None:
        self.level = level
        self.active = True

    def process(self, prim: Any, args: tuple, kwargs: dict) -> Any:  # pragma: no cover
        raise NotImplementedError

    def process_custom_vjp_call(self, call: CustomCall) -> Any:
        """A function with a ``custom_vjp`` rule: this trace does not use the rule."""
        return call.fun(*call.args)

    def process_custom_jvp_call(self, call: CustomCall) -> Any:
        """A function with a ``custom_jvp`` rule: this trace does not use the rule."""
        return call.fun(*call.args)

    def process_checkpoint_call(self, fun: Any, args: tuple, kwargs: dict) -> Any:
        """A checkpointed function: only reverse mode has memory to save."""
        return fun(*args, **kwargs)

    def concrete_error(self, what: str) -> Exception | None:
        """The error to raise when ``what`` needs a plain value of this trace's tracers.

        ``None`` when the value is simply the one inside the tracer (reverse and
        forward mode); traces whose tracers stand for unknown or many values
        (``jit``, ``vmap``) return their own explanation.
        """
        return None

    def leaked_error(self) -> Exception:
        return RuntimeError(
            f"A traced value from a {self.kind} transform that has already returned was used "
            "again (it escaped its transform, for example through a global variable or a "
            "closure). Return values from the transformed function instead of storing them; "
            "use tp.stop_gradient or float()/numpy values for logging."
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} level={self.level}>"


def top_trace(values: Iterable[Any]) -> Trace | None:
    """The highest-level trace among the tracers in ``values`` (None when there is none).

    Raises the trace's leaked-value error when that trace has already finished.
    """
    top = None
    for x in values:
        if type(x) is Tracer:
            t = x._trace
            if top is None or t.level > top.level:
                top = t
    if top is not None and not top.active:
        raise top.leaked_error()
    return top


def closes_over(tree: Any, trace: Trace) -> bool:
    """True when ``tree`` holds a value traced at ``trace``'s level or above.

    That happens when a function with a custom rule (or a checkpointed one) reads a
    traced value from a closure instead of taking it as an argument: such a value
    cannot be handled by the call's own rule.
    """
    level = trace.level
    return any(type(x) is Tracer and x._trace.level >= level for x in tree_flatten(tree)[0])


def current_level() -> int:
    """The level a newly created trace would get in this thread."""
    stack = _state.stack
    return stack[-1].level + 1 if stack else 1


def active_traces() -> tuple[Trace, ...]:
    """The traces running in this thread, outermost first (for tests and debugging)."""
    return tuple(_state.stack)


class _GCPause:
    """Pause Python's cyclic garbage collector while transforms run.

    Tracing allocates several long-lived container objects per operation (records,
    argument lists, tracers), and the collector would scan the growing tape again
    and again; the tape holds no reference cycles, so those scans find nothing.
    Pausing is process-wide, so it is counted across threads: the collector is
    re-enabled when the last transform ends, and only if it was enabled before
    (a program that disabled it keeps it disabled). Cyclic garbage made meanwhile
    is collected after the transform.

    Each thread counts its own nested pauses, so only its outermost one touches the
    shared state: a list with one entry per thread holding a pause. Appending and
    popping are single atomic steps, so no lock is needed; the checks around them
    can interleave between threads, but at worst the collector then runs during a
    transform (costing time, never correctness), and the last thread to leave
    always restores it.
    """

    def __init__(self) -> None:
        self.holders: list[None] = []  # one entry per thread holding a pause
        self.paused = False  # True when a pause disabled an enabled collector

    def __enter__(self) -> None:
        state = _state
        if state.gc_holds:
            state.gc_holds += 1
            return
        state.gc_holds = 1
        self.holders.append(None)
        if gc.isenabled():
            gc.disable()
            self.paused = True

    def __exit__(self, *exc: Any) -> None:
        state = _state
        state.gc_holds -= 1
        if state.gc_holds:
            return
        holders = self.holders
        holders.pop()
        if not holders and self.paused:
            self.paused = False
            gc.enable()


gc_paused = _GCPause()


def push_trace(cls: type, *init_args: Any) -> Any:
    """Make a trace of class ``cls`` one level above this thread's innermost and push it.

    Callers pop it with :func:`pop_trace` in a ``finally`` clause; :func:`new_trace`
    wraps the pair as a context manager (the grad call path uses them directly).
    """
    stack = _state.stack
    trace = cls(stack[-1].level + 1 if stack else 1, *init_args)
    stack.append(trace)
    return trace


def pop_trace(trace: Any) -> None:
    """Deactivate ``trace`` and remove it from this thread's stack."""
    trace.active = False
    # Normally the last one; tolerate out-of-order exits from generators closed late.
    stack = _state.stack
    if stack and stack[-1] is trace:
        stack.pop()
    elif trace in stack:
        stack.remove(trace)


class _TraceScope:
    """The context manager returned by :func:`new_trace` (a class: cheaper than a generator)."""

    __slots__ = ("cls", "init_args", "trace")

    def __init__(self, cls: type, init_args: tuple[Any, ...]) -> None:
        self.cls = cls
        self.init_args = init_args

    def __enter__(self) -> Any:
        trace = self.trace = push_trace(self.cls, *self.init_args)
        gc_paused.__enter__()
        return trace

    def __exit__(self, *exc: Any) -> None:
        gc_paused.__exit__()
        pop_trace(self.trace)


def new_trace(cls: type, *init_args: Any) -> Any:
    """Push a new trace of class ``cls`` for the duration of a ``with`` block.

    The trace is always popped and deactivated, even when the block raises, so
    an exception never leaves a trace or a level behind.
    """
    return _TraceScope(cls, init_args)
