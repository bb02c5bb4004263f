"""Checking and splitting the arguments of transforms (``argnums``, ``has_aux``, leaves).

Shared by every transform, so that each states the same mistakes the same way:
what was received, and how to fix it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tapeflow.core.leaves import a_or_an, leaf_dtype
from tapeflow.core.pytree import keystr, tree_flatten_with_path

__all__ = [
    "float0",
    "is_int_like",
    "check_differentiable",
    "check_args_differentiable",
    "none_message",
    "normalize_argnums",
    "checked_argnums",
    "named_like",
    "partial_args",
    "split_aux",
]


# The dtype of the gradient of an integer or boolean input under ``allow_int=True``: a
# trivial vector space (each entry holds no bytes), as in JAX.
float0 = np.dtype([("float0", np.void, 0)])


def is_int_like(x: Any) -> bool:
    """True for integer and boolean leaves (inputs without derivatives, see ``allow_int``)."""
    try:
        return leaf_dtype(x).kind in "biu"
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
            raise TypeError(none_message(f"{name}: argument {n}"))
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


def none_message(what: str, fix: str = "leave it out of argnums") -> str:
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


def checked_argnums(argnums: Any, nargs: int, name: str) -> tuple[int, ...]:
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


def named_like(wrapper: Callable[..., Any], fun: Callable[..., Any]) -> Callable[..., Any]:
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
