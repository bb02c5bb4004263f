"""Checking the arguments of ``tapeflow.random``: keys, shapes, dtypes.

Each check runs before any work and says what it received and how to fix it. Keys
may be traced (under ``tp.jit`` or ``tp.vmap``): only their shape and dtype are read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer
from tapeflow.numpy.meta import dtype_of, shape_of

__all__ = [
    "is_key",
    "check_key",
    "uses_key",
    "canonical_shape",
    "check_broadcasts_to",
    "float_dtype",
    "integer_dtype",
    "DEFAULT_FLOAT",
    "DEFAULT_INT",
]

DEFAULT_FLOAT = np.dtype(np.float64)  # tapeflow's default float, where JAX's is float32
DEFAULT_INT = np.dtype(np.int64)


def is_key(x: Any) -> bool:
    """True when ``x`` is one key: a uint32 array of shape ``(2,)``, plain or traced.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> is_key(tp.random.key(0)), is_key(np.array([0, 1])), is_key(np.random.default_rng())
        (True, False, False)
    """
    if not isinstance(x, (np.ndarray, Tracer)):
        return False
    return tuple(shape_of(x)) == (2,) and dtype_of(x) == np.uint32


def check_key(key: Any, fun: str) -> Any:
    """``key`` itself when it is one key; otherwise a ``TypeError`` (``ValueError`` for a
    batch of keys) saying what was passed and how to make a key.

    Example:
        >>> check_key(7, "uniform")
        Traceback (most recent call last):
        TypeError: uniform: expected a key, got the integer 7; pass tp.random.key(7) instead ...
    """
    if is_key(key):
        return key
    make = "make one with tp.random.key(seed) and split it with tp.random.split(key)"
    if isinstance(key, np.random.Generator):
        raise TypeError(
            f"{fun}: expected a key, got a numpy.random.Generator; tapeflow.random takes "
            f"keys (uint32 arrays of shape (2,)): {make}"
        )
    if isinstance(key, (int, np.integer)):
        raise TypeError(
            f"{fun}: expected a key, got the integer {int(key)}; pass "
            f"tp.random.key({int(key)}) instead of the seed itself"
        )
    if not isinstance(key, (np.ndarray, Tracer)):
        raise TypeError(
            f"{fun}: expected a key (a uint32 array of shape (2,)), got "
            f"{type(key).__name__}; {make}"
        )
    shape, dtype = tuple(shape_of(key)), dtype_of(key)
    if dtype == np.uint32 and len(shape) > 1 and shape[-1] == 2:
        raise ValueError(
            f"{fun}: expected one key of shape (2,), got a batch of keys of shape {shape}; "
            f"map over the batch with tp.vmap, e.g. tp.vmap(lambda k: {fun}(k, ...))(keys)"
        )
    raise TypeError(
        f"{fun}: expected a key, a uint32 array of shape (2,), got an array of dtype {dtype} "
        f"and shape {shape}; {make} (np.asarray(words, np.uint32) turns two saved words "
        "back into a key)"
    )


def uses_key(rng: Any, fun: str) -> bool:
    """For functions that take either kind of randomness (``tapeflow.nn``'s): True for a
    key, False for a ``numpy.random.Generator``, a ``TypeError`` naming both otherwise
    (or :func:`check_key`'s error for an array that is almost a key).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> uses_key(tp.random.key(0), "dropout"), uses_key(np.random.default_rng(0), "dropout")
        (True, False)
    """
    if isinstance(rng, np.random.Generator):
        return False
    if isinstance(rng, (np.ndarray, Tracer)):
        check_key(rng, fun)
        return True
    raise TypeError(
        f"{fun} needs a numpy.random.Generator (np.random.default_rng(seed)) or a "
        f"tp.random key (tp.random.key(seed)), got {type(rng).__name__}"
    )


def canonical_shape(shape: Any, fun: str, name: str = "shape") -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative Python ints, or a clear error.

    Example:
        >>> canonical_shape([2, np.int64(3)], "normal")
        (2, 3)
    """
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        raise TypeError(
            f"{fun}: {name} must be a tuple of ints, got the int {shape}; write "
            f"{name}=({int(shape)},) for a vector of {int(shape)} values"
        )
    if isinstance(shape, Tracer) or not isinstance(shape, (tuple, list)):
        raise TypeError(
            f"{fun}: {name} must be a tuple of non-negative ints, got {type(shape).__name__} "
            f"{shape!r}"
        )
    dims = []
    for d in shape:
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool) or d < 0:
            raise ValueError(
                f"{fun}: {name} must be a tuple of non-negative ints, got {tuple(shape)!r}"
            )
        dims.append(int(d))
    return tuple(dims)


def check_broadcasts_to(fun: str, shape: tuple[int, ...], **params: Any) -> None:
    """The parameters' shapes broadcast to ``shape`` exactly, as JAX requires.

    Example:
        >>> check_broadcasts_to("uniform", (2, 3), minval=np.zeros(3), maxval=1.0)  # fine
        >>> check_broadcasts_to("uniform", (3,), minval=np.zeros((2, 3)))
        Traceback (most recent call last):
        ValueError: uniform: minval of shape (2, 3) do not broadcast to shape=(3,); ...
    """
    shapes = {name: tuple(shape_of(v)) for name, v in params.items()}
    try:
        result = np.broadcast_shapes(shape, *shapes.values())
    except ValueError:
        result = None
    if result != shape:
        described = ", ".join(f"{name} of shape {s}" for name, s in shapes.items())
        raise ValueError(
            f"{fun}: {described} do not broadcast to shape={shape}; pass a shape that they "
            f"broadcast to (or shape=None where it is allowed, for their broadcast shape)"
        )


def float_dtype(dtype: Any, fun: str) -> np.dtype[Any]:
    """``dtype`` (None: float64) as a float16, float32 or float64 dtype, or a TypeError.

    Example:
        >>> float_dtype(None, "uniform"), float_dtype("float32", "uniform")
        (dtype('float64'), dtype('float32'))
    """
    dt = DEFAULT_FLOAT if dtype is None else np.dtype(dtype)
    if dt not in (np.float16, np.float32, np.float64):
        raise TypeError(f"{fun}: dtype must be float16, float32 or float64, got {dt}")
    return dt


def integer_dtype(dtype: Any, fun: str) -> np.dtype[Any]:
    """``dtype`` (None: int64) as a signed or unsigned integer dtype, or a TypeError.

    Example:
        >>> integer_dtype(None, "randint"), integer_dtype(np.uint8, "randint")
        (dtype('int64'), dtype('uint8'))
    """
    dt = DEFAULT_INT if dtype is None else np.dtype(dtype)
    if not np.issubdtype(dt, np.integer):
        raise TypeError(f"{fun}: dtype must be an integer dtype, got {dt}")
    return dt
