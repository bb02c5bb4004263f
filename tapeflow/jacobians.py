"""Jacobians, Hessians and friends, built from ``vjp`` and ``jvp``.

Everything here is a composition of the two core transforms:

* :func:`jacrev` pulls back one basis cotangent per output entry (one replay
  of the recorded tape each), :func:`jacfwd` pushes forward one basis tangent
  per input entry (one forward pass each). Pick ``jacrev`` for few outputs and
  many inputs, ``jacfwd`` for the opposite.
* :func:`hessian` is ``jacfwd(jacrev(f))``: forward over reverse.
* :func:`hvp` is ``jvp`` of ``grad``: a Hessian-vector product for the cost of
  about two gradients, without forming the Hessian.
* :func:`linearize` records the linear map ``v -> J v`` once and replays it.

The loops over basis vectors are plain Python; they stay differentiable because
they only call tapeflow operations, so the results can be differentiated again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.arguments import (
    check_args_differentiable,
    is_int_like,
    normalize_argnums,
    partial_args,
    split_aux,
)
from tapeflow.core.leaves import a_or_an, is_inexact, leaf_dtype, value_shape
from tapeflow.core.pytree import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_map,
    tree_unflatten,
)
from tapeflow.core.trace import active_traces
from tapeflow.core.tracer import Tracer
from tapeflow.forward import check_tangents, jvp
from tapeflow.reverse import grad, scalar_seed, vjp

__all__ = [
    "jacrev",
    "jacfwd",
    "jacobian",
    "hessian",
    "hvp",
    "elementwise_grad",
    "linearize",
]


# ----- small helpers ------------------------------------------------------------
def _differentiated(
    fun: Callable[..., Any],
    argnums: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    name: str,
    allow_int: bool = False,
) -> tuple[Callable[..., Any], tuple[Any, ...], tuple[int, ...]]:
    """Validate ``argnums`` and the arguments it names; return ``fun`` of just those, them,
    and their positions. With ``allow_int``, integer and boolean leaves pass the check."""
    nums = normalize_argnums(argnums, len(args), name)
    f_dyn, dyn = partial_args(fun, args, kwargs, nums)
    if allow_int:
        check_args_differentiable(
            [tree_map(lambda x: 0.0 if is_int_like(x) else x, a) for a in dyn], nums, name
        )
    else:
        check_args_differentiable(dyn, nums, name)
    return f_dyn, dyn, nums


def _check_outputs(
    out: Any, name: str, holomorphic: bool = False, reverse: bool = False
) -> list[Any]:
    """The output leaves, once each is known to have a Jacobian of the kind asked for."""
    leaves_paths, _ = tree_flatten_with_path(out)
    for path, leaf in leaves_paths:
        if not is_inexact(leaf):
            kind = type(leaf).__name__
            raise TypeError(
                f"{name}: the output at {keystr(path)} is {a_or_an(kind)}, not a float array; a "
                "Jacobian needs float outputs. Return integer or boolean results as aux "
                "(has_aux=True) instead."
            )
        is_complex = np.issubdtype(leaf_dtype(leaf), np.complexfloating)
        if holomorphic and not is_complex:
            raise TypeError(
                f"{name}(..., holomorphic=True) requires complex outputs, but the output at "
                f"{keystr(path)} has dtype {leaf_dtype(leaf)}; drop holomorphic=True for a "
                "real-valued function"
            )
        if reverse and is_complex and not holomorphic:
            # One complex number per entry cannot hold the derivative of a complex output
            # that is not holomorphic; JAX refuses too rather than return a part of it.
            raise TypeError(
                f"{name} requires real outputs, but the output at {keystr(path)} has dtype "
                f"{leaf_dtype(leaf)}: its Jacobian is ambiguous (the cotangent would drop "
                "the imaginary part). Pass holomorphic=True for a holomorphic function of "
                "complex inputs, use tp.jacfwd for a real input, return the real and "
                "imaginary parts as separate real outputs, or use tp.vjp directly."
            )
    return [leaf for _, leaf in leaves_paths]


def _check_inputs(
    dyn: tuple[Any, ...], nums: tuple[int, ...], name: str, holomorphic: bool, forward: bool
) -> None:
    """Complex inputs: required by ``holomorphic=True``; refused by forward mode otherwise."""
    for n, a in zip(nums, dyn, strict=True):
        for path, leaf in tree_flatten_with_path(a)[0]:
            is_complex = np.issubdtype(leaf_dtype(leaf), np.complexfloating)
            if holomorphic and not is_complex:
                raise TypeError(
                    f"{name}(..., holomorphic=True) requires complex inputs, but argument "
                    f"{n}{path} has dtype {leaf_dtype(leaf)}; convert it with "
                    ".astype(complex) or drop holomorphic=True"
                )
            if forward and is_complex and not holomorphic:
                # A basis tangent along the real axis alone would give half the answer.
                raise TypeError(
                    f"{name} requires real inputs, but argument {n}{path} has dtype "
                    f"{leaf_dtype(leaf)}: the forward-mode Jacobian of a function that is "
                    "not holomorphic needs two real directions per complex entry. Pass "
                    "holomorphic=True for a holomorphic function, use tp.jacrev for a real "
                    "output, pass the real and imaginary parts as separate real inputs, or "
                    "use tp.jvp directly."
                )


def _basis(shape: tuple[int, ...], dtype: Any, k: int) -> np.ndarray:
    e = np.zeros(shape, dtype)
    e.flat[k] = 1
    return e


def _assemble(
    pieces: list[Any], out_shape: tuple[int, ...], in_shape: tuple[int, ...], dtype: Any, rows: bool
) -> Any:
    """Stack per-basis results into one block of shape ``out_shape + in_shape``.

    ``rows`` is true for reverse mode (each piece is a row shaped like the input),
    false for forward mode (each piece is a column shaped like the output).
    """
    n_out = int(np.prod(out_shape, dtype=int))
    n_in = int(np.prod(in_shape, dtype=int))
    if n_out == 0 or n_in == 0:
        return np.zeros(out_shape + in_shape, dtype)
    if rows:
        flat = tnp.concatenate([tnp.reshape(p, (1, n_in)) for p in pieces], axis=0)
    else:
        flat = tnp.concatenate([tnp.reshape(p, (n_out, 1)) for p in pieces], axis=1)
    return tnp.reshape(flat, out_shape + in_shape)


def _nest(out_tree: Any, in_tree: Any, blocks: list[list[Any]], single: bool) -> Any:
    """Build the Jacobian pytree: the output's structure, each leaf holding the input's."""
    per_out = []
    for row in blocks:
        inner = tree_unflatten(in_tree, row)
        per_out.append(inner[0] if single else tuple(inner))
    return tree_unflatten(out_tree, per_out)


def _strip_trace(tree: Any, trace: Any) -> Any:
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(
        treedef, [x._value if type(x) is Tracer and x._trace is trace else x for x in leaves]
    )


# ----- Jacobians ------------------------------------------------------------------
def jacrev(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
) -> Callable[..., Any]:
    """Jacobian of ``fun`` by reverse mode: one pull-back per output entry.

    The Jacobian of an output leaf of shape ``o`` with respect to an input leaf of
    shape ``i`` has shape ``o + i``. Inputs and outputs may be pytrees: the result
    has the output's structure, and each of its leaves holds the structure of the
    differentiated argument (a tuple of them when ``argnums`` is a tuple). With
    ``has_aux=True``, ``fun`` returns ``(out, aux)`` and the new function returns
    ``(jacobian, aux)``.

    Complex numbers follow JAX's convention (docs/complex.md): outputs must be real
    (each row is then the gradient of one output entry, ``d/dx - i d/dy`` for a
    complex input), unless ``holomorphic=True``, which requires complex inputs and
    outputs and gives ``f'(z)``. With ``allow_int=True`` integer and boolean inputs
    get zero blocks of their own dtype.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.jacrev(lambda x: x ** 2)(np.array([1.0, 2.0]))
        array([[2., 0.],
               [0., 4.]])
    """
    if not callable(fun):
        raise TypeError(f"jacrev expects a callable, got {type(fun).__name__}")
    single = isinstance(argnums, (int, np.integer))

    @functools.wraps(fun)
    def jac_fun(*args: Any, **kwargs: Any) -> Any:
        f_dyn, dyn, nums = _differentiated(fun, argnums, args, kwargs, "jacrev", allow_int)
        _check_inputs(dyn, nums, "jacrev", holomorphic, forward=False)
        in_leaves, in_tree = tree_flatten(dyn)
        # allow_int: integer leaves stay constants; only the others are differentiated.
        diff = [i for i, x in enumerate(in_leaves) if not (allow_int and is_int_like(x))]
        if len(diff) == len(in_leaves):
            res = vjp(f_dyn, *dyn, has_aux=has_aux)
        else:

            def f_floats(*xs: Any) -> Any:
                full = list(in_leaves)
                for i, x in zip(diff, xs, strict=True):
                    full[i] = x
                return f_dyn(*tree_unflatten(in_tree, full))

            res = vjp(f_floats, *[in_leaves[i] for i in diff], has_aux=has_aux)
        out, vjp_fn = res[0], res[1]
        out_leaves, out_tree = tree_flatten(out)
        _check_outputs(out, "jacrev", holomorphic, reverse=True)
        zeros = [np.zeros(value_shape(o), leaf_dtype(o)) for o in out_leaves]
        blocks = []
        for j, o in enumerate(out_leaves):
            shape, dtype = value_shape(o), leaf_dtype(o)
            rows: list[list[Any]] = []
            for k in range(int(np.prod(shape, dtype=int))):
                ct = list(zeros)
                ct[j] = _basis(shape, dtype, k)
                rows.append(tree_flatten(vjp_fn(tree_unflatten(out_tree, ct)))[0])
            row_of = {i: n for n, i in enumerate(diff)}
            blocks.append(
                [
                    _assemble(
                        [r[row_of[i]] for r in rows],
                        shape,
                        value_shape(x),
                        np.result_type(dtype, leaf_dtype(x)),
                        rows=True,
                    )
                    if i in row_of
                    else np.zeros(shape + value_shape(x), leaf_dtype(x))
                    for i, x in enumerate(in_leaves)
                ]
            )
        jac = _nest(out_tree, in_tree, blocks, single)
        return (jac, res[2]) if has_aux else jac

    return jac_fun


jacobian = jacrev  # JAX's name for the same transform


def jacfwd(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Jacobian of ``fun`` by forward mode: one forward pass per input entry.

    Same shapes and pytree structure as :func:`jacrev`; cheaper when the
    inputs are smaller than the outputs. Inputs must be real (the outputs may be
    complex), unless ``holomorphic=True``, which requires complex inputs and
    outputs and gives ``f'(z)`` (docs/complex.md).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> tp.jacfwd(lambda x: tnp.sum(x) * x)(np.array([1.0, 2.0]))
        array([[4., 1.],
               [2., 5.]])
    """
    if not callable(fun):
        raise TypeError(f"jacfwd expects a callable, got {type(fun).__name__}")
    single = isinstance(argnums, (int, np.integer))

    @functools.wraps(fun)
    def jac_fun(*args: Any, **kwargs: Any) -> Any:
        f_dyn, dyn, nums = _differentiated(fun, argnums, args, kwargs, "jacfwd")
        _check_inputs(dyn, nums, "jacfwd", holomorphic, forward=True)
        box: dict[str, Any] = {}

        def f_out(*a: Any) -> Any:
            out, aux = split_aux(f_dyn(*a), has_aux, "jacfwd")
            if "aux" not in box:
                box["aux"] = aux
                box["trace"] = active_traces()[-1]
            return out

        in_leaves, in_tree = tree_flatten(dyn)
        zeros = [np.zeros(value_shape(x), leaf_dtype(x)) for x in in_leaves]
        columns: list[list[list[Any]]] = []  # per input leaf, per basis vector: output tangents
        out = None
        for i, x in enumerate(in_leaves):
            shape, dtype = value_shape(x), leaf_dtype(x)
            cols = []
            for k in range(int(np.prod(shape, dtype=int))):
                t = list(zeros)
                t[i] = _basis(shape, dtype, k)
                out, t_out = jvp(f_out, dyn, tuple(tree_unflatten(in_tree, t)))
                cols.append(tree_flatten(t_out)[0])
            columns.append(cols)
        if out is None:  # every input is empty: one pass for the value
            out = jvp(f_out, dyn, tuple(tree_unflatten(in_tree, zeros)))[0]
        out_leaves, out_tree = tree_flatten(out)
        _check_outputs(out, "jacfwd", holomorphic)
        blocks = []
        for j, o in enumerate(out_leaves):
            blocks.append(
                [
                    _assemble(
                        [c[j] for c in columns[i]],
                        value_shape(o),
                        value_shape(x),
                        np.result_type(leaf_dtype(o), leaf_dtype(x)),
                        rows=False,
                    )
                    for i, x in enumerate(in_leaves)
                ]
            )
        jac = _nest(out_tree, in_tree, blocks, single)
        if has_aux:
            return jac, _strip_trace(box["aux"], box["trace"])
        return jac

    return jac_fun


