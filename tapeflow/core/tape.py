"""The tape: reverse mode's trace, its records and their replay.

A :class:`Tape` is a flat list of records, one per primitive call, replayed in
reverse append order by :func:`backward`. There is no recursive graph walk, so the
depth of a computation is unlimited. A tape also records calls that are not
primitives as single entries: functions with custom derivative rules and
checkpointed functions, each with a pull-back of its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

# Read through a global, not as np.ndarray: numpy's module defines __getattr__, which
# keeps Python 3.11 from specializing attribute loads on it, and this runs per operation.
from numpy import ndarray as _ndarray

from tapeflow.core.arrays import ops
from tapeflow.core.leaves import is_inexact, value_shape
from tapeflow.core.primitive import (
    EVERY_ARGUMENT,
    FunctionType,
    Primitive,
    joint_parents,
    resolve_rule,
)
from tapeflow.core.pytree import tree_flatten, tree_unflatten
from tapeflow.core.trace import CustomCall, Trace, closes_over, new_trace
from tapeflow.core.tracer import Tracer

__all__ = ["Tape", "ShapeDtype", "backward", "pull_back"]


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
    reverse_mode = True

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
                    if type(rule) is not FunctionType:  # None, missing, argnum-aware...
                        rule = resolve_rule(prim, rule, i)
                    if rule is not None:
                        parents.append((i, a._slot, rule))
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
        if prim.vjp_joint is not None:
            parents = joint_parents(prim.vjp_joint, parents)
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
                    if kept_args is EVERY_ARGUMENT:
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
                                    and (earlier := records[a._slot]) is not None  # (input)
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
        out._slot = len(records) - 1
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
            out._slot = len(records)
            records.append(None)
            tracers.append(out)
        return tracers

    def own_values(self, leaves: list[Any]) -> list[Any]:
        """``leaves`` with this tape's tracers replaced by the values inside them."""
        return [x._value if type(x) is Tracer and x._trace is self else x for x in leaves]

    # ----- calls recorded as one entry ------------------------------------------------
    def record_call(
        self,
        leaves: list[Any],
        vals: list[Any],
        out: Any,
        pullback: Callable[[list[Any]], list[Any]],
        replay: Callable[..., tuple[Any, ...]],
    ) -> Any:
        """Record one call of a function of ``leaves`` whose VJP is ``pullback``.

        ``vals`` are the leaves with this tape's tracers unwrapped and ``out`` the
        call's output computed from them. ``pullback(ct_leaves)`` maps one cotangent
        per output leaf to one per input leaf (``None``: no gradient); it runs once per
        backward pass. ``replay(*leaves)`` computes the output leaves again, so that a
        record can be replayed as a program. Returns ``out`` with its float leaves
        traced on this tape.
        """
        out_leaves, out_tree = tree_flatten(out)
        results = tuple(out_leaves)
        # The backward pass asks once per traced input with the same cotangent tuple;
        # run the pull-back once per tuple. (g, result) is stored as one pair so that
        # concurrent pull-backs of a kept tape never read each other's result.
        memo: list[Any] = [(None, None)]

        def cotangents(g: tuple[Any, ...]) -> list[Any]:
            seen, result = memo[0]
            if seen is not g:
                result = pullback(
                    [ops.zeros(o) if c is None else c for c, o in zip(g, out_leaves, strict=True)]
                )
                memo[0] = (g, result)
            return result  # type: ignore[no-any-return]

        def rule_for(i: int) -> Callable[..., Any]:
            def rule(ans: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
                def pull(g: Any) -> Any:
                    ct = cotangents(g)[i]
                    return ops.zeros(vals[i]) if ct is None else ct

                return pull

            return rule

        parents = [
            (i, x._slot, rule_for(i))
            for i, x in enumerate(leaves)
            if type(x) is Tracer and x._trace is self
        ]
        records = self.records
        records.append((_CALL, results, vals, {"call": replay}, parents))
        call_slot = len(records) - 1
        wrapped = []
        for j, o in enumerate(out_leaves):
            if not is_inexact(o):
                wrapped.append(o)
                continue
            records.append((_OUTPUT, o, (results,), {"index": j}, [(0, call_slot, _output_vjp)]))
            out_tracer = Tracer(o, self)
            out_tracer._slot = len(records) - 1
            wrapped.append(out_tracer)
        return tree_unflatten(out_tree, wrapped)

    def process_custom_vjp_call(self, call: CustomCall) -> Any:
        """Run the forward rule now; the backward rule becomes the call's pull-back."""
        vals = self.own_values(call.leaves)
        out, pullback = call.rules.forward_and_pullback(call, vals, self)
        return self.record_call(call.leaves, vals, out, pullback, call.rules.replay(call))

    def process_custom_jvp_call(self, call: CustomCall) -> Any:
        """Record the rule's tangent map now; its transpose becomes the call's pull-back."""
        vals = self.own_values(call.leaves)
        out, pullback = call.rules.linearize(call, vals, self)
        return self.record_call(call.leaves, vals, out, pullback, call.rules.replay(call))

    def process_checkpoint_call(self, fun: Any, args: tuple, kwargs: dict) -> Any:
        """Keep only the inputs of ``fun``; run it again under a fresh tape when pulled back."""
        leaves, in_tree = tree_flatten(args)
        vals = self.own_values(leaves)
        traced = [i for i, x in enumerate(leaves) if type(x) is Tracer and x._trace is self]

        def replay(*xs: Any) -> tuple[Any, ...]:
            return tuple(tree_flatten(fun(*tree_unflatten(in_tree, xs), **kwargs))[0])

        out = fun(*tree_unflatten(in_tree, vals), **kwargs)
        if closes_over(out, self):
            warnings.warn(
                f"tp.checkpoint({getattr(fun, '__name__', 'fun')}): the function reads a traced "
                "value from a closure, so it cannot be rematerialised and runs without "
                "checkpointing (no memory is saved). Pass every differentiated value as an "
                "argument: tp.checkpoint(lambda params, x: ...)(params, x).",
                stacklevel=3,
            )
            return fun(*args, **kwargs)
        out_leaves = tree_flatten(out)[0]

        def pullback(ct_leaves: list[Any]) -> list[Any]:
            # The tape does not check dtypes on the way back: a cotangent that a careless
            # rule widened (float64 for a float32 output) is cast back here.
            ct_leaves = [
                ops.cast(c, o) if is_inexact(o) else c
                for c, o in zip(ct_leaves, out_leaves, strict=True)
            ]
            primals = [vals[i] for i in traced]
            with new_trace(Tape) as tape:
                full = list(vals)
                for i, x in zip(traced, tape.new_inputs(primals), strict=True):
                    full[i] = x
                again = tree_flatten(fun(*tree_unflatten(in_tree, full), **kwargs))[0]
            cts = pull_back(tape, again, ct_leaves, primals, retain=False)
            full_cts: list[Any] = [None] * len(leaves)
            for i, c in zip(traced, cts, strict=True):
                full_cts[i] = c
            return full_cts

        return self.record_call(leaves, vals, out, pullback, replay)


_new_tracer = object.__new__  # makes tracers and stand-ins without running __init__
_ARRAY_TYPES = frozenset({_ndarray, Tracer})  # the values a stand-in may replace


def _tracer_stand_in(value: Tracer, arg: Any, tape: Tape) -> ShapeDtype:
    """The stand-in of an outer transform's tracer ``value``, passed to a record as ``arg``
    (the answer when ``arg`` is None); shared with the earlier record that dropped it."""
    if type(arg) is Tracer and arg._trace is tape:
        earlier = tape.records[arg._slot]
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
# Arrays smaller than this are kept whole: making the stand-in costs more than freeing them
# early saves. Measured on grad of a chain of elementwise ops (benchmarks/run.py's per-op
# chain at other lengths): dropping cost 10% at 100 float64 values and saved 9% at 300.
_KEEP_BELOW = 256


def backward(tape: Tape, seeds: dict[int, Any], retain: bool = False) -> list[Any]:
    """Replay ``tape`` in reverse from the cotangents in ``seeds`` (slot -> cotangent).

    Returns the list of cotangents by slot (``None`` where nothing flowed); only
    the input slots of the tape are meaningful afterwards. Unless ``retain`` is
    true, each record is released as soon as its rules ran, so intermediate
    arrays are freed during the backward pass rather than after it.

    Callers run it with the cyclic GC paused (``with gc_paused:``), as the
    transforms do around their whole call.
    """
    accumulate = ops.add
    fit_cotangent = ops.fit_cotangent
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
            # Every cotangent gets its argument's dtype here, whatever the rule computed: a
            # real argument never receives the imaginary part of a complex cotangent, and a
            # float32 one never a float64 cotangent. Broadcasting primitives also have their
            # cotangents summed back to the argument's shape.
            arg = args[argnum]
            kind = type(ct)
            # Scalars of one type always fit (no attribute reads: they are slow on numpy
            # scalars), and so do containers of one type (the tuples of custom calls); arrays
            # and tracers fit when their dtypes (and shapes, if broadcast) match.
            if kind is not type(arg) or kind is _ndarray or kind is Tracer:
                try:  # the common case, checked inline: dtypes and shapes already match
                    fits = ct.dtype == arg.dtype and (not broadcasts or ct.shape == arg.shape)
                except AttributeError:
                    fits = False
                if not fits:
                    ct = fit_cotangent(ct, arg, broadcasts)
            old = cts[pslot]
            cts[pslot] = ct if old is None else accumulate(old, ct)
    return cts


def pull_back(
    tape: Tape, out_leaves: list[Any], ct_leaves: list[Any], in_leaves: list[Any], retain: bool
) -> list[Any]:
    """Cotangents of a transform's inputs given cotangents of its outputs.

    ``in_leaves`` are the values whose tracers occupy the first slots of ``tape``; each
    cotangent comes back with its input's shape and dtype (zeros where nothing flowed).
    Callers run it with the cyclic GC paused, as the transforms do around their call.
    """
    seeds: dict[int, Any] = {}
    for o, ct in zip(out_leaves, ct_leaves, strict=True):
        if type(o) is Tracer and o._trace is tape:
            slot = o._slot
            seeds[slot] = ct if slot not in seeds else seeds[slot] + ct
    if not seeds:
        return [ops.zeros(x) for x in in_leaves]
    cts = backward(tape, seeds, retain)
    result = []
    for i, x in enumerate(in_leaves):
        ct = cts[i] if i < len(cts) else None
        if (
            type(ct) is _ndarray
            and type(x) is _ndarray
            and ct.shape == x.shape
            and ct.dtype == x.dtype
        ):
            result.append(ct)  # the common case: nothing to fit or cast
            continue
        if ct is not None and value_shape(ct) != value_shape(x):
            raise ValueError(
                f"the cotangent computed for input leaf {i} has shape {value_shape(ct)}, but the "
                f"input has shape {value_shape(x)}: a VJP rule returned a cotangent of the wrong "
                "shape. Check custom rules with tp.check_grads."
            )
        result.append(ops.cast(ops.zeros(x) if ct is None else ct, x))
    return result


# ----- the records of calls (see Tape.record_call) -------------------------------------
def _call_impl(*leaves: Any, call: Callable[..., Any]) -> tuple[Any, ...]:
    out: tuple[Any, ...] = call(*leaves)
    return out


def _output_impl(results: tuple[Any, ...], index: int) -> Any:
    return results[index]


def _output_vjp(ans: Any, results: tuple[Any, ...], index: int) -> Callable[[Any], Any]:
    n = len(results)
    return lambda g: tuple(g if k == index else None for k in range(n))


# Not registered: they only appear in records made by record_call. ``call`` computes the
# output leaves from the input leaves, so a record can be replayed as a program.
_CALL = Primitive(_call_impl, "custom_call")
_OUTPUT = Primitive(_output_impl, "custom_output")
