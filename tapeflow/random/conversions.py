"""From random words to numbers: floats in [0, 1), integers in a range, a float's neighbour.

These are the bit-level steps that ``tapeflow.numpy`` has no operation for (shifts and
unsigned modular arithmetic). Each is an elementwise, nondifferentiable primitive, so
``tp.jit`` records it and ``tp.vmap`` batches it without a rule of its own; everything
else the samplers do is ordinary ``tapeflow.numpy`` arithmetic, which ``tp.grad`` sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.core.primitive import nondifferentiable, primitive

__all__ = ["unit_interval", "bounded_integers", "nextafter"]


def _np_unit_interval(bits: Any, dtype: Any = np.float64) -> np.ndarray:
    """Floats in [0, 1) of ``dtype`` from unsigned words of the same width.

    float16, float32 and float64 take 16-, 32- and 64-bit words and keep their top 10,
    23 and 52 bits: the values are the multiples of 2**-10, 2**-23 or 2**-52 below 1.

    Example:
        >>> unit_interval(np.array([0, 2**63, 2**64 - 1], np.uint64), dtype=np.float64)
        array([0. , 0.5, 1. ])
    """
    dtype = np.dtype(dtype)
    mantissa_bits = np.finfo(dtype).nmant
    # The top mantissa_bits bits, as an integer k, give k / 2**mantissa_bits: exactly the
    # float 1.k - 1 that JAX builds by bit-casting, every value exactly representable.
    shift = np.asarray(8 * dtype.itemsize - mantissa_bits, dtype=bits.dtype)
    top = np.right_shift(bits, shift)
    out: np.ndarray = top.astype(dtype) * dtype.type(2.0**-mantissa_bits)
    return out


unit_interval = primitive(_np_unit_interval, name="random.unit_interval", elementwise=True)


def _as_int64(bound: np.ndarray) -> np.ndarray:
    """Integer bounds as int64; uint64 ones above its range clip to its largest value."""
    if bound.dtype == np.uint64:
        bound = np.minimum(bound, np.uint64(2**63 - 1))
    return bound.astype(np.int64)


def _np_bounded_integers(bits: Any, minval: Any, maxval: Any, dtype: Any = np.int64) -> np.ndarray:
    """Integers in [minval, maxval) of ``dtype`` from 64-bit words.

    ``minval + bits % (maxval - minval)``, computed with unsigned 64-bit words. The
    bounds are clipped to ``dtype``'s range (int8 to int64, uint8 to uint32); where
    ``maxval <= minval`` the answer is ``minval``. Each value's probability is within a
    factor ``1 + span / 2**64`` of ``1 / span``.

    Example:
        >>> bounded_integers(np.arange(5, dtype=np.uint64), -1, 2, dtype=np.int8)
        array([-1,  0,  1, -1,  0], dtype=int8)
    """
    dtype = np.dtype(dtype)
    info = np.iinfo(dtype)
    arrays = [np.asarray(a) for a in (bits, minval, maxval)]
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    # At least 1-d: unsigned arithmetic on numpy scalars warns when it wraps around.
    bits, minval, maxval = (np.broadcast_to(a, shape).reshape(-1) for a in arrays)
    low = np.clip(_as_int64(minval), info.min, info.max)
    # maxval is exclusive: the largest value of dtype is reachable with maxval = max + 1.
    high = np.clip(_as_int64(maxval), info.min, min(info.max + 1, 2**63 - 1))
    # The range's width as an unsigned 64-bit word: exact even across all of int64.
    span = high.view(np.uint64) - low.view(np.uint64)
    span[high <= low] = 1  # an empty range gives minval, as in JAX
    offset = bits.astype(np.uint64) % span
    out: np.ndarray = (low.view(np.uint64) + offset).view(np.int64).astype(dtype)
    return out.reshape(shape)


bounded_integers = primitive(_np_bounded_integers, name="random.bounded_integers", elementwise=True)


def _np_nextafter(x: Any, toward: Any) -> Any:
    """The float next to ``x`` in the direction of ``toward`` (numpy.nextafter).

    Example:
        >>> bool(nextafter(1.0, 2.0) == 1.0 + 2.0**-52)
        True
    """
    return np.nextafter(x, toward)


nextafter = primitive(_np_nextafter, name="random.nextafter", elementwise=True)


for _prim in (unit_interval, bounded_integers, nextafter):
    nondifferentiable(_prim)
