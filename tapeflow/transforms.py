"""Reverse-mode transforms: ``vjp``, ``grad`` and ``value_and_grad``.

Each call wraps the differentiated arguments in tracers on a fresh
:class:`~tapeflow.tape.Tape`, runs the user's function once, and replays the
tape backwards from the output cotangent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see tape.py)

from tapeflow.tape import Tape, backward, gc_paused, pop_trace, push_trace
from tapeflow.tracer import Tracer
from tapeflow.tree_util import (
    _LEAF,
    PyTreeDef,
    _flatten_leaves,
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_unflatten,
)

__all__ = ["vjp", "grad", "value_and_grad"]


# ----- argument checking ------------------------------------------------------
def a_or_an(noun: str) -> str:
    """``noun`` with its indefinite article, for messages: "an int", "a float"."""
    vowel_sound = noun[:1].lower() in "aeiou" or noun.startswith("nd")  # "an ndarray"
    return ("an " if vowel_sound else "a ") + noun


def leaf_dtype(x: Any) -> np.dtype[Any]:
    """The dtype of a leaf: arrays and numpy scalars carry one, Python numbers map to numpy's."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return dtype  # type: ignore[no-any-return]
    if isinstance(x, (bool, int, float, complex)):
        return np.result_type(x)
    raise TypeError(f"{a_or_an(type(x).__name__)} is not an array")


def _is_float(x: Any) -> bool:
    """True for float and complex leaves (the ones that carry a derivative)."""
    try:
        return bool(np.issubdtype(leaf_dtype(x), np.inexact))
    except TypeError:
        return False


def check_differentiable(leaves_with_paths: Sequence[tuple[str, Any]], what: str) -> None:
    """Raise TypeError naming the first leaf that cannot carry a gradient."""
    for path, leaf in leaves_with_paths:
        try:
            dtype = leaf_dtype(leaf)
        except TypeError:
            dtype = None
        if dtype is None or not (
            np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating)
        ):
            kind = (
                type(leaf).__name__ if dtype is None else f"{type(leaf).__name__} of dtype {dtype}"
            )
            raise TypeError(
                f"{what} at {keystr(path)} is {a_or_an(kind)}; only float and complex values "
                "can be differentiated. Convert it with .astype(float) / float(...), or leave it "
                "out of argnums if it is data (labels, indices, flags)."
            )


def _all_inexact(leaves: Sequence[Any]) -> bool:
    """True when every leaf is a float or complex array, scalar or number (the fast check)."""
    for x in leaves:
        dtype = getattr(x, "dtype", None)
        if dtype is None:
            if type(x) is not float and type(x) is not complex:
                return False
        elif dtype.kind not in "fc":
            return False
    return True


def check_args_differentiable(
    dyn: Sequence[Any], nums: Sequence[int], name: str, leaves: Sequence[Any] | None = None
) -> None:
    """Like :func:`check_differentiable`, naming each leaf by its argument position and path.

    ``leaves`` (the flattened ``dyn``, when the caller has them) allows a fast check;
    the paths are only built when some leaf is wrong.
    """
    for n, a in zip(nums, dyn, strict=True):
        if a is None:
            raise TypeError(_none_message(f"{name}: argument {n}"))
    if leaves is not None and _all_inexact(leaves):
        return
    check_differentiable(
        [
            (f"argument {n}{p}", x)
            for n, a in zip(nums, dyn, strict=True)
            for p, x in tree_flatten_with_path(a)[0]
        ],
        f"{name}: input",
    )


def _none_message(what: str, fix: str = "leave it out of argnums") -> str:
    return (
        f"{what} is None, which holds nothing to differentiate (None is an empty pytree). "
        f"Pass an array, or {fix} if it is not a parameter."
    )


def normalize_argnums(argnums: int | Sequence[int], nargs: int, name: str) -> tuple[int, ...]:
    """Validate ``argnums`` against the number of positional arguments."""
    if isinstance(argnums, (int, np.integer)):
        nums: tuple[Any, ...] = (int(argnums),)
    elif isinstance(argnums, (tuple, list)):
        nums = tuple(argnums)
    else:
        raise TypeError(f"{name}: argnums must be an int or a tuple of ints, got {argnums!r}")
    if not nums:
        raise ValueError(f"{name}: argnums must name at least one argument, got ()")
    out = []
    for a in nums:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{name}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{name}: argnums={argnums!r} refers to argument {a}, but the function was "
                f"called with {nargs} positional argument(s)"
            )
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        twice = next(n for n in out if out.count(n) > 1)
        raise ValueError(
            f"{name}: argnums={argnums!r} names argument {twice} twice; name each argument once "
            "(the gradient of a repeated argument would silently be split)"
        )
    return tuple(out)


