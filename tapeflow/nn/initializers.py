"""Parameter initialisers: ``init(rng, shape, dtype=float32) -> array``.

Every initialiser takes an explicit source of randomness, a ``numpy.random.Generator``
or a ``tp.random`` key, so the same generator state (or the same key) always gives the
same parameters. Values are drawn in float64 and cast to ``dtype`` either way; with a
key they do not depend on the machine or on ``tp.jit``.

Fan-in and fan-out: for a dense weight ``(in, out)`` they are ``in`` and
``out``; for a convolution weight ``(out_channels, in_channels, kh, kw)`` they
are ``in_channels * kh * kw`` and ``out_channels * kh * kw``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.random.checks import uses_key
from tapeflow.random.continuous import normal as _key_normal
from tapeflow.random.continuous import uniform as _key_uniform

__all__ = [
    "fans",
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "zeros",
    "ones",
    "normal",
]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape (see the module docstring).

    Example:
        >>> from tapeflow.nn.initializers import fans
        >>> fans((784, 256)), fans((32, 1, 3, 3))
        ((784, 256), (9, 288))
    """
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[2:]))
    return shape[1] * receptive, shape[0] * receptive


def _uniform(rng: Any, shape: tuple[int, ...], limit: float, dtype: Any) -> Any:
    """Uniform on ``[-limit, limit]``, drawn in float64 and cast to ``dtype``."""
    if uses_key(rng, "initialisers"):
        return tnp.astype(_key_uniform(rng, tuple(shape), np.float64, -limit, limit), dtype)
    out: np.ndarray = rng.uniform(-limit, limit, shape).astype(dtype)
    return out


def _normal(rng: Any, shape: tuple[int, ...], std: float, dtype: Any) -> Any:
    """Normal with mean 0 and standard deviation ``std``, cast to ``dtype``."""
    if uses_key(rng, "initialisers"):
        return tnp.astype(_key_normal(rng, tuple(shape), np.float64) * std, dtype)
    out: np.ndarray = (rng.standard_normal(shape) * std).astype(dtype)
    return out


def glorot_uniform(rng: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
    """Uniform on ``[-a, a]`` with ``a = sqrt(6 / (fan_in + fan_out))`` (Glorot & Bengio).

    Example:
        >>> import numpy as np
        >>> from tapeflow.nn import initializers
        >>> w = initializers.glorot_uniform(np.random.default_rng(0), (784, 256))
        >>> w.dtype, bool(abs(w).max() <= np.sqrt(6 / 1040))
        (dtype('float32'), True)
        >>> import tapeflow as tp  # a tp.random key works too, also under tp.jit
        >>> initializers.glorot_uniform(tp.random.key(0), (784, 256)).shape
        (784, 256)
    """
    fan_in, fan_out = fans(shape)
    return _uniform(rng, shape, np.sqrt(6.0 / (fan_in + fan_out)), dtype)


def glorot_normal(rng: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
    """Normal with standard deviation ``sqrt(2 / (fan_in + fan_out))``.

    Example:
        >>> import numpy as np
        >>> from tapeflow.nn import initializers
        >>> initializers.glorot_normal(np.random.default_rng(0), (3, 4)).shape
        (3, 4)
    """
    fan_in, fan_out = fans(shape)
    return _normal(rng, shape, np.sqrt(2.0 / (fan_in + fan_out)), dtype)


def he_normal(rng: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
    """Normal with standard deviation ``sqrt(2 / fan_in)`` (He et al.; suits ReLU layers).

    Example:
        >>> import numpy as np
        >>> from tapeflow.nn import initializers
        >>> initializers.he_normal(np.random.default_rng(0), (32, 1, 3, 3)).dtype
        dtype('float32')
    """
    fan_in, _ = fans(shape)
    return _normal(rng, shape, np.sqrt(2.0 / fan_in), dtype)


def he_uniform(rng: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
    """Uniform on ``[-a, a]`` with ``a = sqrt(6 / fan_in)``.

    Example:
        >>> import numpy as np
        >>> from tapeflow.nn import initializers
        >>> initializers.he_uniform(np.random.default_rng(0), (4, 2)).shape
        (4, 2)
    """
    fan_in, _ = fans(shape)
    return _uniform(rng, shape, np.sqrt(6.0 / fan_in), dtype)


def zeros(rng: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """All zeros (the generator is accepted for a uniform signature and not used).

    Example:
        >>> from tapeflow.nn import initializers
        >>> initializers.zeros(None, (2,))
        array([0., 0.], dtype=float32)
    """
    return np.zeros(shape, dtype)


def ones(rng: Any, shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """All ones (the generator is not used).

    Example:
        >>> from tapeflow.nn import initializers
        >>> initializers.ones(None, (2,))
        array([1., 1.], dtype=float32)
    """
    return np.ones(shape, dtype)


def normal(stddev: float = 0.01, dtype: Any = None) -> Any:
    """An initialiser drawing from a normal distribution with standard deviation ``stddev``.

    Returns:
        ``init(rng, shape, dtype=dtype)``; ``dtype`` None means float32, as in JAX.

    Example:
        >>> import numpy as np
        >>> from tapeflow.nn import initializers
        >>> init = initializers.normal(0.1)
        >>> init(np.random.default_rng(0), (2, 2)).dtype
        dtype('float32')
    """

    default = np.float32 if dtype is None else dtype

    def init(rng: Any, shape: tuple[int, ...], dtype: Any = default) -> Any:
        return _normal(rng, shape, stddev, dtype)

    init.__name__ = f"normal({stddev})"
    return init
