"""Discrete samplers: ``bits``, ``bernoulli``, ``categorical``, ``randint``,
``permutation``, ``choice``.

Their answers are integers or booleans, so no gradient flows into them; what they
pick from an array (``permutation``, ``choice``) is gathered with ``tapeflow.numpy``
and differentiable in that array. Sorting by random words (permutations, sampling
without replacement) uses a stable sort, so the result is the same on every machine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.tracer import Tracer
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.numpy.sorting import permute_along_axis
from tapeflow.random.checks import (
    DEFAULT_FLOAT,
    canonical_shape,
    check_broadcasts_to,
    check_key,
    float_dtype,
    integer_dtype,
)
from tapeflow.random.continuous import gumbel_unchecked, uniform_unchecked
from tapeflow.random.conversions import bounded_integers
from tapeflow.random.threefry import UNSIGNED_BY_WIDTH, random_bits

__all__ = ["bits", "bernoulli", "categorical", "randint", "permutation", "choice"]


def bits(key: Any, shape: Any = (), dtype: Any = np.uint32) -> Any:
    """Random unsigned integers using every bit of ``dtype`` (uint8 to uint64).

    Example:
        >>> import tapeflow as tp
        >>> tp.random.bits(tp.random.key(0), (2,), dtype="uint8").dtype
        dtype('uint8')
    """
    check_key(key, "bits")
    shape = canonical_shape(shape, "bits")
    dt = np.dtype(dtype)
    if dt not in [np.dtype(u) for u in UNSIGNED_BY_WIDTH.values()]:
        raise TypeError(f"bits: dtype must be uint8, uint16, uint32 or uint64, got {dt}")
    return random_bits(key, shape=shape, bit_width=8 * dt.itemsize)


def _probabilities_dtype(p: Any, fun: str) -> np.dtype[Any]:
    dt = np.dtype(dtype_of(p))
    if not np.issubdtype(dt, np.floating):
        raise TypeError(
            f"{fun}: probabilities must be floats, got dtype {dt}; write e.g. p=0.5 or "
            "p=np.asarray(p, float)"
        )
    return float_dtype(dt, fun)


def bernoulli(key: Any, p: Any = 0.5, shape: Any = None) -> Any:
    """Booleans that are True with probability ``p``: ``uniform(key, shape) < p``.

    Args:
        key: a key.
        p: a float or an array of floats in [0, 1]; its dtype is the uniform draw's.
        shape: the shape of the answer; None (the default) for ``p``'s shape, otherwise
            ``p`` must broadcast to it.

    Returns:
        A boolean array.

    Example:
        >>> import tapeflow as tp
        >>> coin = tp.random.bernoulli(tp.random.key(0), 0.3, (10_000,))
        >>> coin.dtype, bool(abs(coin.mean() - 0.3) < 0.02)
        (dtype('bool'), True)
    """
    check_key(key, "bernoulli")
    p = tnp.asarray(p)
    dtype = _probabilities_dtype(p, "bernoulli")
    if shape is None:
        shape = tuple(shape_of(p))
    else:
        shape = canonical_shape(shape, "bernoulli")
        check_broadcasts_to("bernoulli", shape, p=p)
    return uniform_unchecked(key, shape, dtype, dtype.type(0), dtype.type(1)) < p


def categorical(key: Any, logits: Any, axis: int = -1, shape: Any = None) -> Any:
    """Indices drawn from the categorical distributions ``softmax(logits, axis)``.

    The Gumbel-max trick, as in JAX: the argmax over ``axis`` of ``logits`` plus Gumbel
    noise. ``-inf`` logits are never drawn.

    Args:
        key: a key.
        logits: unnormalised log-probabilities, floats; ``axis`` runs over the categories.
        axis: the axis of the categories.
        shape: the shape of the answer; None (the default) for ``logits``' shape without
            ``axis``. Otherwise that shape must broadcast to ``shape`` (leading axes then
            draw several samples per distribution).

    Returns:
        An int64 array of category indices.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> logits = np.array([[np.log(0.9), np.log(0.1)], [-np.inf, 0.0]])
        >>> draws = tp.random.categorical(tp.random.key(0), logits, shape=(500, 2))
        >>> bool(abs(draws[:, 0].mean() - 0.1) < 0.05), bool((draws[:, 1] == 1).all())
        (True, True)
    """
    check_key(key, "categorical")
    logits = tnp.asarray(logits)
    dtype = np.dtype(dtype_of(logits))
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(f"categorical: logits must be floats, got dtype {dtype}")
    dtype = float_dtype(dtype, "categorical")
    logits_shape = tuple(shape_of(logits))
    ndim = len(logits_shape)
    if ndim == 0:
        raise ValueError("categorical: logits must have an axis of categories, got a scalar")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"categorical: axis {axis} is out of range for logits of shape {logits_shape}"
        )
    axis = axis % ndim - ndim  # negative: the same axis once sample axes are in front
    batch_shape = logits_shape[: ndim + axis] + logits_shape[ndim + axis + 1 :]
    if shape is None:
        shape = batch_shape
    else:
        shape = canonical_shape(shape, "categorical")
        check_broadcasts_to("categorical", shape, logits_without_axis=np.empty(batch_shape))
    samples = shape[: len(shape) - len(batch_shape)]
    noise_shape = list(shape[len(samples) :])
    noise_shape.insert(ndim + axis, logits_shape[axis])
    noise = gumbel_unchecked(key, samples + tuple(noise_shape), dtype)
    return tnp.argmax(noise + logits, axis=axis)


def randint(key: Any, shape: Any, minval: Any, maxval: Any, dtype: Any = np.int64) -> Any:
    """Integers drawn uniformly from ``[minval, maxval)``.

    ``minval + w % (maxval - minval)`` for a 64-bit random word ``w``: each value's
    probability is within a factor ``1 + (maxval - minval) / 2**64`` of uniform. The
    bounds are clipped to ``dtype``'s range (``maxval`` one above it reaches its
    largest value); where ``maxval <= minval`` the answer is ``minval``, as in JAX.

    Args:
        key: a key.
        shape: the shape of the answer, a tuple of ints.
        minval, maxval: integers or integer arrays that broadcast to ``shape``.
        dtype: an integer dtype, int8 to int64 or uint8 to uint32 (default int64).

    Returns:
        An array of ``shape`` and ``dtype``.

    Example:
        >>> import tapeflow as tp
        >>> die = tp.random.randint(tp.random.key(0), (10_000,), 1, 7)
        >>> sorted(set(die.tolist())), die.dtype
        ([1, 2, 3, 4, 5, 6], dtype('int64'))
    """
    check_key(key, "randint")
    shape = canonical_shape(shape, "randint")
    dtype = integer_dtype(dtype, "randint")
    if dtype == np.uint64:
        raise TypeError("randint: uint64 is not supported; use int64 (or bits for raw words)")
    bounds = {}
    for name, value in (("minval", minval), ("maxval", maxval)):
        value = tnp.asarray(value)
        if not np.issubdtype(dtype_of(value), np.integer):
            raise TypeError(
                f"randint: {name} must be an integer or an integer array, got dtype "
                f"{dtype_of(value)}"
            )
        bounds[name] = value
    check_broadcasts_to("randint", shape, **bounds)
    words = random_bits(key, shape=shape, bit_width=64)
    return bounded_integers(words, bounds["minval"], bounds["maxval"], dtype=dtype)


def _concrete_count(x: Any, fun: str) -> int | None:
    """``x`` as a count when it is an integer scalar (not traced), else None."""
    if isinstance(x, Tracer):
        if shape_of(x) == () and np.issubdtype(dtype_of(x), np.integer):
            raise TypeError(
                f"{fun}: a traced integer cannot set the size of the answer; pass it as a "
                "static argument (tp.jit(f, static_argnums=...))"
            )
        return None
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, np.ndarray) and x.shape == () and np.issubdtype(x.dtype, np.integer):
        return int(x)
    return None


def _check_axis(axis: Any, ndim: int, fun: str) -> int:
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ValueError(f"{fun}: axis {axis!r} is out of range for an array of {ndim} axes")
    return int(axis) % ndim


def _shuffled_indices(key: Any, shape: tuple[int, ...], axis: int) -> Any:
    """A random permutation of ``range(shape[axis])`` along ``axis`` of ``shape``: the
    stable argsort of 64-bit random words (ties, and so a bias, have probability about
    ``n**2 / 2**65``)."""
    return tnp.argsort(random_bits(key, shape=shape, bit_width=64), axis=axis, kind="stable")


def permutation(key: Any, x: Any, axis: int = 0, independent: bool = False) -> Any:
    """A random permutation of ``range(x)``, or ``x`` shuffled along ``axis``.

    Args:
        key: a key.
        x: an int ``n`` (the answer permutes ``arange(n)``) or an array (traced or not:
            the answer is differentiable in it).
        axis: the axis to shuffle.
        independent: shuffle each slice along ``axis`` independently (the same
            permutation for all slices when False, the default).

    Returns:
        The shuffled ``arange(n)`` (int64) or array.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> perm = tp.random.permutation(tp.random.key(0), 5)
        >>> sorted(perm.tolist())
        [0, 1, 2, 3, 4]
        >>> rows = tp.random.permutation(tp.random.key(0), np.arange(10).reshape(5, 2))
        >>> bool((rows == np.arange(10).reshape(5, 2)[perm]).all())
        True
    """
    check_key(key, "permutation")
    count = _concrete_count(x, "permutation")
    if count is not None:
        if count < 0:
            raise ValueError(f"permutation: x must be a non-negative int, got {count}")
        return _shuffled_indices(key, (count,), 0)
    x = tnp.asarray(x)
    x_shape = tuple(shape_of(x))
    if not x_shape:
        raise ValueError(
            f"permutation: x must be an int or an array with at least one axis, got a "
            f"{dtype_of(x)} scalar"
        )
    axis = _check_axis(axis, len(x_shape), "permutation")
    if independent:
        return permute_along_axis(x, _shuffled_indices(key, x_shape, axis), axis=axis)
    return _take_along(x, _shuffled_indices(key, (x_shape[axis],), 0), axis)


def _take_along(x: Any, indices: Any, axis: int) -> Any:
    """``take(x, indices, axis)`` for 1-d indices, taken along axis 0 (which ``tp.vmap``
    batches for a batch of indices without a loop)."""
    picked = tnp.take(tnp.moveaxis(x, axis, 0), indices, axis=0)
    return tnp.moveaxis(picked, 0, axis)


def choice(
    key: Any,
    a: Any,
    shape: Any = (),
    replace: bool = True,
    p: Any = None,
    axis: int = 0,
) -> Any:
    """A random sample of ``a``'s entries (or of ``range(a)``), as numpy's ``choice``.

    Without ``p`` every entry is equally likely; with ``p``, entry ``i`` has probability
    ``p[i] / sum(p)``. Without replacement, weighted samples use the Gumbel top-k trick
    (as JAX), unweighted ones a permutation.

    Args:
        key: a key.
        a: an int ``n`` (sample from ``arange(n)``) or an array (sample along ``axis``;
            differentiable in it).
        shape: the sample's shape, a tuple of ints (``()``: one draw).
        replace: sample with replacement (the default) or without.
        p: None, or the probabilities, a 1-d float array as long as ``a``'s axis.
        axis: the axis of ``a`` to sample along.

    Returns:
        The samples: shape ``shape`` for an int ``a``, otherwise ``a``'s shape with
        ``axis`` replaced by ``shape``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> draw = tp.random.choice(tp.random.key(0), 10, (4,), replace=False)
        >>> len(set(draw.tolist()))
        4
        >>> tp.random.choice(tp.random.key(0), np.array([5.0, 6.0]), (3,), p=np.array([0, 1.0]))
        array([6., 6., 6.])
    """
    check_key(key, "choice")
    shape = canonical_shape(shape, "choice")
    count = _concrete_count(a, "choice")
    if count is None:
        a = tnp.asarray(a)
        a_shape = tuple(shape_of(a))
        if not a_shape:
            raise ValueError("choice: a must be an int or an array with at least one axis")
        axis = _check_axis(axis, len(a_shape), "choice")
        n_inputs = a_shape[axis]
        out_shape = a_shape[:axis] + shape + a_shape[axis + 1 :]
    else:
        n_inputs, out_shape = count, shape
    n_draws = math.prod(shape)
    if n_draws == 0:
        return np.zeros(out_shape, np.int64 if count is not None else dtype_of(a))
    if n_inputs <= 0:
        raise ValueError(
            f"choice: a must be greater than 0 unless no samples are taken, "
            f"got {n_inputs} entries to choose from"
        )
    if not replace and n_draws > n_inputs:
        raise ValueError(
            f"choice: cannot take {n_draws} samples from {n_inputs} entries without "
            "replacement; draw fewer or pass replace=True"
        )
    if p is None:
        indices = _uniform_indices(key, n_inputs, n_draws, replace)
    else:
        p = tnp.asarray(p)
        if tuple(shape_of(p)) != (n_inputs,):
            raise ValueError(
                f"choice: p must be None or a 1-d array of {n_inputs} probabilities (one per "
                f"entry of a), got shape {tuple(shape_of(p))}"
            )
        if not np.issubdtype(dtype_of(p), np.floating):
            p = tnp.astype(p, DEFAULT_FLOAT)
        indices = _weighted_indices(key, p, n_draws, replace)
    if count is not None:
        return tnp.reshape(indices, out_shape)
    return tnp.reshape(_take_along(a, indices, axis), out_shape)


def _uniform_indices(key: Any, n_inputs: int, n_draws: int, replace: bool) -> Any:
    if replace:
        words = random_bits(key, shape=(n_draws,), bit_width=64)
        return bounded_integers(words, 0, n_inputs, dtype=np.int64)
    return _shuffled_indices(key, (n_inputs,), 0)[:n_draws]


def _weighted_indices(key: Any, p: Any, n_draws: int, replace: bool) -> Any:
    dtype = float_dtype(dtype_of(p), "choice")
    if replace:
        cumulative = tnp.cumsum(p)
        # A point in (0, total]; its index is the first cumulative weight that reaches it
        # (counted rather than searched, so that tp.vmap batches it).
        u = uniform_unchecked(key, (n_draws,), dtype, dtype.type(0), dtype.type(1))
        point = cumulative[-1] * (1 - u)
        below = tnp.less(cumulative, tnp.reshape(point, (n_draws, 1)))
        return tnp.sum(below, axis=1)
    # Gumbel top-k: the n_draws largest perturbed log-weights, without replacement.
    scores = gumbel_unchecked(key, tuple(shape_of(p)), dtype) + tnp.log(p)
    return tnp.argsort(-scores, kind="stable")[:n_draws]
