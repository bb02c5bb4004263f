"""Mini-batch iteration over paired arrays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["batches", "as_generator"]


def as_generator(rng: Any) -> np.random.Generator:
    """Accept a ``numpy.random.Generator``, an integer seed or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}"
    )


def batches(
    x: Any,
    y: Any,
    batch_size: int,
    rng: Any = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Iterate once over ``(x, y)`` in mini-batches of ``batch_size`` rows.

    Args:
        x, y: arrays with the same number of rows (first dimension).
        batch_size: rows per batch (a positive int).
        rng: a ``numpy.random.Generator`` or int seed for the shuffle; None draws
            fresh entropy (not reproducible).
        shuffle: visit the rows in a random order (a new permutation per call).
        drop_last: skip a final batch smaller than ``batch_size``.

    Yields:
        ``(x_batch, y_batch)`` pairs; every row appears at most once per pass.

    Example:
        >>> x, y = np.arange(10).reshape(5, 2), np.arange(5)
        >>> [len(yb) for _, yb in batches(x, y, 2, shuffle=False)]
        [2, 2, 1]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("x and y must have a leading (row) dimension")
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x has {n} rows but y has {len(y)}")
    order = as_generator(rng).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield x[start : start + batch_size], y[start : start + batch_size]
        else:
            idx = order[start : start + batch_size]
            yield x[idx], y[idx]
