"""The rest of ``jax.nn``'s activations and reductions, as compositions of tapeflow operations.

Each is differentiated through its parts, so every derivative follows from the formula.
At a kink the convention is JAX's: ``relu6`` and ``hard_sigmoid`` take the flat side
(derivative 0 at both corners), ``hard_tanh`` the sloped one (derivative 1 at -1 and 1).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.custom import stop_gradient
from tapeflow.nn.functional import elu, relu, sigmoid, silu, softplus

__all__ = [
    "relu6",
    "soft_sign",
    "swish",
    "log_sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "celu",
    "selu",
    "glu",
    "squareplus",
    "mish",
    "sparse_plus",
    "sparse_sigmoid",
    "identity",
    "logsumexp",
    "logmeanexp",
    "log1mexp",
    "standardize",
]

swish = silu  # JAX's other name for it


def relu6(x: Any) -> Any:
    """``min(max(x, 0), 6)``, with derivative 0 at both corners.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.relu6(np.array([-1.0, 3.0, 9.0]))
        array([0., 3., 6.])
    """
    return tnp.where(x < 6.0, relu(x), 6.0)


def soft_sign(x: Any) -> Any:
    """``x / (|x| + 1)``.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.soft_sign(1.0))
        0.5
    """
    return x / (tnp.abs(x) + 1.0)


def log_sigmoid(x: Any) -> Any:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large ``|x|``.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.log_sigmoid(-1000.0))
        -1000.0
    """
    return -softplus(-x)


def hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6``.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.hard_sigmoid(0.0))
        0.5
    """
    return relu6(x + 3.0) / 6.0


def hard_silu(x: Any) -> Any:
    """``x * hard_sigmoid(x)`` (also ``hard_swish``).

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.hard_silu(3.0))
        3.0
    """
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def hard_tanh(x: Any) -> Any:
    """``x`` clipped to ``[-1, 1]`` (derivative 1 at -1 and 1, as in JAX).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.hard_tanh(np.array([-3.0, 0.5, 2.0]))
        array([-1. ,  0.5,  1. ])
    """
    return tnp.where(x > 1.0, 1.0, tnp.where(x < -1.0, -1.0, x))


def celu(x: Any, alpha: Any = 1.0) -> Any:
    """Continuously differentiable ELU: ``x`` where positive, ``alpha * (exp(x / alpha) - 1)``
    elsewhere.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.celu(2.0))
        2.0
    """
    return tnp.maximum(x, 0.0) + alpha * tnp.expm1(tnp.minimum(x, 0.0) / alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(x: Any) -> Any:
    """Scaled ELU with the self-normalizing constants (alpha 1.6733, scale 1.0507).

    Example:
        >>> import tapeflow as tp
        >>> round(float(tp.nn.selu(1.0)), 4)
        1.0507
    """
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def glu(x: Any, axis: int = -1) -> Any:
    """Gated linear unit: the first half of ``x`` along ``axis`` times the sigmoid of the
    second half.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.glu(np.array([2.0, 0.0]))
        array([1.])
    """
    n = tnp.shape(x)[axis]
    if n % 2:
        raise ValueError(f"glu: axis {axis} has odd length {n}; it must split into two halves")
    a, b = tnp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def squareplus(x: Any, b: Any = 4) -> Any:
    """``(x + sqrt(x**2 + b)) / 2``, a smooth ReLU.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.squareplus(0.0))
        1.0
    """
    return (x + tnp.sqrt(x * x + b)) / 2


def mish(x: Any) -> Any:
    """``x * tanh(softplus(x))``.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.mish(0.0))
        0.0
    """
    return x * tnp.tanh(softplus(x))


def sparse_plus(x: Any) -> Any:
    """0 below -1, ``(x + 1)**2 / 4`` on ``[-1, 1]``, ``x`` above 1.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.sparse_plus(np.array([-2.0, 0.0, 2.0]))
        array([0.  , 0.25, 2.  ])
    """
    inside = (x + 1.0) ** 2 / 4.0
    return tnp.where(x <= -1.0, 0.0, tnp.where(x >= 1.0, x, inside))


def sparse_sigmoid(x: Any) -> Any:
    """``(clip(x, -1, 1) + 1) / 2``, the derivative of :func:`sparse_plus`.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.sparse_sigmoid(0.0))
        0.5
    """
    return 0.5 * tnp.clip(x + 1.0, 0.0, 2.0)


def identity(x: Any) -> Any:
    """``x`` itself.

    Example:
        >>> import tapeflow as tp
        >>> tp.nn.identity(2.0)
        2.0
    """
    return x


def _axes(x: Any, axis: Any) -> tuple[int, ...]:
    nd = tnp.ndim(x)
    if axis is None:
        return tuple(range(nd))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return tuple(int(a) % nd for a in axes)


def logsumexp(
    a: Any,
    axis: Any = None,
    b: Any = None,
    keepdims: bool = False,
    return_sign: bool = False,
    where: Any = None,
) -> Any:
    """``log(sum(b * exp(a)))`` along ``axis`` without overflow (``tnp.logsumexp``), with
    JAX's ``where`` (entries to include) and ``return_sign`` (returns ``(log|sum|,
    sign)``, for weights ``b`` of either sign).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> float(tp.nn.logsumexp(np.array([0.0, 50.0, 1000.0]), where=np.array([1, 1, 0], bool)))
        50.0
    """
    if where is not None:
        # masked entries contribute exp(-inf) = 0 (and no gradient)
        a = tnp.where(where, a, -np.inf)
    if not return_sign:
        return tnp.logsumexp(a, axis=axis, b=b, keepdims=keepdims)
    axes = _axes(a, axis)
    m = stop_gradient(tnp.max(a, axis=axes, keepdims=True))
    m = tnp.where(tnp.isfinite(m), m, 0.0)
    e = tnp.exp(a - m)
    s = tnp.sum(e if b is None else b * e, axis=axes, keepdims=True)
    sign = tnp.sign(stop_gradient(s))
    out = tnp.log(tnp.abs(s)) + m
    if not keepdims:
        out, sign = tnp.squeeze(out, axis=axes), tnp.squeeze(sign, axis=axes)
    return out, sign


def logmeanexp(x: Any, axis: Any = None, where: Any = None, keepdims: bool = False) -> Any:
    """``log(mean(exp(x)))`` along ``axis``, without overflow; ``where`` picks the entries.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> float(tp.nn.logmeanexp(np.array([1000.0, 1000.0])))
        1000.0
    """
    axes = _axes(x, axis)
    if where is None:
        count = float(np.prod([tnp.shape(x)[i] for i in axes]))
    else:
        count = tnp.sum(tnp.broadcast_to(where, tnp.shape(x)), axis=axes, keepdims=keepdims)
    return logsumexp(x, axis=axes, keepdims=keepdims, where=where) - tnp.log(count)


def log1mexp(x: Any) -> Any:
    """``log(1 - exp(-x))`` for ``x > 0``, accurate near 0 and for large ``x``.

    Example:
        >>> import tapeflow as tp
        >>> round(float(tp.nn.log1mexp(1e-10)), 4)
        -23.0259
    """
    # the two forms of Maechler (2012), each accurate on its side of log 2
    small = tnp.log(-tnp.expm1(-tnp.minimum(x, np.log(2.0))))
    large = tnp.log1p(-tnp.exp(-tnp.maximum(x, np.log(2.0))))
    return tnp.where(x < np.log(2.0), small, large)


def standardize(
    x: Any,
    axis: Any = -1,
    mean: Any = None,
    variance: Any = None,
    epsilon: Any = 1e-5,
    where: Any = None,
    *,
    algorithm: str = "fast",
) -> Any:
    """``(x - mean) / sqrt(variance + epsilon)`` along ``axis`` (the mean and variance of
    ``x`` there unless given; ``where`` picks the entries they are computed from).

    ``algorithm`` is JAX's choice of variance formula: ``"fast"`` (``E[x^2] - E[x]^2``) or
    ``"stable"`` (``E[(x - E[x])^2]``); tapeflow computes the stable one for both.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.standardize(np.array([1.0, 3.0]), epsilon=0.0)
        array([-1.,  1.])
    """
    if algorithm not in ("fast", "stable"):
        raise ValueError(f"standardize: algorithm must be 'fast' or 'stable', got {algorithm!r}")
    axes = _axes(x, axis)
    if where is None:
        if mean is None:
            mean = tnp.mean(x, axis=axes, keepdims=True)
        if variance is None:
            d = x - mean
            variance = tnp.mean(tnp.real(d * tnp.conj(d)), axis=axes, keepdims=True)
    else:
        w = tnp.broadcast_to(where, tnp.shape(x))
        count = tnp.sum(w, axis=axes, keepdims=True)
        if mean is None:
            mean = tnp.sum(tnp.where(w, x, 0.0), axis=axes, keepdims=True) / count
        if variance is None:
            d = tnp.where(w, x - mean, 0.0)
            variance = tnp.sum(tnp.real(d * tnp.conj(d)), axis=axes, keepdims=True) / count
    return (x - mean) / tnp.sqrt(variance + epsilon)
