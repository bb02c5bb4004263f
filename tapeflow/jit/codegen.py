"""How ``tp.jit`` turns a recorded trace into straight-line Python.

The instructions a :class:`~tapeflow.jit.tracing.JitTrace` recorded are simplified
(multiplications by one and additions of zero dropped), pruned to what the outputs
need, and written out as the source of one Python function: one numpy call per line,
each intermediate deleted right after its last use, and a ufunc's result written
into the buffer of an input that dies there. A primitive may declare a cheaper
spelling of its call (``Primitive.jit_call``), as ``sum`` and ``transpose`` do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapeflow.core.pytree import PyTreeDef, tree_unflatten
from tapeflow.core.tracer import Tracer

__all__ = ["Slot", "compile_program"]


class Slot:
    """A reference to a value computed by the program (an argument position marker)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def compile_program(
    trace: Any, inputs: Sequence[int], outputs: list[Any], out_tree: PyTreeDef, name: str
) -> tuple[Callable[..., Any], Callable[[], str], int, bool]:
    """Prune the recorded instructions and generate straight-line code for them.

    ``inputs`` are the slots the generated function takes, in order. Returns the
    function, a function giving its source, the number of instructions, and whether the
    program returns the output structure itself (when it is made of lists and tuples)
    rather than the flat list of output leaves.
    """
    input_set = frozenset(inputs)
    out_refs: list[Any] = []
    for o in outputs:
        if type(o) is Tracer and o._trace is trace:
            out_refs.append(Slot(o._slot))
        else:
            out_refs.append(o)

    meta = trace.meta
    instructions = _simplify(trace.instructions, meta, out_refs, input_set)
    fresh: set[Any] = set(getattr(trace, "fresh", ()))
    instructions = _fuse(instructions, getattr(trace, "fusions", {}), out_refs, fresh)

    # Backward liveness pass: keep instructions whose result is needed.
    needed = {r.index for r in out_refs if type(r) is Slot}
    kept = []
    reads: list[tuple[int, ...]] = []  # the slots each kept instruction reads
    for fun, margs, kwargs, slot in reversed(instructions):
        if slot not in needed:
            continue
        kept.append((fun, margs, kwargs, slot))
        read = tuple(slots_in(margs))
        reads.append(read)
        needed.update(read)
    kept.reverse()
    reads.reverse()

    # Last use of every slot, to delete intermediates as early as possible.
    last_use: dict[int, int] = {}
    for i, read in enumerate(reads):
        for m in read:
            last_use[m] = i
    out_slots = {r.index for r in out_refs if type(r) is Slot}
    into: dict[Any, Any] = getattr(trace, "jit_into", {})
    reuse = _plan_buffer_reuse(kept, reads, meta, last_use, out_slots, inputs, into, fresh)
    dead = [
        tuple(sorted({m for m in read if last_use[m] == i and m not in out_slots}))
        for i, read in enumerate(reads)
    ]
    built = _lists_and_tuples_only(out_tree)

    def render(namespace: dict[str, Any]) -> str:
        return _source(
            name, kept, dead, reuse, into, inputs, out_refs, out_tree, built, trace, namespace
        )

    if len(kept) > COMPILE_LIMIT:
        # Python compiles source at some ten microseconds a line, more than tracing the
        # operation cost: a program this long runs its steps from a list instead (the
        # same calls), and its source is written only when asked for.
        runner = _runner(kept, dead, reuse, into, inputs, out_refs, out_tree if built else None)
        return runner, lambda: render({}), len(kept), built
    namespace: dict[str, Any] = {}
    source = render(namespace)
    exec(compile(source, f"<tapeflow.jit {name}>", "exec"), namespace)
    return namespace[name], lambda: source, len(kept), built


# Programs with more instructions than this are run from a list of steps, not compiled.
COMPILE_LIMIT = 5000


