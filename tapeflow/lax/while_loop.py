"""``while_loop`` and ``fori_loop``: loops whose trip count the values decide.

``while_loop(cond_fun, body_fun, init)`` traces both functions once and binds the
primitive ``lax.while`` on the initial carry and the values the functions read from
closures. Its rules:

* forward mode loops over the body's JVP, carrying the tangents;
* ``vmap``: when the predicate is the same for every example, the loop runs the batched
  body; when it is batched, the loop runs while any example's predicate holds and each
  example keeps its carry once its own predicate is false, as in JAX.

Reverse mode goes beyond JAX, which refuses it: tapeflow differentiates the iterations
actually taken. Where the values are known (no ``tp.jit`` around), the loop first
counts its iterations on the values (per example under ``vmap``), then runs as a
``scan`` of that length, so every transform of ``scan`` applies, higher derivatives
included. Under ``tp.jit`` (or inside another loop's body) the count is only known when
the program runs: the loop then runs the forward part of the body's VJP split and
records the residuals of each iteration (``lax.while_recording``); the backward pass
replays them in reverse (``lax.while_replay``). That covers first derivatives; higher
ones there raise an error that says what to do instead.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.arrays import ops
from tapeflow.core.primitive import defbatch, defjvp_joint, defvjp_joint, primitive
from tapeflow.core.pytree import tree_flatten, tree_unflatten
from tapeflow.core.tracer import Tracer
from tapeflow.custom import stop_gradient
from tapeflow.lax.derive import (
    cached,
    depends,
    is_float,
    pick,
    reverse_mask,
    split_vjp,
    traced_by,
)
from tapeflow.lax.program import (
    Program,
    aval,
    bind_with,
    example_value,
    jvp_at,
    trace_program,
)
from tapeflow.lax.scan import as_operand, check_carry, fori_loop_scan, scan_bind
from tapeflow.numpy.items import items
from tapeflow.vmap import vmap

__all__ = ["while_loop", "fori_loop"]


# ----- the primitive ---------------------------------------------------------------
def _while_impl(*args: Any, cond: Program, body: Program, n_carry: int, n_cc: int) -> tuple:
    """Arguments: the carry, the constants of ``cond``, the constants of ``body``."""
    carry = list(args[:n_carry])
    cc = args[n_carry : n_carry + n_cc]
    bc = args[n_carry + n_cc :]
    test, step = cond.compiled, body.compiled
    while test(*carry, *cc)[0]:
        carry = step(*carry, *bc)
    return tuple(carry)


while_p = primitive(_while_impl, name="lax.while")


def _bind(
    cond: Program, body: Program, carry: Sequence[Any], cc: Sequence[Any], bc: Sequence[Any]
) -> list[Any]:
    n = len(carry)
    out = while_p(*carry, *cc, *bc, cond=cond, body=body, n_carry=n, n_cc=len(cc))
    return items(out, n)


def while_bind(
    cond: Program, body: Program, carry: Sequence[Any], cc: Sequence[Any], bc: Sequence[Any]
) -> list[Any]:
    """Bind the loop; under reverse mode, as a scan of the counted length or, under
    ``jit``, as the recording loop (see the module notes)."""
    args = [*carry, *cc, *bc]
    if reverse_mask(args) is None:
        return _bind(cond, body, carry, cc, bc)
    if any(traced_by(a, "compiles") for a in args):
        return _recording_bind(cond, body, carry, cc, bc)
    return _counted_scan(cond, body, carry, cc, bc)


# ----- forward mode ----------------------------------------------------------------
def _while_jvp(
    tangents: list[Any],
    ans: Any,
    *args: Any,
    cond: Program,
    body: Program,
    n_carry: int,
    n_cc: int,
) -> tuple[Any, ...]:
    n_bc = len(args) - n_carry - n_cc
    floats = [is_float(d) for _, d in body.in_avals]
    carry_t = [i for i in range(n_carry) if floats[i]]
    bc_t = [
        j for j in range(n_bc) if tangents[n_carry + n_cc + j] is not None and floats[n_carry + j]
    ]
    n_ct = len(carry_t)
    tan = [tangents[i] if tangents[i] is not None else ops.zeros(args[i]) for i in carry_t] + [
        tangents[n_carry + n_cc + j] for j in bc_t
    ]
    carry, cc, bc = args[:n_carry], args[n_carry : n_carry + n_cc], args[n_carry + n_cc :]
    examples = [example_value(x) for x in args]

    def build_cond() -> Program:
        def f(*flat: Any) -> list[Any]:
            return cond.interpret(*flat[:n_carry], *flat[n_carry + n_ct :])

        ex = (
            examples[:n_carry] + [examples[i] for i in carry_t] + examples[n_carry : n_carry + n_cc]
        )
        return trace_program(f, ex, cond.name + "_jvp").program

    def build_body() -> Program:
        def f(*flat: Any) -> list[Any]:
            primals = list(flat[:n_carry]) + list(flat[n_carry + n_ct : n_carry + n_ct + n_bc])
            tans = list(flat[n_carry : n_carry + n_ct]) + list(flat[n_carry + n_ct + n_bc :])
            idx = carry_t + [n_carry + j for j in bc_t]
            out, t_out = jvp_at(body.interpret, primals, idx, tans)
            return list(out) + [t_out[i] for i in carry_t]

        ex = (
            examples[:n_carry]
            + [examples[i] for i in carry_t]
            + examples[n_carry + n_cc :]
            + [example_value(t) for t in tan[n_ct:]]
        )
        return trace_program(f, ex, body.name + "_jvp").program

    jcond = cached(cond, ("jvp", n_ct), build_cond)
    jbody = cached(body, ("jvp", tuple(bc_t)), build_body)
    outs = while_bind(jcond, jbody, list(carry) + tan[:n_ct], list(cc), list(bc) + tan[n_ct:])
    t_out = iter(outs[n_carry:])
    ans_items = items(ans, n_carry)
    return tuple(next(t_out) if floats[i] else ops.zeros(ans_items[i]) for i in range(n_carry))


# ----- vmap ------------------------------------------------------------------------
def _while_batch(
    args: list[Any], dims: list[Any], *, cond: Program, body: Program, n_carry: int, n_cc: int
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    size = next(a.shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    batched = [d is not None for d in dims]
    cc_b = batched[n_carry : n_carry + n_cc]
    bc_b = batched[n_carry + n_cc :]
    carry_b = batched[:n_carry]
    while True:
        pred_b = depends(cond, carry_b + cc_b)[0]
        grown = [
            c or o or pred_b for c, o in zip(carry_b, depends(body, carry_b + bc_b), strict=True)
        ]
        if grown == carry_b:
            break
        carry_b = grown
    moved = []
    for i, (a, d) in enumerate(zip(args, dims, strict=True)):
        if i < n_carry and carry_b[i] and d is None:
            a = tnp.broadcast_to(a, (size,) + tuple(tnp.shape(a)))
        elif d is not None:
            a = tnp.moveaxis(a, d, 0)
        moved.append(a)
    carry, cc, bc = moved[:n_carry], moved[n_carry : n_carry + n_cc], moved[n_carry + n_cc :]
    examples = [example_value(x) for x in moved]
    axes = [0 if b else None for b in carry_b]
    cc_axes = [0 if b else None for b in cc_b]
    bc_axes = [0 if b else None for b in bc_b]
    vcond = vmap(lambda *xs: cond.interpret(*xs), in_axes=tuple(axes + cc_axes))
    vbody = vmap(lambda *xs: body.interpret(*xs), in_axes=tuple(axes + bc_axes), out_axes=axes)
    key = (tuple(carry_b), tuple(cc_b), tuple(bc_b), size)
    if not pred_b:

        def build_cond() -> Program:
            f = vmap(lambda *xs: cond.interpret(*xs), in_axes=tuple(axes + cc_axes), out_axes=None)
            return trace_program(f, examples[: n_carry + n_cc], cond.name + "_vmap").program

        def build_body() -> Program:
            ex = examples[:n_carry] + examples[n_carry + n_cc :]
            return trace_program(vbody, ex, body.name + "_vmap").program

        outs = while_bind(
            cached(cond, ("vmap",) + key, build_cond),
            cached(body, ("vmap",) + key, build_body),
            carry,
            cc,
            bc,
        )
        return tuple(outs), tuple(axes)

    # A batched predicate: loop while any example goes on; the others keep their carry.
    def build_any() -> Program:
        f = lambda *xs: tnp.any(vcond(*xs)[0])  # noqa: E731
        return trace_program(f, examples[: n_carry + n_cc], cond.name + "_any").program

    def build_masked() -> Program:
        def f(*xs: Any) -> list[Any]:
            c, b_consts, c_consts = xs[:n_carry], xs[n_carry : len(xs) - n_cc], xs[len(xs) - n_cc :]
            going = vcond(*c, *c_consts)[0]
            new = vbody(*c, *b_consts)
            return [
                tnp.where(tnp.reshape(going, (size,) + (1,) * (len(tnp.shape(o)) - 1)), n, o)
                for n, o in zip(new, c, strict=True)
            ]

        ex = examples[:n_carry] + examples[n_carry + n_cc :] + examples[n_carry : n_carry + n_cc]
        return trace_program(f, ex, body.name + "_masked").program

    outs = while_bind(
        cached(cond, ("any",) + key, build_any),
        cached(body, ("masked",) + key, build_masked),
        carry,
        cc,
        list(bc) + list(cc),
    )
    return tuple(outs), (0,) * n_carry


def _rebind(*args: Any, cond: Program, body: Program, n_carry: int, n_cc: int) -> tuple[Any, ...]:
    carry, cc, bc = args[:n_carry], args[n_carry : n_carry + n_cc], args[n_carry + n_cc :]
    return tuple(while_bind(cond, body, carry, cc, bc))


bind_with(while_p, _rebind)
defjvp_joint(while_p, _while_jvp)
defbatch(while_p, _while_batch)


# ----- reverse mode, values known: count, then scan --------------------------------
def _counted_scan(
    cond: Program, body: Program, carry: Sequence[Any], cc: Sequence[Any], bc: Sequence[Any]
) -> list[Any]:
    """The loop as a scan of the length it runs, found by running it once on the values."""
    n = len(carry)
    examples = [example_value(x) for x in [*carry, *cc, *bc]]

    def build_cond() -> Program:
        f = lambda *xs: cond.interpret(*xs[:n], *xs[n + 1 :])  # noqa: E731
        return trace_program(
            f, examples[:n] + [np.int64(0)] + examples[n : n + len(cc)], cond.name + "_n"
        ).program

    def build_body() -> Program:
        f = lambda *xs: body.interpret(*xs[:n], *xs[n + 1 :]) + [xs[n] + 1]  # noqa: E731
        ex = examples[:n] + [np.int64(0)] + examples[n + len(cc) :]
        return trace_program(f, ex, body.name + "_n").program

    stopped = stop_gradient([list(carry), list(cc), list(bc)])
    counted = _bind(
        cached(cond, "counting", build_cond),
        cached(body, "counting", build_body),
        stopped[0] + [np.int64(0)],
        stopped[1],
        stopped[2],
    )[n]
    raw = counted
    while type(raw) is Tracer:
        raw = raw._value
    length = int(np.max(raw)) if np.size(raw) else 0
    if type(counted) is not Tracer:  # one count for the whole loop: scan the body itself
        return scan_bind(body, carry, [], bc, length=length, reverse=False)

    # Counts that differ between the examples of a vmap: the body applies while i < count.
    def build_masked() -> Program:
        def f(*xs: Any) -> list[Any]:
            c, i, count, consts = xs[:n], xs[n], xs[n + 1], xs[n + 2 :]
            new = body.interpret(*c, *consts)
            return [tnp.where(i < count, a, b) for a, b in zip(new, c, strict=True)]

        ex = examples[:n] + [np.int64(0), np.int64(0)] + examples[n + len(cc) :]
        return trace_program(f, ex, body.name + "_upto").program

    return scan_bind(
        cached(body, "upto", build_masked),
        carry,
        [np.arange(length)],
        [counted, *bc],
        length=length,
        reverse=False,
    )


# ----- reverse mode under jit: record the iterations, replay them backwards --------
class History:
    """What ``lax.while_recording`` keeps: the residuals of each iteration, in order."""

    __slots__ = ("steps",)

    def __init__(self, steps: list[list[Any]]) -> None:
        self.steps = steps

    def __repr__(self) -> str:
        return f"<while_loop history of {len(self.steps)} iterations>"


def _recording_impl(
    *args: Any, cond: Program, forward: Program, n_carry: int, n_cc: int
) -> tuple[Any, ...]:
    carry = list(args[:n_carry])
    cc = args[n_carry : n_carry + n_cc]
    bc = args[n_carry + n_cc :]
    test, step = cond.compiled, forward.compiled
    steps = []
    while test(*carry, *cc)[0]:
        out = step(*carry, *bc)
        carry = out[:n_carry]
        steps.append(out[n_carry:])
    return (*carry, History(steps))


recording_p = primitive(_recording_impl, name="lax.while_recording")


def _replay_impl(
    history: History, *args: Any, backward: Program, n_ct: int, n_acc: int
) -> tuple[Any, ...]:
    """Arguments after the history: carry cotangents, constant-cotangent sums, then the
    loop constants the backward part reads."""
    ct = list(args[:n_ct])
    acc = list(args[n_ct : n_ct + n_acc])
    consts = args[n_ct + n_acc :]
    run = backward.compiled
    for stacked in reversed(history.steps):
        out = run(*ct, *acc, *stacked, *consts)
        ct, acc = out[:n_ct], out[n_ct:]
    return (*ct, *acc)


replay_p = primitive(_replay_impl, name="lax.while_replay")


def _recording_bind(
    cond: Program, body: Program, carry: Sequence[Any], cc: Sequence[Any], bc: Sequence[Any]
) -> list[Any]:
    n = len(carry)
    args = [*carry, *cc, *bc]
    mask = reverse_mask(args)
    assert mask is not None
    floats = [is_float(d) for _, d in body.in_avals]
    body_mask = mask[:n] + mask[n + len(cc) :]
    wrt = tuple(floats[i] if i < n else body_mask[i] for i in range(len(body.inputs)))
    examples = [example_value(x) for x in [*carry, *bc]]
    split = split_vjp(body, wrt, frozenset(range(n)), examples)
    out = recording_p(*args, cond=cond, forward=split.forward, n_carry=n, n_cc=len(cc))
    return items(out, n + 1)[:n]


def _recording_vjp(
    argnums: tuple[int, ...],
    ans: Any,
    *args: Any,
    cond: Program,
    forward: Program,
    n_carry: int,
    n_cc: int,
) -> Callable[[Any], list[Any]]:
    split = forward.split
    n = n_carry
    bc = args[n + n_cc :]
    outs = items(ans, n + 1)
    history = outs[n]
    carry_cts = [k for k in split.float_outputs if k < n]
    wrt_consts = [j for j in range(len(bc)) if split.wrt[n + j]]
    const_res = [i for kind, i in split.residuals if kind == "input"]
    n_ct, n_acc = len(carry_cts), len(wrt_consts)

    def build() -> Program:
        def f(*flat: Any) -> list[Any]:
            ct = flat[:n_ct]
            acc = flat[n_ct : n_ct + n_acc]
            st = flat[n_ct + n_acc : n_ct + n_acc + split.n_stacked]
            consts = dict(zip(const_res, flat[n_ct + n_acc + split.n_stacked :], strict=True))
            res = [st[i] if kind == "stacked" else consts[i] for kind, i in split.residuals]
            cts = split.backward.interpret(*res, *ct)
            return list(cts[:n_ct]) + [a + c for a, c in zip(acc, cts[n_ct:], strict=True)]

        avals = split.forward.out_avals
        steps = example_value(history).steps
        examples = (
            [np.zeros(*avals[k]) for k in carry_cts]
            + [np.zeros(*split.forward.in_avals[n + j]) for j in wrt_consts]
            + (list(steps[0]) if steps else [np.zeros(*a) for a in avals[n:]])
            + [example_value(bc[i - n]) for i in const_res]
        )
        return trace_program(f, examples, forward.name + "_replay").program

    def pull(g: Any) -> list[Any]:
        g = list(g)
        if g[n] is not None:
            raise _second_order_error()
        ct = [g[k] if g[k] is not None else ops.zeros(outs[k]) for k in carry_cts]
        acc = [ops.zeros(bc[j]) for j in wrt_consts]
        backward = cached(split.backward, "replay", build)
        result = items(
            replay_p(
                history,
                *ct,
                *acc,
                *[bc[i - n] for i in const_res],
                backward=backward,
                n_ct=n_ct,
                n_acc=n_acc,
            ),
            n_ct + n_acc,
        )
        found = dict(zip(carry_cts, result[:n_ct], strict=True))
        found.update({n + n_cc + j: c for j, c in zip(wrt_consts, result[n_ct:], strict=True)})
        return pick(found, argnums, args)

    return pull


def _second_order_error() -> NotImplementedError:
    return NotImplementedError(
        "this while_loop's trip count is not known while it is traced (it runs under "
        "tp.jit, or inside the body of another tapeflow.lax loop), so tapeflow "
        "differentiates it once in reverse mode, replaying the iterations it recorded; a "
        "second derivative, forward mode or vmap of that derivative is not supported. "
        "Differentiate outside tp.jit and outside other loops (the loop is then counted and "
        "differentiated as a scan, to any order), or use fori_loop or scan with a static "
        "trip count."
    )


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise _second_order_error()


defvjp_joint(recording_p, _recording_vjp)
defjvp_joint(recording_p, _refuse)
defbatch(recording_p, lambda args, dims, **kw: _refuse())
defvjp_joint(replay_p, lambda argnums, ans, *args, **kw: _refuse())
defjvp_joint(replay_p, _refuse)
defbatch(replay_p, lambda args, dims, **kw: _refuse())


# ----- the public functions --------------------------------------------------------
def while_loop(
    cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any], init_val: Any
) -> Any:
    """Repeat ``val = body_fun(val)`` while ``cond_fun(val)`` (jax.lax.while_loop).

    ``cond_fun`` returns a boolean scalar; ``body_fun`` keeps the structure, shapes and
    dtypes of the value. Both are traced once. Beyond JAX, reverse mode works: the
    iterations actually taken are differentiated (see the module notes).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> from tapeflow import lax
        >>> lax.while_loop(lambda x: x < 10.0, lambda x: x * 2.0, 1.0)
        np.float64(16.0)
        >>> tp.grad(lambda a: lax.while_loop(lambda x: x < 10.0, lambda x: x * a, 1.0))(2.0)
        np.float64(32.0)
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError("while_loop: cond_fun and body_fun must be callable")
    leaves, tree = tree_flatten(init_val)
    leaves = [as_operand(x) for x in leaves]
    n = len(leaves)
    examples = [example_value(x) for x in leaves]

    def cond_flat(*xs: Any) -> Any:
        pred = cond_fun(tree_unflatten(tree, list(xs)))
        shape, dtype = aval(pred)
        if shape != () or dtype.kind != "b":
            raise TypeError(
                f"while_loop: cond_fun must return a boolean scalar, got {dtype}{list(shape)}"
            )
        return pred

    def body_flat(*xs: Any) -> Any:
        out = body_fun(tree_unflatten(tree, list(xs)))
        out_leaves, out_tree = tree_flatten(out)
        if out_tree != tree:
            raise TypeError(
                "while_loop: body_fun must return a value with the structure of init_val "
                f"{tree}, but returned {out_tree}"
            )
        return out_leaves

    cond = trace_program(cond_flat, examples, "cond_" + getattr(cond_fun, "__name__", "fun"))
    body = trace_program(body_flat, examples, "body_" + getattr(body_fun, "__name__", "fun"))
    check_carry("while_loop", leaves, body.program, n, tree)
    outs = while_bind(cond.program, body.program, leaves, cond.captured, body.captured)
    return tree_unflatten(tree, outs)


