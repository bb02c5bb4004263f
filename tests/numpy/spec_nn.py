"""Matrix rows for the primitives of tapeflow.nn (functional.py and conv.py)."""

import numpy as np

import tapeflow.numpy as tnp
from tapeflow.nn import conv
from tapeflow.nn import functional as F
from tests.numpy.spec import UNARY_SHAPES, Case, distinct, real


def _labels(shape):
    """Deterministic integer labels for logits of ``shape`` (every class used)."""
    n_rows = int(np.prod(shape[:-1]))
    return (np.arange(n_rows) * 7 % shape[-1]).reshape(shape[:-1])


def _alternating(shape):
    """A fixed answer of a ReLU: positive and zero entries in turn."""
    return (np.arange(int(np.prod(shape))) % 2).reshape(shape) * 1.5


def _probability(z):
    return 1 / (1 + np.exp(-z))


_CONV_PRIMITIVES = [
    "nn.im2col",
    "nn.col2im",
    "nn.conv2d_from_patches",
    "nn.conv2d_patches_grad",
    "nn.conv2d_weight_grad",
    "nn.channel_sum",
]


def _conv_case(name, x_shape, w_shape, stride, padding, dilation=1):
    stride = conv._pair(stride, "stride")
    dilation = conv._pair(dilation, "dilation")
    span = tuple(conv._span(k, d) for k, d in zip(w_shape[2:], dilation, strict=True))
    pads = conv._pads(padding, x_shape[2:], span, stride)
    g_shape = conv.conv_output_shape(x_shape, w_shape[0], w_shape[2:], stride, pads, dilation)
    cols_shape = (g_shape[0], *g_shape[2:], *w_shape[2:], x_shape[1])
    kw = {"window": w_shape[2:], "stride": stride, "padding": pads, "dilation": dilation}
    return [
        Case(
            f"conv2d-{name}",
            lambda x, w: conv.conv2d(x, w, stride=stride, padding=padding, dilation=dilation),
            ((x_shape, w_shape),),
            covers=_CONV_PRIMITIVES,
        ),
        Case(
            f"conv2d-bias-{name}",
            lambda x, w, b: conv.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation),
            ((x_shape, w_shape, w_shape[:1]),),
            covers=_CONV_PRIMITIVES,
        ),
        Case(
            f"im2col-{name}",
            lambda x: conv.im2col(x, **kw),
            ((x_shape,),),
            covers=["nn.im2col", "nn.col2im"],
        ),
        Case(
            f"col2im-{name}",
            lambda c: conv.col2im(c, x_shape=x_shape, **kw),
            ((cols_shape,),),
            covers=["nn.im2col", "nn.col2im"],
        ),
        Case(
            f"conv2d_from_patches-{name}",
            lambda c, w, b: conv.conv2d_from_patches(c, w, b),
            ((cols_shape, w_shape, w_shape[:1]),),
            covers=_CONV_PRIMITIVES[2:],
        ),
        Case(
            f"conv2d_patches_grad-{name}",
            conv.conv2d_patches_grad,
            ((g_shape, w_shape),),
            covers=_CONV_PRIMITIVES[2:],
        ),
        Case(
            f"conv2d_weight_grad-{name}",
            conv.conv2d_weight_grad,
            ((cols_shape, g_shape),),
            covers=_CONV_PRIMITIVES[2:],
        ),
        Case(f"channel_sum-{name}", conv.channel_sum, ((g_shape,),), covers=["nn.channel_sum"]),
        Case(
            # channels-last memory, as a convolution's gradient has: the product path
            f"channel_sum-channels-last-{name}",
            lambda g: conv.channel_sum(tnp.transpose(g, (0, 3, 1, 2))),
            (((g_shape[0], *g_shape[2:], g_shape[1]),),),
            covers=["nn.channel_sum"],
        ),
    ]


def _pool_cases(name, x_shape, window, stride, padding):
    pool = conv._pool_args(np.zeros(x_shape), window, stride, padding, "pool")
    win_shape = conv.conv_output_shape(
        x_shape, x_shape[1], pool["window"], pool["stride"], pool["padding"]
    )
    win_shape = win_shape + pool["window"]
    x_fixed = distinct(np.zeros(x_shape))
    ans_fixed = conv.max_pool2d(x_fixed, window, stride, padding)
    return [
        Case(
            f"max_pool2d-{name}",
            lambda x: conv.max_pool2d(x, window, stride, padding),
            ((x_shape,),),
            domains=distinct,
            covers=["nn.max_pool2d", "nn.max_pool2d_backward"],
        ),
        Case(
            f"max_pool2d_backward-{name}",
            lambda g: conv.max_pool2d_backward(
                g, x_fixed.astype(g.dtype), ans_fixed.astype(g.dtype), **pool
            ),
            ((ans_fixed.shape,),),
            covers=["nn.max_pool2d_backward"],
        ),
        Case(
            f"avg_pool2d-{name}",
            lambda x: conv.avg_pool2d(x, window, stride, padding),
            ((x_shape,),),
            covers=["nn.avg_pool2d"],
        ),
        Case(
            f"window_gather-{name}",
            lambda x: conv.window_gather(x, **pool),
            ((x_shape,),),
            covers=["nn.window_gather"],
        ),
        Case(
            f"window_scatter-{name}",
            lambda w: conv.window_scatter(w, x_shape=x_shape, **pool),
            ((win_shape,),),
            covers=["nn.window_scatter"],
        ),
    ]


