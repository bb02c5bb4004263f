"""Activations, losses and the dense layer as pure functions of arrays.

The hot ones are primitives with fused rules (``relu``, ``sigmoid``,
``log_softmax``, ``softmax``, ``softmax_cross_entropy``, ``linear``...): one
tape record per call and a backward pass that reuses the forward answer.
Others are short compositions of primitives and are differentiated through.

Conventions: ``relu``'s derivative at 0 is 0 (so is ``leaky_relu``'s slope
branch at 0: the negative side wins); the losses reduce by the mean over every
axis but the class axis; every loss is evaluated in a numerically stable form
(no ``log(softmax(x))``, no ``exp`` of a large positive number).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy import ndarray  # a global: np.ndarray is a slow attribute load (see core/tape.py)

import tapeflow.numpy as tnp
from tapeflow.batching import axis_rule, batch_size, bcast_front, elementwise_rule, to_front
from tapeflow.core.primitive import (
    defbatch,
    defelementwise,
    defjvp,
    defvjp,
    get_primitive,
    primitive,
    vjp_needs,
)
from tapeflow.core.tracer import is_traced, unwrap
from tapeflow.custom import stop_gradient
from tapeflow.nn.threads import over_batch, worth_splitting
from tapeflow.numpy.meta import dtype_of, shape_of
from tapeflow.scipy.special import erfc

__all__ = [
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
    "softmax_cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse",
    "one_hot",
    "accuracy",
    "linear",
]

tanh = tnp.tanh


# ----- activations -------------------------------------------------------------
def _np_relu(x: Any) -> Any:
    if type(x) is not ndarray or x.ndim == 0 or not worth_splitting(x.size):
        return np.maximum(x, 0)
    return _relu_into(x, np.empty_like(x))


def _relu_into(x: Any, out: Any) -> Any:
    if x.ndim == 0 or not worth_splitting(x.size):
        return np.maximum(x, 0, out=out)

    def relu_slice(s: slice) -> None:
        np.maximum(x[s], 0, out=out[s])

    over_batch(relu_slice, len(x), x.size)
    return out


relu = primitive(_np_relu, name="nn.relu")

# Same-size integer types, for selecting float values by their bits.
_BITS = {2: np.int16, 4: np.int32, 8: np.int64}


def _keep_where_positive(g: np.ndarray, ans: np.ndarray, out: Any = None) -> np.ndarray:
    """``np.where(ans > 0, g, 0)`` for float arrays of one shape, bit for bit, faster.

    numpy's ``where`` with an irregular mask costs about ten times a multiply (measured
    on a 256 x 1024 float32 step: 1.3 ms against 0.1 ms), and ``g * (ans > 0)`` is
    not the same: it turns an infinite ``g`` into nan where the unit is off and keeps
    the sign of a negative ``g`` on its zeros. ANDing ``g``'s bits with an all-ones or
    all-zeros mask selects exactly: ``g`` itself, or ``+0.0``. ``out`` (of ``g``'s
    shape and dtype, any strides) receives the result when given.
    """
    ints = _BITS[g.dtype.itemsize]
    if g.ndim == 0 or not worth_splitting(g.size):
        mask = np.negative(np.greater(ans, 0), dtype=ints)  # True -> -1 (all bits set)
        bits = None if out is None else out.view(ints)
        selected: np.ndarray = np.bitwise_and(g.view(ints), mask, out=bits).view(g.dtype)
        return selected
    if out is None:
        out = np.empty_like(g)
    g_bits, out_bits = g.view(ints), out.view(ints)

    def select_slice(s: slice) -> None:
        mask = np.negative(np.greater(ans[s], 0), dtype=ints)  # True -> -1 (all bits set)
        np.bitwise_and(g_bits[s], mask, out=out_bits[s])

    over_batch(select_slice, len(g), g.size)
    return out  # type: ignore[no-any-return]


def _is_plain_float_pair(a: Any, b: Any) -> bool:
    """Two plain float arrays of one shape (first order), for the fast select."""
    return (
        type(a) is ndarray
        and type(b) is ndarray
        and a.dtype.kind == "f"
        and a.dtype.itemsize in _BITS
        and a.shape == b.shape
    )


def _np_relu_grad(g: Any, ans: Any) -> Any:
    if _is_plain_float_pair(g, ans):
        return _keep_where_positive(g, ans)
    return np.where(np.greater(ans, 0), g, 0)


def _relu_grad_into(g: Any, ans: Any, out: Any) -> Any:
    if _is_plain_float_pair(g, ans):
        return _keep_where_positive(g, ans, out)
    np.copyto(out, _np_relu_grad(g, ans))
    return out


# ``g`` where ``ans > 0``, else 0: ReLU's derivative applied to ``g``, as one primitive
# so that compiled and higher-order passes run the fast select too, not a where.
relu_grad = primitive(_np_relu_grad, name="nn.relu_grad", broadcasts=True)
defelementwise(relu_grad, lambda u, out, g, ans: relu_grad(u, ans), None)
vjp_needs(relu_grad, ans=False, args={0: {1}})
relu_grad.primitive.jit_into = _relu_grad_into
relu_grad.primitive.jit_fresh = True


def _relu_vjp(g: Any, ans: Any, x: Any) -> Any:
    # ans > 0 exactly where x > 0, a plain boolean mask (comparisons carry no gradient):
    # relu'(0) = 0. Reading the answer rather than x lets the tape drop x, which the
    # layer before usually holds only for this rule.
    if _is_plain_float_pair(g, ans):
        return _keep_where_positive(g, ans)  # plain arrays (first order): the fast select
    return relu_grad(g, ans)


defelementwise(relu, _relu_vjp)
vjp_needs(relu, ans=True, args=())
relu.primitive.jit_into = _relu_into
relu.primitive.jit_fresh = True
relu.__doc__ = """Rectified linear unit ``max(x, 0)``; its derivative at 0 is 0.

