"""``tapeflow.scipy.signal``: N-d convolution and correlation (scipy.signal), differentiable.

Computed with numpy alone; SciPy is not needed. The full convolution of two N-d
arrays is one bilinear primitive (``scipy.signal.convolve``); the ``same`` and
``valid`` modes cut SciPy's window out of it, and correlation convolves with the
reversed conjugate, exactly as SciPy defines them. Both inputs are differentiable,
real or complex.

The transpose of ``a -> a * b`` (full convolution) is the correlation of the
cotangent with ``b``, cut to ``a``'s shape: ``full(g, flip(b))[m - 1 : m - 1 + n]`` on
every axis (no conjugate: JAX's convention). ``vmap`` pairs batch axes through the
primitive's leading ``batch`` axes, which are not convolved, so a batch of signals
runs as one call.

``method``: ``'direct'`` sums shifted copies of the larger input, one per entry of
the smaller one (exact for integers); ``'fft'`` multiplies spectra (numpy.fft);
``'auto'`` takes ``'direct'`` for integer inputs or a smaller input of at most 64
entries, else ``'fft'``. SciPy's ``'auto'`` times both, so its choice (and the last
bits of a float result) may differ.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tapeflow.core.primitive import defbatch, deflinear, primitive
from tapeflow.numpy.elementwise import conj, multiply
from tapeflow.numpy.meta import as_operand, dtype_of, is_complex, shape_of
from tapeflow.numpy.reductions import sum as _sum
from tapeflow.numpy.shape import flip, moveaxis, reshape

__all__ = ["convolve", "correlate"]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")
_DIRECT_UP_TO = 64  # entries of the smaller input below which 'auto' sums shifted copies


def _np_convolve_full(a: Any, b: Any, method: str = "direct", batch: int = 0) -> Any:
    """The full convolution over the axes after the first ``batch`` (which broadcast)."""
    a, b = np.asarray(a), np.asarray(b)
    dtype = np.result_type(a, b)
    lead = np.broadcast_shapes(a.shape[:batch], b.shape[:batch])
    sizes = tuple(n + m - 1 for n, m in zip(a.shape[batch:], b.shape[batch:], strict=True))
    if method == "fft" and np.issubdtype(dtype, np.inexact):
        axes = tuple(range(batch, a.ndim))
        if np.issubdtype(dtype, np.complexfloating):
            spectra = np.fft.fftn(a, sizes, axes) * np.fft.fftn(b, sizes, axes)
            return np.fft.ifftn(spectra, sizes, axes).astype(dtype, copy=False)
        spectra = np.fft.rfftn(a, sizes, axes) * np.fft.rfftn(b, sizes, axes)
        return np.fft.irfftn(spectra, sizes, axes).astype(dtype, copy=False)
    if math.prod(b.shape[batch:]) > math.prod(a.shape[batch:]):
        a, b = b, a  # one shifted copy of the larger per entry of the smaller
    out = np.zeros(lead + sizes, dtype)
    keep = (slice(None),) * batch
    weight_shape = b.shape[:batch] + (1,) * (a.ndim - batch)
    for index in np.ndindex(*b.shape[batch:]):
        window = tuple(slice(i, i + n) for i, n in zip(index, a.shape[batch:], strict=True))
        out[keep + window] += b[keep + index].reshape(weight_shape) * a
    return out


_convolve_full = primitive(_np_convolve_full, name="scipy.signal.convolve")


def _transpose(g: Any, other: Any, this: Any, method: str, batch: int) -> Any:
    """Cotangent of one factor: correlate ``g`` with the other factor, cut to this shape."""
    ndim = len(shape_of(g))
    kernel = flip(other, tuple(range(batch, ndim))) if ndim > batch else other
    full = _convolve_full(g, kernel, method=method, batch=batch)
    other_shape, this_shape = shape_of(other), shape_of(this)
    window = tuple(
        slice(m - 1, m - 1 + n)
        for m, n in zip(other_shape[batch:], this_shape[batch:], strict=True)
    )
    ct = full[(slice(None),) * batch + window]
    # Batch axes this factor broadcast along (size 1 against the other's) sum back.
    summed = tuple(i for i in range(batch) if this_shape[i] == 1 and shape_of(ct)[i] != 1)
    return _sum(ct, axis=summed, keepdims=True) if summed else ct


deflinear(
    _convolve_full,
    lambda g, ans, a, b, method="direct", batch=0: _transpose(g, b, a, method, batch),
    lambda g, ans, a, b, method="direct", batch=0: _transpose(g, a, b, method, batch),
)


def _batched(x: Any, dim: Any) -> Any:
    if dim is None:  # shared by every example: a batch axis of size 1 broadcasts
        return reshape(x, (1,) + tuple(shape_of(x)))
    return moveaxis(x, dim, 0)


def _convolve_batch(args: Any, dims: Any, method: str = "direct", batch: int = 0) -> Any:
    a, b = (_batched(x, d) for x, d in zip(args, dims, strict=True))
    return _convolve_full(a, b, method=method, batch=batch + 1), 0


defbatch(_convolve_full, _convolve_batch)


# ----- SciPy's functions ------------------------------------------------------------------
def _check(in1: Any, in2: Any, mode: str, method: str) -> None:
    if mode not in _MODES:
        raise ValueError("Acceptable mode flags are 'valid', 'same', or 'full'.")
    if method not in _METHODS:
        raise ValueError("Acceptable method flags are 'auto', 'direct', or 'fft'.")
    if len(shape_of(in1)) != len(shape_of(in2)):
        raise ValueError(
            f"in1 and in2 should have the same dimensionality, got shapes {shape_of(in1)} "
            f"and {shape_of(in2)}"
        )


def _choose(in1: Any, in2: Any, method: str) -> str:
    if method != "auto":
        return method
    dtype = np.result_type(dtype_of(in1), dtype_of(in2))
    smaller = min(math.prod(shape_of(in1)), math.prod(shape_of(in2)))
    return "direct" if not np.issubdtype(dtype, np.inexact) or smaller <= _DIRECT_UP_TO else "fft"


def _window(full: Any, in1: Any, in2: Any, mode: str) -> Any:
    """SciPy's ``same`` (centered on in1) or ``valid`` window of the full convolution."""
    s1, s2 = shape_of(in1), shape_of(in2)
    if mode == "full":
        return full
    if mode == "same":
        shape = s1
    else:
        pairs = list(zip(s1, s2, strict=True))
        if not (all(n >= m for n, m in pairs) or all(m >= n for n, m in pairs)):
            raise ValueError(
                "For 'valid' mode, one must be at least as large as the other in every "
                f"dimension, got shapes {s1} and {s2}"
            )
        shape = tuple(abs(n - m) + 1 for n, m in zip(s1, s2, strict=True))
    full_shape = shape_of(full)
    start = [(f - n) // 2 for f, n in zip(full_shape, shape, strict=True)]
    return full[tuple(slice(i, i + n) for i, n in zip(start, shape, strict=True))]


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """Convolve two N-d arrays (scipy.signal.convolve), differentiable in both.

    Args:
        in1, in2: arrays with the same number of dimensions (real or complex).
        mode: ``'full'`` (every overlap), ``'same'`` (in1's shape, centered) or
            ``'valid'`` (full overlaps only; one input must be at least as large as
            the other on every axis).
        method: ``'auto'``, ``'direct'`` or ``'fft'`` (see the module's notes).

    Example:
        >>> convolve(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]))
        array([0. , 1. , 2.5, 4. , 1.5])
    """
    in1, in2 = as_operand(in1), as_operand(in2)
    _check(in1, in2, mode, method)
    if not shape_of(in1):
        return multiply(in1, in2)
    if 0 in shape_of(in1) or 0 in shape_of(in2):
        raise ValueError(
            f"in1 and in2 cannot be empty, got shapes {shape_of(in1)} and {shape_of(in2)}"
        )
    full = _convolve_full(in1, in2, method=_choose(in1, in2, method))
    return _window(full, in1, in2, mode)


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """Cross-correlate two N-d arrays (scipy.signal.correlate), differentiable in both.

    ``correlate(in1, in2)`` is ``convolve(in1, in2[::-1, ...].conj())``: entry ``k`` of
    the full result is ``sum_j in1[j] * conj(in2[j - k + len(in2) - 1])`` on each axis.

    Example:
        >>> correlate(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 0.5]), mode="same")
        array([2. , 3.5, 3. ])
    """
    in1, in2 = as_operand(in1), as_operand(in2)
    _check(in1, in2, mode, method)
    if is_complex(in2):
        in2 = conj(in2)
    if not shape_of(in1):
        return multiply(in1, in2)
    return convolve(in1, flip(in2), mode, method)
