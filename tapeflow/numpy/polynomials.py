"""Polynomials given by their coefficients, highest power first: ``polyval``.

A composition of products and sums (Horner's scheme, the same steps as numpy's), so
it is differentiable in the coefficients and the points to every order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tapeflow.numpy.declare import register_numpy
from tapeflow.numpy.joining import build_array
from tapeflow.numpy.meta import dtype_of, shape_of

__all__ = ["polyval"]


def polyval(p: Any, x: Any, *, unroll: int = 16) -> Any:
    """The polynomial with coefficients ``p`` (highest power first) at the points ``x``
    (numpy.polyval), differentiable in both.

    ``unroll`` is accepted for code written for ``jax.numpy.polyval``, where it tunes the
    compiled loop; here the loop is Python's, and the value is the same either way.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.grad(lambda x: polyval(np.array([1.0, 0.0, -2.0]), x))(3.0))
        6.0
    """
    p, x = build_array(p), build_array(x)
    if not shape_of(p):
        raise TypeError("polyval: p must be a sequence of coefficients, got a 0-d array")
    y: Any = np.zeros(shape_of(x), dtype_of(x))  # numpy's start: zeros shaped like x
    for i in range(shape_of(p)[0]):
        y = y * x + p[i]
    return y


register_numpy(np.polyval, polyval)