def _scalar_only(
    fun: Callable[..., Any], has_aux: bool, name: str, holomorphic: bool = False
) -> Callable[..., Any]:
    """Wrap ``fun`` so that a non-scalar output raises grad's error, under ``name``."""

    @functools.wraps(fun)
    def checked(*args: Any, **kwargs: Any) -> Any:
        res = fun(*args, **kwargs)
        out, _ = split_aux(res, has_aux, name)
        leaves, tree = tree_flatten(out)
        if tree.node_type is not None:
            raise TypeError(
                f"{name} requires a function with a single scalar output, but it returned a "
                f"{type(out).__name__} with structure {tree}. Use has_aux=True to return "
                "extra values, or tp.jacfwd(tp.jacrev(f)) for a Hessian of several outputs."
            )
        scalar_seed(out, name, holomorphic)
        return res

    return checked


def hessian(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
) -> Callable[..., Any]:
    """Hessian of scalar-valued ``fun``, computed forward-over-reverse.

    For an argument of shape ``s`` the Hessian has shape ``s + s``; with a tuple
    ``argnums`` it is a nested tuple of blocks ``H[i][j]`` of shape
    ``s_i + s_j``. Non-scalar outputs raise the same error as :func:`grad`.
    ``holomorphic=True`` gives ``f''(z)`` of a holomorphic function of complex
    inputs; complex inputs need it, as in :func:`jacfwd`.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> tp.hessian(lambda x: tnp.sum(x ** 3))(np.array([1.0, 2.0]))
        array([[ 6.,  0.],
               [ 0., 12.]])
    """
    if not callable(fun):
        raise TypeError(f"hessian expects a callable, got {type(fun).__name__}")
    inner = jacrev(
        _scalar_only(fun, has_aux, "hessian", holomorphic), argnums, has_aux, holomorphic
    )
    return jacfwd(inner, argnums, has_aux, holomorphic)


def hvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """Hessian-vector product of scalar-valued ``fun`` at ``primals`` along ``tangents``.

    Computed as the forward-mode derivative of the gradient, so the Hessian is
    never formed. ``primals`` and ``tangents`` are tuples, one entry per
    positional argument, as for :func:`jvp`. With one argument the product has
    that argument's structure; with several it is a tuple (the joint Hessian over
    all arguments applied to the joint tangent).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> tp.hvp(lambda x: tnp.sum(x ** 3), (np.array([1.0, 2.0]),), (np.array([1.0, 1.0]),))
        array([ 6., 12.])
    """
    if not callable(fun):
        raise TypeError(f"hvp expects a callable, got {type(fun).__name__}")
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "hvp(fun, primals, tangents) takes primals and tangents as tuples (one entry per "
            f"positional argument), got {type(primals).__name__} and {type(tangents).__name__}"
        )
    if not primals:
        raise ValueError("hvp: primals must hold at least one argument")
    n = len(primals)
    g = grad(_scalar_only(fun, False, "hvp"), argnums=tuple(range(n)))
    _, product = jvp(g, tuple(primals), tuple(tangents))
    return product[0] if n == 1 else tuple(product)


def elementwise_grad(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., Any]:
    """Gradient of ``sum(fun(x))``: the derivative of each output entry for elementwise ``fun``.

    One reverse pass with a cotangent of ones. For a function that mixes entries
    (not elementwise) this is still the gradient of the sum of its outputs, which
    is usually not what you want; use :func:`jacrev` then.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> tp.elementwise_grad(tnp.sin)(np.array([0.0, np.pi]))
        array([ 1., -1.])
    """
    if not callable(fun):
        raise TypeError(f"elementwise_grad expects a callable, got {type(fun).__name__}")
    single = isinstance(argnums, (int, np.integer))

    @functools.wraps(fun)
    def egrad(*args: Any, **kwargs: Any) -> Any:
        f_dyn, dyn, _ = _differentiated(fun, argnums, args, kwargs, "elementwise_grad")
        out, vjp_fn = vjp(f_dyn, *dyn)
        leaves = _check_outputs(out, "elementwise_grad")
        ones = [np.ones(value_shape(o), leaf_dtype(o)) for o in leaves]
        g = vjp_fn(tree_unflatten(tree_flatten(out)[1], ones))
        return g[0] if single else g

    return egrad


