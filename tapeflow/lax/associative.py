"""``associative_scan``: all prefix combinations of an associative operation in
logarithmic depth, written with array operations (so every transform applies)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import tapeflow.numpy as tnp
from tapeflow.core.pytree import tree_flatten, tree_unflatten

__all__ = ["associative_scan"]


def associative_scan(
    fn: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0
) -> Any:
    """Inclusive prefix combinations ``fn(...fn(fn(e0, e1), e2)..., ek)`` along ``axis``
    (jax.lax.associative_scan).

    ``fn`` must be associative and work on whole slices (it receives pytrees of arrays
    whose ``axis`` holds several elements); ``elems`` is a pytree of arrays sharing the
    length of ``axis``. It calls ``fn`` on halves of the input about ``2 log2 n`` times
    instead of ``n`` times in sequence. With ``reverse``, the combinations run from the end.

    Example:
        >>> import numpy as np
        >>> from tapeflow import lax
        >>> lax.associative_scan(lambda a, b: a + b, np.arange(1.0, 6.0))
        array([ 1.,  3.,  6., 10., 15.])
    """
    if not callable(fn):
        raise TypeError(f"associative_scan: fn must be callable, got {type(fn).__name__}")
    leaves, tree = tree_flatten(elems)
    if not leaves:
        raise ValueError("associative_scan: elems has no arrays")
    axis = operator.index(axis)
    ndim = len(tnp.shape(leaves[0]))
    if not -ndim <= axis < ndim:
        raise ValueError(f"associative_scan: axis {axis} is out of range for {ndim} dimensions")
    axis %= ndim
    lengths = {tnp.shape(x)[axis] if len(tnp.shape(x)) > axis else None for x in leaves}
    if len(lengths) != 1 or None in lengths:
        raise ValueError(
            f"associative_scan: every leaf of elems needs the same length along axis {axis}, "
            f"got shapes {[tuple(tnp.shape(x)) for x in leaves]}"
        )

    def combine(a: list[Any], b: list[Any]) -> list[Any]:
        out_leaves, out_tree = tree_flatten(fn(tree_unflatten(tree, a), tree_unflatten(tree, b)))
        if out_tree != tree:
            raise TypeError(
                f"associative_scan: fn must return the structure of elems {tree}, got {out_tree}"
            )
        return out_leaves

    def part(xs: list[Any], start: int, stop: int | None, step: int = 1) -> list[Any]:
        index = (slice(None),) * axis + (slice(start, stop, step),)
        return [x[index] for x in xs]

    def scan(xs: list[Any]) -> list[Any]:
        n = tnp.shape(xs[0])[axis]
        if n < 2:
            return xs
        odd = scan(combine(part(xs, 0, -1, 2), part(xs, 1, None, 2)))
        if n % 2 == 0:
            even = combine(part(odd, 0, -1), part(xs, 2, None, 2))
        else:
            even = combine(odd, part(xs, 2, None, 2))
        even = [
            tnp.concatenate([f, e], axis=axis) for f, e in zip(part(xs, 0, 1), even, strict=True)
        ]
        return [_interleave(e, o, axis) for e, o in zip(even, odd, strict=True)]

    if reverse:
        leaves = [tnp.flip(x, axis) for x in leaves]
    out = scan(leaves)
    if reverse:
        out = [tnp.flip(x, axis) for x in out]
    return tree_unflatten(tree, out)


def _interleave(even: Any, odd: Any, axis: int) -> Any:
    """``even[0], odd[0], even[1], odd[1], ...`` along ``axis`` (``even`` may be one longer)."""
    n_odd = tnp.shape(odd)[axis]
    head = (slice(None),) * axis
    pairs = tnp.stack([even[head + (slice(0, n_odd),)], odd], axis=axis + 1)
    shape = tuple(tnp.shape(pairs))
    merged = tnp.reshape(pairs, shape[:axis] + (2 * n_odd,) + shape[axis + 2 :])
    if tnp.shape(even)[axis] > n_odd:
        merged = tnp.concatenate([merged, even[head + (slice(n_odd, None),)]], axis=axis)
    return merged