def _source(
    name: str,
    kept: list[Any],
    dead: list[tuple[int, ...]],
    reuse: dict[int, int],
    into: dict[Any, Any],
    inputs: Sequence[int],
    out_refs: list[Any],
    out_tree: PyTreeDef,
    built: bool,
    trace: Any,
    namespace: dict[str, Any],
) -> str:
    """The source of the program, its constants stored in ``namespace``."""
    meta = trace.meta
    lines = [f"def {name}({', '.join(f'v{i}' for i in inputs)}):"]

    def const(value: Any) -> str:
        key = f"c{len(namespace)}"
        namespace[key] = value
        return key

    def expr(m: Any) -> str:
        if type(m) is Slot:
            return f"v{m.index}"
        if type(m) is tuple and any(type(x) is Slot for x in m):
            inner = ", ".join(expr(x) for x in m)
            return f"({inner},)"
        if m is None or isinstance(m, (bool, int)) and not isinstance(m, np.generic):
            return repr(m)
        return const(m)

    direct = trace.jit_calls
    for i, (fun, margs, kwargs, slot) in enumerate(kept):
        op = _OPERATORS.get(fun) if not kwargs else None
        first = margs[0] if margs else None
        first_meta = meta.get(first.index) if type(first) is Slot else None
        make_direct = direct.get(fun)
        direct_call = None
        if make_direct is not None and first_meta is not None and first_meta[0]:
            # An array of at least one dimension (a 0-d one may come back as a numpy
            # scalar): numpy's own call without its Python wrapper, the same result.
            direct_call = make_direct(expr(first), margs, kwargs, const)
        if direct_call is not None:
            lines.append(f"    v{slot} = {direct_call}")
        elif i in reuse and fun in into:
            # A primitive that can write its answer into a given buffer (jit_into).
            call = ", ".join(expr(m) for m in margs)
            extra = f", **{const(kwargs)}" if kwargs else ""
            lines.append(f"    v{slot} = {const(into[fun])}({call}, out=v{reuse[i]}{extra})")
        elif i in reuse:
            # An input of this ufunc dies here and owns a buffer of the output's shape
            # and dtype: write the result into it instead of allocating.
            call = ", ".join(expr(m) for m in margs)
            lines.append(f"    v{slot} = {const(fun)}({call}, out=v{reuse[i]})")
        elif op is not None and len(margs) == 2:
            # The operator calls the same ufunc for arrays (identical results) but
            # skips the generic ufunc call overhead, which dominates on scalars.
            lines.append(f"    v{slot} = {expr(margs[0])} {op} {expr(margs[1])}")
        elif fun is np.negative and not kwargs and len(margs) == 1:
            lines.append(f"    v{slot} = -{expr(margs[0])}")
        else:
            call = ", ".join(expr(m) for m in margs)
            if kwargs:
                call += (", " if call else "") + f"**{const(kwargs)}"
            lines.append(f"    v{slot} = {const(fun)}({call})")
        if dead[i]:
            lines.append(f"    del {', '.join(f'v{m}' for m in dead[i])}")
    if built:
        results = _build_expr(out_tree, iter([expr(r) for r in out_refs]))
    else:
        results = (
            "(" + ", ".join(expr(r) for r in out_refs) + ("," if len(out_refs) == 1 else "") + ")"
        )
    lines.append(f"    return {results}")
    return "\n".join(lines) + "\n"


def _runner(
    kept: list[Any],
    dead: list[tuple[int, ...]],
    reuse: dict[int, int],
    into: dict[Any, Any],
    inputs: Sequence[int],
    out_refs: list[Any],
    out_tree: PyTreeDef | None,
) -> Callable[..., Any]:
    """The program as a loop over its steps: the same calls as the generated source."""
    steps = []
    size = max([*inputs, *(ins[3] for ins in kept), 0]) + 1
    for i, (fun, margs, kwargs, slot) in enumerate(kept):
        refs: list[int] = []  # argument position, slot, position, slot...
        nested = []
        for k, m in enumerate(margs):
            if type(m) is Slot:
                refs += (k, m.index)
            elif type(m) is tuple and any(type(x) is Slot for x in m):
                nested.append((k, m))
        if i in reuse and fun in into:
            fun = into[fun]
        steps.append(
            (fun, margs, tuple(refs), tuple(nested), kwargs, reuse.get(i, -1), slot, dead[i])
        )

    def read(env: list[Any], m: Any) -> Any:
        return env[m.index] if type(m) is Slot else m

    def run(*args: Any) -> Any:
        env: list[Any] = [None] * size
        for s, a in zip(inputs, args, strict=True):
            env[s] = a
        for fun, margs, refs, nested, kwargs, reused, slot, gone in steps:
            call = list(margs)
            for j in range(0, len(refs), 2):
                call[refs[j]] = env[refs[j + 1]]
            for k, m in nested:
                call[k] = tuple(read(env, x) for x in m)
            if reused >= 0:
                env[slot] = fun(*call, out=env[reused], **kwargs)
            else:
                env[slot] = fun(*call, **kwargs)
            for d in gone:
                env[d] = None
        outs = [read(env, r) for r in out_refs]
        return tuple(outs) if out_tree is None else tree_unflatten(out_tree, outs)

    return run


