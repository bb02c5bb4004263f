"""odeint with SciPy's signature, differentiable by the adjoint method.

``odeint(func, y0, t, args)`` integrates ``dy/dt = func(y, t, *args)`` with SciPy's LSODA
(the ``tapeflow[scipy]`` extra) and returns ``y`` at the times ``t``. ``func`` is user
code written with tapeflow (or plain numpy-compatible) operations. One primitive,
``_odeint``, carries everything:

* reverse mode integrates the adjoint system backwards, segment by segment between the
  requested times: ``dλ/dt = -λ ∂f/∂y`` and ``d(args_bar)/dt = -λ ∂f/∂args``, with each
  time's cotangent added to ``λ`` on the way, the state reset to the forward solution at
  each time, and ``t_bar_i = g_i · f(y_i, t_i)`` (``t_0`` gets ``-λ(t_0) · f(y_0, t_0)``);
* forward mode integrates the sensitivities ``d(δy)/dt = ∂f/∂y δy + ∂f/∂args δargs`` from
  ``δy(t_0) = δy_0 - f(y_0, t_0) δt_0``, and adds ``f(y_i, t_i) δt_i`` at each time.

Both are further calls of ``_odeint`` on an augmented system written with tapeflow's
``vjp``/``jvp`` of ``func``, so derivatives of derivatives work. ``vmap`` integrates a
batch as one system (its error control is then shared by the examples).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tapeflow.core.primitive import defbatch, defjvp_joint, defvjp_joint, primitive
from tapeflow.core.pytree import tree_flatten, tree_unflatten
from tapeflow.forward import jvp
from tapeflow.numpy.creation import asarray
from tapeflow.numpy.elementwise import astype
from tapeflow.numpy.joining import concatenate, stack
from tapeflow.numpy.meta import dtype_of, is_complex, shape_of
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.numpy.shape import moveaxis, reshape
from tapeflow.reverse import vjp
from tapeflow.scipy.backend import scipy_module
from tapeflow.vmap import vmap

__all__ = ["odeint"]


class _System:
    """``func`` with its ``args`` flattened: ``f(y, t, *leaves)``; hashable by identity."""

    def __init__(self, func: Callable[..., Any], treedef: Any, tfirst: bool) -> None:
        self.func = func
        self.treedef = treedef
        self.tfirst = tfirst

    def __call__(self, y: Any, t: Any, *leaves: Any) -> Any:
        args = tree_unflatten(self.treedef, leaves)
        return self.func(t, y, *args) if self.tfirst else self.func(y, t, *args)


def _np_odeint(y0: Any, t: Any, *leaves: Any, system: Any, options: tuple[Any, ...]) -> Any:
    integrate = scipy_module("integrate", "tapeflow.scipy.integrate.odeint")
    y0 = np.asarray(y0)
    dtype = y0.dtype if np.issubdtype(y0.dtype, np.floating) else np.dtype(np.float64)

    # Integrated in float64 whatever the inputs' precision (a float32 right-hand side
    # would be noise to LSODA's error control); the result has y0's dtype.
    wide = [np.asarray(v, np.float64) if _differentiable(v) else v for v in leaves]

    def rhs(y: np.ndarray, tt: float) -> np.ndarray:
        return np.asarray(system(y, tt, *wide), np.float64).ravel()

    out = integrate.odeint(
        rhs, np.asarray(y0, np.float64), np.asarray(t, np.float64), **dict(options)
    )
    return np.asarray(out).astype(dtype, copy=False)


_odeint = primitive(_np_odeint, name="scipy.integrate.odeint")


def _differentiable(leaf: Any) -> bool:
    return bool(np.issubdtype(dtype_of(leaf), np.inexact))


def _call(system: Any, y: Any, t: Any, leaves: tuple[Any, ...]) -> Any:
    return system(y, t, *leaves)


# ----- reverse mode: the adjoint system ---------------------------------------------------
class _Adjoint:
    """ds/dt for s = (y, λ, args_bar): y' = f, λ' = -λ ∂f/∂y, args_bar' = -λ ∂f/∂args."""

    def __init__(self, system: Any, n: int, shapes: list[tuple[int, ...]], diff: list[int]) -> None:
        self.system, self.n, self.shapes, self.diff = system, n, shapes, diff

    def __call__(self, s: Any, t: Any, *leaves: Any) -> Any:
        n = self.n
        y, lam = s[:n], s[n : 2 * n]

        def f(y: Any, *chosen: Any) -> Any:
            full = list(leaves)
            for i, v in zip(self.diff, chosen, strict=True):
                full[i] = v
            return self.system(y, t, *full)

        fy, pull = vjp(f, y, *(leaves[i] for i in self.diff))
        cts = pull(lam)
        parts = [fy, -cts[0]] + [-reshape(c, (-1,)) for c in cts[1:]]
        return concatenate([astype(p, dtype_of(s)) for p in parts])


