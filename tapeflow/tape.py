"""Traces, trace levels and the tape.

Every running transform owns one *trace*. Traces are numbered by an integer
*level*, increasing with nesting depth, and kept on a per-thread stack, so two
threads differentiating at once never see each other's records.

A traced array (``tapeflow.tracer.Tracer``) remembers the trace that created
it. When a primitive receives traced arguments, the trace with the highest
level among them processes the call (``Trace.process``): it unwraps its own
tracers, calls the primitive again on the unwrapped values (so lower-level
traces see the call too), and wraps the answer. Values traced by an outer
transform are therefore plain constants to an inner one, yet still recorded by
the outer one: this is what makes ``grad(grad(f))`` correct.

The reverse-mode trace is a :class:`Tape`: a flat list of records, one per
primitive call, replayed in reverse append order by ``backward``. There is no
recursive graph walk, so the depth of a computation is unlimited.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

# Read through a global, not as np.ndarray: numpy's module defines __getattr__, which
# keeps Python 3.11 from specializing attribute loads on it, and this runs per operation.
from numpy import ndarray as _ndarray

from tapeflow.tracer import Tracer

__all__ = [
    "Trace",
    "Tape",
    "new_trace",
    "push_trace",
    "pop_trace",
    "current_level",
    "active_traces",
]


class _ThreadState(threading.local):
    def __init__(self) -> None:
        self.stack: list[Trace] = []
        # How many gc pauses this thread holds (see _GCPause): only its outermost one
        # touches the process-wide state.
        self.gc_holds = 0


_state = _ThreadState()


class Trace:
    """Base class of every trace. Subclasses implement :meth:`process`."""

    __slots__ = ("level", "active", "__weakref__")
    kind = "trace"
    # True for vmap's trace: its tracers hold a whole batch but show one example's shape.
    batched = False

    def __init__(self, level: int) -> None:
        self.level = level
        self.active = True

    def process(self, prim: Any, args: tuple, kwargs: dict) -> Any:  # pragma: no cover
        raise NotImplementedError

    def leaked_error(self) -> Exception:
        return RuntimeError(
            f"A traced value from a {self.kind} transform that has already returned was used "
            "again (it escaped its transform, for example through a global variable or a "
            "closure). Return values from the transformed function instead of storing them; "
            "use tp.stop_gradient or float()/numpy values for logging."
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} level={self.level}>"


class Tape(Trace):
    """The reverse-mode trace: one record per primitive call.

    A record is the tuple ``(prim, ans, args, kwargs, parents)`` where ``args``
    are the primitive's positional arguments with this tape's tracers unwrapped,
    and ``parents`` lists ``(argnum, slot)`` for every argument that was traced on
    this tape and has a gradient rule. The record's own slot is its index in
    ``records``; inputs of the transform occupy slots holding ``None``.
    """

    __slots__ = ("records",)
    kind = "reverse-mode (grad/vjp)"

    def __init__(self, level: int) -> None:
        # Trace.__init__ written out: a tape is made on every grad call.
        self.level = level
        self.active = True
        self.records: list[Any] = []

    def process(self, prim: Any, args: tuple, kwargs: dict) -> Any:
        if not self.active:
            raise self.leaked_error()
        vals = list(args)
        parents = []
        rules = prim.vjps
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
                        rule = prim.vjp_rest
                    if type(rule) is not _FunctionType:  # None, missing, argnum-aware...
                        rule = _resolve_rule(prim, rule, i)
                    if rule is not None:
                        parents.append((i, a._aux, rule))
                else:
                    outer = True
            i += 1
        # Only re-dispatch when an outer trace must see the call too.
        if outer:
            ans = prim.bind(*vals, **kwargs)
        else:  # without an empty ** dict when there are no keywords (most calls)
            ans = prim.impl(*vals, **kwargs) if kwargs else prim.impl(*vals)
        if not parents:
            return ans
        records = self.records
        residuals = prim.residuals
        # Stand-ins only ever replace arrays and tracers (of an outer transform, as in
        # hvp): the pass is skipped for scalars. An elementwise op with a scalar answer
        # had no argument larger than one element.
        kind = type(ans)
        if residuals is None or (prim.elementwise and kind is not _ndarray and kind is not Tracer):
            records.append((prim, ans, vals, kwargs, parents))
        else:
            arrays = kind is _ndarray or kind is Tracer
            if not arrays:  # a reduction to a scalar, say: look for array arguments
                for v in vals:
                    if type(v) in _ARRAY_TYPES:
                        arrays = True
                        break
            # Replace the large arrays the rules do not read by shape/dtype stand-ins
            # (written out here: this runs on most array operations).
            if arrays:
                keeps_ans, kept_args = residuals
                if type(kept_args) is dict:  # per argument: what the traced ones' rules read
                    if len(parents) == 1:
                        kept_args = kept_args.get(parents[0][0], _NOTHING)
                    elif len(parents) == len(vals):  # every argument traced
                        kept_args = kept_args[None]
                    else:
                        needs = kept_args
                        kept_args = _NOTHING.union(*[needs.get(p[0], _NOTHING) for p in parents])
                    if kept_args is _EVERY_ARGUMENT:
                        kept_args = None  # (skips the scan below)
                    elif "ans" in kept_args:
                        keeps_ans = True
                ans_kept = ans
                if not keeps_ans:
                    # An outer transform's tracer is replaced too: it may hold several
                    # arrays (a primal and a tangent, in hvp), and the outer trace keeps on
                    # its own what its rules read. (Nested tests: plain arrays, the usual
                    # values, take no more steps than before tracers were handled.)
                    if kind is _ndarray:
                        if ans.size >= _KEEP_BELOW:
                            # (built without calling ShapeDtype(): several per step)
                            ans_kept = _new_tracer(ShapeDtype)
                            ans_kept.shape = ans.shape
                            ans_kept.dtype = ans.dtype
                    elif kind is Tracer and _large_tracer(ans):
                        ans_kept = _tracer_stand_in(ans, None, self)
                if kept_args is not None:
                    i = 0
                    for v in vals:
                        if type(v) is _ndarray:
                            if v.size >= _KEEP_BELOW and i not in kept_args:
                                # The answer of an earlier record that dropped it already
                                # has a stand-in (usual in a chain of operations): share it.
                                a = args[i]
                                if (
                                    type(a) is Tracer
                                    and a._trace is self
                                    and (earlier := records[a._aux]) is not None  # (input)
                                    and type(earlier[1]) is ShapeDtype
                                ):
                                    vals[i] = earlier[1]
                                else:
                                    stand_in = vals[i] = _new_tracer(ShapeDtype)
                                    stand_in.shape = v.shape
                                    stand_in.dtype = v.dtype
                        elif type(v) is Tracer and i not in kept_args and _large_tracer(v):
                            vals[i] = _tracer_stand_in(v, args[i], self)
                        i += 1
                records.append((prim, ans_kept, vals, kwargs, parents))
            else:
                records.append((prim, ans, vals, kwargs, parents))
        # Built without calling Tracer(): this runs once per recorded operation.
        out = _new_tracer(Tracer)
        out._value = ans
        out._trace = self
        out._aux = len(records) - 1
        return out

    def new_input(self, value: Any) -> Any:
        return self.new_inputs([value])[0]

    def new_inputs(self, values: list[Any]) -> list[Any]:
        """Tracers for the inputs of the transform, in order (their slots hold ``None``)."""
        records = self.records
        tracers = []
        for value in values:
            out = _new_tracer(Tracer)
            out._value = value
            out._trace = self
            out._aux = len(records)
            records.append(None)
            tracers.append(out)
        return tracers


_new_tracer = object.__new__  # makes tracers and stand-ins without running __init__
_ARRAY_TYPES = frozenset({_ndarray, Tracer})  # the values a stand-in may replace


def _tracer_stand_in(value: Tracer, arg: Any, tape: Tape) -> ShapeDtype:
    """The stand-in of an outer transform's tracer ``value``, passed to a record as ``arg``
    (the answer when ``arg`` is None); shared with the earlier record that dropped it."""
    if type(arg) is Tracer and arg._trace is tape:
        earlier = tape.records[arg._aux]
        if earlier is not None and type(earlier[1]) is ShapeDtype:  # (None: an input)
            return earlier[1]
    stand_in = _new_tracer(ShapeDtype)
    primal = value._value
    if type(primal) is _ndarray and not value._trace.batched:
        stand_in.shape = primal.shape  # the tracer's own, without its properties
        stand_in.dtype = primal.dtype
    else:
        stand_in.shape = value.shape
        stand_in.dtype = value.dtype
    return stand_in


def _large_tracer(tracer: Tracer) -> bool:
    """Whether an outer transform's tracer is worth a stand-in: the array inside it (under
    any number of tracers) has at least ``_KEEP_BELOW`` elements, as for plain arrays."""
    value = tracer._value
    while type(value) is Tracer:
        value = value._value
    return type(value) is _ndarray and value.size >= _KEEP_BELOW


_FunctionType = type(lambda: None)


def _resolve_rule(prim: Any, rule: Any, argnum: int, kind: str = "VJP") -> Any:
    """The ``kind`` rule for ``argnum`` when the registered one is not a plain function."""
    if rule is _MISSING:
        raise prim.missing_rule_error(kind, argnum)
    if type(rule) is _ArgnumRule:
        return rule.for_argnum(argnum)
    return rule  # None (no gradient) or any other callable


class ShapeDtype:
    """What the tape keeps of a value its VJP rules do not read: shape and dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.shape = shape
        self.dtype = dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    def __repr__(self) -> str:
        return f"ShapeDtype({self.shape}, {self.dtype})"