def _lists_and_tuples_only(tree: PyTreeDef) -> bool:
    if tree.node_type is None:
        return True
    if tree.node_type is not list and tree.node_type is not tuple:
        return False
    return all(_lists_and_tuples_only(c) for c in tree.children)


def _build_expr(tree: PyTreeDef, leaves: Any) -> str:
    """Source of an expression building ``tree`` (lists and tuples) from leaf expressions."""
    if tree.node_type is None:
        return str(next(leaves))
    inner = [_build_expr(c, leaves) for c in tree.children]
    if tree.node_type is list:
        return "[" + ", ".join(inner) + "]"
    return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"


def _simplify(
    instructions: list[Any], meta: dict[int, Any], out_refs: list[Any], inputs: frozenset[int]
) -> list[Any]:
    """Drop multiplications by one and additions of zero that change nothing.

    Backward passes start from a cotangent of ones, so ``g * ones`` and the like are
    common; they are removed when the other operand already has the result's shape
    and dtype, by renaming the result to that operand.
    """
    rename: dict[int, int] = {}

    def resolve(m: Any) -> Any:
        if type(m) is Slot and m.index in rename:
            return Slot(rename[m.index])
        if type(m) is tuple and any(type(x) is Slot for x in m):
            return tuple(resolve(x) for x in m)
        return m

    out = []
    for instruction in instructions:
        fun, margs, kwargs, slot = instruction
        if rename and any(m in rename for m in slots_in(margs)):
            margs = tuple(resolve(m) for m in margs)
            instruction = (fun, margs, kwargs, slot)
        keep = _identity_operand(fun, margs, kwargs, meta.get(slot), meta)
        # (never rename to an input: the result might be returned and then mutated)
        if keep is not None and keep not in inputs:
            rename[slot] = keep
            continue
        out.append(instruction)
    for k, r in enumerate(out_refs):
        out_refs[k] = resolve(r)
    return out


def _fuse(
    instructions: list[Any], fusions: dict[Any, Any], out_refs: list[Any], fresh: set[Any]
) -> list[Any]:
    """Replace a call whose argument comes from a call that feeds nothing else by one
    fused call, where the producer declared the pair (``Primitive.jit_fusions``).

    The producer is left in place; the liveness pass then drops it, as nothing reads
    it any more. A fused function counts as fresh when the call it replaces did.
    """
    if not fusions:
        return instructions
    uses: dict[int, int] = {}
    made_by: dict[int, int] = {}
    for k, (_, margs, _, slot) in enumerate(instructions):
        made_by[slot] = k
        for m in slots_in(margs):
            uses[m] = uses.get(m, 0) + 1
    for r in out_refs:
        if type(r) is Slot:
            uses[r.index] = uses.get(r.index, 0) + 1
    out = list(instructions)
    for k, (fun, margs, kwargs, slot) in enumerate(instructions):
        first = margs[0] if margs else None
        if type(first) is not Slot or uses.get(first.index) != 1 or first.index not in made_by:
            continue
        p_fun, p_margs, p_kwargs, _ = instructions[made_by[first.index]]
        maker = fusions.get(p_fun, {}).get(fun)
        fused = maker(p_margs, p_kwargs, margs, kwargs) if maker is not None else None
        if fused is not None:
            new_fun, new_margs, new_kwargs = fused
            out[k] = (new_fun, new_margs, new_kwargs, slot)
            if fun in fresh:
                fresh.add(new_fun)
    return out


