"""Continuous samplers: ``uniform``, ``normal``, ``truncated_normal``, ``gumbel``.

Each is random words from a key, turned into floats in [0, 1), then ordinary
``tapeflow.numpy`` and ``tapeflow.scipy.special`` arithmetic: ``tp.grad`` flows through
the float parameters (``minval``/``maxval``, ``lower``/``upper``), never through the
words, which depend on the key alone. The algorithms are JAX's: ``normal`` is
``sqrt(2) * erfinv(u)`` for ``u`` uniform on (-1, 1), ``truncated_normal`` inverts the
CDF between the bounds, ``gumbel`` is ``-log(-log(u))``.

The default dtype is float64, tapeflow's default float (JAX's is float32 unless
x64 is enabled).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.numpy.meta import shape_of
from tapeflow.random.checks import (
    canonical_shape,
    check_broadcasts_to,
    check_key,
    float_dtype,
)
from tapeflow.random.conversions import nextafter, unit_interval
from tapeflow.random.keys import split
from tapeflow.random.threefry import random_bits
from tapeflow.scipy.special import erf, erfinv

__all__ = [
    "uniform",
    "normal",
    "truncated_normal",
    "gumbel",
    "uniform_unchecked",
    "gumbel_unchecked",
    "uniform_from_words",
    "normal_from_words",
    "truncated_normal_from_words",
]


def _float_param(value: Any, dtype: np.dtype[Any], fun: str, name: str) -> Any:
    """A float parameter in ``dtype``, traced or not (a traced one stays differentiable)."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{fun}: {name} must be a float or an array of floats, got {value!r}")
    return tnp.asarray(value, dtype=dtype)


def uniform_from_words(words: Any, dtype: np.dtype[Any], minval: Any, maxval: Any) -> Any:
    """Uniform floats on [minval, maxval) from random words as wide as ``dtype``.

    Example:
        >>> words = np.array([0, 2**31], np.uint32)
        >>> uniform_from_words(words, np.dtype(np.float32), 1.0, 3.0)
        array([1., 2.], dtype=float32)
    """
    floats = unit_interval(words, dtype=dtype)
    # As JAX: the maximum keeps rounding from stepping below minval.
    return tnp.maximum(minval, floats * (maxval - minval) + minval)


def uniform_unchecked(
    key: Any, shape: tuple[int, ...], dtype: np.dtype[Any], minval: Any, maxval: Any
) -> Any:
    """:func:`uniform` without checking its arguments (for the other samplers).

    Example:
        >>> import tapeflow as tp
        >>> key, f64 = tp.random.key(0), np.dtype(np.float64)
        >>> u = uniform_unchecked(key, (2,), f64, 0.0, 1.0)
        >>> bool((u == tp.random.uniform(key, (2,))).all())
        True
    """
    words = random_bits(key, shape=shape, bit_width=8 * dtype.itemsize)
    return uniform_from_words(words, dtype, minval, maxval)


def uniform(
    key: Any,
    shape: Any = (),
    dtype: Any = np.float64,
    minval: Any = 0.0,
    maxval: Any = 1.0,
) -> Any:
    """Floats drawn uniformly from ``[minval, maxval)``.

    ``minval + u * (maxval - minval)`` with ``u`` uniform on [0, 1) (a multiple of
    2**-52 in float64, 2**-23 in float32), so it is differentiable in ``minval`` and
    ``maxval``. Rounding may give ``maxval`` itself when the width is large. With
    ``maxval <= minval`` every value is ``minval``, as in JAX (no error: the bounds may be
    traced).

    Args:
        key: a key (``tp.random.key(seed)``).
        shape: the shape of the answer, a tuple of ints.
        dtype: float16, float32 or float64 (the default, tapeflow's default float).
        minval, maxval: floats or arrays that broadcast to ``shape``.

    Returns:
        An array of ``shape`` and ``dtype``.

    Example:
        >>> import tapeflow as tp
        >>> x = tp.random.uniform(tp.random.key(0), (3,), minval=-1.0, maxval=1.0)
        >>> x.shape, x.dtype, bool(((-1 <= x) & (x < 1)).all())
        ((3,), dtype('float64'), True)
    """
    check_key(key, "uniform")
    shape = canonical_shape(shape, "uniform")
    dtype = float_dtype(dtype, "uniform")
    minval = _float_param(minval, dtype, "uniform", "minval")
    maxval = _float_param(maxval, dtype, "uniform", "maxval")
    check_broadcasts_to("uniform", shape, minval=minval, maxval=maxval)
    return uniform_unchecked(key, shape, dtype, minval, maxval)