Example:
    >>> import numpy as np, tapeflow as tp
    >>> tp.grad(lambda x: tp.nn.relu(x).sum())(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 1.])
"""


def _np_sigmoid(x: Any) -> Any:
    # 1 / (1 + exp(-x)): exact in both tails. For x < -88 (float32) exp(-x)
    # overflows to inf and the result is 0, the correctly rounded answer, so
    # the overflow warning is silenced rather than avoided with extra passes.
    with np.errstate(over="ignore"):
        e = np.exp(np.negative(x))
    if not isinstance(e, ndarray):  # 0-d input: numpy scalars have no out=
        return 1 / (1 + e)
    e += 1
    return np.reciprocal(e, out=e)


def _sigmoid_vjp(g: Any, ans: Any, x: Any) -> Any:
    if (
        type(g) is ndarray
        and type(ans) is ndarray
        and g.shape == ans.shape
        and g.dtype == ans.dtype
    ):
        # Plain arrays (first order): the same three products in one fresh array, not
        # three. Multiplication commutes exactly, so the bits are those of the formula.
        # (g is a cotangent in reverse mode, a tangent in forward mode: one derivative.)
        out = np.subtract(1, ans)
        out *= ans
        out *= g
        return out
    return g * (ans * (1 - ans))


sigmoid = primitive(_np_sigmoid, name="nn.sigmoid")
defelementwise(sigmoid, _sigmoid_vjp)
vjp_needs(sigmoid, ans=True, args=())
sigmoid.__doc__ = """Logistic function ``1 / (1 + exp(-x))``, stable for any ``x``.

Example:
    >>> import tapeflow as tp
    >>> float(tp.nn.sigmoid(0.0))
    0.5