SOFTMAX_SHAPES = (((3,),), ((2, 3),), ((2, 3, 4),))

CASES = [
    Case("relu", F.relu, UNARY_SHAPES, covers=["nn.relu", "nn.relu_grad"]),
    Case(
        "relu_grad",
        lambda g: F.relu_grad(g, _alternating(np.shape(g))),
        UNARY_SHAPES,
        covers=["nn.relu_grad"],
    ),
    Case("sigmoid", F.sigmoid, UNARY_SHAPES, covers=["nn.sigmoid"]),
    Case("softplus", F.softplus, UNARY_SHAPES, covers=["nn.softplus"]),
    Case("leaky_relu", lambda x: F.leaky_relu(x, 0.1), UNARY_SHAPES, covers=["nn.leaky_relu"]),
    Case("elu", lambda x: F.elu(x, 1.5), UNARY_SHAPES, covers=["nn.elu"]),
    Case("gelu", F.gelu, UNARY_SHAPES),
    Case("silu", F.silu, UNARY_SHAPES, covers=["nn.sigmoid"]),
    Case("log_softmax", F.log_softmax, SOFTMAX_SHAPES, covers=["nn.log_softmax"]),
    Case(
        "log_softmax-axis0",
        lambda x: F.log_softmax(x, axis=0),
        SOFTMAX_SHAPES[1:],
        covers=["nn.log_softmax"],
    ),
    Case("softmax", F.softmax, SOFTMAX_SHAPES, covers=["nn.softmax"]),
    Case(
        "softmax-axis0", lambda x: F.softmax(x, axis=0), SOFTMAX_SHAPES[1:], covers=["nn.softmax"]
    ),
    Case(
        "softmax_cross_entropy",
        lambda x: F.softmax_cross_entropy(x, _labels(x.shape)),
        (((4, 5),), ((1, 3),), ((2, 3, 4),), ((3,),)),
        covers=["nn.softmax_cross_entropy", "nn.softmax_cross_entropy_grad", "nn.softmax"],
    ),
    Case(
        "softmax_cross_entropy_grad",
        lambda x: F._softmax_cross_entropy_grad(x, _labels(x.shape)),
        (((4, 5),), ((1, 3),), ((2, 3, 4),), ((3,),)),
        covers=["nn.softmax_cross_entropy_grad", "nn.softmax"],
    ),
    Case(
        "bce_with_logits",
        F.binary_cross_entropy_with_logits,
        (((3,), (3,)), ((2, 3), (2, 3))),
        domains=[real, _probability],
        covers=["nn.binary_cross_entropy_with_logits"],
    ),
    Case("mse", F.mse, (((3,), (3,)), ((2, 3), (2, 3)))),
    Case(
        "linear",
        F.linear,
        (((4, 3), (3, 2), (2,)), ((3,), (3, 2), (2,)), ((2, 4, 3), (3, 2), (2,))),
        covers=["nn.linear"],
    ),
    Case("linear-nobias", lambda x, w: F.linear(x, w), (((4, 3), (3, 2)),)),
    *_conv_case("valid", (2, 3, 5, 5), (4, 3, 3, 3), 1, "VALID"),
    *_conv_case("same-stride2", (1, 2, 6, 5), (3, 2, 2, 3), 2, "SAME"),
    *_conv_case("pad1-stride21", (1, 2, 4, 5), (2, 2, 3, 2), (2, 1), 1),
    *_conv_case("dilation2-same", (2, 2, 5, 6), (3, 2, 2, 3), 1, "SAME", 2),
    *_conv_case("dilation12-stride2-pad", (1, 3, 7, 6), (2, 3, 3, 2), 2, ((2, 0), (1, 1)), (1, 2)),
    *_pool_cases("2x2", (2, 3, 4, 4), 2, None, "VALID"),
    *_pool_cases("3x3-stride2-same", (1, 2, 5, 5), 3, 2, "SAME"),
    *_pool_cases("2x3-stride1", (1, 1, 5, 6), (2, 3), 1, "VALID"),
    *_pool_cases("2x2-odd", (1, 2, 5, 5), 2, None, "VALID"),
]