_ARGNUMS_CHECKED: dict[tuple[int, int, str], tuple[int, ...]] = {}


def _checked_argnums(argnums: Any, nargs: int, name: str) -> tuple[int, ...]:
    """:func:`normalize_argnums`, remembered for an int: ``grad(f)`` is often built per step."""
    if type(argnums) is not int:  # tuples, and values that must raise (1.0 == 1 as a key)
        return normalize_argnums(argnums, nargs, name)
    key = (argnums, nargs, name)
    nums = _ARGNUMS_CHECKED.get(key)
    if nums is None:
        nums = normalize_argnums(argnums, nargs, name)
        if len(_ARGNUMS_CHECKED) < 1024:
            _ARGNUMS_CHECKED[key] = nums
    return nums


def _named_like(wrapper: Callable[..., Any], fun: Callable[..., Any]) -> Callable[..., Any]:
    """``functools.wraps(fun)(wrapper)`` for plain functions, written out (it is about half
    the cost of building ``grad(f)``, which training loops often do on every step)."""
    if type(fun) is not type(wrapper):  # partials, callable objects...: the general way
        return functools.update_wrapper(wrapper, fun)
    wrapper.__module__ = fun.__module__
    wrapper.__name__ = fun.__name__
    wrapper.__qualname__ = fun.__qualname__
    wrapper.__doc__ = fun.__doc__
    wrapper.__annotations__ = fun.__annotations__
    if fun.__dict__:
        wrapper.__dict__.update(fun.__dict__)
    wrapper.__wrapped__ = fun  # type: ignore[attr-defined]
    return wrapper


def partial_args(
    fun: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], argnums: tuple[int, ...]
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """Split ``args`` into the differentiated ones and a function of just those."""
    dyn = (args[argnums[0]],) if len(argnums) == 1 else tuple([args[i] for i in argnums])

    def f_dyn(*dyn_args: Any) -> Any:
        full = list(args)
        for i, a in zip(argnums, dyn_args, strict=True):
            full[i] = a
        return fun(*full, **kwargs)

    return f_dyn, dyn