"""


def _np_leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    return np.where(x > 0, x, np.multiply(x, negative_slope))


_leaky_relu = primitive(_np_leaky_relu, name="nn.leaky_relu")
defelementwise(
    _leaky_relu,
    lambda u, ans, x, negative_slope=0.01: tnp.where(x > 0, u, u * negative_slope),
)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """``x`` where positive, ``negative_slope * x`` elsewhere (slope branch at 0).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.leaky_relu(np.array([-2.0, 3.0]), negative_slope=0.1)
        array([-0.2,  3. ])
    """
    return _leaky_relu(x, negative_slope=float(negative_slope))


def _np_elu(x: Any, alpha: float = 1.0) -> Any:
    # expm1 of min(x, 0) so that large positive entries never overflow.
    return np.where(x > 0, x, np.multiply(np.expm1(np.minimum(x, 0)), alpha))


_elu = primitive(_np_elu, name="nn.elu")
defelementwise(_elu, lambda u, ans, x, alpha=1.0: tnp.where(x > 0, u, u * (ans + alpha)))


def elu(x: Any, alpha: float = 1.0) -> Any:
    """Exponential linear unit: ``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.elu(np.array([0.0, 1.0]))
        array([0., 1.])
    """
    return _elu(x, alpha=float(alpha))


def _np_softplus(x: Any) -> Any:
    return np.logaddexp(x, 0)


softplus = primitive(_np_softplus, name="nn.softplus")
defelementwise(softplus, lambda u, ans, x: u * sigmoid(x))
softplus.__doc__ = """Smooth ReLU ``log(1 + exp(x))``, stable for any ``x``.

Example:
    >>> import tapeflow as tp
    >>> round(float(tp.nn.softplus(0.0)), 4)
    0.6931
