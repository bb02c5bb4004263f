"""Reverse-mode transforms: ``vjp``, ``grad`` and ``value_and_grad``.

Each call wraps the differentiated arguments in tracers on a fresh
:class:`~tapeflow.core.tape.Tape`, runs the user's function once, and replays the
tape backwards from the output cotangent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapeflow.arguments import (
    check_args_differentiable,
    check_differentiable,
    checked_argnums,
    float0,
    is_int_like,
    named_like,
    none_message,
    split_aux,
)
from tapeflow.core.hints import note_plain_at
from tapeflow.core.leaves import a_or_an, leaf_dtype, value_shape
from tapeflow.core.pytree import (
    LEAF_DEF,
    PyTreeDef,
    flatten_into,
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_unflatten,
)
from tapeflow.core.tape import Tape, pull_back
from tapeflow.core.trace import gc_paused, pop_trace, push_trace
from tapeflow.core.tracer import Tracer

__all__ = ["vjp", "grad", "value_and_grad"]


# ----- the engine -------------------------------------------------------------
def _record(
    fun: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    nums: tuple[int, ...],
    single: bool,
    in_leaves: list[Any],
    in_tree: PyTreeDef,
    has_aux: bool,
    name: str,
) -> tuple[Any, Tape, list[Any], PyTreeDef, Any]:
    """Run ``fun(*args, **kwargs)`` with the arguments named by ``nums`` traced on a new tape.

    ``in_leaves``/``in_tree`` are those arguments flattened: the one argument itself
    when ``single``, else the tuple of them. Returns (output pytree of plain values,
    tape, output leaves as traced, output treedef, aux).
    """
    tape = push_trace(Tape)
    try:
        tracers = tape.new_inputs(in_leaves)
        traced = tracers[0] if in_tree is LEAF_DEF else tree_unflatten(in_tree, tracers)
        full = list(args)
        if single:
            full[nums[0]] = traced
        else:
            for i, a in zip(nums, traced, strict=True):
                full[i] = a
        out = fun(*full, **kwargs) if kwargs else fun(*full)
        out, aux = split_aux(out, has_aux, name)
        if type(out) is Tracer:  # the usual single output, without the general pytree pass
            out_leaves, out_tree = [out], LEAF_DEF
        else:
            out_leaves, out_tree = tree_flatten(out)
        if aux is not None:
            aux = _strip(aux, tape)
    except AttributeError as exc:  # (free unless raised)
        note_plain_at(exc)
        raise
    finally:
        pop_trace(tape)
    if out_tree is LEAF_DEF:
        o = out_leaves[0]
        value = o._value if type(o) is Tracer and o._trace is tape else o
    else:
        value = tree_unflatten(
            out_tree,
            [o._value if type(o) is Tracer and o._trace is tape else o for o in out_leaves],
        )
    return value, tape, out_leaves, out_tree, aux


def _strip(tree: Any, tape: Tape) -> Any:
    """Replace this tape's tracers in ``tree`` by their values (aux outputs carry no gradient)."""
    if tree is None:
        return None
    leaves, treedef = tree_flatten(tree)
    if not any(type(x) is Tracer for x in leaves):
        return tree
    return tree_unflatten(
        treedef, [x._value if type(x) is Tracer and x._trace is tape else x for x in leaves]
    )


def _check_cotangents(ct: Any, out_tree: PyTreeDef, out_values: list[Any], name: str) -> list[Any]:
    ct_leaves_paths, ct_tree = tree_flatten_with_path(ct)
    if ct_tree != out_tree:
        raise ValueError(
            f"{name}: the cotangent has structure {ct_tree}, but the function's output has "
            f"structure {out_tree}; pass one cotangent per output leaf"
        )
    leaves = []
    for (path, c), o in zip(ct_leaves_paths, out_values, strict=True):
        where = f"the cotangent at {keystr(path)}" if path else "the cotangent"
        if value_shape(c) != value_shape(o):
            raise ValueError(
                f"{name}: {where} has shape {value_shape(c)}, but the output "
                f"{'there ' if path else ''}has shape {value_shape(o)}"
            )
        _check_cotangent_dtype(c, o, where, name)
        leaves.append(c)
    return leaves


_PY_SCALARS = (bool, int, float, complex)


