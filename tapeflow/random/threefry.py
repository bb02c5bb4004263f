"""The Threefry-2x32 block cipher and the three primitives built on it.

Threefry-2x32 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
encrypts a pair of 32-bit counter words under a pair of 32-bit key words. A
counter-based generator needs nothing else: the ``i``-th random word of a key is the
encryption of the counter ``i``, so every value depends only on the key and its
position, never on what was drawn before. The kernel below works on whole numpy
arrays of counters (and of keys, which is how a batch of keys is one call).

Counters follow JAX's layout (its default since JAX 0.5): entry ``i`` of a draw, in
row-major order, encrypts the counter pair ``(i // 2**32, i % 2**32)``.

* :func:`random_bits` gives 8-, 16-, 32- or 64-bit words: the two output words of each
  counter, combined (xor for 32 bits and fewer; high and low halves for 64).
* :func:`split_key` gives new keys: the two output words of counter ``i`` are key ``i``.
* :func:`fold_in` gives the key for the counter ``(0, data)``.

All three are nondifferentiable tapeflow primitives, so ``tp.jit`` records them, and
each has a batching rule: the kernel takes keys of shape ``(..., 2)``, so ``tp.vmap``
over keys is one vectorised call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.batching import batch_size, bcast_front, to_front
from tapeflow.core.arrays import ops
from tapeflow.core.leaves import value_shape
from tapeflow.core.primitive import defbatch, nondifferentiable, primitive

__all__ = ["threefry2x32", "random_bits", "split_key", "fold_in", "UNSIGNED_BY_WIDTH"]

# The rotation of each round, by round number modulo 8 (Threefry-2x32's constants).
_ROTATIONS = (13, 15, 26, 6, 17, 29, 16, 24)
# Makes the third key word differ from the other two even for an all-zero key.
_KEY_PARITY = np.uint32(0x1BD11BDA)

UNSIGNED_BY_WIDTH = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}


def threefry2x32(k0: Any, k1: Any, x0: Any, x1: Any, rounds: int = 20) -> tuple[Any, Any]:
    """Encrypt the counter words ``(x0, x1)`` under the key words ``(k0, k1)``.

    All four broadcast against each other (uint32 arrays or Python ints); the result is a
    pair of uint32 arrays of the broadcast shape. 20 rounds, as in JAX and Random123;
    ``rounds`` exists for the cipher's published test vectors at 13 and 32 rounds.

    Example:
        >>> y0, y1 = threefry2x32(0, 0, 0, 0)  # a Random123 known answer
        >>> hex(int(y0)), hex(int(y1))
        ('0x6b200159', '0x99ba4efe')
    """
    words = [np.asarray(w, dtype=np.uint32) for w in (k0, k1, x0, x1)]
    shape = np.broadcast_shapes(*(w.shape for w in words))
    # At least 1-d: arithmetic on numpy scalars warns on wrap-around, on arrays it does not.
    k0, k1, x0, x1 = (np.broadcast_to(w, shape).reshape(-1) for w in words)
    schedule = (k0, k1, k0 ^ k1 ^ _KEY_PARITY)
    x0 = x0 + schedule[0]  # new arrays: the updates below are in place
    x1 = x1 + schedule[1]
    for r in range(rounds):
        rotation = _ROTATIONS[r % 8]
        x0 += x1
        spill = x1 >> np.uint32(32 - rotation)
        x1 <<= np.uint32(rotation)
        x1 |= spill
        x1 ^= x0
        if r % 4 == 3:  # key injection every four rounds
            injection = r // 4 + 1
            x0 += schedule[injection % 3]
            x1 += schedule[(injection + 1) % 3]
            x1 += np.uint32(injection)
    return x0.reshape(shape), x1.reshape(shape)


def _counters(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The counter pairs ``(i // 2**32, i % 2**32)`` for the entries of ``shape``."""
    index = np.arange(math.prod(shape), dtype=np.uint64)
    high = (index >> np.uint64(32)).astype(np.uint32)
    low = (index & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    return high.reshape(shape), low.reshape(shape)


def _encrypt_counters(key: Any, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Both output words for every counter of ``shape``, under keys of shape ``(..., 2)``:
    two arrays of shape ``key.shape[:-1] + shape``."""
    key = np.asarray(key, dtype=np.uint32)
    spread = key.shape[:-1] + (1,) * len(shape)  # each key against every counter
    high, low = _counters(shape)
    return threefry2x32(key[..., 0].reshape(spread), key[..., 1].reshape(spread), high, low)


# ----- random words ---------------------------------------------------------------------
def _np_random_bits(key: Any, shape: tuple[int, ...] = (), bit_width: int = 32) -> np.ndarray:
    """Random words of ``bit_width`` bits (8, 16, 32 or 64), one per entry of ``shape``.

    ``key`` has shape ``(..., 2)``; the answer has shape ``key.shape[:-1] + shape``.

    Example:
        >>> import numpy as np
        >>> random_bits(np.zeros((3, 2), np.uint32), shape=(4,), bit_width=64).shape
        (3, 4)
    """
    first, second = _encrypt_counters(key, shape)
    if bit_width == 64:
        words: np.ndarray = (first.astype(np.uint64) << np.uint64(32)) | second
        return words
    mixed: np.ndarray = (first ^ second).astype(UNSIGNED_BY_WIDTH[bit_width])  # low bits
    return mixed


random_bits = primitive(_np_random_bits, name="random.bits")


# ----- new keys -------------------------------------------------------------------------
def _np_split_key(key: Any, shape: tuple[int, ...] = (2,)) -> np.ndarray:
    """New keys, one per entry of ``shape``: shape ``key.shape[:-1] + shape + (2,)``.

    Example:
        >>> import numpy as np
        >>> split_key(np.zeros(2, np.uint32), shape=(2, 3)).shape
        (2, 3, 2)
    """
    first, second = _encrypt_counters(key, shape)
    return np.stack([first, second], axis=-1)


split_key = primitive(_np_split_key, name="random.split")


def _np_fold_in(key: Any, data: Any) -> np.ndarray:
    """The key for the counter ``(0, data)``; keys ``(..., 2)`` and data ``(...)`` broadcast.

    Example:
        >>> import numpy as np
        >>> fold_in(np.zeros(2, np.uint32), np.arange(3)).shape
        (3, 2)
    """
    key = np.asarray(key, dtype=np.uint32)
    # Integers wrap to 32 bits, as numpy's casts do: -1 folds in as 2**32 - 1.
    word = np.asarray(data).astype(np.uint32)
    first, second = threefry2x32(key[..., 0], key[..., 1], np.uint32(0), word)
    return np.stack([first, second], axis=-1)


fold_in = primitive(_np_fold_in, name="random.fold_in")


# ----- declarations: no derivatives; batching moves the batch axis of the keys in front ---
def _keys_in_front_rule(prim: Any) -> Any:
    def rule(args: Any, dims: Any, **kwargs: Any) -> Any:
        return prim(to_front(args[0], dims[0]), **kwargs), 0

    return rule


def _fold_in_batch_rule(args: Any, dims: Any) -> Any:
    """Both arguments with the batch axis in front and their example axes lined up."""
    size = batch_size(args, dims)
    key = bcast_front(args[0], dims[0], size)
    data = bcast_front(args[1], dims[1], size)
    key_rank = len(value_shape(key)) - 2  # the example's keys, without the trailing 2
    data_rank = len(value_shape(data)) - 1
    rank = max(key_rank, data_rank)
    key = ops.reshape(key, (size,) + (1,) * (rank - key_rank) + tuple(value_shape(key))[1:])
    data = ops.reshape(data, (size,) + (1,) * (rank - data_rank) + tuple(value_shape(data))[1:])
    return fold_in(key, data), 0


for _prim in (random_bits, split_key, fold_in):
    nondifferentiable(_prim)
defbatch(random_bits, _keys_in_front_rule(random_bits))
defbatch(split_key, _keys_in_front_rule(split_key))
defbatch(fold_in, _fold_in_batch_rule)
