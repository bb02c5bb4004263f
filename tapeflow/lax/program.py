"""Programs: a function traced once, for the body of a loop or the branch of a conditional.

A loop primitive cannot hold a Python function: its rules and every transform around it
must see what the body does, and a body may read values from a closure. So the body is
traced once, on example values, by :class:`BodyTrace` (``tp.jit``'s trace, also capturing
values of outer transforms that it reads from a closure) into a :class:`Program`: the
list of primitive calls it made. The captured values become extra inputs, so the loop
primitive receives them as arguments and the outer transforms see them flow in.

A program runs in two ways. On plain arrays it runs compiled, as the generated numpy
code of ``tp.jit`` (a loop's implementation calls it once per iteration). On traced
values it is *interpreted*: each call is bound again, so that the transforms around a
loop's rules see every operation, and derived programs (a body's JVP, its VJP split
into a forward and a backward part, its batched version) are traced from that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy import ndarray

from tapeflow.core.arrays import ops
from tapeflow.core.primitive import defbatch, defjvp_joint, defvjp_joint, primitive
from tapeflow.core.pytree import PyTreeDef, tree_flatten, tree_unflatten
from tapeflow.core.trace import CustomCall, new_trace
from tapeflow.core.tracer import Tracer
from tapeflow.forward import jvp
from tapeflow.jit.codegen import Slot, compile_program, slots_in
from tapeflow.jit.tracing import ConcretizationError, JitTrace
from tapeflow.numpy.items import items
from tapeflow.reverse import vjp
from tapeflow.vmap import vmap

__all__ = [
    "Program",
    "BodyTrace",
    "trace_program",
    "example_value",
    "aval",
    "Aval",
    "bind_with",
    "closed_call",
    "jvp_at",
    "vjp_at",
]

Aval = tuple[tuple[int, ...], Any]  # (shape, dtype) of a value


def aval(x: Any) -> Aval:
    """(shape, dtype) of a plain or traced value."""
    x = example_value(x)
    if type(x) is ndarray:
        return x.shape, x.dtype
    a = np.asarray(x)
    return a.shape, a.dtype


def example_value(x: Any) -> Any:
    """The plain value a traced ``x`` holds for one example: under every layer of tracing,
    with each batch axis of ``vmap`` taken at its first example."""
    chain = []
    while type(x) is Tracer:
        chain.append(x)
        x = x._value
    for t in reversed(chain):  # from the innermost layer out, as the batch axes were added
        if t._trace.batched:
            x = np.take(x, 0, axis=t._batch_axis)
    return x


class BodyTrace(JitTrace):
    """``tp.jit``'s trace for the body of a loop or a branch.

    It records the primitive of each call too (a program is interpreted by binding them
    again), and a value of an outer transform read from a closure becomes an input of the
    program (one input per value, in the order met) instead of an error.
    """

    __slots__ = ("prims", "captures", "avals")
    kind = "lax body"

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.prims: list[Any] = []  # the primitive of each instruction, in order
        self.captures: dict[int, tuple[int, Tracer]] = {}  # id(value) -> (slot, value)
        # slot -> (shape, dtype) of every value seen, None for a tuple (several outputs)
        self.avals: dict[int, Aval | None] = {}

    def concrete_error(self, what: str) -> ConcretizationError:
        return ConcretizationError(
            f"{what} needs the value of a traced array, but the body of a tapeflow.lax loop or "
            "branch is traced once for all iterations, so its values are not known: use "
            "tapeflow.lax.cond or tnp.where to choose between values instead of `if`."
        )

    def new_input(self, value: Any) -> Tracer:
        out = super().new_input(value)
        self.avals[out._slot] = aval(value)
        return out

    def process(self, prim: Any, args: tuple, kwargs: dict) -> Any:
        out = super().process(prim, args, kwargs)
        self.prims.append(prim)
        value = out._value
        self.avals[out._slot] = None if type(value) is tuple else aval(value)
        return out

    def process_checkpoint_call(self, fun: Any, args: tuple, kwargs: dict) -> Any:
        """A checkpointed function: one step of the program, rematerialised by its rules."""
        name = "checkpoint_" + getattr(fun, "__name__", "fun")
        return closed_call(lambda *a: fun(*a, **kwargs), args, None, name)

    def process_custom_vjp_call(self, call: CustomCall) -> Any:
        """A function with custom rules: one step of the program whose rules call the
        decorated function again, so that its own rules apply."""
        primal, decorated = call.rules.leaf_functions(call)
        return closed_call(
            primal,
            tuple(call.leaves),
            lambda *xs: tree_flatten(decorated(*xs))[0],
            "custom_" + getattr(call.fun, "__name__", "fun"),
        )

    process_custom_jvp_call = process_custom_vjp_call

    def closed_over(self, outer: Tracer) -> tuple[Any, Any]:
        slot = self.capture(outer)
        return example_value(outer), Slot(slot)

    def capture(self, outer: Tracer) -> int:
        """The input slot standing for ``outer``, an outer transform's traced value."""
        found = self.captures.get(id(outer))
        if found is None:
            found = self.captures[id(outer)] = (self.new_slot(), outer)
            example = example_value(outer)
            if type(example) is ndarray:
                self.meta[found[0]] = (example.shape, example.dtype)
            self.avals[found[0]] = aval(example)
        return found[0]