def _odeint_vjp(argnums: Any, ans: Any, y0: Any, t: Any, *leaves: Any, system: Any,
                options: Any) -> Any:  # fmt: skip
    n = shape_of(y0)[0]
    diff = [i for i, leaf in enumerate(leaves) if _differentiable(leaf)]
    shapes = [tuple(shape_of(leaves[i])) for i in diff]
    sizes = [int(np.prod(s)) for s in shapes]
    adjoint = _Adjoint(system, n, shapes, diff)

    def pull(g: Any) -> Any:
        count = shape_of(t)[0]
        lam = g[count - 1]
        bars = [np.zeros(size, dtype_of(ans)) for size in sizes]
        t_bars = [None] * count
        for i in range(count - 1, 0, -1):
            t_bars[i] = _sum(g[i] * _call(system, ans[i], t[i], leaves))
            state = concatenate([ans[i], lam] + bars)
            segment = _odeint(state, stack([t[i], t[i - 1]]), *leaves, system=adjoint,
                              options=options)[1]  # fmt: skip
            lam = segment[n : 2 * n]
            offset = 2 * n
            bars = []
            for size in sizes:
                bars.append(segment[offset : offset + size])
                offset += size
            if i == 1:
                t_bars[0] = -_sum(lam * _call(system, ans[0], t[0], leaves))
            lam = lam + g[i - 1]
        if count == 1:
            t_bars[0] = 0 * _sum(g[0])
        out = []
        for k in argnums:
            if k == 0:
                out.append(lam)
            elif k == 1:
                out.append(stack(t_bars) * np.ones((), dtype_of(t)))
            else:
                leaf = k - 2
                out.append(reshape(bars[diff.index(leaf)], shapes[diff.index(leaf)])
                           if leaf in diff else None)  # fmt: skip
        return out

    return pull


# ----- forward mode: the sensitivity system ----------------------------------------------
class _Sensitivity:
    """ds/dt for s = (y, δy): y' = f, δy' = ∂f/∂y δy + ∂f/∂args δargs."""

    def __init__(self, system: Any, n: int, count: int, diff: list[int]) -> None:
        self.system, self.n, self.count, self.diff = system, n, count, diff

    def __call__(self, s: Any, t: Any, *leaves_and_tangents: Any) -> Any:
        n, count = self.n, self.count
        leaves, tangents = leaves_and_tangents[:count], leaves_and_tangents[count:]
        y, dy = s[:n], s[n:]

        def f(y: Any, *chosen: Any) -> Any:
            full = list(leaves)
            for i, v in zip(self.diff, chosen, strict=True):
                full[i] = v
            return self.system(y, t, *full)

        fy, dfy = jvp(f, (y, *(leaves[i] for i in self.diff)), (dy, *tangents))
        return concatenate([astype(fy, dtype_of(s)), astype(dfy, dtype_of(s))])


def _odeint_jvp(tangents: Any, ans: Any, y0: Any, t: Any, *leaves: Any, system: Any,
                options: Any) -> Any:  # fmt: skip
    n = shape_of(y0)[0]
    dy0, dt = tangents[0], tangents[1]
    leaf_tangents = tangents[2:]
    diff = [i for i, leaf in enumerate(leaves) if _differentiable(leaf)]
    arg_tangents = [
        np.zeros(shape_of(leaves[i]), dtype_of(leaves[i]))
        if leaf_tangents[i] is None
        else leaf_tangents[i]
        for i in diff
    ]
    start = np.zeros(n, dtype_of(ans)) if dy0 is None else dy0
    if dt is not None:
        start = start - _call(system, ans[0], t[0], leaves) * dt[0]
    sensitivity = _Sensitivity(system, n, len(leaves), diff)
    both = _odeint(concatenate([y0, start]), t, *leaves, *arg_tangents, system=sensitivity,
                   options=options)  # fmt: skip
    out = both[:, n:]
    if dt is not None:
        rates = vmap(lambda y, tt: _call(system, y, tt, leaves))(ans, t)
        out = out + rates * reshape(dt, (-1, 1))
    return out


defvjp_joint(_odeint, _odeint_vjp)
defjvp_joint(_odeint, _odeint_jvp)


