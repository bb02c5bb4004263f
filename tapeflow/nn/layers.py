"""Layers as ``(init, apply)`` pairs of pure functions, combined with :func:`serial`.

A layer is a pair:

* ``init(rng, input_shape, dtype=np.float32) -> (output_shape, params)``:
  ``rng`` is a ``numpy.random.Generator`` or a ``tp.random`` key; shapes
  include the batch axis, which may be ``-1`` (unknown);
* ``apply(params, x, *, rng=None, train=False) -> y``: ``rng`` and ``train``
  only matter to layers with randomness (``Dropout``). With a key, a training
  step runs under ``tp.jit``.

Layers with parameters are made by calling a constructor (``Dense(256)``);
parameter-free layers are pairs already (``Relu``, ``Flatten``), as in stax.
A model's parameters are a pytree (a list with one entry per layer), so
``grad``, optimizers and ``save_params`` work on them directly.

Example:
    >>> import numpy as np, tapeflow as tp
    >>> from tapeflow import nn
    >>> init, apply = nn.serial(nn.Dense(16), nn.Sigmoid, nn.Dense(10))
    >>> out_shape, params = init(np.random.default_rng(0), (-1, 784))
    >>> out_shape, apply(params, np.zeros((2, 784), np.float32)).shape
    ((-1, 10), (2, 10))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.nn import functional as F
from tapeflow.nn import initializers
from tapeflow.nn.conv import avg_pool2d, conv2d, conv_output_shape, max_pool2d
from tapeflow.nn.normalization import dropout, layer_norm
from tapeflow.random.checks import is_key, uses_key
from tapeflow.random.keys import split

__all__ = [
    "Layer",
    "serial",
    "Dense",
    "Conv",
    "MaxPool",
    "AvgPool",
    "Flatten",
    "Dropout",
    "LayerNorm",
    "Identity",
    "Relu",
    "Sigmoid",
    "Tanh",
    "Gelu",
    "Elu",
    "LeakyRelu",
    "Softplus",
    "Silu",
    "Softmax",
    "LogSoftmax",
    "elementwise",
]


class Layer(NamedTuple):
    """An ``(init, apply)`` pair; unpacks like a tuple.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> init, apply = tp.nn.serial(tp.nn.Dense(3), tp.nn.Relu)
        >>> out_shape, params = init(np.random.default_rng(0), (-1, 4))
        >>> out_shape, apply(params, np.ones((2, 4))).shape
        ((-1, 3), (2, 3))
    """

    init: Callable[..., Any]
    apply: Callable[..., Any]


def _rng(rng: Any, what: str) -> Any:
    """``rng`` itself, checked: a ``numpy.random.Generator`` or a ``tp.random`` key."""
    uses_key(rng, what)
    return rng


def _shape(input_shape: Any, what: str) -> tuple[int, ...]:
    """``input_shape`` as a tuple, checked: a shape with the batch axis first, not one int."""
    if isinstance(input_shape, (int, np.integer)):
        raise TypeError(
            f"{what}: input_shape must be a tuple with the batch axis first, such as "
            f"(-1, {int(input_shape)}) (-1: any batch size); got the int {int(input_shape)}"
        )
    try:
        return tuple(input_shape)
    except TypeError:
        raise TypeError(
            f"{what}: input_shape must be a tuple with the batch axis first, such as "
            f"(-1, 784); got {input_shape!r}"
        ) from None


def _split(rng: Any, n: int) -> list[Any]:
    """``n`` independent generators (advancing ``rng``) or keys derived from ``rng``."""
    if uses_key(rng, "layers"):
        keys = split(rng, n)
        return [keys[i] for i in range(n)]
    seeds = rng.integers(0, 2**63 - 1, size=n)
    return [np.random.default_rng(int(s)) for s in seeds]


# ----- combinators -------------------------------------------------------------
def serial(*layers: Any) -> Layer:
    """Chain layers: the output of each is the input of the next.

    Returns:
        A :class:`Layer` whose params are a list with one entry per layer
        (``()`` for parameter-free layers).

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> init, apply = nn.serial(nn.Dense(3), nn.Relu)
        >>> shape, params = init(np.random.default_rng(0), (-1, 2))
        >>> shape, [len(p) for p in params]
        ((-1, 3), [2, 0])
    """
    for i, layer in enumerate(layers):
        if not (isinstance(layer, tuple) and len(layer) == 2 and all(map(callable, layer))):
            hint = (
                " (did you forget to call a constructor such as nn.Dense(256)?)"
                if callable(layer)
                else ""
            )
            raise TypeError(f"serial: layer {i} is not an (init, apply) pair{hint}: {layer!r}")
    inits = [layer[0] for layer in layers]
    applies = [layer[1] for layer in layers]

    def init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        rngs = _split(_rng(rng, "serial init"), len(inits))
        params = []
        shape = _shape(input_shape, "serial init")
        for layer_init, r in zip(inits, rngs, strict=True):
            shape, p = layer_init(r, shape, dtype)
            params.append(p)
        return shape, params

    def apply(params: Any, x: Any, *, rng: Any = None, train: bool = False) -> Any:
        if len(params) != len(applies):
            raise ValueError(
                f"serial: got params for {len(params)} layer(s), but the model has "
                f"{len(applies)} layers"
            )
        # Layers draw from the one generator in turn: deterministic for a given
        # generator state, and free for the layers that draw nothing. A key is split,
        # one key per layer: two dropout layers never share a mask.
        if train and is_key(rng):
            rngs = _split(rng, len(applies))
        else:
            rngs = [rng] * len(applies)
        for layer_apply, p, r in zip(applies, params, rngs, strict=True):
            x = layer_apply(p, x, rng=r, train=train)
        return x

    return Layer(init, apply)


# ----- layers with parameters ----------------------------------------------------
def Dense(
    out_dim: int,
    W_init: Callable[..., Any] = initializers.glorot_uniform,
    b_init: Callable[..., Any] = initializers.zeros,
) -> Layer:
    """Fully connected layer ``x @ W + b`` with ``W`` of shape ``(in_dim, out_dim)``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> init, apply = nn.Dense(4)
        >>> shape, (W, b) = init(np.random.default_rng(0), (-1, 3))
        >>> shape, W.shape, b.shape
        ((-1, 4), (3, 4), (4,))
    """

    def init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        rng = _rng(rng, "Dense init")
        input_shape = _shape(input_shape, "Dense init")
        r_w, r_b = _split(rng, 2)
        in_dim = input_shape[-1]
        return tuple(input_shape[:-1]) + (out_dim,), (
            W_init(r_w, (in_dim, out_dim), dtype),
            b_init(r_b, (out_dim,), dtype),
        )

    def apply(params: Any, x: Any, **kwargs: Any) -> Any:
        W, b = params
        return F.linear(x, W, b)

    return Layer(init, apply)


def Conv(
    out_chan: int,
    filter_shape: Any,
    strides: Any = 1,
    padding: Any = "VALID",
    W_init: Callable[..., Any] = initializers.he_normal,
    b_init: Callable[..., Any] = initializers.zeros,
) -> Layer:
    """2-d convolution on NCHW inputs with weights ``(out_chan, in_chan, kh, kw)``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> init, apply = nn.Conv(8, (3, 3), padding="SAME")
        >>> init(np.random.default_rng(0), (-1, 1, 28, 28))[0]
        (-1, 8, 28, 28)
    """
    kh, kw = (filter_shape, filter_shape) if isinstance(filter_shape, int) else tuple(filter_shape)

    def init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        rng = _rng(rng, "Conv init")
        input_shape = _shape(input_shape, "Conv init")
        if len(input_shape) != 4:
            raise ValueError(f"Conv expects NCHW input shapes, got {tuple(input_shape)}")
        r_w, r_b = _split(rng, 2)
        in_chan = input_shape[1]
        out_shape = conv_output_shape(tuple(input_shape), out_chan, (kh, kw), strides, padding)
        return out_shape, (
            W_init(r_w, (out_chan, in_chan, kh, kw), dtype),
            b_init(r_b, (out_chan,), dtype),
        )

    def apply(params: Any, x: Any, **kwargs: Any) -> Any:
        W, b = params
        return conv2d(x, W, b, stride=strides, padding=padding)

    return Layer(init, apply)


def LayerNorm(axis: int = -1, eps: float = 1e-5) -> Layer:
    """Layer normalisation over the last axis with learned scale and shift.

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> init, apply = nn.LayerNorm()
        >>> [p.shape for p in init(np.random.default_rng(0), (-1, 5))[1]]
        [(5,), (5,)]
    """
    if axis != -1:
        raise ValueError("LayerNorm normalises the last axis; use nn.layer_norm for other axes")

    def init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        input_shape = _shape(input_shape, "LayerNorm init")
        n = input_shape[-1]
        return tuple(input_shape), (np.ones(n, dtype), np.zeros(n, dtype))

    def apply(params: Any, x: Any, **kwargs: Any) -> Any:
        gamma, beta = params
        return layer_norm(x, gamma, beta, axis=-1, eps=eps)

    return Layer(init, apply)


# ----- parameter-free layers -----------------------------------------------------
def _pool(fun: Callable[..., Any], window: Any, strides: Any, padding: Any) -> Layer:
    def init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        input_shape = _shape(input_shape, "pooling init")
        if len(input_shape) != 4:
            raise ValueError(f"pooling expects NCHW input shapes, got {tuple(input_shape)}")
        stride = window if strides is None else strides
        return conv_output_shape(tuple(input_shape), input_shape[1], window, stride, padding), ()

    def apply(params: Any, x: Any, **kwargs: Any) -> Any:
        return fun(x, window, strides, padding)

    return Layer(init, apply)


def MaxPool(window: Any = 2, strides: Any = None, padding: Any = "VALID") -> Layer:
    """Max pooling over NCHW inputs (stride defaults to the window).

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> nn.MaxPool(2).init(None, (-1, 8, 28, 28))[0]
        (-1, 8, 14, 14)
    """
    return _pool(max_pool2d, window, strides, padding)


def AvgPool(window: Any = 2, strides: Any = None, padding: Any = "VALID") -> Layer:
    """Average pooling over NCHW inputs (stride defaults to the window).

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> nn.AvgPool(2).init(None, (-1, 8, 28, 28))[0]
        (-1, 8, 14, 14)
    """
    return _pool(avg_pool2d, window, strides, padding)


def Dropout(drop_rate: float) -> Layer:
    """Inverted dropout with probability ``drop_rate``; active only with ``train=True``.

    ``apply`` then needs ``rng``: a ``tp.random`` key (the training step may then be
    jitted) or a ``numpy.random.Generator``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> init, apply = nn.Dropout(0.5)
        >>> apply((), np.ones(3), train=False)
        array([1., 1., 1.])
    """
    if not 0.0 <= drop_rate < 1.0:
        raise ValueError(f"Dropout: drop_rate must be in [0, 1), got {drop_rate}")

    def init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        return _shape(input_shape, "layer init"), ()

    def apply(params: Any, x: Any, *, rng: Any = None, train: bool = False) -> Any:
        return dropout(x, drop_rate, rng, train)

    return Layer(init, apply)


def elementwise(fun: Callable[..., Any], **fun_kwargs: Any) -> Layer:
    """A parameter-free layer applying ``fun(x, **fun_kwargs)``.

    Example:
        >>> import numpy as np
        >>> from tapeflow import nn
        >>> nn.elementwise(nn.leaky_relu, negative_slope=0.1).apply((), np.array([-1.0]))
        array([-0.1])
    """

    def init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
        return _shape(input_shape, "layer init"), ()

    def apply(params: Any, x: Any, **kwargs: Any) -> Any:
        return fun(x, **fun_kwargs)

    return Layer(init, apply)


def _flatten_init(rng: Any, input_shape: tuple[int, ...], dtype: Any = np.float32) -> Any:
    input_shape = _shape(input_shape, "Flatten init")
    return (input_shape[0], int(np.prod(input_shape[1:]))), ()


def _flatten_apply(params: Any, x: Any, **kwargs: Any) -> Any:
    shape = tnp.shape(x)
    return tnp.reshape(x, (shape[0], -1))


Flatten = Layer(_flatten_init, _flatten_apply)
"""Flatten every axis but the batch axis."""
Identity = elementwise(lambda x: x)
Relu = elementwise(F.relu)
Sigmoid = elementwise(F.sigmoid)
Tanh = elementwise(F.tanh)
Gelu = elementwise(F.gelu)
Elu = elementwise(F.elu)
LeakyRelu = elementwise(F.leaky_relu)
Softplus = elementwise(F.softplus)
Silu = elementwise(F.silu)
Softmax = elementwise(F.softmax, axis=-1)
LogSoftmax = elementwise(F.log_softmax, axis=-1)