# Loop primitives bind differently under reverse mode (they keep residuals), so a program
# binds them again through their own function rather than the bare primitive.
_BINDERS: dict[Any, Callable[..., Any]] = {}


def bind_with(fn: Any, binder: Callable[..., Any]) -> None:
    """Make interpreted programs bind the primitive ``fn`` through ``binder``, which takes
    the primitive's arguments and returns what it returns."""
    _BINDERS[fn.primitive] = binder


class _Code:
    """What :func:`compile_program` reads of a trace: a subset of its instructions."""

    __slots__ = ("instructions", "meta", "jit_calls")

    def __init__(self, instructions: list[Any], meta: dict[int, Any], jit_calls: dict) -> None:
        self.instructions = instructions
        self.meta = meta
        self.jit_calls = jit_calls


class Program:
    """A traced function of flat inputs to flat outputs (see the module notes).

    ``instructions`` are ``(primitive, args, kwargs, slot)`` with :class:`Slot` markers
    for values, kept only when an output needs them; ``inputs`` are the slots of the
    inputs in order, ``outputs`` a :class:`Slot` or a constant per output.
    """

    __slots__ = (
        "instructions",
        "inputs",
        "outputs",
        "in_avals",
        "out_avals",
        "name",
        "derived",
        "split",
        "_code",
        "_compiled",
    )

    def __init__(
        self,
        trace: BodyTrace,
        positions: range | list[int],
        inputs: Sequence[int],
        outputs: list[Any],
        out_avals: list[Aval],
        name: str,
    ) -> None:
        self.inputs = list(inputs)
        self.outputs = outputs
        self.out_avals = out_avals
        self.in_avals = [trace.avals.get(s) or ((), np.dtype(float)) for s in inputs]
        self.name = "".join(c if c.isalnum() else "_" for c in name)
        needed = {o.index for o in outputs if type(o) is Slot}
        input_set = set(inputs)
        kept = []
        for i in reversed(positions):
            fun, margs, kwargs, slot = trace.instructions[i]
            if slot not in needed or slot in input_set:
                continue
            kept.append(i)
            needed.update(slots_in(margs))
        kept.reverse()
        missing = needed - input_set - {trace.instructions[i][3] for i in kept}
        assert not missing, f"program {name}: slots {missing} are neither computed nor inputs"
        self.instructions = [(trace.prims[i],) + trace.instructions[i][1:] for i in kept]
        self._code: _Code | None = _Code(
            [trace.instructions[i] for i in kept], trace.meta, trace.jit_calls
        )
        self._compiled: Callable[..., list[Any]] | None = None
        # Programs derived from this one (its JVP, VJP split, batched versions), by key.
        self.derived: dict[Any, Any] = {}
        # For the forward part of a VJP split (see tapeflow.lax.derive): that split.
        self.split: Any = None

    @property
    def compiled(self) -> Callable[..., list[Any]]:
        """The program as generated numpy code: plain arrays in, a list of outputs out."""
        if self._compiled is None:
            assert self._code is not None
            n = len(self.outputs)
            tree = tree_flatten([0] * n)[1]
            self._compiled = compile_program(
                self._code, self.inputs, list(self.outputs), tree, self.name
            )[0]
            self._code = None
        return self._compiled

    def __call__(self, *args: Any) -> list[Any]:
        """Run on plain arrays (compiled) or on traced values (interpreted)."""
        for a in args:
            if type(a) is Tracer:
                return self.interpret(*args)
        return self.compiled(*args)

    def interpret(self, *args: Any) -> list[Any]:
        """Bind every instruction again on ``args``: the transforms running see each call."""
        env: dict[int, Any] = dict(zip(self.inputs, args, strict=True))

        def read(m: Any) -> Any:
            if type(m) is Slot:
                return env[m.index]
            if type(m) is tuple and any(type(x) is Slot for x in m):
                return tuple(read(x) for x in m)
            return m

        for prim, margs, kwargs, slot in self.instructions:
            bind = _BINDERS.get(prim, prim.bind)
            env[slot] = bind(*[read(m) for m in margs], **kwargs)
        return [read(o) for o in self.outputs]

    def __repr__(self) -> str:
        return (
            f"<Program {self.name}: {len(self.inputs)} inputs, {len(self.instructions)} "
            f"instructions, {len(self.outputs)} outputs>"
        )


class Traced:
    """What :func:`trace_program` returns: the program, the outer values it captured (its
    last inputs), the output structure, and the trace (to split it, see ``derive``)."""

    __slots__ = ("program", "captured", "out_tree", "trace")

    def __init__(
        self, program: Program, captured: list[Any], out_tree: PyTreeDef, trace: BodyTrace
    ) -> None:
        self.program = program
        self.captured = captured
        self.out_tree = out_tree
        self.trace = trace