# ----- linearize ------------------------------------------------------------------
def linearize(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """Evaluate ``fun`` once and return ``(out, jvp_fn)`` with ``jvp_fn(*tangents) = J @ tangents``.

    With ``has_aux=True``, ``fun`` returns ``(out, aux)`` and ``linearize`` returns
    ``(out, jvp_fn, aux)``.

    ``fun`` is not evaluated again: the reverse pass is recorded once as a linear
    program in the cotangent (the VJP is linear in it), and ``jvp_fn`` replays
    the transpose of that program. Each call costs about one backward pass.
    ``jvp_fn`` takes one tangent per primal, each shaped like its primal.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> out, f_jvp = tp.linearize(tnp.sin, 0.0)
        >>> float(f_jvp(2.0))
        2.0
    """
    if not callable(fun):
        raise TypeError(f"linearize expects a callable, got {type(fun).__name__}")
    if not primals:
        raise TypeError("linearize(fun, *primals) needs at least one primal")
    check_args_differentiable(primals, tuple(range(len(primals))), "linearize")
    res = vjp(fun, *primals, has_aux=has_aux)
    out, vjp_fn, aux = res[0], res[1], (res[2] if has_aux else None)
    del res
    out_leaves, out_tree = tree_flatten(out)
    float_idx = [j for j, o in enumerate(out_leaves) if is_inexact(o)]
    zeros = [np.zeros(value_shape(o), leaf_dtype(o)) for o in out_leaves]

    first_pass = [vjp_fn]
    del vjp_fn

    def pull(*u: Any) -> Any:
        ct = list(zeros)
        for j, uj in zip(float_idx, u, strict=True):
            ct[j] = uj
        return first_pass[0](tree_unflatten(out_tree, ct))

    # The pull-back is linear in its cotangent, so the VJP of the pull-back is
    # the forward map J: record it once at u = 0 and replay it per call. The
    # first tape is not needed afterwards.
    _, transpose = vjp(pull, *[zeros[j] for j in float_idx])
    first_pass.clear()

    def jvp_fn(*tangents: Any) -> Any:
        if len(tangents) != len(primals):
            raise TypeError(
                f"linearize: jvp_fn takes one tangent per primal ({len(primals)}), got "
                f"{len(tangents)}"
            )
        check_tangents(primals, tangents, "linearize jvp_fn")
        t_float = transpose(tuple(tangents)) if float_idx else ()
        t_out = list(zeros)
        for j, t in zip(float_idx, t_float, strict=True):
            t_out[j] = t
        return tree_unflatten(out_tree, t_out)

    return (out, jvp_fn, aux) if has_aux else (out, jvp_fn)