def _check_cotangent_dtype(c: Any, out: Any, where: str, name: str) -> None:
    """A cotangent must have its output's dtype (JAX's rule; no silent casting).

    Python numbers adapt, as in numpy: a float fits any float or complex output, a
    complex number any complex output. Outputs that carry no gradient (integers,
    booleans) take any cotangent, which is ignored.
    """
    if type(out) in _PY_SCALARS:
        out_dtype = np.result_type(out)
    else:
        out_dtype = leaf_dtype(out)
    if not np.issubdtype(out_dtype, np.inexact):
        return
    out_complex = np.issubdtype(out_dtype, np.complexfloating)
    if type(c) in _PY_SCALARS and type(c) is not bool:
        if out_complex or type(c) is not complex:
            return
        c_dtype = np.result_type(c)
    else:
        try:
            c_dtype = leaf_dtype(c)
        except TypeError:
            raise TypeError(
                f"{name}: {where} is {a_or_an(type(c).__name__)}; pass an array of the "
                f"output's dtype {out_dtype}"
            ) from None
        if c_dtype == out_dtype:
            return
    if type(out) in _PY_SCALARS and np.issubdtype(c_dtype, np.inexact):
        # a Python-number output has no dtype of its own: any float (complex) works
        if out_complex or not np.issubdtype(c_dtype, np.complexfloating):
            return
    if np.issubdtype(c_dtype, np.complexfloating) and not out_complex:
        fix = "pass a real cotangent (its .real part, if that is what you meant)"
    else:
        fix = f"cast it with .astype(np.{np.dtype(out_dtype).name})"
    raise TypeError(
        f"{name}: {where} has dtype {c_dtype}, but the output has dtype {out_dtype}; {fix}. "
        "Cotangents are never cast silently: a mismatch usually is a mixed-precision bug."
    )


# ----- public transforms --------------------------------------------------------
def vjp(
    fun: Callable[..., Any], *primals: Any, has_aux: bool = False, reduce_axes: Sequence[Any] = ()
) -> Any:
    """Evaluate ``fun(*primals)`` and return its vector-Jacobian product function.

    Returns ``(out, vjp_fn)``, or ``(out, vjp_fn, aux)`` with ``has_aux=True``.
    ``vjp_fn(cotangent)`` takes a cotangent shaped like ``out`` and returns a
    tuple with one cotangent per primal, each shaped like its primal. It can be
    called any number of times.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> out, f_vjp = tp.vjp(lambda x: x * 3.0, np.ones(2))
        >>> f_vjp(np.array([1.0, 2.0]))
        (array([3., 6.]),)
    """
    if not callable(fun):
        raise TypeError(f"vjp expects a callable, got {type(fun).__name__}")
    if reduce_axes:
        _no_reduce_axes(reduce_axes, "vjp")
    for n, p in enumerate(primals):
        if p is None:
            raise TypeError(none_message(f"vjp: primal {n}", "close over it instead"))
    in_leaves_paths, in_tree = tree_flatten_with_path(primals)
    check_differentiable(
        [(f"argument {p}" if p else "argument", x) for p, x in in_leaves_paths], "vjp: input"
    )
    in_leaves = [x for _, x in in_leaves_paths]
    with gc_paused:
        out, tape, out_leaves, out_tree, aux = _record(
            fun, primals, {}, tuple(range(len(primals))), False, in_leaves, in_tree, has_aux, "vjp"
        )
    out_values = tree_flatten(out)[0]

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        ct_leaves = _check_cotangents(cotangent, out_tree, out_values, "vjp_fn")
        with gc_paused:
            in_cts = pull_back(tape, out_leaves, ct_leaves, in_leaves, retain=True)
        return tuple(tree_unflatten(in_tree, in_cts))

    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def scalar_seed(out: Any, name: str, holomorphic: bool = False) -> Any:
    dtype = getattr(out, "dtype", None)
    if dtype is not None and dtype.kind == "f" and not holomorphic and out.shape == ():
        # The common case, checked cheaply. np.array(1, dtype) is a quarter of the
        # cost of np.ones((), dtype): the seed is made on every grad call.
        return np.array(1, dtype)
    shape = value_shape(out)
    if shape != ():
        raise TypeError(
            f"{name} requires a function with a scalar output, but it returned shape {shape}. "
            "Reduce it to a scalar (for example with .sum() or .mean()), use tp.vjp for a "
            "vector-Jacobian product, or tp.elementwise_grad for elementwise functions."
        )
    try:
        dtype = leaf_dtype(out)
    except TypeError:
        raise TypeError(
            f"{name} requires a function returning a scalar array or float, got "
            f"{type(out).__name__}"
        ) from None
    if holomorphic:
        if not np.issubdtype(dtype, np.complexfloating):
            raise TypeError(
                f"{name}(..., holomorphic=True) requires a complex output, but the function "
                f"returned dtype {dtype}; drop holomorphic=True for real-valued functions"
            )
        return np.ones((), dtype)
    if np.issubdtype(dtype, np.complexfloating):
        raise TypeError(
            f"{name} requires a real floating-point output, but the function returned dtype "
            f"{dtype}. Pass holomorphic=True to differentiate a holomorphic function of complex "
            "inputs, return a real loss (for example abs(z) ** 2 or z.real), or use tp.vjp."
        )
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(
            f"{name} requires a real floating-point output, but the function returned dtype "
            f"{dtype}; the output of a loss must be computed from float inputs"
        )
    return np.ones((), dtype)