def fori_loop(
    lower: Any,
    upper: Any,
    body_fun: Callable[[Any, Any], Any],
    init_val: Any,
    *,
    unroll: Any = None,
) -> Any:
    """Repeat ``val = body_fun(i, val)`` for ``i`` from ``lower`` to ``upper - 1``
    (jax.lax.fori_loop).

    With bounds known when called (Python or numpy integers) it is a :func:`scan`;
    with traced bounds, a :func:`while_loop`. Both are differentiable in reverse mode.

    Example:
        >>> from tapeflow import lax
        >>> lax.fori_loop(0, 5, lambda i, total: total + i, 0)
        np.int64(10)
    """
    if not callable(body_fun):
        raise TypeError("fori_loop: body_fun must be callable")
    for name, bound in (("lower", lower), ("upper", upper)):
        shape, dtype = aval(bound)
        if shape != () or dtype.kind not in "iu":
            raise TypeError(
                f"fori_loop: {name} must be an integer scalar, got {dtype}{list(shape)}"
            )
    if type(lower) is not Tracer and type(upper) is not Tracer:
        return fori_loop_scan(operator.index(lower), operator.index(upper), body_fun, init_val)
    dtype = np.result_type(aval(lower)[1], aval(upper)[1])

    def step(carry: Any) -> Any:
        i, stop, val = carry
        return i + np.asarray(1, dtype), stop, body_fun(i, val)

    start = tnp.asarray(lower).astype(dtype) if type(lower) is Tracer else np.asarray(lower, dtype)
    stop = tnp.asarray(upper).astype(dtype) if type(upper) is Tracer else np.asarray(upper, dtype)
    return while_loop(lambda c: c[0] < c[1], step, (start, stop, init_val))[2]
