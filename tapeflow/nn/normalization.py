"""Normalisation, dropout and embeddings as pure functions.

Randomness is always explicit: ``dropout`` takes a ``numpy.random.Generator`` or a
``tp.random`` key (with a key it also runs under ``tp.jit`` and ``tp.vmap``).
State is always explicit: ``batch_norm`` returns the new running statistics
instead of updating anything in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.core.tracer import is_traced, unwrap
from tapeflow.jit import is_jit_traced
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.random.checks import uses_key
from tapeflow.random.continuous import uniform

__all__ = ["layer_norm", "batch_norm", "dropout", "embedding"]


def _normalize(x: Any, axes: tuple[int, ...], eps: float) -> tuple[Any, Any, Any]:
    mean = tnp.mean(x, axis=axes, keepdims=True)
    centered = x - mean
    var = tnp.mean(centered * centered, axis=axes, keepdims=True)
    return centered / tnp.sqrt(var + eps), mean, var


def layer_norm(
    x: Any, gamma: Any = None, beta: Any = None, axis: Any = -1, eps: float = 1e-5
) -> Any:
    """Normalise ``x`` to zero mean and unit variance over ``axis``, then scale and shift.

    Args:
        x: inputs.
        gamma, beta: scale and shift broadcasting against the normalised axes
            (for the default ``axis=-1``: shape ``(x.shape[-1],)``), or None.
        axis: an int or tuple of ints: the axes normalised together.
        eps: added to the variance (keeps the division finite).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> np.round(tp.nn.layer_norm(np.array([[1.0, 3.0]])), 3)
        array([[-1.,  1.]])
    """
    ndim = len(shape_of(x))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(int(a) % ndim for a in axes)
    y, _, _ = _normalize(x, axes, eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


def batch_norm(
    x: Any,
    gamma: Any,
    beta: Any,
    running_mean: Any,
    running_var: Any,
    train: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
    axis: int = 1,
) -> tuple[Any, Any, Any]:
    """Batch normalisation over every axis but the feature ``axis``; pure.

    In training mode the batch's own statistics normalise ``x`` and the running
    statistics move towards them: ``new = (1 - momentum) * old + momentum *
    batch`` (the running variance uses the unbiased batch variance). In
    evaluation mode the running statistics normalise ``x`` and come back
    unchanged.

    Args:
        x: inputs, e.g. ``(N, features)`` or NCHW with ``axis=1``.
        gamma, beta: per-feature scale and shift, shape ``(x.shape[axis],)``.
        running_mean, running_var: per-feature statistics, same shape.
        train: use batch statistics and update the running ones.
        momentum: weight of the current batch in the running statistics.
        eps: added to the variance.
        axis: the feature axis.

    Returns:
        ``(y, new_running_mean, new_running_var)``; the statistics are plain
        arrays (no gradient flows into them).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> x = np.array([[1.0], [3.0]])
        >>> ones, zeros = np.ones(1), np.zeros(1)
        >>> y, m, v = tp.nn.batch_norm(x, ones, zeros, zeros, ones, train=True)
        >>> np.round(y[:, 0], 3), m, v
        (array([-1.,  1.]), array([0.2]), array([1.1]))
    """
    shape = tuple(shape_of(x))
    ndim = len(shape)
    axis = int(axis) % ndim
    axes = tuple(i for i in range(ndim) if i != axis)
    bshape = tuple(n if i == axis else 1 for i, n in enumerate(shape))
    dtype = dtype_of(x)
    if train:
        y, mean, var = _normalize(x, axes, eps)
        count = int(np.prod([shape[i] for i in axes]))
        batch_mean = np.asarray(unwrap(mean), dtype).reshape(-1)
        batch_var = np.asarray(unwrap(var), dtype).reshape(-1) * (count / max(count - 1, 1))
        new_mean = (1 - momentum) * np.asarray(unwrap(running_mean)) + momentum * batch_mean
        new_var = (1 - momentum) * np.asarray(unwrap(running_var)) + momentum * batch_var
        new_mean = new_mean.astype(dtype_of(running_mean))
        new_var = new_var.astype(dtype_of(running_var))
    else:
        mean = tnp.reshape(running_mean, bshape)
        var = tnp.reshape(running_var, bshape)
        y = (x - mean) / tnp.sqrt(var + eps)
        new_mean, new_var = running_mean, running_var
    y = y * tnp.reshape(gamma, bshape) + tnp.reshape(beta, bshape)
    return y, new_mean, new_var


def dropout(x: Any, drop_rate: float, rng: Any, train: bool = True) -> Any:
    """Inverted dropout: zero each entry with probability ``drop_rate`` while training.

    Kept entries are scaled by ``1 / (1 - drop_rate)`` so the expected value is
    unchanged and evaluation needs no rescaling; with ``train=False`` (or a
    rate of 0) ``x`` comes back as is.

    With a ``tp.random`` key the mask is a function of the key alone, so dropout runs
    under ``tp.jit`` (the key is then an argument of the jitted function: pass a new one
    each step) and under ``tp.vmap`` (map over a batch of keys for a mask per example).
    A ``numpy.random.Generator`` draws from its own state, which ``tp.jit`` cannot
    replay: with a Generator, dropout refuses jit.

    Args:
        x: inputs.
        drop_rate: probability of dropping an entry, in [0, 1).
        rng: a ``tp.random`` key or a ``numpy.random.Generator`` (required when training).
        train: apply dropout (True) or not (False).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> y = tp.nn.dropout(np.ones(4), 0.5, np.random.default_rng(0))
        >>> sorted(set(y.tolist())) in ([0.0, 2.0], [2.0], [0.0])
        True
        >>> step = tp.jit(lambda x, key: tp.nn.dropout(x, 0.5, key))
        >>> bool(np.array_equal(step(np.ones(4), tp.random.key(1)),
        ...                     tp.nn.dropout(np.ones(4), 0.5, tp.random.key(1))))
        True
    """
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"dropout: drop_rate must be in [0, 1), got {drop_rate}")
    if not train or drop_rate == 0.0:
        return x
    dtype = dtype_of(x)
    draw_dtype = np.float32 if dtype == np.float32 else np.float64
    scale = np.asarray(1.0 / (1.0 - drop_rate), dtype)
    if rng is not None and uses_key(rng, "dropout"):
        keep = uniform(rng, tuple(shape_of(x)), draw_dtype) >= drop_rate
        return x * (tnp.astype(keep, dtype) * scale)
    if is_jit_traced(x):
        raise TypeError(
            "dropout draws its mask from a numpy Generator, and tp.jit would replay the mask "
            "drawn while tracing on every call; pass a tp.random key instead (a new key each "
            "step, as an argument of the jitted function), run the training step without "
            "jit, or compute the mask outside the jitted function and pass it in"
        )
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "dropout needs an explicit numpy.random.Generator or tp.random key when "
            "train=True, e.g. rng=np.random.default_rng(0) or rng=tp.random.key(0); got "
            f"{type(rng).__name__}"
        )
    keep = rng.random(shape_of(x), dtype=draw_dtype) >= drop_rate
    return x * (keep.astype(dtype) * scale)


def embedding(ids: Any, table: Any) -> Any:
    """Rows of ``table`` picked by integer ``ids`` (shape ``ids.shape + table.shape[1:]``).

    The gradient with respect to ``table`` adds up repeated ids.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.embedding(np.array([1, 1]), np.arange(6.0).reshape(3, 2))
        array([[2., 3.],
               [2., 3.]])
    """
    if not is_traced(ids):
        ids = np.asarray(ids)
    if not np.issubdtype(dtype_of(ids), np.integer):
        raise TypeError(f"embedding expects integer ids, got dtype {dtype_of(ids)}")
    return tnp.getitem(table, ids)
