"""``scan``: a loop over the leading axis of arrays, carrying a state, as one primitive.

``scan(f, init, xs)`` traces ``f`` once into a :class:`~tapeflow.lax.program.Program`
and binds the primitive ``lax.scan`` on the initial carry, the stacked inputs and the
values ``f`` reads from closures. Its rules turn a scan into scans:

* forward mode scans the body's JVP (carrying the tangents beside the carry);
* reverse mode, when the scan runs under a tape, scans the forward part of the body's
  VJP split (see :mod:`tapeflow.lax.derive`), which stacks the residuals as extra
  outputs; the backward pass scans the backward part in the other direction, carrying
  the carry's cotangent and summing the constants' cotangents;
* ``vmap`` scans the batched body, with the carry batched where it has to be.

Each of those scans is a ``lax.scan`` again, so the rules compose: ``grad`` of ``grad``,
``jvp`` of ``grad``, ``vmap`` of ``grad``, all under ``jit``. ``fori_loop`` with static
bounds and ``map`` are scans.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.arrays import ops
from tapeflow.core.primitive import defbatch, defjvp_joint, defvjp_joint, primitive
from tapeflow.core.pytree import tree_flatten, tree_flatten_with_path, tree_unflatten
from tapeflow.core.tracer import Tracer
from tapeflow.lax.derive import cached, depends, is_float, pick, reverse_mask, split_vjp
from tapeflow.lax.program import (
    Program,
    aval,
    bind_with,
    example_value,
    jvp_at,
    trace_program,
)
from tapeflow.numpy.items import items
from tapeflow.vmap import vmap

__all__ = ["scan", "scan_bind", "fori_loop_scan", "map", "check_carry", "as_operand"]


# ----- the primitive ---------------------------------------------------------------
def _scan_impl(
    *args: Any,
    body: Program,
    n_carry: int,
    n_xs: int,
    length: int,
    reverse: bool,
) -> tuple[Any, ...]:
    """Run ``body`` ``length`` times; arguments and body inputs: carry, xs, constants."""
    n_ys = len(body.outputs) - n_carry
    ys = [np.empty((length,) + shape, dtype) for shape, dtype in body.out_avals[n_carry:]]
    drive = _driver(n_carry, n_xs, len(args) - n_carry - n_xs, n_ys)
    order = range(length - 1, -1, -1) if reverse else range(length)
    return tuple(drive(body.compiled, order, *args, *ys)) + tuple(ys)


@functools.lru_cache(maxsize=256)
def _driver(n_carry: int, n_xs: int, n_consts: int, n_ys: int) -> Callable[..., list[Any]]:
    """The loop of a scan with these numbers of values, as generated code: one call of the
    compiled body per iteration, the carry and the outputs in local variables."""
    carry = [f"c{k}" for k in range(n_carry)]
    xs = [f"x{k}" for k in range(n_xs)]
    consts = [f"k{k}" for k in range(n_consts)]
    ys = [f"y{k}" for k in range(n_ys)]
    outs = [*carry, *[f"o{k}" for k in range(n_ys)]]
    call = ", ".join([*carry, *[f"{x}[i]" for x in xs], *consts])
    lines = [f"def drive(run, order, {', '.join([*carry, *xs, *consts, *ys, ''])}):"]
    lines.append("    for i in order:")
    if outs:
        lines.append(f"        {', '.join(outs)}, = run({call})")
    else:
        lines.append(f"        run({call})")
    lines += [f"        y{k}[i] = o{k}" for k in range(n_ys)]
    lines.append(f"    return [{', '.join(carry)}]")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines) + "\n", "<tapeflow.lax scan loop>", "exec"), namespace)
    return namespace["drive"]  # type: ignore[no-any-return]


scan_p = primitive(_scan_impl, name="lax.scan")


def scan_bind(
    body: Program,
    carry: Sequence[Any],
    xs: Sequence[Any],
    consts: Sequence[Any],
    *,
    length: int,
    reverse: bool,
) -> list[Any]:
    """Bind ``lax.scan``; under reverse mode with the forward part of the body's VJP split,
    so that the tape's record holds the stacked residuals. Returns the final carry
    followed by the stacked outputs."""
    args = [*carry, *xs, *consts]
    n_carry, n_xs = len(carry), len(xs)
    mask = reverse_mask(args)
    n_out = len(body.outputs)
    if mask is not None:
        wrt = tuple(
            is_float(body.in_avals[i][1]) if i < n_carry else mask[i] for i in range(len(args))
        )
        split = split_vjp(body, wrt, frozenset(range(n_carry)), _examples(args, n_carry, n_xs))
        body = split.forward
    result = scan_p(*args, body=body, n_carry=n_carry, n_xs=n_xs, length=length, reverse=reverse)
    return items(result, len(body.outputs))[:n_out]


def _examples(args: Sequence[Any], n_carry: int, n_xs: int) -> list[Any]:
    """Plain values of a scan body's inputs for tracing: the carry, the first slice of each
    ``x`` (zeros when the scan is empty), the constants."""
    out = []
    for i, a in enumerate(args):
        v = example_value(a)
        if n_carry <= i < n_carry + n_xs:
            v = np.asarray(v)
            v = v[0] if v.shape[0] else np.zeros(v.shape[1:], v.dtype)
        out.append(v)
    return out


# ----- forward mode ----------------------------------------------------------------
def _scan_jvp(
    tangents: list[Any],
    ans: Any,
    *args: Any,
    body: Program,
    n_carry: int,
    n_xs: int,
    length: int,
    reverse: bool,
) -> tuple[Any, ...]:
    n_args = len(args)
    floats = [is_float(a[1]) for a in body.in_avals]
    # Every float carry gets a tangent: the body may make it depend on a traced input.
    has = tuple(floats[i] and (i < n_carry or tangents[i] is not None) for i in range(n_args))
    groups = [(0, n_carry), (n_carry, n_carry + n_xs), (n_carry + n_xs, n_args)]
    examples = _examples(args, n_carry, n_xs)
    tan = [
        (tangents[i] if tangents[i] is not None else ops.zeros(args[i])) if has[i] else None
        for i in range(n_args)
    ]
    tan_examples = _examples(
        [t if t is not None else a for t, a in zip(tan, args, strict=True)], n_carry, n_xs
    )

    def build() -> Program:
        out_floats = [is_float(d) for _, d in body.out_avals]

        def f(*flat: Any) -> list[Any]:
            it = iter(flat)
            primals: list[Any] = [None] * n_args
            tans: dict[int, Any] = {}
            for lo, hi in groups:  # each group: its values, then the tangents it has
                for i in range(lo, hi):
                    primals[i] = next(it)
                for i in range(lo, hi):
                    if has[i]:
                        tans[i] = next(it)
            idx = sorted(tans)
            out, t_out = jvp_at(body.interpret, primals, idx, [tans[i] for i in idx])
            t_floats = [t for t, fl in zip(t_out, out_floats, strict=True) if fl]
            n_fc = sum(out_floats[:n_carry])
            out = list(out)
            return out[:n_carry] + t_floats[:n_fc] + out[n_carry:] + t_floats[n_fc:]

        flat_examples = []
        for lo, hi in groups:
            flat_examples += examples[lo:hi] + [tan_examples[i] for i in range(lo, hi) if has[i]]
        return trace_program(f, flat_examples, body.name + "_jvp").program

    jbody = cached(body, ("jvp", has), build)
    parts = []
    for lo, hi in groups:
        parts.append(list(args[lo:hi]) + [tan[i] for i in range(lo, hi) if has[i]])
    n_tc = sum(has[:n_carry])
    outs = scan_bind(jbody, parts[0], parts[1], parts[2], length=length, reverse=reverse)
    out_floats = [is_float(d) for _, d in body.out_avals]
    n_fc = sum(out_floats[:n_carry])
    carry_t = iter(outs[n_carry : n_carry + n_tc])
    ys_t = iter(outs[n_carry + n_tc + len(body.outputs) - n_carry :])
    ans_items = items(ans, len(body.outputs))
    result = []
    for k, fl in enumerate(out_floats):
        if not fl:
            result.append(ops.zeros(ans_items[k]))
        elif k < n_carry:
            result.append(next(carry_t))
        else:
            result.append(next(ys_t))
    assert n_fc == n_tc
    return tuple(result)


# ----- reverse mode ----------------------------------------------------------------
def _scan_vjp(
    argnums: tuple[int, ...],
    ans: Any,
    *args: Any,
    body: Program,
    n_carry: int,
    n_xs: int,
    length: int,
    reverse: bool,
) -> Callable[[Any], list[Any]]:
    n_outputs = len(body.outputs)
    ans_items = items(ans, n_outputs)
    own = body.split  # set when the body is a split's forward part: ans holds residuals

    def pull(g: Any) -> list[Any]:
        g = list(g)
        if own is not None and all(c is None for c in g[n_outputs - own.n_stacked :]):
            split, n_body = own, n_outputs - own.n_stacked
            stacked = ans_items[n_body:]
        else:
            # No residuals kept (a scan that no tape saw when it was bound), or the
            # residuals themselves have cotangents (a higher derivative): differentiate the
            # body as it is, computing its residuals again.
            floats = [is_float(a[1]) for a in body.in_avals]
            wrt = tuple(floats[i] and (i < n_carry or i in argnums) for i in range(len(args)))
            if own is not None:
                wrt = tuple(w or o for w, o in zip(wrt, own.wrt, strict=True))
            examples = _examples(args, n_carry, n_xs)
            split = split_vjp(body, wrt, frozenset(range(n_carry)), examples)
            n_body = n_outputs
            kw = dict(n_carry=n_carry, n_xs=n_xs, length=length, reverse=reverse)
            again = scan_p(*args, body=split.forward, **kw)
            stacked = items(again, n_body + split.n_stacked)[n_body:]
        cts = _pull_back(
            split, stacked, g[:n_body], ans_items, args, n_carry, n_xs, length, reverse
        )
        return pick(cts, argnums, args)

    return pull


def _pull_back(
    split: Any,
    stacked: list[Any],
    g: list[Any],
    ans_items: list[Any],
    args: tuple[Any, ...],
    n_carry: int,
    n_xs: int,
    length: int,
    reverse: bool,
) -> dict[int, Any]:
    """The cotangents of a scan's inputs (by argument number) from those of its outputs
    ``g``: a scan of the split's backward part over ``stacked``, in the other direction."""
    n_args = len(args)
    wrt = split.wrt
    carry_cts = [k for k in split.float_outputs if k < n_carry]
    y_cts = [k for k in split.float_outputs if k >= n_carry]
    wrt_xs = [i for i in range(n_carry, n_carry + n_xs) if wrt[i]]
    wrt_consts = [i for i in range(n_carry + n_xs, n_args) if wrt[i]]
    x_res = [i for kind, i in split.residuals if kind == "input" and i < n_carry + n_xs]
    const_res = [i for kind, i in split.residuals if kind == "input" and i >= n_carry + n_xs]
    n_fc, n_wc, n_st = len(carry_cts), len(wrt_consts), split.n_stacked
    out_avals = split.forward.out_avals

    def build() -> Program:
        def f(*flat: Any) -> list[Any]:
            it = iter(flat)
            ct_h = [next(it) for _ in carry_cts]
            acc = [next(it) for _ in wrt_consts]
            st = [next(it) for _ in range(n_st)]
            inputs = {i: next(it) for i in x_res}
            ct_y = [next(it) for _ in y_cts]
            inputs.update({i: next(it) for i in const_res})
            res = [st[i] if kind == "stacked" else inputs[i] for kind, i in split.residuals]
            cts = split.backward.interpret(*res, *ct_h, *ct_y)
            prev: list[Any] = cts[:n_fc]
            ct_x = cts[n_fc : n_fc + len(wrt_xs)]
            ct_c = cts[n_fc + len(wrt_xs) :]
            return prev + [a + c for a, c in zip(acc, ct_c, strict=True)] + list(ct_x)

        examples = (
            [np.zeros(*out_avals[k]) for k in carry_cts]
            + [np.zeros(*split.forward.in_avals[i]) for i in wrt_consts]
            + [_first(s) for s in stacked]
            + [_first(args[i]) for i in x_res]
            + [np.zeros(*out_avals[k]) for k in y_cts]
            + [example_value(args[i]) for i in const_res]
        )
        return trace_program(f, examples, split.forward.name + "_bwd").program

    ct_h = [g[k] if g[k] is not None else ops.zeros(ans_items[k]) for k in carry_cts]
    ct_y = [g[k] if g[k] is not None else ops.zeros(ans_items[k]) for k in y_cts]
    acc = [ops.zeros(args[i]) for i in wrt_consts]
    bbody = cached(split.backward, ("scan", n_carry, n_xs), build)
    outs = scan_bind(
        bbody,
        ct_h + acc,
        list(stacked) + [args[i] for i in x_res] + ct_y,
        [args[i] for i in const_res],
        length=length,
        reverse=not reverse,
    )
    ct_of: dict[int, Any] = {}
    for k, i in enumerate(i for i in range(n_carry) if wrt[i]):
        ct_of[i] = outs[k]
    for k, i in enumerate(wrt_consts):
        ct_of[i] = outs[n_fc + k]
    for k, i in enumerate(wrt_xs):
        ct_of[i] = outs[n_fc + n_wc + k]
    return ct_of