def normal_from_words(words: Any, dtype: np.dtype[Any]) -> Any:
    """Standard normal floats from random words as wide as ``dtype``: ``sqrt(2) *
    erfinv(u)`` with ``u`` uniform on (-1, 1), whose open lower end keeps it finite.

    Example:
        >>> z = normal_from_words(np.array([0, 2**63], np.uint64), np.dtype(np.float64))
        >>> bool(z[0] < -8), bool(abs(z[1]) < 1e-15)  # the lowest value, the median
        (True, True)
    """
    low = np.nextafter(dtype.type(-1), dtype.type(0))
    u = uniform_from_words(words, dtype, low, dtype.type(1))
    return dtype.type(np.sqrt(2)) * erfinv(u)


def _standard_normal(key: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> Any:
    return normal_from_words(random_bits(key, shape=shape, bit_width=8 * dtype.itemsize), dtype)


def normal(key: Any, shape: Any = (), dtype: Any = np.float64) -> Any:
    """Standard normal samples (mean 0, variance 1).

    For a normal with mean ``mu`` and standard deviation ``sigma`` write
    ``mu + sigma * normal(key, shape)``: differentiable in ``mu`` and ``sigma`` (the
    reparameterisation trick). A complex dtype gives real and imaginary parts of
    variance 1/2 each, drawn with the two keys of ``split(key)``.

    Args:
        key: a key.
        shape: the shape of the answer, a tuple of ints.
        dtype: float16, float32, float64 (the default), complex64 or complex128.

    Returns:
        An array of ``shape`` and ``dtype``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> z = tp.random.normal(tp.random.key(0), (10_000,))
        >>> bool(abs(z.mean()) < 0.05), bool(abs(z.std() - 1) < 0.05)
        (True, True)
        >>> grad_mu = tp.grad(lambda mu: (mu + 2.0 * tp.random.normal(tp.random.key(1))) ** 2)
        >>> bool(np.isclose(grad_mu(0.5), 2 * (0.5 + 2 * tp.random.normal(tp.random.key(1)))))
        True
    """
    check_key(key, "normal")
    shape = canonical_shape(shape, "normal")
    if dtype is not None and np.issubdtype(np.dtype(dtype), np.complexfloating):
        complex_dtype = np.dtype(dtype)
        part_dtype = np.finfo(complex_dtype).dtype
        key_real, key_imag = split(key)
        real = _standard_normal(key_real, shape, part_dtype)
        imag = _standard_normal(key_imag, shape, part_dtype)
        both = tnp.astype(real, complex_dtype) + complex_dtype.type(1j) * imag
        return both * part_dtype.type(np.sqrt(0.5))
    return _standard_normal(key, shape, float_dtype(dtype, "normal"))


def truncated_normal(
    key: Any, lower: Any, upper: Any, shape: Any = None, dtype: Any = np.float64
) -> Any:
    """Standard normal samples conditioned on ``lower < x < upper``.

    The normal CDF's inverse applied to a uniform draw between the CDF's values at the
    bounds (through ``erf`` and ``erfinv``), then kept strictly inside the bounds, as in
    JAX. Differentiable in ``lower`` and ``upper``. Bounds far in one tail (beyond about
    ±8, where ``erf`` rounds to ±1) lose accuracy, as in JAX; ``lower >= upper`` is not
    checked (the bounds may be traced) and gives values at the bounds.

    Args:
        key: a key.
        lower, upper: floats or arrays of floats that broadcast together.
        shape: the shape of the answer; None (the default) for the broadcast shape of
            ``lower`` and ``upper``; otherwise they must broadcast to it.
        dtype: float16, float32 or float64 (the default).

    Returns:
        An array of ``shape`` and ``dtype``.

    Example:
        >>> import tapeflow as tp
        >>> x = tp.random.truncated_normal(tp.random.key(0), -1.0, 2.0, (1000,))
        >>> bool((x > -1).all() and (x < 2).all())
        True
    """
    check_key(key, "truncated_normal")
    dtype = float_dtype(dtype, "truncated_normal")
    lower = _float_param(lower, dtype, "truncated_normal", "lower")
    upper = _float_param(upper, dtype, "truncated_normal", "upper")
    if shape is None:
        try:
            shape = np.broadcast_shapes(shape_of(lower), shape_of(upper))
        except ValueError:
            raise ValueError(
                f"truncated_normal: lower of shape {tuple(shape_of(lower))} and upper of "
                f"shape {tuple(shape_of(upper))} do not broadcast together"
            ) from None
    else:
        shape = canonical_shape(shape, "truncated_normal")
        check_broadcasts_to("truncated_normal", shape, lower=lower, upper=upper)
    words = random_bits(key, shape=shape, bit_width=8 * dtype.itemsize)
    return truncated_normal_from_words(words, lower, upper, dtype)


def truncated_normal_from_words(words: Any, lower: Any, upper: Any, dtype: np.dtype[Any]) -> Any:
    """Truncated standard normal floats from random words as wide as ``dtype``.

    Example:
        >>> x = truncated_normal_from_words(np.array([0, 2**63], np.uint64), -1.0, 1.0,
        ...                                 np.dtype(np.float64))
        >>> bool(-1 < x[0] < -0.99), float(x[1])  # the lower end, the median
        (True, 0.0)
    """
    sqrt2 = dtype.type(np.sqrt(2))
    u = uniform_from_words(words, dtype, erf(lower / sqrt2), erf(upper / sqrt2))
    x = sqrt2 * erfinv(u)
    # Strictly inside: rounding (or u at the lower end) could land on a bound.
    inside_low = nextafter(lower, dtype.type(np.inf))
    inside_high = nextafter(upper, dtype.type(-np.inf))
    return tnp.clip(x, inside_low, inside_high)


def gumbel(key: Any, shape: Any = (), dtype: Any = np.float64) -> Any:
    """Samples of the standard Gumbel distribution, ``-log(-log(u))``.

    ``u`` is uniform on [tiny, 1) (``tiny`` the smallest normal float of ``dtype``), so
    the values are finite. ``argmax(logits + gumbel(key, logits.shape))`` samples the
    categorical distribution of ``softmax(logits)`` (see :func:`categorical`).

    Args:
        key: a key.
        shape: the shape of the answer, a tuple of ints.
        dtype: float16, float32 or float64 (the default).

    Returns:
        An array of ``shape`` and ``dtype``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> g = tp.random.gumbel(tp.random.key(0), (20_000,))
        >>> bool(abs(g.mean() - np.euler_gamma) < 0.05)  # its mean is Euler's constant
        True
    """
    check_key(key, "gumbel")
    return gumbel_unchecked(key, canonical_shape(shape, "gumbel"), float_dtype(dtype, "gumbel"))


def gumbel_unchecked(key: Any, shape: tuple[int, ...], dtype: np.dtype[Any]) -> Any:
    """:func:`gumbel` without checking its arguments (for the other samplers).

    Example:
        >>> import tapeflow as tp
        >>> gumbel_unchecked(tp.random.key(0), (3,), np.dtype(np.float32)).dtype
        dtype('float32')
    """
    u = uniform_unchecked(key, shape, dtype, np.finfo(dtype).tiny, dtype.type(1))
    return -tnp.log(-tnp.log(u))