"""


def silu(x: Any) -> Any:
    """Sigmoid-weighted linear unit (swish): ``x * sigmoid(x)``.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.silu(0.0))
        0.0
    """
    return x * sigmoid(x)


_GELU_C = float(np.sqrt(2.0 / np.pi))


def gelu(x: Any, approximate: bool = True) -> Any:
    """Gaussian error linear unit, by default in its usual tanh approximation.

    ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))``; it differs from
    the erf form by less than 1e-3 everywhere. ``approximate=False`` gives the
    exact form ``x * Phi(x) = 0.5 * x * erfc(-x / sqrt(2))``.

    Example:
        >>> import tapeflow as tp
        >>> float(tp.nn.gelu(0.0))
        0.0
    """
    if not approximate:
        return 0.5 * x * erfc(-x / np.sqrt(2.0))
    inner = (x + 0.044715 * (x * x * x)) * _GELU_C
    return 0.5 * x * (1 + tnp.tanh(inner))


def _np_log_softmax(x: Any, axis: int = -1) -> Any:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _np_softmax(x: Any, axis: int = -1) -> Any:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


_log_softmax = primitive(_np_log_softmax, name="nn.log_softmax")
_softmax = primitive(_np_softmax, name="nn.softmax")
defvjp(
    _log_softmax,
    lambda ans, x, axis=-1: lambda g: g - tnp.exp(ans) * tnp.sum(g, axis=axis, keepdims=True),
)
defjvp(
    _log_softmax,
    lambda t, ans, x, axis=-1: t - tnp.sum(tnp.exp(ans) * t, axis=axis, keepdims=True),
)
defbatch(_log_softmax, axis_rule(_log_softmax, "all"))
defvjp(
    _softmax,
    lambda ans, x, axis=-1: lambda g: ans * (g - tnp.sum(g * ans, axis=axis, keepdims=True)),
)
defjvp(
    _softmax,
    lambda t, ans, x, axis=-1: ans * (t - tnp.sum(t * ans, axis=axis, keepdims=True)),
)
defbatch(_softmax, axis_rule(_softmax, "all"))


def _masked_softmax(x: Any, axis: Any, where: Any, log: bool) -> Any:
    """Softmax (or its log) over several axes or some entries: a composition, so only
    the entries included get gradients. ``where=None`` includes every entry."""
    nd = len(shape_of(x))
    axes = tuple(range(nd)) if axis is None else tuple(np.atleast_1d(axis).tolist())
    keep = True if where is None else tnp.broadcast_to(where, shape_of(x))
    # the shift cancels in the result: no gradient goes through it
    m = stop_gradient(tnp.max(tnp.where(keep, x, -np.inf), axis=axes, keepdims=True))
    m = tnp.where(tnp.isfinite(m), m, 0.0)
    shifted = tnp.where(keep, x - m, 0.0)
    e = tnp.where(keep, tnp.exp(shifted), 0.0)
    total = tnp.sum(e, axis=axes, keepdims=True)
    if log:
        return tnp.where(keep, shifted - tnp.log(total), -np.inf)
    return e / total


def log_softmax(x: Any, axis: Any = -1, where: Any = None) -> Any:
    """Logarithm of the softmax along ``axis``, computed with a max shift (stable).

    ``axis`` may be an int, a tuple of ints or None (all axes); ``where`` (a boolean
    mask broadcastable to ``x``) picks the entries taken into account; the others get
    ``-inf`` and no gradient, as in JAX.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> np.exp(tp.nn.log_softmax(np.array([1000.0, 1000.0])))
        array([0.5, 0.5])
    """
    if where is None and isinstance(axis, (int, np.integer)):
        return _log_softmax(x, axis=int(axis))
    return _masked_softmax(x, axis, where, log=True)


def softmax(x: Any, axis: Any = -1, where: Any = None) -> Any:
    """Softmax along ``axis`` (entries positive, summing to 1), stable for any input.

    ``axis`` may be an int, a tuple of ints or None (all axes); with ``where`` (a
    boolean mask broadcastable to ``x``) the entries left out are 0, as in JAX.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.softmax(np.array([0.0, 0.0]))
        array([0.5, 0.5])
    """
    if where is None and isinstance(axis, (int, np.integer)):
        return _softmax(x, axis=int(axis))
    return _masked_softmax(x, axis, where, log=False)


# ----- losses ------------------------------------------------------------------
def _one_hot_like(labels: Any, logits: Any) -> Any:
    """One-hot rows for ``labels`` with the logits' class count and float dtype.

    Built with a tapeflow comparison, so labels traced by ``tp.jit`` or ``tp.vmap``
    are read on every call instead of being fixed at tracing time.
    """
    n_classes = shape_of(logits)[-1]
    hits = tnp.equal(tnp.expand_dims(labels, -1), np.arange(n_classes))
    return tnp.astype(hits, dtype_of(logits))


def _rows(logits: Any) -> int:
    return int(np.prod(shape_of(logits)[:-1]))


class _Residual(threading.local):
    """What the last traced cross-entropy forward pass left for its gradient (per thread).

    The gradient ``(softmax(logits) - one_hot(labels)) / rows`` needs the shifted
    exponentials and their row sums that the loss already computed; recomputing them
    (two reductions over a short class axis and an ``exp``) was most of the backward
    pass's numpy work. ``softmax_cross_entropy`` asks for them to be kept only when
    its logits are traced, and the gradient takes them only for the very same logits
    and labels objects, so a stale entry can never be used, and it is dropped once
    taken. Arrays reaching the primitives are never changed in place, so the same
    objects mean the same values.
    """

    keep = False
    saved: tuple[Any, ...] | None = None


_residual = _Residual()


def _flat_label_index(shape: tuple[int, ...], labels: Any) -> Any:
    """Indices of the labelled entries in the flattened ``(..., classes)`` array.

    A 1-d fancy index costs a fraction of numpy's ``a[arange(rows), labels]``.
    """
    classes = shape[-1]
    rows = 1
    for n in shape[:-1]:
        rows *= n
    flat = np.arange(0, rows * classes, classes)
    flat += labels.reshape(rows) if type(labels) is ndarray else np.reshape(labels, rows)
    return flat


def _np_softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    # np.maximum.reduce / np.add.reduce are what np.max / np.sum call: the same values
    # without their Python wrappers (this runs on every training step).
    shifted = logits - np.maximum.reduce(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)
    sums = np.add.reduce(e, axis=-1)
    lse = np.log(sums)
    flat = _flat_label_index(shifted.shape, labels)
    picked = shifted.reshape(-1)[flat].reshape(lse.shape)
    if _residual.keep:
        _residual.keep = False
        _residual.saved = (logits, labels, e, sums, flat)
    losses = lse - picked
    if losses.dtype.kind == "f" and losses.dtype.itemsize >= 4:
        # np.mean's own steps (a pairwise sum, then one division by the count) without
        # its Python wrappers: the same bits.
        total = np.add.reduce(losses, axis=None)
        return total.dtype.type(total / losses.size)
    return np.mean(losses)


def _np_softmax_cross_entropy_grad(logits: Any, labels: Any) -> Any:
    # (softmax(logits) - one_hot(labels)) / rows with the operations of _np_softmax and of
    # the composed rule it replaces, so the values are the same bit for bit: subtracting
    # the one-hot's 0.0 is exact, so only the label entries change.
    saved = _residual.saved
    if saved is not None and saved[0] is logits and saved[1] is labels:
        _residual.saved = None  # taken: e is divided in place below
        _, _, e, sums, flat = saved
        e /= sums[..., None]  # the keepdims sum of the same values: the same bits
    else:
        e = np.exp(logits - np.maximum.reduce(logits, axis=-1, keepdims=True))
        e /= np.add.reduce(e, axis=-1, keepdims=True)
        flat = _flat_label_index(e.shape, labels)
    e.reshape(-1)[flat] -= 1.0  # e is a fresh C-contiguous array: the reshape is a view
    e /= flat.size
    return e


_softmax_cross_entropy_grad = primitive(
    _np_softmax_cross_entropy_grad, name="nn.softmax_cross_entropy_grad"
)


def _softmax_jacobian_product(v: Any, logits: Any) -> Any:
    """``J v / rows`` for the softmax Jacobian ``J`` (symmetric), along the last axis."""
    s = _softmax(logits, axis=-1)
    return s * (v - tnp.sum(v * s, axis=-1, keepdims=True)) / _rows(logits)


# Labels get no gradient; the rules read only the logits.
defvjp(
    _softmax_cross_entropy_grad,
    lambda ans, logits, labels: lambda g: _softmax_jacobian_product(g, logits),
    None,
)
vjp_needs(_softmax_cross_entropy_grad, ans=False, args=(0,))
defjvp(
    _softmax_cross_entropy_grad,
    lambda t, ans, logits, labels: _softmax_jacobian_product(t, logits),
    None,
)


def _is_unit_seed(g: Any, dtype: Any) -> bool:
    """True when ``g`` is a plain 1.0 whose product with an array of ``dtype`` changes nothing."""
    if type(g) is float:
        return g == 1.0
    if type(g) is ndarray or isinstance(g, np.floating):
        return g.shape == () and g.dtype == dtype and g == 1
    return False


def _softmax_cross_entropy_vjp(g: Any, ans: Any, logits: Any, labels: Any) -> Any:
    # d loss / d logits = (softmax(logits) - one_hot(labels)) / rows, in one step.
    d = _softmax_cross_entropy_grad(logits, labels)
    # grad's seed is exactly 1.0 and x * 1.0 == x bit for bit: skip the multiply.
    return d if _is_unit_seed(g, dtype_of(d)) else g * d


_softmax_cross_entropy = primitive(_np_softmax_cross_entropy, name="nn.softmax_cross_entropy")
defvjp(
    _softmax_cross_entropy,
    lambda ans, logits, labels: lambda g: _softmax_cross_entropy_vjp(g, ans, logits, labels),
    None,
)
defjvp(
    _softmax_cross_entropy,
    lambda t, ans, logits, labels: (
        tnp.sum(t * (_softmax(logits, axis=-1) - _one_hot_like(labels, logits))) / _rows(logits)
    ),
    None,
)


# ----- vmap: the losses rebuilt per example from batched primitives ----------------
def _logits_and_hits(args: Any, dims: Any) -> tuple[Any, tuple[int, ...], Any]:
    """Batched logits (batch in front), their shape, and the one-hot mask of the labels."""
    (logits, labels), (dl, dy) = args, dims
    size = batch_size(args, dims)
    logits = bcast_front(logits, dl, size)
    labels = bcast_front(labels, dy, size)
    ls = tuple(shape_of(logits))
    hit = tnp.equal(tnp.reshape(labels, tuple(shape_of(labels)) + (1,)), np.arange(ls[-1]))
    return logits, ls, hit


def _softmax_cross_entropy_rule(args: Any, dims: Any) -> Any:
    """Mean over each example's rows of -log_softmax(logits)[label], per example."""
    logits, ls, hit = _logits_and_hits(args, dims)
    logp = _log_softmax(logits, axis=-1)
    picked = tnp.sum(logp * tnp.astype(hit, dtype_of(logp)), axis=-1)
    per_example = tnp.mean(picked, axis=tuple(range(1, len(ls) - 1)))
    return -per_example, 0