_NOTHING: frozenset[int] = frozenset()
# What vjp_needs stores when the rules of all the arguments together read every argument
# but not the answer (multiply, matmul): the tape then keeps the arguments without a scan.
_EVERY_ARGUMENT: frozenset[Any] = frozenset({"every argument"})

# Arrays smaller than this are kept whole: making the stand-in costs more than freeing them
# early saves. Measured on grad of a chain of elementwise ops (benchmarks/run.py's per-op
# chain at other lengths): dropping cost 10% at 100 float64 values and saved 9% at 300.
_KEEP_BELOW = 256


class _Missing:
    """Marks an argument for which no rule was registered (distinct from None)."""

    def __repr__(self) -> str:
        return "<missing rule>"


_MISSING: Any = _Missing()


class _ArgnumRule:
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


_cotangent_helpers: Any = None  # tapeflow.numpy._cotangent, imported on first use (a cycle)


def backward(tape: Tape, seeds: dict[int, Any], retain: bool = False) -> list[Any]:
    """Replay ``tape`` in reverse from the cotangents in ``seeds`` (slot -> cotangent).

    Returns the list of cotangents by slot (``None`` where nothing flowed); only
    the input slots of the tape are meaningful afterwards. Unless ``retain`` is
    true, each record is released as soon as its rules ran, so intermediate
    arrays are freed during the backward pass rather than after it.

    Callers run it with the cyclic GC paused (``with gc_paused:``), as the
    transforms do around their whole call.
    """
    global _cotangent_helpers
    helpers = _cotangent_helpers
    if helpers is None:
        from tapeflow.numpy import _cotangent as helpers

        _cotangent_helpers = helpers
    accumulate = helpers.accumulate
    fit_cotangent = helpers.fit_cotangent
    records = tape.records
    last = max(seeds)
    cts: list[Any] = [None] * (last + 1)
    for slot, g in seeds.items():
        cts[slot] = g
    for slot in range(last, -1, -1):
        g = cts[slot]
        if g is None:
            continue
        rec = records[slot]
        if rec is None:  # an input of the transform: keep its cotangent
            continue
        cts[slot] = None
        if not retain:
            records[slot] = None
        prim, ans, args, kwargs, parents = rec
        broadcasts = prim.broadcasts
        direct = prim.vjp_direct
        for argnum, pslot, rule in parents:
            if direct:
                ct = rule(g, ans, *args, **kwargs) if kwargs else rule(g, ans, *args)
            else:
                ct = rule(ans, *args, **kwargs)(g) if kwargs else rule(ans, *args)(g)
            if broadcasts:
                arg = args[argnum]
                kind = type(ct)
                # Scalars of one type always fit (no attribute reads: they are slow on numpy
                # scalars); arrays and tracers fit when shape and dtype match.
                if kind is not type(arg) or kind is _ndarray or kind is Tracer:
                    try:  # the common case, checked inline: shapes and dtypes already match
                        fits = ct.shape == arg.shape and ct.dtype == arg.dtype
                    except AttributeError:
                        fits = False
                    if not fits:
                        ct = fit_cotangent(ct, arg)
            old = cts[pslot]
            cts[pslot] = ct if old is None else accumulate(old, ct)
    return cts
