"""``cond`` and ``switch``: run one of several branches, chosen by a traced value.

Every branch is traced once into a :class:`~tapeflow.lax.program.Program` with the same
inputs (the operands, then the values any branch reads from a closure) and outputs of
the same types; the primitive ``lax.cond`` runs the one its index picks. Its rules:

* forward mode picks among the branches' JVPs;
* reverse mode picks among the branches' VJPs in the backward pass (each computes its
  branch's forward part again: only the operands are kept);
* ``vmap`` with the index the same for every example picks among batched branches; with
  a batched index, every branch runs on the whole batch and each example takes its own
  branch's result, as in JAX.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.arrays import ops
from tapeflow.core.primitive import defbatch, defjvp_joint, defvjp_joint, primitive
from tapeflow.core.pytree import tree_flatten, tree_flatten_with_path, tree_unflatten
from tapeflow.core.tracer import Tracer
from tapeflow.lax.derive import cached, is_float, pick
from tapeflow.lax.program import Program, aval, example_value, jvp_at, trace_program, vjp_at
from tapeflow.lax.scan import as_operand
from tapeflow.numpy.items import items
from tapeflow.vmap import vmap

__all__ = ["cond", "switch", "select", "select_n"]


def _cond_impl(index: Any, *operands: Any, branches: tuple[Program, ...]) -> tuple[Any, ...]:
    return tuple(branches[int(index)].compiled(*operands))


cond_p = primitive(_cond_impl, name="lax.cond")


def _bind(index: Any, operands: Sequence[Any], branches: tuple[Program, ...]) -> list[Any]:
    return items(cond_p(index, *operands, branches=branches), len(branches[0].outputs))


def _derived(
    branches: tuple[Program, ...], key: Any, build: Callable[[Program], Program]
) -> tuple[Program, ...]:
    return tuple(cached(b, key, functools.partial(build, b)) for b in branches)


# ----- forward mode ----------------------------------------------------------------
def _cond_jvp(
    tangents: list[Any], ans: Any, index: Any, *operands: Any, branches: tuple[Program, ...]
) -> tuple[Any, ...]:
    n = len(operands)
    has = tuple(tangents[1 + i] is not None for i in range(n))
    idx = [i for i in range(n) if has[i]]
    out_floats = [is_float(d) for _, d in branches[0].out_avals]
    examples = [example_value(x) for x in operands]
    t_examples = [example_value(tangents[1 + i]) for i in idx]

    def build(branch: Program) -> Program:
        def f(*flat: Any) -> list[Any]:
            out, t_out = jvp_at(branch.interpret, flat[:n], idx, flat[n:])
            return list(out) + [t for t, fl in zip(t_out, out_floats, strict=True) if fl]

        return trace_program(f, examples + t_examples, branch.name + "_jvp").program

    jbranches = _derived(branches, ("jvp", has), build)
    outs = _bind(index, list(operands) + [tangents[1 + i] for i in idx], jbranches)
    n_out = len(out_floats)
    t_out = iter(outs[n_out:])
    ans_items = items(ans, n_out)
    return tuple(
        next(t_out) if fl else ops.zeros(a) for fl, a in zip(out_floats, ans_items, strict=True)
    )


# ----- reverse mode ----------------------------------------------------------------
def _cond_vjp(
    argnums: tuple[int, ...], ans: Any, index: Any, *operands: Any, branches: tuple[Program, ...]
) -> Callable[[Any], list[Any]]:
    n = len(operands)
    wrt = tuple(i for i in range(n) if 1 + i in argnums)
    out_avals = branches[0].out_avals
    floats = [k for k, (_, d) in enumerate(out_avals) if is_float(d)]
    ans_items = items(ans, len(out_avals))

    def build(branch: Program) -> Program:
        def f(*flat: Any) -> list[Any]:
            _, pull = vjp_at(branch.interpret, flat[:n], wrt)
            cts = [np.zeros(shape, dtype) for shape, dtype in out_avals]
            for k, c in zip(floats, flat[n:], strict=True):
                cts[k] = c
            return list(pull(cts))

        examples = [example_value(x) for x in operands] + [np.zeros(*out_avals[k]) for k in floats]
        return trace_program(f, examples, branch.name + "_vjp").program

    def pull(g: Any) -> list[Any]:
        g = list(g)
        cts = [g[k] if g[k] is not None else ops.zeros(ans_items[k]) for k in floats]
        vbranches = _derived(branches, ("vjp", wrt), build)
        found = dict(zip(wrt, _bind(index, list(operands) + cts, vbranches), strict=True))
        return pick({a + 1: c for a, c in found.items()}, argnums, (index, *operands))

    return pull


# ----- vmap ------------------------------------------------------------------------
def _cond_batch(
    args: list[Any], dims: list[Any], *, branches: tuple[Program, ...]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    size = next(a.shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    index, operands = args[0], args[1:]
    in_axes = tuple(dims[1:])
    n_out = len(branches[0].out_avals)
    if dims[0] is None:
        examples = [example_value(x) for x in operands]

        def build(branch: Program) -> Program:
            fun = vmap(lambda *xs: branch.interpret(*xs), in_axes=in_axes, out_axes=0)
            return trace_program(fun, examples, branch.name + "_vmap").program

        vbranches = _derived(branches, ("vmap", in_axes, size), build)
        return tuple(_bind(index, operands, vbranches)), (0,) * n_out
    # A batched index: every branch runs on the whole batch, each example picks its own.
    index = tnp.moveaxis(index, dims[0], 0)
    results = [
        vmap(lambda *xs, b=b: b.interpret(*xs), in_axes=in_axes, out_axes=0)(*operands)
        if any(d is not None for d in in_axes)
        else [tnp.broadcast_to(o, (size,) + tuple(tnp.shape(o))) for o in b.interpret(*operands)]
        for b in branches
    ]
    picked = []
    for k in range(n_out):
        choices = [r[k] for r in results]
        which = tnp.reshape(index, (size,) + (1,) * (len(tnp.shape(choices[0])) - 1))
        picked.append(select_n(which, *choices))
    return tuple(picked), (0,) * n_out


defjvp_joint(cond_p, _cond_jvp)
defvjp_joint(cond_p, _cond_vjp)
defbatch(cond_p, _cond_batch)


# ----- the public functions --------------------------------------------------------
def _trace_branches(
    what: str,
    funs: Sequence[Callable[..., Any]],
    operands: tuple[Any, ...],
    names: Sequence[str] | None = None,
) -> tuple[tuple[Program, ...], list[Any], Any]:
    """Trace every branch on the operands; give them the same inputs (the operands, then
    every value some branch captured) and check that their outputs have the same types."""
    leaves, in_tree = tree_flatten(operands)
    leaves = [as_operand(x) for x in leaves]
    examples = [example_value(x) for x in leaves]
    traced = []
    for fun in funs:
        traced.append(
            trace_program(
                lambda *xs, fun=fun: fun(*tree_unflatten(in_tree, list(xs))),
                examples,
                what + "_" + getattr(fun, "__name__", "branch"),
            )
        )
    first = traced[0]
    for k, t in enumerate(traced[1:], start=1):
        _check_same(what, names or [f"branch {i}" for i in range(len(funs))], first, t, k)
    captured: dict[int, Any] = {}
    for t in traced:
        for c in t.captured:
            captured.setdefault(id(c), c)
    n = len(leaves)
    programs = []
    for t in traced:
        own = dict(zip((id(c) for c in t.captured), t.program.inputs[n:], strict=True))
        inputs = list(t.program.inputs[:n])
        for key, value in captured.items():
            slot = own.get(key)
            if slot is None:  # read by another branch only: an input this one ignores
                slot = t.trace.new_slot()
                t.trace.avals[slot] = aval(value)
            inputs.append(slot)
        programs.append(
            Program(
                t.trace,
                range(len(t.trace.instructions)),
                inputs,
                t.program.outputs,
                t.program.out_avals,
                t.program.name,
            )
        )
    return tuple(programs), leaves + list(captured.values()), first.out_tree


def _check_same(what: str, names: Sequence[str], first: Any, other: Any, k: int) -> None:
    def name(i: int) -> str:
        return names[i]

    if other.out_tree != first.out_tree:
        raise TypeError(
            f"{what}: the branches must return the same structure, but {name(0)} returns "
            f"{first.out_tree} and {name(k)} returns {other.out_tree}"
        )
    paths = [
        p
        for p, _ in tree_flatten_with_path(
            tree_unflatten(first.out_tree, [0] * len(first.program.out_avals))
        )[0]
    ]
    for path, (s0, d0), (s1, d1) in zip(
        paths, first.program.out_avals, other.program.out_avals, strict=True
    ):
        if s0 != s1 or d0 != d1:
            raise TypeError(
                f"{what}: the branches must return the same types, but at "
                f"{path or 'the output'} {name(0)} returns {d0}{list(s0)} and "
                f"{name(k)} returns {d1}{list(s1)}"
            )


def _scalar_index(what: str, x: Any, kinds: str, expected: str) -> Any:
    x = as_operand(x)
    shape, dtype = aval(x)
    if shape != () or dtype.kind not in kinds:
        raise TypeError(f"{what}: the {expected} must be a scalar, got {dtype}{list(shape)}")
    return x


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """Apply ``branches[index]`` to ``operands`` (jax.lax.switch).

    ``index`` is an integer scalar, clamped to the valid range as in JAX. Every branch
    is traced, and all must return the same structure, shapes and dtypes.

    Example:
        >>> import numpy as np
        >>> from tapeflow import lax
        >>> lax.switch(1, [lambda x: x + 1.0, lambda x: x * 10.0], np.float64(2.0))
        np.float64(20.0)
    """
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError("switch: branches must be a non-empty sequence of callables")
    index = _scalar_index("switch", index, "iub", "index an integer")
    if type(index) is Tracer:
        index = tnp.clip(index, 0, len(branches) - 1)
    else:
        index = np.clip(index, 0, len(branches) - 1)
    programs, args, out_tree = _trace_branches("switch", branches, operands)
    return tree_unflatten(out_tree, _bind(index, args, programs))


def cond(
    pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any], *operands: Any
) -> Any:
    """``true_fun(*operands)`` if ``pred`` else ``false_fun(*operands)`` (jax.lax.cond).

    ``pred`` is a boolean scalar. Both branches are traced and must return the same
    structure, shapes and dtypes. Under ``vmap`` with a batched ``pred`` both branches
    run and each example takes its own result, as in JAX.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> from tapeflow import lax
        >>> f = lambda x: lax.cond(x > 0, lambda x: x * x, lambda x: -x, x)
        >>> f(3.0), tp.grad(f)(3.0), tp.grad(f)(-3.0)
        (np.float64(9.0), np.float64(6.0), np.float64(-1.0))
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("cond: true_fun and false_fun must be callable")
    pred = _scalar_index("cond", pred, "b", "predicate a boolean")
    programs, args, out_tree = _trace_branches(
        "cond", [false_fun, true_fun], operands, ["false_fun", "true_fun"]
    )
    return tree_unflatten(out_tree, _bind(pred, args, programs))