def trace_program(fun: Callable[..., Any], examples: Sequence[Any], name: str) -> Traced:
    """Trace ``fun(*inputs)`` once on the plain ``examples`` into a :class:`Program`.

    The program's inputs are the examples' slots followed by one slot per captured outer
    value; its outputs are the leaves of what ``fun`` returns.
    """
    with new_trace(BodyTrace) as trace:
        tracers = [trace.new_input(np.asarray(example_value(x))) for x in examples]
        out = fun(*tracers)
        leaves, out_tree = tree_flatten(out)
        refs: list[Any] = []
        out_avals: list[Aval] = []
        for o in leaves:
            if type(o) is Tracer and o._trace is not trace:
                if o._trace.level > trace.level or not o._trace.active:
                    raise trace.leaked_error()
                refs.append(Slot(trace.capture(o)))
            elif type(o) is Tracer:
                refs.append(Slot(o._slot))
            else:
                refs.append(o)
            out_avals.append(aval(o))
    inputs = [t._slot for t in tracers] + [slot for slot, _ in trace.captures.values()]
    program = Program(trace, range(len(trace.instructions)), inputs, refs, out_avals, name)
    captured = [outer for _, outer in trace.captures.values()]
    return Traced(program, captured, out_tree, trace)


# ----- derivatives with respect to some arguments ------------------------------------
def _at(fun: Callable[..., Any], args: Sequence[Any], positions: Sequence[int]) -> Any:
    """``fun`` as a function of its arguments at ``positions``, the others fixed to ``args``."""

    def partial(*chosen: Any) -> list[Any]:
        full = list(args)
        for i, x in zip(positions, chosen, strict=True):
            full[i] = x
        return list(fun(*full))

    return partial


def jvp_at(
    fun: Callable[..., Any], args: Sequence[Any], positions: Sequence[int], tangents: Sequence[Any]
) -> tuple[Any, Any]:
    """``jvp`` of ``fun(*args)`` along ``tangents`` of the arguments at ``positions``."""
    return jvp(_at(fun, args, positions), tuple(args[i] for i in positions), tuple(tangents))  # type: ignore[no-any-return]


def vjp_at(
    fun: Callable[..., Any], args: Sequence[Any], positions: Sequence[int]
) -> tuple[Any, Any]:
    """``vjp`` of ``fun(*args)`` with respect to the arguments at ``positions``."""
    return vjp(_at(fun, args, positions), *[args[i] for i in positions])  # type: ignore[no-any-return]


# ----- calls recorded as one step of a program --------------------------------------
def _closed_call_impl(*args: Any, program: Program, rules: Any) -> tuple[Any, ...]:
    return tuple(program.compiled(*args))


closed_call_p = primitive(_closed_call_impl, name="lax.closed_call")


def closed_call(fun: Callable[..., Any], args: tuple, rules: Any, name: str) -> Any:
    """Record ``fun(*args)`` as one step (a checkpointed function, or one with custom rules).

    ``fun`` is traced into a program that computes the values. The step's derivative rules
    run ``rules`` (a function of the argument leaves returning the output leaves) under the
    transforms, or with ``rules=None`` the program itself, computing its inside again: only
    the arguments are kept.
    """
    leaves, tree = tree_flatten(args)
    traced = trace_program(
        lambda *xs: fun(*tree_unflatten(tree, list(xs))), [example_value(x) for x in leaves], name
    )
    if rules is not None and traced.captured:
        raise TypeError(
            f"{name}: a function with custom rules inside a loop body reads a traced value "
            "from a closure; pass that value as an argument so its rules can give it a "
            "cotangent"
        )
    n = len(traced.program.outputs)
    out = items(closed_call_p(*leaves, *traced.captured, program=traced.program, rules=rules), n)
    return tree_unflatten(traced.out_tree, out)


def _call_rules(program: Program, rules: Any) -> Callable[..., list[Any]]:
    return rules if rules is not None else program.interpret


def _closed_call_jvp(
    tangents: list[Any], ans: Any, *args: Any, program: Program, rules: Any
) -> tuple[Any, ...]:
    fun = _call_rules(program, rules)
    idx = [i for i, t in enumerate(tangents) if t is not None]
    _, t_out = jvp_at(fun, args, idx, [tangents[i] for i in idx])
    return tuple(t_out)


def _closed_call_vjp(
    argnums: tuple[int, ...], ans: Any, *args: Any, program: Program, rules: Any
) -> Callable[[Any], list[Any]]:
    fun = _call_rules(program, rules)
    outs = items(ans, len(program.outputs))

    def pull(g: Any) -> list[Any]:
        _, back = vjp_at(fun, args, argnums)
        return list(back([ops.zeros(o) if c is None else c for c, o in zip(g, outs, strict=True)]))

    return pull


def _closed_call_batch(
    args: list[Any], dims: list[Any], *, program: Program, rules: Any
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    fun = _call_rules(program, rules)
    outs = vmap(lambda *xs: list(fun(*xs)), in_axes=tuple(dims), out_axes=0)(*args)
    return tuple(outs), (0,) * len(outs)


defjvp_joint(closed_call_p, _closed_call_jvp)
defvjp_joint(closed_call_p, _closed_call_vjp)
defbatch(closed_call_p, _closed_call_batch)