def _softmax_cross_entropy_grad_rule(args: Any, dims: Any) -> Any:
    """``(softmax(logits) - one_hot(labels)) / rows`` per example, rows counted per example."""
    logits, ls, hit = _logits_and_hits(args, dims)
    rows = 1
    for n in ls[1:-1]:
        rows *= n
    probs = _softmax(logits, axis=-1)
    diff = probs - tnp.astype(hit, dtype_of(probs))
    return diff / rows, 0


defbatch(_softmax_cross_entropy, _softmax_cross_entropy_rule)
defbatch(_softmax_cross_entropy_grad, _softmax_cross_entropy_grad_rule)


def softmax_cross_entropy(logits: Any, labels: Any) -> Any:
    """Mean cross-entropy between ``softmax(logits)`` and integer class labels.

    Computed in one fused, numerically stable step (log-sum-exp with a max
    shift), so logits of any size give a finite loss and gradient.

    Args:
        logits: float array ``(..., num_classes)``.
        labels: integer array with the shape ``logits.shape[:-1]`` and values in
            ``[0, num_classes)``. Not differentiated.

    Returns:
        A scalar with the logits' dtype: the mean over all rows.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> logits = np.array([[2.0, 0.0], [0.0, 1e4]])
        >>> round(float(tp.nn.softmax_cross_entropy(logits, np.array([0, 1]))), 4)
        0.0635
    """
    shape = shape_of(logits)
    traced = is_traced(labels)
    if type(labels) is ndarray or traced:  # the usual cases, without conversions
        label_dtype = labels.dtype
    else:
        label_dtype = dtype_of(labels) if hasattr(labels, "dtype") else np.asarray(labels).dtype
        labels = np.asarray(labels)
    # np.issubdtype(label_dtype, np.integer), without its overhead on every step
    if np.dtype(label_dtype).kind not in "iu":
        raise TypeError(
            f"softmax_cross_entropy expects integer class labels, got dtype {label_dtype}; "
            "for one-hot or soft targets use -sum(targets * log_softmax(logits), axis=-1).mean()"
        )
    if len(shape) < 1 or tuple(shape_of(labels)) != tuple(shape[:-1]):
        raise ValueError(
            f"softmax_cross_entropy: labels have shape {tuple(shape_of(labels))}, but logits of "
            f"shape {tuple(shape)} need labels of shape {tuple(shape[:-1])}"
        )
    # The range can only be checked on concrete labels (under jit/vmap they are traced).
    if not traced and _labels_out_of_range(labels, shape[-1]):
        raise ValueError(
            f"softmax_cross_entropy: labels must lie in [0, {shape[-1]}), got values from "
            f"{labels.min()} to {labels.max()}"
        )
    # Traced logits: a gradient will be asked for, so the forward pass keeps its
    # intermediates for it (see _Residual).
    if type(logits) is ndarray or not is_traced(logits):
        return _softmax_cross_entropy(logits, labels)
    _residual.keep = True
    try:
        return _softmax_cross_entropy(logits, labels)
    finally:
        _residual.keep = False


