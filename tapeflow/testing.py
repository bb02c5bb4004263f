"""Checking derivatives against central finite differences.

:func:`check_grads` never forms a Jacobian. It draws random directions ``v``
(inputs) and ``u`` (outputs) and checks the identities

* reverse mode: ``<J^T u, v>  ==  d/de <u, f(x + e v)>``
* forward mode: ``<u, J v>    ==  d/de <u, f(x + e v)>``

where the right-hand side is a central difference computed in float64. The
cost is a few function evaluations whatever the dimension. Higher orders are
checked by applying the same test to the derivative functions themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapeflow.core.pytree import tree_flatten, tree_map, tree_unflatten
from tapeflow.forward import jvp
from tapeflow.reverse import vjp

__all__ = ["check_grads", "GradientCheckError", "default_tolerances"]


class GradientCheckError(AssertionError):
    """A derivative disagreed with finite differences (the message has the numbers)."""


def default_tolerances(dtype: Any) -> tuple[float, float]:
    """(atol, rtol) suited to a dtype: tight for float64, loose for float32/float16."""
    dtype = np.dtype(dtype)
    if dtype in (np.float16,):
        return 5e-2, 5e-2
    if dtype in (np.float32, np.complex64):
        return 2e-3, 2e-3
    return 1e-6, 1e-5


def _inexact(x: Any) -> bool:
    dtype = getattr(x, "dtype", None)
    if dtype is None:
        return isinstance(x, (float, complex)) and not isinstance(x, bool)
    return bool(np.issubdtype(dtype, np.inexact))


def _random_like(x: Any, rng: np.random.Generator) -> Any:
    shape = np.shape(x)
    v = rng.standard_normal(shape)
    if np.iscomplexobj(x):
        v = v + 1j * rng.standard_normal(shape)
    if isinstance(x, (float, complex)) and not isinstance(x, np.generic):
        return type(x)(v)
    return np.asarray(v).astype(getattr(x, "dtype", np.float64))


def _inner(a: Any, b: Any) -> float:
    """Re sum(a * b) over two pytrees with the same structure.

    No conjugation: tapeflow's VJPs are transposes (JAX's complex convention),
    so ``Re sum(J^T u * v) == Re sum(u * J v)`` is the identity that holds.
    """
    la, lb = tree_flatten(a)[0], tree_flatten(b)[0]
    total = 0.0
    for x, y in zip(la, lb, strict=True):
        total += float(np.real(np.sum(np.asarray(x, np.complex128) * np.asarray(y))))
    return total


def _widen(x: Any) -> Any:
    """float64 / complex128 copy of a leaf, for accurate finite differences."""
    if not _inexact(x):
        return x
    if np.iscomplexobj(x):
        return np.asarray(x, np.complex128)
    return np.asarray(x, np.float64)


def _leaf_dtype(x: Any) -> Any:
    return getattr(x, "dtype", np.result_type(x))


def _check_structure(ct: Any, primal: Any, what: str) -> None:
    """Each cotangent must have its primal's shape and dtype."""
    for c, p in zip(tree_flatten(ct)[0], tree_flatten(primal)[0], strict=True):
        if np.shape(c) != np.shape(p):
            raise GradientCheckError(f"{what} has shape {np.shape(c)}, primal has {np.shape(p)}")
        if hasattr(p, "dtype") and _leaf_dtype(c) != p.dtype:
            raise GradientCheckError(f"{what} has dtype {_leaf_dtype(c)}, primal has {p.dtype}")