def _is_constant(m: Any, value: float) -> bool:
    if type(m) is Slot or type(m) is tuple:
        return False
    if isinstance(m, (int, float)) and not isinstance(m, bool):
        return m == value
    if isinstance(m, (np.ndarray, np.generic)) and m.dtype.kind in "fc" and m.size:
        return bool(np.all(m == value))
    return False


def _identity_operand(
    fun: Any, margs: tuple[Any, ...], kwargs: dict[str, Any], out_meta: Any, meta: dict[int, Any]
) -> int | None:
    if kwargs or out_meta is None or len(margs) != 2:
        return None
    a, b = margs
    candidates = []
    if fun is np.multiply:
        candidates = [(a, b), (b, a)]
    elif fun is np.add:
        candidates = [(a, b), (b, a)]
    elif fun in (np.subtract, np.true_divide):
        candidates = [(a, b)]
    neutral = 1.0 if fun in (np.multiply, np.true_divide) else 0.0
    for keep, other in candidates:
        if type(keep) is Slot and meta.get(keep.index) == out_meta and _is_constant(other, neutral):
            # the constant must not widen the dtype or broadcast the shape
            shape = other.shape if hasattr(other, "shape") else ()
            try:
                if np.broadcast_shapes(shape, out_meta[0]) == out_meta[0]:
                    return keep.index
            except ValueError:
                pass
    return None


def _plan_buffer_reuse(
    kept: list[Any],
    reads: list[tuple[int, ...]],
    meta: dict[int, Any],
    last_use: dict[int, int],
    out_slots: set[int],
    inputs: Sequence[int],
    into: dict[Any, Any],
    fresh_funs: set[Any],
) -> dict[int, int]:
    """For each instruction index, an input slot whose buffer can receive the result.

    A buffer may be reused when it was allocated by the program itself (the result
    of a ufunc, a matmul or a primitive declared ``jit_fresh``, never a user's input
    or a view), it dies at this instruction, no live value is a view of it, and it has
    the result's shape and dtype. The receiving call is a ufunc or a primitive with a
    ``jit_into`` version. Views are tracked conservatively: the result of any other
    function may alias each of its array inputs.
    """
    base: dict[int, set[int]] = {}  # slot -> buffers (fresh slots) it may alias
    fresh: set[int] = set()
    reuse: dict[int, int] = {}
    alive_aliases: dict[int, int] = {}  # buffer -> number of live slots aliasing it
    for slot in inputs:
        base[slot] = set()
    for i, (fun, _, kwargs, slot) in enumerate(kept):
        inputs = reads[i]
        ufunc = isinstance(fun, np.ufunc) and fun.nout == 1
        if (ufunc and not kwargs or fun in into) and slot in meta:
            for m in inputs:
                if (
                    m in fresh
                    and m not in out_slots
                    and last_use.get(m) == i
                    and meta.get(m) == meta[slot]
                    and alive_aliases.get(m, 0) == 1  # no live view of it
                ):
                    reuse[i] = m
                    break
        # (a call writing into a dying buffer answers with that buffer alone)
        if ufunc or fun is np.matmul or fun in fresh_funs or i in reuse:
            fresh.add(slot)
            base[slot] = {slot}
        else:
            base[slot] = set().union(*(base.get(m, set()) for m in inputs)) if inputs else set()
        for b in base[slot]:
            alive_aliases[b] = alive_aliases.get(b, 0) + 1
        # values whose last use is here stop aliasing their buffers
        for m in set(inputs):
            if last_use.get(m) == i and m not in out_slots:
                for b in base.pop(m, ()):
                    alive_aliases[b] -= 1
    return reuse


_OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/", np.matmul: "@"}


def slots_in(margs: Any) -> list[int]:
    """The slots an instruction's arguments read (also inside tuples, for indices)."""
    found = []
    for m in margs:
        if type(m) is Slot:
            found.append(m.index)
        elif type(m) is tuple:
            found.extend(slots_in(m))
    return found