def _check_complex_inputs(dyn: tuple[Any, ...]) -> None:
    """holomorphic=True: every differentiated leaf must be complex (as in JAX)."""
    for path, leaf in tree_flatten_with_path(dyn)[0]:
        dtype = leaf_dtype(leaf)
        if not np.issubdtype(dtype, np.complexfloating):
            raise TypeError(
                f"grad(..., holomorphic=True) requires complex inputs, but the argument at "
                f"{keystr(path) or 'the top'} has dtype {dtype}; convert it with "
                ".astype(complex) or drop holomorphic=True"
            )


def value_and_grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    reduce_axes: Sequence[Any] = (),
) -> Callable[..., Any]:
    """Return a function computing ``fun``'s value and its gradient in one pass.

    The new function returns ``(value, grad)``, or ``((value, aux), grad)`` with
    ``has_aux=True``. ``grad`` has the structure of the argument(s) named by
    ``argnums`` (a tuple of gradients when ``argnums`` is a tuple). Complex
    inputs, ``holomorphic``, ``allow_int`` and ``reduce_axes``: see :func:`grad`.

    Example:
        >>> import tapeflow as tp
        >>> tp.value_and_grad(lambda x, y: x * y + x)(3.0, 4.0)
        (np.float64(15.0), np.float64(5.0))
    """
    _no_reduce_axes(reduce_axes, "value_and_grad")
    if allow_int:
        return _with_int_inputs(fun, argnums, has_aux, holomorphic, "value_and_grad", False)
    return _value_and_grad(fun, argnums, has_aux, holomorphic, "value_and_grad")


def _no_reduce_axes(reduce_axes: Any, name: str) -> None:
    """``reduce_axes`` names axes of collectives (JAX's pmap/xmap), which tapeflow has not."""
    if reduce_axes:
        raise NotImplementedError(
            f"{name}(..., reduce_axes={reduce_axes!r}): tapeflow has no named axes (no pmap or "
            "collectives), so there is nothing to reduce over; leave reduce_axes empty"
        )


def _with_int_inputs(
    fun: Callable[..., Any],
    argnums: int | Sequence[int],
    has_aux: bool,
    holomorphic: bool,
    name: str,
    grad_only: bool,
) -> Callable[..., Any]:
    """``allow_int=True``: integer and boolean leaves of the differentiated arguments stay
    constants and get gradients of dtype ``float0`` (zeros holding nothing), as in JAX.

    A separate wrapper, so that the usual ``grad`` pays nothing for the option.
    """
    if not callable(fun):
        raise TypeError(f"{name} expects a callable, got {type(fun).__name__}")
    single = isinstance(argnums, (int, np.integer))
    plain = _value_and_grad(fun, argnums, has_aux, holomorphic, name, grad_only)

    def with_ints(*args: Any, **kwargs: Any) -> Any:
        nums = checked_argnums(argnums, len(args), name)
        dyn = args[nums[0]] if single else tuple([args[i] for i in nums])
        leaves, tree = tree_flatten(dyn)
        floats = [i for i, x in enumerate(leaves) if not is_int_like(x)]
        if len(floats) == len(leaves):
            return plain(*args, **kwargs)

        def of_floats(xs: list[Any]) -> Any:
            full_leaves = list(leaves)
            for i, x in zip(floats, xs, strict=True):
                full_leaves[i] = x
            new = tree_unflatten(tree, full_leaves)
            full = list(args)
            if single:
                full[nums[0]] = new
            else:
                for i, a in zip(nums, new, strict=True):
                    full[i] = a
            return fun(*full, **kwargs)

        res = _value_and_grad(of_floats, 0, has_aux, holomorphic, name, grad_only)(
            [leaves[i] for i in floats]
        )
        if grad_only:
            g_floats = res[0] if has_aux else res
        else:
            g_floats = res[1]
        g_leaves = [np.zeros(value_shape(x), float0) for x in leaves]
        for i, g in zip(floats, g_floats, strict=True):
            g_leaves[i] = g
        g = tree_unflatten(tree, g_leaves)
        if grad_only:
            return (g, res[1]) if has_aux else g
        return res[0], g

    return named_like(with_ints, fun)