def _labels_out_of_range(labels: np.ndarray, classes: int) -> bool:
    """True when some label lies outside ``[0, classes)``, with one reduction.

    Signed labels are read as unsigned integers of the same width, so a negative
    label becomes a huge one and a single maximum catches both ends.
    """
    if not labels.size:
        return False
    if labels.dtype.kind == "i":
        labels = labels.view(labels.dtype.str.replace("i", "u"))
    return bool(np.maximum.reduce(labels, axis=None) >= classes)


def _np_bce_with_logits(x: Any, z: Any) -> Any:
    # max(x, 0) - x z + log(1 + exp(-|x|)): no overflow for any x.
    return np.mean(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))


def _size(x: Any) -> int:
    return int(np.prod(shape_of(x)))


_bce_with_logits = primitive(_np_bce_with_logits, name="nn.binary_cross_entropy_with_logits")
defvjp(
    _bce_with_logits,
    lambda ans, x, z: lambda g: g * ((sigmoid(x) - z) / _size(x)),
    lambda ans, x, z: lambda g: g * (-x / _size(x)),
)
defjvp(
    _bce_with_logits,
    lambda t, ans, x, z: tnp.sum(t * (sigmoid(x) - z)) / _size(x),
    lambda t, ans, x, z: tnp.sum(-t * x) / _size(x),
)


