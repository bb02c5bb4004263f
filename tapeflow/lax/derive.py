"""Programs derived from a loop body: which outputs depend on which inputs, and its VJP
split into a forward part that keeps residuals and a backward part that reads them.

The split is what lets a loop keep, for reverse mode, exactly what each iteration's
rules read: the body's VJP is traced once as a single program (the forward pass
recording on a tape, then the backward pass running the rules), and cut where the
backward pass starts. The values that the backward part reads from the forward part
are the *residuals*; the loop stacks them over the iterations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapeflow.core.arrays import ops
from tapeflow.core.tracer import Tracer
from tapeflow.jit.codegen import Slot, slots_in
from tapeflow.lax.program import BodyTrace, Program, trace_program, vjp_at

__all__ = [
    "Split",
    "split_vjp",
    "depends",
    "reverse_mask",
    "traced_by",
    "is_float",
    "cached",
    "pick",
]


def is_float(dtype: Any) -> bool:
    """Whether values of ``dtype`` carry derivatives (float and complex)."""
    return bool(np.issubdtype(dtype, np.inexact))


def traced_by(x: Any, attribute: str) -> bool:
    """Whether a trace with ``attribute`` set (``reverse_mode``, ``compiles``) traces ``x``
    at any level."""
    while type(x) is Tracer:
        if getattr(x._trace, attribute):
            return True
        x = x._value
    return False


def reverse_mask(args: Sequence[Any]) -> list[bool] | None:
    """For each argument: a float value that reverse mode differentiates; ``None`` when no
    argument is (the loop then keeps nothing for a backward pass)."""
    mask = [traced_by(a, "reverse_mode") and is_float(_dtype(a)) for a in args]
    return mask if any(mask) else None


def _dtype(x: Any) -> Any:
    while type(x) is Tracer:
        x = x._value
    return np.asarray(x).dtype if not hasattr(x, "dtype") else x.dtype


def pick(found: dict[int, Any], argnums: Sequence[int], args: Sequence[Any]) -> list[Any]:
    """The cotangents a joint VJP rule returns: ``found`` by argument number, zeros for the
    differentiated arguments that nothing flows to (a predicate's inputs)."""
    return [found[a] if a in found else ops.zeros(args[a]) for a in argnums]


def cached(program: Program, key: Any, build: Callable[[], Any]) -> Any:
    """The program derived from ``program`` under ``key``, built once."""
    found = program.derived.get(key)
    if found is None:
        found = program.derived[key] = build()
    return found


def depends(program: Program, mask: Sequence[bool]) -> list[bool]:
    """For each output of ``program``: does it depend on an input marked in ``mask``?"""
    marked = {s for s, m in zip(program.inputs, mask, strict=True) if m}
    for _, margs, _, slot in program.instructions:
        if any(s in marked for s in slots_in(margs)):
            marked.add(slot)
    return [type(o) is Slot and o.index in marked for o in program.outputs]


class Split:
    """A program's VJP cut in two.

    ``forward`` takes the program's inputs and returns its outputs followed by the
    residuals to stack (``n_stacked`` of them). ``backward`` takes the residuals, in the
    order of ``residuals``, then one cotangent per float output (``float_outputs``), and
    returns the cotangents of the inputs marked in ``wrt``. Each entry of ``residuals``
    is ``("stacked", k)``, the k-th extra output of ``forward``, or ``("input", i)``,
    input ``i`` of the program as the loop passes it (a sliced ``x`` or a constant).
    """

    __slots__ = ("forward", "backward", "residuals", "n_stacked", "wrt", "float_outputs")

    def __init__(
        self,
        forward: Program,
        backward: Program,
        residuals: list[tuple[str, int]],
        wrt: tuple[bool, ...],
        float_outputs: list[int],
    ) -> None:
        self.forward = forward
        self.backward = backward
        self.residuals = residuals
        self.n_stacked = sum(1 for kind, _ in residuals if kind == "stacked")
        self.wrt = wrt
        self.float_outputs = float_outputs


def split_vjp(
    program: Program, wrt: tuple[bool, ...], carried: frozenset[int], examples: Sequence[Any]
) -> Split:
    """The VJP of ``program`` with respect to the inputs marked in ``wrt``, split.

    ``carried`` are the inputs that change from one iteration to the next and that the
    loop does not otherwise keep (a scan's carry): a residual among them is stacked like
    a computed one. ``examples`` are values of the inputs to trace on.
    """
    return cached(  # type: ignore[no-any-return]
        program,
        ("vjp", wrt, carried),
        lambda: _split(program, wrt, carried, examples),
    )


def _split(
    program: Program, wrt: tuple[bool, ...], carried: frozenset[int], examples: Sequence[Any]
) -> Split:
    n = len(program.inputs)
    diff = [i for i in range(n) if wrt[i]]
    float_outputs = [k for k, (_, dtype) in enumerate(program.out_avals) if is_float(dtype)]
    boundary: list[int] = []

    def joint(*flat: Any) -> Any:
        cts = list(flat[n:])
        out, pull = vjp_at(program.interpret, flat[:n], diff)
        trace = flat[0]._trace
        boundary.append(len(trace.instructions))
        ct_out = [np.zeros(shape, dtype) for shape, dtype in program.out_avals]
        for k, c in zip(float_outputs, cts, strict=True):
            ct_out[k] = c
        return list(out), list(pull(ct_out))

    ct_examples = [np.zeros(*program.out_avals[k]) for k in float_outputs]
    traced = trace_program(joint, list(examples) + ct_examples, program.name + "_vjp")
    assert not traced.captured, "a program's VJP reads nothing from outside it"
    trace = traced.trace
    cut = boundary[0]
    n_out = len(program.outputs)
    refs = traced.program.outputs
    out_refs, ct_refs = refs[:n_out], refs[n_out:]
    slots = traced.program.inputs
    primal_slots, ct_slots = slots[:n], slots[n:]

    backward_positions = _backward_positions(trace, cut, ct_refs)
    defined = {trace.instructions[i][3] for i in backward_positions} | set(ct_slots)
    read: list[int] = []
    for i in backward_positions:
        read.extend(slots_in(trace.instructions[i][1]))
    read.extend(r.index for r in ct_refs if type(r) is Slot)
    residual_slots = [s for s in dict.fromkeys(read) if s not in defined]

    input_of = {s: i for i, s in enumerate(primal_slots)}
    residuals: list[tuple[str, int]] = []
    stacked_slots: list[int] = []
    for s in residual_slots:
        found = input_of.get(s)
        if found is not None and found not in carried:
            residuals.append(("input", found))
        else:
            residuals.append(("stacked", len(stacked_slots)))
            stacked_slots.append(s)
    forward = Program(
        trace,
        range(cut),
        primal_slots,
        list(out_refs) + [Slot(s) for s in stacked_slots],
        list(program.out_avals) + [_aval(trace, s) for s in stacked_slots],
        program.name + "_fwd",
    )
    backward = Program(
        trace,
        backward_positions,
        residual_slots + list(ct_slots),
        list(ct_refs),
        [traced.program.out_avals[n_out + k] for k in range(len(ct_refs))],
        program.name + "_bwd",
    )
    split = Split(forward, backward, residuals, wrt, float_outputs)
    forward.split = split
    return split


def _aval(trace: BodyTrace, slot: int) -> Any:
    found = trace.avals.get(slot)
    assert found is not None, "residuals are arrays (tuples are recomputed)"
    return found


def _backward_positions(trace: BodyTrace, cut: int, ct_refs: list[Any]) -> list[int]:
    """The instructions of the backward part: those after ``cut`` that the cotangents need,
    and the forward instructions computing a tuple they read (several outputs of one
    primitive cannot be stacked as one array, so they are computed again)."""
    needed = {r.index for r in ct_refs if type(r) is Slot}
    chosen: set[int] = set()
    for i in range(len(trace.instructions) - 1, -1, -1):
        slot = trace.instructions[i][3]
        if slot not in needed:
            continue
        if i < cut and trace.avals.get(slot) is not None:
            continue  # an array of the forward part: a residual
        chosen.add(i)
        needed.update(slots_in(trace.instructions[i][1]))
    return sorted(chosen)