def _value_and_grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int],
    has_aux: bool,
    holomorphic: bool,
    name: str,
    grad_only: bool = False,
) -> Callable[..., Any]:
    """``value_and_grad``, naming the transform the user called in its messages.

    With ``grad_only`` the function returns what ``grad`` returns (one function
    rather than a wrapper around this one: ``grad(f)`` is often built per step).
    """
    if not callable(fun):
        raise TypeError(f"{name} expects a callable, got {type(fun).__name__}")
    single = isinstance(argnums, (int, np.integer))
    if isinstance(argnums, list):
        argnums = tuple(argnums)

    def value_and_grad_fun(*args: Any, **kwargs: Any) -> Any:
        # The tape lives only inside this call: pause the cyclic GC for all of it, so
        # that it never scans records the backward pass is about to free.
        with gc_paused:
            nums = checked_argnums(argnums, len(args), name)
            # One argument is differentiated as the pytree it is; several as a tuple.
            dyn = args[nums[0]] if single else tuple([args[i] for i in nums])
            in_leaves: list[Any] = []
            in_tree = flatten_into(dyn, in_leaves)
            check_args_differentiable((dyn,) if single else dyn, nums, "grad", in_leaves)
            if holomorphic:
                _check_complex_inputs((dyn,) if single else dyn)
            out, tape, out_leaves, out_tree, aux = _record(
                fun, args, kwargs, nums, single, in_leaves, in_tree, has_aux, "grad"
            )
            if out_tree is not LEAF_DEF and (out_tree.num_leaves != 1 or out_tree.node_type):
                raise TypeError(
                    "grad requires a function with a single scalar output, but it returned a "
                    f"{type(out).__name__} with structure {out_tree}. Use has_aux=True to return "
                    "extra values, or tp.vjp for several outputs."
                )
            seed = scalar_seed(out, "grad", holomorphic)
            in_cts = pull_back(tape, out_leaves, [seed], in_leaves, retain=False)
            g = in_cts[0] if in_tree is LEAF_DEF else tree_unflatten(in_tree, in_cts)
            if grad_only:
                return (g, aux) if has_aux else g
            return ((out, aux), g) if has_aux else (out, g)

    return named_like(value_and_grad_fun, fun)


def grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    reduce_axes: Sequence[Any] = (),
) -> Callable[..., Any]:
    """Return a function computing the gradient of scalar-valued ``fun``.

    ``argnums`` picks the differentiated positional argument(s); each may be a
    pytree of float arrays. With ``has_aux=True`` the function returns
    ``(loss, aux)`` and the gradient function returns ``(grad, aux)``.

    Complex inputs follow JAX's convention (docs/coverage.md): for a real loss
    ``L`` of ``z = x + iy`` the gradient is ``dL/dx - i dL/dy`` (so
    ``grad(lambda z: abs(z) ** 2)(z) == 2 * conj(z)``; descend along its
    conjugate). With ``holomorphic=True`` the function may return a complex
    scalar, every input must be complex, and the gradient is ``f'(z)``.

    ``allow_int=True`` lets integer and boolean leaves be differentiated: they are
    constants, and their gradients are zeros of dtype ``tp.float0`` (JAX's). Only
    ``reduce_axes=()`` is accepted: tapeflow has no named axes to reduce over.

    Example:
        >>> import tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> float(tp.grad(tnp.tanh)(0.0))
        1.0
        >>> float(tp.grad(tp.grad(lambda x: x ** 3))(2.0))
        12.0
    """
    if reduce_axes:
        _no_reduce_axes(reduce_axes, "grad")
    if allow_int:
        return _with_int_inputs(fun, argnums, has_aux, holomorphic, "grad", True)
    return _value_and_grad(fun, argnums, has_aux, holomorphic, "grad", grad_only=True)