def select_n(which: Any, *cases: Any) -> Any:
    """``cases[which]`` elementwise (jax.lax.select_n): ``which`` is boolean (two cases) or
    integer, broadcast against the cases, which share one shape and dtype.

    Example:
        >>> import numpy as np
        >>> from tapeflow import lax
        >>> lax.select_n(np.array([0, 2, 1]), np.zeros(3), np.ones(3), np.full(3, 2.0))
        array([0., 2., 1.])
    """
    if not cases:
        raise ValueError("select_n: give at least one case")
    first = aval(cases[0])
    for k, c in enumerate(cases[1:], start=1):
        if aval(c) != first:
            s, d = aval(c)
            raise TypeError(
                f"select_n: the cases must have one shape and dtype, but case 0 is "
                f"{first[1]}{list(first[0])} and case {k} is {d}{list(s)}"
            )
    out = cases[-1]
    for k in range(len(cases) - 2, -1, -1):
        out = tnp.where(tnp.equal(which, k), cases[k], out)
    return out


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """``on_true`` where ``pred`` else ``on_false``, elementwise (jax.lax.select).

    ``pred`` is boolean with the shape of the cases (or a scalar); the cases share one
    shape and dtype. Differentiable in both cases.

    Example:
        >>> import numpy as np
        >>> from tapeflow import lax
        >>> lax.select(np.array([True, False]), np.ones(2), np.zeros(2))
        array([1., 0.])
    """
    shape, dtype = aval(pred)
    if dtype.kind != "b":
        raise TypeError(f"select: the predicate must be boolean, got {dtype}{list(shape)}")
    s, d = aval(on_true)
    if shape not in ((), s):
        raise TypeError(
            f"select: the predicate has shape {list(shape)} but the cases have {list(s)}; it "
            "must be a scalar or have their shape"
        )
    return select_n(pred, on_false, on_true)