def check_grads(
    fun: Callable[..., Any],
    args: Sequence[Any],
    order: int = 1,
    modes: Sequence[str] = ("rev",),
    eps: float | None = None,
    atol: float | None = None,
    rtol: float | None = None,
    seed: int = 0,
) -> None:
    """Check ``fun``'s derivatives at ``args`` against central finite differences.

    Args:
        fun: the function; its positional arguments are pytrees of float arrays.
        args: the point, as a tuple of positional arguments.
        order: check derivatives up to this order (2 checks the derivative of
            the derivative as well).
        modes: ``"rev"`` (vjp), ``"fwd"`` (jvp) or both.
        eps: finite-difference step (default 1e-6 in float64).
        atol, rtol: tolerances (default from the arguments' dtype).
        seed: seed of the random directions.

    Raises:
        GradientCheckError: with the analytic and numeric values and the
            relative error, and for small inputs the worst element.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> tp.check_grads(tnp.sin, (np.array([0.1, 0.5]),), order=2, modes=("fwd", "rev"))
    """
    args = tuple(args)
    for mode in modes:
        if mode not in ("rev", "fwd"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'rev' and/or 'fwd'")
    if order < 1:
        raise ValueError(f"check_grads: order must be >= 1, got {order}")
    leaves = tree_flatten(args)[0]
    dtypes = [_leaf_dtype(x) for x in leaves if _inexact(x)]
    if not dtypes:
        raise TypeError("check_grads: no float argument to differentiate")
    worst_dtype = min(dtypes, key=lambda d: np.finfo(d).eps * -1)
    d_atol, d_rtol = default_tolerances(worst_dtype)
    atol = d_atol if atol is None else atol
    rtol = d_rtol if rtol is None else rtol
    eps = 1e-6 if eps is None else eps
    rng = np.random.default_rng(seed)

    v = tree_map(lambda x: _random_like(x, rng), args)
    out = fun(*args)
    u = tree_map(
        lambda o: _random_like(o, rng) if _inexact(o) else np.zeros(np.shape(o), _leaf_dtype(o)),
        out,
    )

    wide_args = tree_map(_widen, args)

    def probe(e: float) -> float:
        shifted = tree_map(lambda x, d: x + e * _widen(d) if _inexact(x) else x, wide_args, v)
        return _inner(u, fun(*shifted))

    numeric = (probe(eps) - probe(-eps)) / (2 * eps)
    scale = max(
        1.0, float(np.sqrt(sum(np.sum(np.abs(np.asarray(x)) ** 2) for x in tree_flatten(v)[0])))
    )

    def compare(analytic: float, mode: str) -> None:
        err = abs(analytic - numeric)
        if not err <= atol * scale + rtol * abs(numeric):
            raise GradientCheckError(
                f"{mode}-mode derivative of {getattr(fun, '__name__', fun)!r} disagrees with "
                f"finite differences (order {order}): analytic {analytic!r}, numeric {numeric!r}, "
                f"absolute error {err:.3g}, relative error {err / max(abs(numeric), 1e-300):.3g} "
                f"(atol={atol}, rtol={rtol})" + _worst_element(fun, args, u, mode)
            )

    if "rev" in modes:
        _, f_vjp = vjp(fun, *args)
        cts = f_vjp(u)
        _check_structure(cts, args, "a cotangent")
        compare(_inner(cts, v), "reverse")
    if "fwd" in modes:
        _, t_out = jvp(fun, args, v)
        _check_structure(t_out, out, "the output tangent")
        compare(_inner(u, t_out), "forward")

    if order > 1:
        # The derivative functions are evaluated at float64 copies of the point too (the
        # finite differences widen it): u and v follow the dtypes of the point they meet,
        # as vjp and jvp refuse a direction of another precision.
        def pullback(*a: Any) -> Any:
            out, f_vjp = vjp(fun, *a)
            return f_vjp(tree_map(_cast_like, u, out))

        def pushforward(*a: Any) -> Any:
            return jvp(fun, a, tree_map(_cast_like, v, a))[1]

        if "rev" in modes:
            check_grads(pullback, args, order - 1, modes, eps, atol, rtol, seed + 1)
        if "fwd" in modes:
            check_grads(pushforward, args, order - 1, modes, eps, atol, rtol, seed + 2)


def _cast_like(direction: Any, primal: Any) -> Any:
    """``direction`` in the dtype of ``primal`` (complex when ``primal`` is)."""
    if not _inexact(primal) or not hasattr(direction, "dtype"):
        return direction
    return np.asarray(direction).astype(_leaf_dtype(primal))


def _worst_element(fun: Callable[..., Any], args: tuple[Any, ...], u: Any, mode: str) -> str:
    """For small inputs: the single input entry whose partial derivative is worst."""
    leaves, treedef = tree_flatten(args)
    if sum(int(np.size(x)) for x in leaves) > 500 or mode != "reverse":
        return ""
    try:
        cts = tree_flatten(vjp(fun, *args)[1](u))[0]
    except Exception:  # pragma: no cover - the first failure is the one to report
        return ""
    worst = (0.0, "", 0.0, 0.0)
    h = 1e-6
    for li, x in enumerate(leaves):
        if not _inexact(x):
            continue
        flat = np.array(x, dtype=np.float64).ravel()
        for j in range(flat.size):

            def at(
                delta: float, flat: np.ndarray = flat, j: int = j, li: int = li, x: Any = x
            ) -> float:
                y = flat.copy()
                y[j] += delta
                new = list(leaves)
                new[li] = y.reshape(np.shape(x))
                return _inner(u, fun(*tree_unflatten(treedef, new)))

            num = (at(h) - at(-h)) / (2 * h)
            ana = float(np.real(np.ravel(cts[li])[j]))
            err = abs(num - ana)
            if err > worst[0]:
                index = np.unravel_index(j, np.shape(x)) if np.shape(x) else ()
                worst = (err, f"argument leaf {li}, index {index}", ana, num)
    if not worst[1]:
        return ""
    return f"; worst entry: {worst[1]}: analytic {worst[2]!r}, numeric {worst[3]!r}"
