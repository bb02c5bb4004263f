"""What the transforms read off a pytree leaf: its shape, its dtype, whether it has derivatives."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["leaf_dtype", "value_shape", "is_inexact", "a_or_an"]


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


def value_shape(x: Any) -> tuple[int, ...]:
    """The shape of an array, tracer, numpy scalar or Python number."""
    return x.shape if hasattr(x, "shape") else np.shape(x)


def is_inexact(x: Any) -> bool:
    """True for float and complex leaves (the ones that carry a derivative)."""
    try:
        return bool(np.issubdtype(leaf_dtype(x), np.inexact))
    except TypeError:
        return False
