"""tapeflow.nn: neural-network building blocks as pure functions.

- ``functional``: activations, losses, ``linear``, ``one_hot``, ``accuracy``
- ``activations``: the rest of ``jax.nn`` (``relu6``, ``selu``, ``glu``, ``standardize``...)
- ``conv``: ``conv2d``, ``max_pool2d``, ``avg_pool2d`` on NCHW arrays
- ``normalization``: ``layer_norm``, ``batch_norm``, ``dropout``, ``embedding``
- ``initializers``: ``glorot_uniform``, ``he_normal``, ``zeros``, ``normal``...
- ``layers``: stax-style ``(init, apply)`` pairs and the ``serial`` combinator
- ``threads``: how many cores the kernels' memory-bound passes use

Parameters are pytrees of arrays; randomness comes from explicit
``numpy.random.Generator`` objects.

Example:
    >>> import numpy as np, tapeflow as tp
    >>> from tapeflow import nn
    >>> init, apply = nn.serial(nn.Dense(32), nn.Relu, nn.Dense(10))
    >>> _, params = init(np.random.default_rng(0), (-1, 784))
    >>> x, y = np.zeros((4, 784), np.float32), np.array([0, 1, 2, 3])
    >>> loss = lambda p: nn.softmax_cross_entropy(apply(p, x), y)
    >>> grads = tp.grad(loss)(params)
    >>> grads[0][0].shape, grads[0][0].dtype
    ((784, 32), dtype('float32'))
"""

from tapeflow.nn import initializers, threads
from tapeflow.nn.activations import (
    celu,
    glu,
    hard_sigmoid,
    hard_silu,
    hard_swish,
    hard_tanh,
    identity,
    log1mexp,
    log_sigmoid,
    logmeanexp,
    logsumexp,
    mish,
    relu6,
    selu,
    soft_sign,
    sparse_plus,
    sparse_sigmoid,
    squareplus,
    standardize,
    swish,
)
from tapeflow.nn.conv import avg_pool2d, conv2d, max_pool2d
from tapeflow.nn.functional import (
    accuracy,
    binary_cross_entropy_with_logits,
    elu,
    gelu,
    leaky_relu,
    linear,
    log_softmax,
    mse,
    one_hot,
    relu,
    sigmoid,
    silu,
    softmax,
    softmax_cross_entropy,
    softplus,
    tanh,
)
from tapeflow.nn.layers import (
    AvgPool,
    Conv,
    Dense,
    Dropout,
    Elu,
    Flatten,
    Gelu,
    Identity,
    Layer,
    LayerNorm,
    LeakyRelu,
    LogSoftmax,
    MaxPool,
    Relu,
    Sigmoid,
    Silu,
    Softmax,
    Softplus,
    Tanh,
    elementwise,
    serial,
)
from tapeflow.nn.normalization import batch_norm, dropout, embedding, layer_norm

__all__ = [
    "initializers",
    "threads",
    "conv2d",
    "max_pool2d",
    "avg_pool2d",
    "relu",
    "leaky_relu",
    "elu",
    "gelu",
    "sigmoid",
    "silu",
    "softplus",
    "tanh",
    "softmax",
    "log_softmax",
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
    "softmax_cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse",
    "one_hot",
    "accuracy",
    "linear",
    "layer_norm",
    "batch_norm",
    "dropout",
    "embedding",
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