def _first(x: Any) -> Any:
    v = np.asarray(example_value(x))
    return v[0] if v.shape[0] else np.zeros(v.shape[1:], v.dtype)


# ----- vmap ------------------------------------------------------------------------
def _scan_batch(
    args: list[Any],
    dims: list[Any],
    *,
    body: Program,
    n_carry: int,
    n_xs: int,
    length: int,
    reverse: bool,
) -> Any:
    size = next(a.shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    batched = [d is not None for d in dims]
    carry_b = batched[:n_carry]
    while True:  # a carry is batched when its update reads a batched value
        mask = carry_b + batched[n_carry:]
        out_b = depends(body, mask)
        grown = [c or o for c, o in zip(carry_b, out_b[:n_carry], strict=True)]
        if grown == carry_b:
            break
        carry_b = grown
    moved = []
    for i, (a, d) in enumerate(zip(args, dims, strict=True)):
        if i < n_carry and carry_b[i] and d is None:
            a = tnp.broadcast_to(a, (size,) + tuple(tnp.shape(a)))
        elif d is not None:
            a = tnp.moveaxis(a, d, 1 if n_carry <= i < n_carry + n_xs else 0)
        moved.append(a)
    out_axes = [0 if b else None for b in out_b]
    examples = _examples(moved, n_carry, n_xs)

    def build() -> Program:
        in_axes = tuple(0 if m else None for m in mask)
        fun = vmap(lambda *flat: body.interpret(*flat), in_axes=in_axes, out_axes=out_axes)
        return trace_program(fun, examples, body.name + "_vmap").program

    vbody = cached(body, ("vmap", tuple(mask), size), build)
    outs = scan_bind(
        vbody,
        moved[:n_carry],
        moved[n_carry : n_carry + n_xs],
        moved[n_carry + n_xs :],
        length=length,
        reverse=reverse,
    )
    out_dims = tuple((0 if k < n_carry else 1) if b else None for k, b in enumerate(out_b))
    return tuple(outs), out_dims


def _rebind(
    *args: Any, body: Program, n_carry: int, n_xs: int, length: int, reverse: bool
) -> tuple[Any, ...]:
    split = body.split
    n_outputs = len(body.outputs)
    if split is not None:  # the forward part of a split: its residuals are outputs too
        return tuple(
            items(
                scan_p(
                    *args, body=body, n_carry=n_carry, n_xs=n_xs, length=length, reverse=reverse
                ),
                n_outputs,
            )
        )
    outs = scan_bind(
        body,
        args[:n_carry],
        args[n_carry : n_carry + n_xs],
        args[n_carry + n_xs :],
        length=length,
        reverse=reverse,
    )
    return tuple(outs)


bind_with(scan_p, _rebind)
defjvp_joint(scan_p, _scan_jvp)
defvjp_joint(scan_p, _scan_vjp)
defbatch(scan_p, _scan_batch)


# ----- the public functions --------------------------------------------------------
def as_operand(x: Any) -> Any:
    """A leaf of a loop's carry or inputs: traced values as they are, others as arrays."""
    return x if type(x) is Tracer else np.asarray(x)


def check_carry(what: str, init: Any, program: Program, n: int, tree: Any) -> None:
    """Raise when the body's new carry differs from the carry it got in shape or dtype,
    naming the leaf (the first ``n`` outputs of ``program`` are the new carry)."""
    paths = [p for p, _ in tree_flatten_with_path(tree_unflatten(tree, list(range(n))))[0]]
    for path, leaf, (shape, dtype) in zip(paths, init, program.out_avals[:n], strict=True):
        in_shape, in_dtype = aval(leaf)
        if in_shape != shape or in_dtype != dtype:
            where = path or "the carry"
            raise TypeError(
                f"{what}: the carry at {where} enters the body as {in_dtype}{list(in_shape)} but "
                f"comes out as {dtype}{list(shape)}; the carry must keep its shape and dtype "
                f"(cast inside the body, or give the initial value that type)"
            )


def _check_structure(what: str, got: Any, expected: Any) -> None:
    if got != expected:
        raise TypeError(
            f"{what}: the body must return a carry with the structure of the initial carry "
            f"{expected}, but returned {got}"
        )


def scan(
    f: Callable[[Any, Any], tuple[Any, Any]],
    init: Any,
    xs: Any = None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
) -> tuple[Any, Any]:
    """Loop ``f(carry, x) -> (carry, y)`` over the leading axis of ``xs`` (jax.lax.scan).

    Returns ``(final carry, stacked ys)``. ``init``, ``xs`` and the outputs may be
    pytrees; ``xs=None`` with ``length`` loops without inputs. ``f`` is traced once, so
    Python control flow in it cannot depend on array values (use :func:`cond`), and the
    carry must keep its structure, shapes and dtypes. Every transform applies, and under
    ``tp.jit`` the compiled program loops over one copy of the body. ``unroll`` is
    accepted for compatibility; the results do not depend on it.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> from tapeflow import lax
        >>> lax.scan(lambda c, x: (c + x, c * x), 0.0, np.arange(1.0, 4.0))
        (np.float64(6.0), array([0., 2., 9.]))
        >>> tp.grad(lambda w: lax.scan(lambda c, x: (c * w + x, None), 0.0, np.ones(3))[0])(2.0)
        np.float64(5.0)
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__}")
    if isinstance(unroll, bool):
        unroll = 1
    if operator.index(unroll) < 1:
        raise ValueError(f"scan: unroll must be a positive integer, got {unroll!r}")
    xs_leaves, xs_tree = tree_flatten(xs)
    xs_leaves = [as_operand(x) for x in xs_leaves]
    length = _scan_length(xs, xs_leaves, length)
    init_leaves, carry_tree = tree_flatten(init)
    init_leaves = [as_operand(x) for x in init_leaves]
    n_carry = len(init_leaves)
    y_trees: list[Any] = []

    def body(*flat: Any) -> list[Any]:
        carry = tree_unflatten(carry_tree, list(flat[:n_carry]))
        x = tree_unflatten(xs_tree, list(flat[n_carry:]))
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise TypeError(
                "scan: f must return a pair (new carry, y), got "
                f"{type(out).__name__}{'' if not isinstance(out, (tuple, list)) else len(out)}"
            )
        new_leaves, new_tree = tree_flatten(out[0])
        _check_structure("scan", new_tree, carry_tree)
        y_leaves, y_tree = tree_flatten(out[1])
        y_trees.append(y_tree)
        return new_leaves + y_leaves

    examples = _examples(init_leaves + xs_leaves, n_carry, len(xs_leaves))
    traced = trace_program(body, examples, "scan_" + getattr(f, "__name__", "body"))
    check_carry("scan", init_leaves, traced.program, n_carry, carry_tree)
    outs = scan_bind(
        traced.program,
        init_leaves,
        xs_leaves,
        traced.captured,
        length=length,
        reverse=bool(reverse),
    )
    return tree_unflatten(carry_tree, outs[:n_carry]), tree_unflatten(y_trees[0], outs[n_carry:])


def _scan_length(xs: Any, leaves: list[Any], length: int | None) -> int:
    paths = [p for p, _ in tree_flatten_with_path(xs)[0]]
    sizes = []
    for path, x in zip(paths, leaves, strict=True):
        shape = tnp.shape(x)
        if not shape:
            raise ValueError(
                f"scan: the input at {path or 'xs'} is a scalar; every leaf of xs needs "
                "a leading axis to loop over"
            )
        sizes.append((shape[0], path or "xs"))
    if length is not None:
        length = operator.index(length)
        if length < 0:
            raise ValueError(f"scan: length must be non-negative, got {length}")
    for n, where in sizes:
        if length is None:
            length = n
        elif n != length:
            first = f"{sizes[0][1]} has {sizes[0][0]}" if sizes[0][0] != n else f"length={length}"
            raise ValueError(
                f"scan: the inputs have different lengths along the leading axis: {first}, but "
                f"{where} has {n}"
            )
    if length is None:
        raise ValueError("scan: with no xs, give the number of iterations as length=")
    return length


def fori_loop_scan(lower: int, upper: int, body_fun: Callable[..., Any], init_val: Any) -> Any:
    """``fori_loop`` with static bounds: a scan over the indices (so reverse mode
    differentiates it)."""
    index_dtype = np.result_type(np.asarray(lower), np.asarray(upper))
    indices = np.arange(lower, max(upper, lower), dtype=index_dtype)
    return scan(lambda val, i: (body_fun(i, val), None), init_val, indices)[0]


def map(f: Callable[[Any], Any], xs: Any, *, batch_size: int | None = None) -> Any:  # noqa: A001
    """``f`` applied to each slice of ``xs`` along its leading axis, stacked (jax.lax.map).

    A scan without a carry. With ``batch_size``, ``f`` runs ``vmap``-ed on that many
    slices at a time (the remainder in one last call).

    Example:
        >>> import numpy as np
        >>> from tapeflow import lax
        >>> lax.map(lambda x: x @ x, np.arange(6.0).reshape(3, 2))
        array([ 1., 13., 41.])
    """
    if batch_size is None:
        return scan(lambda _, x: (None, f(x)), None, xs)[1]
    batch_size = operator.index(batch_size)
    if batch_size < 1:
        raise ValueError(f"map: batch_size must be a positive integer, got {batch_size}")
    leaves, tree = tree_flatten(xs)
    n = _scan_length(xs, [as_operand(x) for x in leaves], None)
    whole = n // batch_size * batch_size
    vf = vmap(f)
    parts = []
    if whole:
        blocks = [
            tnp.reshape(x[:whole], (whole // batch_size, batch_size) + tuple(tnp.shape(x))[1:])
            for x in leaves
        ]
        ys = scan(lambda _, b: (None, vf(b)), None, tree_unflatten(tree, blocks))[1]
        parts.append(_unblock(ys))
    if whole < n:
        parts.append(vf(tree_unflatten(tree, [x[whole:] for x in leaves])))
    if len(parts) == 1:
        return parts[0]
    flat = [tree_flatten(p) for p in parts]
    return tree_unflatten(
        flat[0][1],
        [tnp.concatenate([a, b]) for a, b in zip(flat[0][0], flat[1][0], strict=True)],
    )


def _unblock(ys: Any) -> Any:
    leaves, tree = tree_flatten(ys)
    return tree_unflatten(tree, [tnp.reshape(y, (-1,) + tuple(tnp.shape(y))[2:]) for y in leaves])
