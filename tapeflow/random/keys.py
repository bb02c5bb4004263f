"""Making keys and deriving new ones: ``key``, ``PRNGKey``, ``split``, ``fold_in``.

A key is a plain uint32 array of shape ``(2,)`` (a batch of keys: shape ``(..., 2)``),
as JAX's raw keys are. It is a value, not a state: drawing with a key does not change
it, and the same key always gives the same numbers. To draw again, derive new keys
with :func:`split` (several at once) or :func:`fold_in` (one per integer, such as a step
number), and never draw twice with the same key.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.tracer import Tracer
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.random.checks import canonical_shape, check_key
from tapeflow.random.threefry import fold_in as _fold_in
from tapeflow.random.threefry import split_key

__all__ = ["key", "PRNGKey", "split", "fold_in"]

_SEED_RANGE = (-(2**63), 2**64)


def key(seed: Any) -> np.ndarray:
    """A key made from an integer seed: the words ``(seed // 2**32, seed % 2**32)``.

    Seeds from ``-2**63`` to ``2**64 - 1`` are accepted; a negative seed is taken modulo
    ``2**64`` (so ``-1`` gives ``[4294967295, 4294967295]``), as JAX does with 64-bit
    seeds. Equal seeds give equal keys on every machine.

    Args:
        seed: a Python or numpy integer (not traced: keys are made outside ``tp.jit``
            and passed in).

    Returns:
        A uint32 array of shape ``(2,)``.

    Example:
        >>> import tapeflow as tp
        >>> tp.random.key(42)
        array([ 0, 42], dtype=uint32)
        >>> tp.random.key(2**32 + 7)
        array([1, 7], dtype=uint32)
    """
    if isinstance(seed, Tracer):
        raise TypeError(
            "key: the seed is traced; make the key outside the transformed function and pass "
            "it in as an argument (keys may be traced, seeds may not)"
        )
    if isinstance(seed, np.ndarray) and seed.shape == () and np.issubdtype(seed.dtype, np.integer):
        seed = seed.item()
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"key: the seed must be an integer, got {type(seed).__name__} {seed!r}")
    seed = int(seed)
    if not _SEED_RANGE[0] <= seed < _SEED_RANGE[1]:
        raise ValueError(f"key: the seed must lie in [-2**63, 2**64), got {seed}")
    seed %= 2**64
    return np.array([seed >> 32, seed & 0xFFFFFFFF], dtype=np.uint32)


PRNGKey = key
"""JAX's older name for :func:`key` (tapeflow's keys are raw uint32 arrays either way)."""


def split(key: Any, num: Any = 2) -> Any:
    """``num`` new keys derived from ``key``, independent of it and of each other.

    Key ``i`` of the answer is the Threefry encryption of the counter ``(0, i)`` under
    ``key``, the key ``fold_in(key, i)`` (as in JAX, whose default layout this is).

    Args:
        key: a key.
        num: how many keys (an int), or their shape (a tuple of ints).

    Returns:
        An array of shape ``(num, 2)`` (or ``num + (2,)`` for a tuple), so that
        ``key_a, key_b = split(key)`` unpacks.

    Example:
        >>> import tapeflow as tp
        >>> keys = tp.random.split(tp.random.key(0), 3)
        >>> keys.shape, keys.dtype
        ((3, 2), dtype('uint32'))
    """
    check_key(key, "split")
    if isinstance(num, (int, np.integer)) and not isinstance(num, bool):
        if num < 0:
            raise ValueError(f"split: num must be a non-negative int, got {num}")
        shape: tuple[int, ...] = (int(num),)
    else:
        shape = canonical_shape(num, "split", "num")
    return split_key(key, shape=shape)


def fold_in(key: Any, data: Any) -> Any:
    """A new key from ``key`` and an integer: different integers give independent keys.

    Handy for a key per step or per example, ``fold_in(key, step)``, without keeping
    a chain of splits. ``data`` may be traced (a step counter under ``tp.jit``).

    Args:
        key: a key.
        data: an integer scalar, used modulo ``2**32`` (Python ints from ``-2**31`` to
            ``2**32 - 1``).

    Returns:
        A key (a uint32 array of shape ``(2,)``).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> base = tp.random.key(0)
        >>> bool(np.array_equal(tp.random.fold_in(base, 1), tp.random.split(base, 2)[1]))
        True
    """
    check_key(key, "fold_in")
    if isinstance(data, (int, np.integer)) and not isinstance(data, bool):
        if not -(2**31) <= int(data) < 2**32:
            raise ValueError(
                f"fold_in: data must be a 32-bit integer (from -2**31 to 2**32 - 1), got {data}; "
                "fold a larger number in as two words, fold_in(fold_in(key, hi), lo)"
            )
        return _fold_in(key, int(data))
    if not isinstance(data, (np.ndarray, np.generic, Tracer)):
        raise TypeError(f"fold_in: data must be an integer, got {type(data).__name__}")
    if not np.issubdtype(dtype_of(data), np.integer) or shape_of(data) != ():
        raise TypeError(
            f"fold_in: data must be an integer scalar, got a {dtype_of(data)} array of shape "
            f"{tuple(shape_of(data))}; fold in one integer at a time (tp.vmap maps over several)"
        )
    return _fold_in(key, data)