def split_aux(out: Any, has_aux: bool, name: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(
            f"{name}(..., has_aux=True) needs the function to return a pair (output, aux), "
            f"got {type(out).__name__}"
        )
    return out[0], out[1]


def value_shape(x: Any) -> tuple[int, ...]:
    return x.shape if hasattr(x, "shape") else np.shape(x)


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
        traced = tracers[0] if in_tree is _LEAF else tree_unflatten(in_tree, tracers)
        full = list(args)
        if single:
            full[nums[0]] = traced
        else:
            for i, a in zip(nums, traced, strict=True):
                full[i] = a
        out = fun(*full, **kwargs) if kwargs else fun(*full)
        out, aux = split_aux(out, has_aux, name)
        if type(out) is Tracer:  # the usual single output, without the general pytree pass
            out_leaves, out_tree = [out], _LEAF
        else:
            out_leaves, out_tree = tree_flatten(out)
        if aux is not None:
            aux = _strip(aux, tape)
    finally:
        pop_trace(tape)
    if out_tree is _LEAF:
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


def _zeros_like(x: Any) -> Any:
    return np.zeros(value_shape(x), leaf_dtype(x))


def _cast_to(ct: Any, like: Any) -> Any:
    """Give an input's cotangent exactly the input's dtype (float32 stays float32)."""
    dtype = leaf_dtype(like)
    ct_dtype = getattr(ct, "dtype", None)
    if ct_dtype is None:  # a Python number from a rule: a numpy scalar, as for arrays
        return np.asarray(ct, dtype)[()]
    if ct_dtype != dtype:
        if np.issubdtype(ct_dtype, np.complexfloating) and not np.issubdtype(
            dtype, np.complexfloating
        ):
            import tapeflow.numpy as tnp

            ct = tnp.real(ct)
        import tapeflow.numpy as tnp

        ct = tnp.astype(ct, dtype)
    return ct


def _pull_back(
    tape: Tape,
    out_leaves: list[Any],
    ct_leaves: list[Any],
    in_leaves: list[Any],
    retain: bool,
) -> list[Any]:
    """Cotangents of the inputs given cotangents of the outputs."""
    seeds: dict[int, Any] = {}
    for o, ct in zip(out_leaves, ct_leaves, strict=True):
        if type(o) is Tracer and o._trace is tape:
            slot = o._aux
            seeds[slot] = ct if slot not in seeds else seeds[slot] + ct
    n_in = len(in_leaves)
    if not seeds:
        return [_zeros_like(x) for x in in_leaves]
    cts = backward(tape, seeds, retain)  # (the callers pause the cyclic GC)
    result = []
    for i, x in enumerate(in_leaves):
        ct = cts[i] if i < len(cts) else None
        if (
            type(ct) is ndarray
            and type(x) is ndarray
            and ct.shape == x.shape
            and ct.dtype == x.dtype
        ):
            result.append(ct)  # the common case: nothing to fit or cast
            continue
        if ct is not None and value_shape(ct) != value_shape(x):
            raise ValueError(
                f"the cotangent computed for input leaf {i} has shape {value_shape(ct)}, but the "
                f"input has shape {value_shape(x)}: a VJP rule returned a cotangent of the wrong "
                "shape. Check custom rules with tp.check_grads."
            )
        ct = _zeros_like(x) if ct is None else _cast_to(ct, x)
        if type(ct) is ndarray and ct.ndim == 0 and not isinstance(x, ndarray):
            ct = ct[()]  # scalar in, numpy scalar out (not a 0-d array)
        result.append(ct)
    assert len(result) == n_in
    return result


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
def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
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
    for n, p in enumerate(primals):
        if p is None:
            raise TypeError(_none_message(f"vjp: primal {n}", "close over it instead"))
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
            in_cts = _pull_back(tape, out_leaves, ct_leaves, in_leaves, retain=True)
        return tuple(tree_unflatten(in_tree, in_cts))

    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def _scalar_seed(out: Any, name: str, holomorphic: bool = False) -> Any:
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
) -> Callable[..., Any]:
    """Return a function computing ``fun``'s value and its gradient in one pass.

    The new function returns ``(value, grad)``, or ``((value, aux), grad)`` with
    ``has_aux=True``. ``grad`` has the structure of the argument(s) named by
    ``argnums`` (a tuple of gradients when ``argnums`` is a tuple). Complex
    inputs and ``holomorphic=True``: see :func:`grad`.

    Example:
        >>> import tapeflow as tp
        >>> tp.value_and_grad(lambda x, y: x * y + x)(3.0, 4.0)
        (np.float64(15.0), np.float64(5.0))
    """
    return _value_and_grad(fun, argnums, has_aux, holomorphic, "value_and_grad")


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
            nums = _checked_argnums(argnums, len(args), name)
            # One argument is differentiated as the pytree it is; several as a tuple.
            dyn = args[nums[0]] if single else tuple([args[i] for i in nums])
            in_leaves: list[Any] = []
            in_tree = _flatten_leaves(dyn, in_leaves)
            check_args_differentiable((dyn,) if single else dyn, nums, "grad", in_leaves)
            if holomorphic:
                _check_complex_inputs((dyn,) if single else dyn)
            out, tape, out_leaves, out_tree, aux = _record(
                fun, args, kwargs, nums, single, in_leaves, in_tree, has_aux, "grad"
            )
            if out_tree is not _LEAF and (out_tree.num_leaves != 1 or out_tree.node_type):
                raise TypeError(
                    "grad requires a function with a single scalar output, but it returned a "
                    f"{type(out).__name__} with structure {out_tree}. Use has_aux=True to return "
                    "extra values, or tp.vjp for several outputs."
                )
            seed = _scalar_seed(out, "grad", holomorphic)
            in_cts = _pull_back(tape, out_leaves, [seed], in_leaves, retain=False)
            g = in_cts[0] if in_tree is _LEAF else tree_unflatten(in_tree, in_cts)
            if grad_only:
                return (g, aux) if has_aux else g
            return ((out, aux), g) if has_aux else (out, g)

    return _named_like(value_and_grad_fun, fun)


def grad(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    holomorphic: bool = False,
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

    Example:
        >>> import tapeflow as tp
        >>> import tapeflow.numpy as tnp
        >>> float(tp.grad(tnp.tanh)(0.0))
        1.0
        >>> float(tp.grad(tp.grad(lambda x: x ** 3))(2.0))
        12.0
    """
    return _value_and_grad(fun, argnums, has_aux, holomorphic, "grad", grad_only=True)