# ----- vmap: a batch is one bigger system -------------------------------------------------
class _Batched:
    """The system of a batch: the examples' states side by side in one flat state."""

    def __init__(self, system: Any, batch: int, n: int, leaf_dims: tuple[Any, ...]) -> None:
        self.system, self.batch, self.n, self.leaf_dims = system, batch, n, leaf_dims

    def __call__(self, y: Any, t: Any, *leaves: Any) -> Any:
        ys = reshape(y, (self.batch, self.n))
        rates = vmap(lambda y, *ls: self.system(y, t, *ls), in_axes=(0, *self.leaf_dims))(
            ys, *leaves
        )
        return reshape(rates, (-1,))


def _odeint_batch(args: Any, dims: Any, system: Any, options: Any) -> Any:
    y0, t, *leaves = args
    if dims[1] is not None:
        return NotImplemented  # different times per example: one integration each
    sizes = [shape_of(a)[d] for a, d in zip(args, dims, strict=True) if d is not None]
    batch = sizes[0]
    if dims[0] is None:
        y0 = stack([y0] * batch)
    else:
        y0 = moveaxis(y0, dims[0], 0)
    n = shape_of(y0)[1]
    moved = [
        leaf if d is None else moveaxis(leaf, d, 0)
        for leaf, d in zip(leaves, dims[2:], strict=True)
    ]
    leaf_dims = tuple(None if d is None else 0 for d in dims[2:])
    out = _odeint(reshape(y0, (-1,)), t, *moved, system=_Batched(system, batch, n, leaf_dims),
                  options=options)  # fmt: skip
    return reshape(out, (shape_of(out)[0], batch, n)), 1


defbatch(_odeint, _odeint_batch)


def odeint(
    func: Callable[..., Any],
    y0: Any,
    t: Any,
    args: Any = (),
    Dfun: Any = None,
    full_output: bool = False,
    rtol: Any = None,
    atol: Any = None,
    tcrit: Any = None,
    h0: float = 0.0,
    hmax: float = 0.0,
    hmin: float = 0.0,
    mxstep: int = 0,
    tfirst: bool = False,
) -> Any:
    """Integrate ``dy/dt = func(y, t, *args)`` from ``y(t[0]) = y0`` (scipy.integrate.odeint),
    returning ``y`` at every time of ``t``, shape ``(len(t), len(y0))``.

    Differentiable in ``y0``, in the times ``t`` and in the float arrays of ``args`` (a
    tuple whose entries may be pytrees), by the adjoint method in reverse mode and by
    forward sensitivities in forward mode; the derivatives are integrated to the same
    ``rtol``/``atol``. ``func`` must be written with tapeflow-compatible operations
    (``tapeflow.numpy``, or numpy functions that dispatch to it). ``tfirst=True`` calls
    ``func(t, y, *args)``. ``Dfun`` and ``full_output`` are not supported (tapeflow's
    derivatives do not need them). Needs SciPy (``tapeflow[scipy]``).

    Example:
        >>> import tapeflow as tp, tapeflow.numpy as tnp
        >>> decay = lambda y, t, k: -k * y
        >>> ts = np.array([0.0, 1.0])
        >>> float(odeint(decay, np.array([1.0]), ts, args=(2.0,))[1, 0])  # exp(-2)
        0.1353352...
        >>> float(tp.grad(lambda k: odeint(decay, np.array([1.0]), ts, args=(k,))[1, 0])(2.0))
        -0.1353352...
    """
    if Dfun is not None or full_output:
        raise NotImplementedError(
            "tapeflow's odeint supports neither Dfun nor full_output: its derivatives come "
            "from the adjoint method; call scipy.integrate.odeint directly for those options"
        )
    # Lists and tuples (of numbers or traced values) as numpy takes them.
    y0, t = (asarray(v) if isinstance(v, (list, tuple)) else v for v in (y0, t))
    if is_complex(y0) or is_complex(t):
        raise TypeError("odeint integrates real systems (as SciPy's LSODA): got complex input")
    if not isinstance(args, tuple):
        args = (args,)
    leaves, treedef = tree_flatten(args)
    options = {"rtol": rtol, "atol": atol, "tcrit": tcrit, "h0": h0, "hmax": hmax,
               "hmin": hmin, "mxstep": mxstep}  # fmt: skip
    options = {k: v for k, v in options.items() if v is not None}
    if len(shape_of(y0)) != 1:
        y0 = reshape(y0, (-1,))
    system = _System(func, treedef, tfirst)
    return _odeint(y0, t, *leaves, system=system, options=tuple(sorted(options.items())))