def _bce_with_logits_rule(args: Any, dims: Any) -> Any:
    """Per-example mean of max(x, 0) - x z + log(1 + exp(-|x|)), from batched primitives."""
    size = batch_size(args, dims)
    x, z = (bcast_front(a, d, size) for a, d in zip(args, dims, strict=False))
    terms = tnp.maximum(x, 0.0) - x * z + tnp.log1p(tnp.exp(-tnp.absolute(x)))
    rank = len(shape_of(terms)) - 1
    return tnp.mean(terms, axis=tuple(range(1, rank + 1))), 0


defbatch(_bce_with_logits, _bce_with_logits_rule)


def binary_cross_entropy_with_logits(logits: Any, targets: Any) -> Any:
    """Mean binary cross-entropy between ``sigmoid(logits)`` and ``targets`` in [0, 1].

    Stable for logits of any size. ``targets`` must have the logits' shape.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> loss = tp.nn.binary_cross_entropy_with_logits(np.array([0.0]), np.array([1.0]))
        >>> round(float(loss), 4)
        0.6931
    """
    if tuple(shape_of(logits)) != tuple(shape_of(targets)):
        raise ValueError(
            f"binary_cross_entropy_with_logits: targets have shape {tuple(shape_of(targets))}, "
            f"logits have shape {tuple(shape_of(logits))}; they must match"
        )
    if not hasattr(targets, "dtype") or not np.issubdtype(dtype_of(targets), np.floating):
        targets = np.asarray(unwrap(targets), dtype=dtype_of(logits))
    return _bce_with_logits(logits, targets)


def mse(predictions: Any, targets: Any) -> Any:
    """Mean squared error ``mean((predictions - targets) ** 2)``.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> float(tp.nn.mse(np.array([1.0, 3.0]), np.array([1.0, 1.0])))
        2.0
    """
    d = predictions - targets
    return tnp.mean(d * d)


# ----- labels and metrics ------------------------------------------------------
def one_hot(labels: Any, num_classes: int, dtype: Any = np.float32, axis: int = -1) -> np.ndarray:
    """Rows of the identity matrix picked by integer ``labels``.

    The result has shape ``labels.shape + (num_classes,)``, with the class axis moved
    to ``axis``. Labels outside ``[0, num_classes)`` raise (JAX encodes them as zeros).

    Example:
        >>> import tapeflow as tp
        >>> tp.nn.one_hot([0, 2], 3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    if not is_traced(labels):
        labels = np.asarray(labels)
    label_dtype = dtype_of(labels)
    if not np.issubdtype(label_dtype, np.integer):
        raise TypeError(f"one_hot expects integer labels, got dtype {label_dtype}")
    if is_traced(labels):  # under jit/vmap: a traced comparison, read on every call
        hits = tnp.equal(tnp.expand_dims(labels, -1), np.arange(num_classes))
        return tnp.moveaxis(tnp.astype(hits, dtype), -1, axis)  # type: ignore[no-any-return]
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes})")
    out: np.ndarray = np.eye(num_classes, dtype=dtype)[labels]
    return out if axis == -1 else np.moveaxis(out, -1, axis)


def accuracy(logits: Any, labels: Any) -> float:
    """Fraction of rows whose largest logit is at the label (a plain float, no gradient).

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
        0.5
    """
    predicted = np.argmax(np.asarray(unwrap(logits)), axis=-1)
    return float(np.mean(predicted == np.asarray(unwrap(labels))))


# ----- dense layer ---------------------------------------------------------------
def _np_linear(x: Any, w: Any, b: Any) -> Any:
    y = np.matmul(x, w)
    y += b
    return y


def _flat_rows(a: Any, width: int) -> Any:
    return tnp.reshape(a, (-1, width))


def _linear_vjp_w(ans: Any, x: Any, w: Any, b: Any) -> Any:
    n_in, n_out = shape_of(w)
    return lambda g: tnp.matmul(tnp.transpose(_flat_rows(x, n_in)), _flat_rows(g, n_out))


_linear = primitive(_np_linear, name="nn.linear")
_linear.primitive.jit_fresh = True  # a new product array
defvjp(
    _linear,
    lambda ans, x, w, b: lambda g: tnp.matmul(g, tnp.transpose(w)),
    _linear_vjp_w,
    lambda ans, x, w, b: lambda g: tnp.sum(_flat_rows(g, shape_of(w)[1]), axis=0),
)
defjvp(
    _linear,
    lambda t, ans, x, w, b: tnp.matmul(t, w),
    lambda t, ans, x, w, b: tnp.matmul(x, t),
    lambda t, ans, x, w, b: tnp.broadcast_to(t, shape_of(ans)),
)


def _linear_rule(args: Any, dims: Any) -> Any:
    (x, w, b), (dx, dw, db) = args, dims
    if dw is None and db is None:  # the layer maps any leading axes: batch goes first
        return _linear(to_front(x, dx), w, b), 0
    y, dy = get_primitive(tnp.matmul).batch_rule([x, w], [dx, dw])
    return elementwise_rule(tnp.add)([y, b], [dy, db])


defbatch(_linear, _linear_rule)


def linear(x: Any, w: Any, b: Any = None) -> Any:
    """Affine map ``x @ w + b`` over the last axis of ``x``, as one fused step.

    Args:
        x: inputs ``(..., in_features)``.
        w: weights ``(in_features, out_features)``.
        b: bias ``(out_features,)`` or None.

    Example:
        >>> import numpy as np, tapeflow as tp
        >>> tp.nn.linear(np.ones((1, 2)), np.ones((2, 3)), np.arange(3.0))
        array([[2., 3., 4.]])
    """
    xs, ws = shape_of(x), shape_of(w)
    if len(ws) != 2 or len(xs) < 1 or xs[-1] != ws[0]:
        raise ValueError(
            f"linear: x of shape {tuple(xs)} and w of shape {tuple(ws)} do not fit; w must be "
            "(in_features, out_features) with in_features == x.shape[-1]"
        )
    if b is None:
        return tnp.matmul(x, w)
    if tuple(shape_of(b)) != (ws[1],):
        raise ValueError(f"linear: b must have shape ({ws[1]},), got {tuple(shape_of(b))}")
    if len(xs) == 1:
        return tnp.reshape(_linear(tnp.reshape(x, (1, xs[0])), w, b), (ws[1],))
    return _linear(x, w, b)
