"""miniflow: the backpropagation lab's node API, running on tapeflow's tape.

The lab builds a graph out of node objects and asks for gradients with
``value_and_grad(node, feed_dict, wrt)``::

    x, y, z = Input(), Input(), Input()
    f = Add(Mul(x, y), Mul(x, z))
    value, grads = value_and_grad(f, {x: 3, y: 4, z: -5}, [x, y, z])   # -3, [-1, 3, 3]

Here a node is only a *description*: which tapeflow function to apply to which
other nodes. ``value_and_grad`` turns the graph into one Python function of the
``wrt`` inputs, evaluates it once under :func:`tapeflow.vjp` and pulls back a
cotangent of ones. There is no second differentiation engine: the tape records
the tapeflow operations the nodes call, exactly as it would for code written
directly against ``tapeflow.numpy``. See docs/miniflow.md for the mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

import tapeflow.numpy as tnp
from tapeflow import nn
from tapeflow.core.leaves import a_or_an
from tapeflow.reverse import vjp

__all__ = [
    "Node",
    "Input",
    "Add",
    "Mul",
    "MatMul",
    "BiasAdd",
    "Linear",
    "Sum",
    "Sigmoid",
    "Softmax",
    "CrossEntropyWithSoftmax",
    "value_and_grad",
    "evaluate",
    "accuracy",
    "softmax",
    "sigmoid",
]


class Node:
    """A vertex of a miniflow graph: a tapeflow function applied to other nodes' values.

    Subclasses set ``fn`` (a function of the input values written with tapeflow
    operations); ``inputs`` are the nodes whose values it receives, in order.

    Example:
        >>> class Square(Node):
        ...     fn = staticmethod(lambda x: x * x)
        >>> x = Input()
        >>> value_and_grad(Square(x), {x: 3.0}, [x])
        (np.float64(9.0), [6.0])
    """

    fn: Callable[..., Any]

    def __init__(self, *inputs: Node, name: str | None = None) -> None:
        for i, node in enumerate(inputs):
            if not isinstance(node, Node):
                kind = a_or_an(type(node).__name__)
                raise TypeError(
                    f"{type(self).__name__}: input {i} is {kind}, not a node; "
                    "wrap data in an Input() and pass its value in feed_dict"
                )
        self.inputs = list(inputs)
        self.name = name

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<{type(self).__name__}{label} at 0x{id(self):x}>"


class Input(Node):
    """A placeholder whose value comes from ``feed_dict`` (data, labels or weights).

    Example:
        >>> x = Input(name="x")
        >>> value_and_grad(Mul(x, x), {x: 3.0}, [x])
        (np.float64(9.0), [6.0])
    """

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)


def sigmoid(x: Any) -> Any:
    """The logistic function ``1 / (1 + exp(-x))``, traceable (tapeflow.nn.sigmoid).

    Example:
        >>> float(sigmoid(0.0))
        0.5
    """
    return nn.sigmoid(x)


def softmax(x: Any, axis: int = -1) -> Any:
    """Softmax along ``axis``; accepts lists. Traceable (tapeflow.nn.softmax).

    Example:
        >>> np.round(softmax([0.2, 1.0, 0.3]), 4)
        array([0.2309, 0.5139, 0.2552])
    """
    if isinstance(x, (list, tuple)):
        x = np.asarray(x, dtype=float)
    return nn.softmax(x, axis=axis)


# Each node class names its inputs and says, in ``fn``, which tapeflow operations
# compute its value. Nothing else: the tape derives every gradient from ``fn``.
class Add(Node):
    """``a + b``, elementwise with broadcasting.

    Example:
        >>> a, b = Input(), Input()
        >>> value_and_grad(Add(a, b), {a: 2.0, b: 3.0}, [a, b])
        (np.float64(5.0), [1.0, 1.0])
    """

    def __init__(self, a: Node, b: Node, name: str | None = None) -> None:
        super().__init__(a, b, name=name)

    @staticmethod
    def fn(a: Any, b: Any) -> Any:
        return a + b


class Mul(Node):
    """``a * b``, elementwise with broadcasting.

    Example:
        >>> a, b = Input(), Input()
        >>> value_and_grad(Mul(a, b), {a: 2.0, b: 3.0}, [a, b])
        (np.float64(6.0), [3.0, 2.0])
    """

    def __init__(self, a: Node, b: Node, name: str | None = None) -> None:
        super().__init__(a, b, name=name)

    @staticmethod
    def fn(a: Any, b: Any) -> Any:
        return a * b


class MatMul(Node):
    """The matrix product ``X @ W``.

    Example:
        >>> X, W = Input(), Input()
        >>> evaluate(MatMul(X, W), {X: np.eye(2), W: np.ones((2, 3))}).shape
        (2, 3)
    """

    def __init__(self, X: Node, W: Node, name: str | None = None) -> None:
        super().__init__(X, W, name=name)

    @staticmethod
    def fn(x: Any, w: Any) -> Any:
        return tnp.matmul(x, w)


class BiasAdd(Node):
    """``x + b`` with the bias ``b`` broadcast over the rows of ``x``.

    Example:
        >>> x, b = Input(), Input()
        >>> evaluate(BiasAdd(x, b), {x: np.zeros((2, 2)), b: np.array([1.0, 2.0])})
        array([[1., 2.],
               [1., 2.]])
    """

    def __init__(self, x: Node, b: Node, name: str | None = None) -> None:
        super().__init__(x, b, name=name)

    @staticmethod
    def fn(x: Any, b: Any) -> Any:
        return x + b


class Linear(Node):
    """The affine map ``X @ W + b``: ``X`` (m, n), ``W`` (n, k), ``b`` (k,) or (1, k).

    Example:
        >>> X, W, b = Input(), Input(), Input()
        >>> f = Linear(X, W, b)
        >>> evaluate(f, {X: np.ones((1, 2)), W: np.ones((2, 2)), b: np.array([[1.0, -1.0]])})
        array([[3., 1.]])
    """

    def __init__(self, X: Node, W: Node, b: Node, name: str | None = None) -> None:
        super().__init__(X, W, b, name=name)

    @staticmethod
    def fn(x: Any, w: Any, b: Any) -> Any:
        return tnp.matmul(x, w) + b


class Sum(Node):
    """The sum of all entries of ``x`` (a scalar).

    Example:
        >>> x = Input()
        >>> float(evaluate(Sum(x), {x: np.arange(4.0)}))
        6.0
    """

    def __init__(self, x: Node, name: str | None = None) -> None:
        super().__init__(x, name=name)

    @staticmethod
    def fn(x: Any) -> Any:
        return tnp.sum(x)


class Sigmoid(Node):
    """The logistic function ``1 / (1 + exp(-x))``, elementwise.

    Example:
        >>> x = Input()
        >>> value_and_grad(Sigmoid(x), {x: 0.0}, [x])
        (np.float64(0.5), [0.25])
    """

    def __init__(self, x: Node, name: str | None = None) -> None:
        super().__init__(x, name=name)

    fn = staticmethod(sigmoid)


class Softmax(Node):
    """Softmax over the last axis: each row becomes positive and sums to 1.

    Example:
        >>> x = Input()
        >>> evaluate(Softmax(x), {x: np.zeros(4)})
        array([0.25, 0.25, 0.25, 0.25])
    """

    def __init__(self, x: Node, name: str | None = None) -> None:
        super().__init__(x, name=name)

    fn = staticmethod(softmax)


class CrossEntropyWithSoftmax(Node):
    """Mean over rows of ``-log(softmax(logits)[i, labels[i]])``.

    Takes *logits* (not probabilities) and integer class labels; computed in one
    fused, stable step (tapeflow.nn.softmax_cross_entropy). The labels input is
    data: it cannot be differentiated.

    Example:
        >>> z, y = Input(), Input()
        >>> loss = CrossEntropyWithSoftmax(z, y)
        >>> float(evaluate(loss, {z: np.array([[0.5, 1.0, 1.5]]), y: np.array([1])}))
        1.18026...
    """

    def __init__(self, logits: Node, labels: Node, name: str | None = None) -> None:
        super().__init__(logits, labels, name=name)

    @staticmethod
    def fn(logits: Any, labels: Any) -> Any:
        labels = np.asarray(labels)
        if labels.dtype.kind == "f":
            as_int = labels.astype(np.int64)
            if not np.array_equal(as_int, labels):
                raise ValueError("CrossEntropyWithSoftmax: labels must be whole class indices")
            labels = as_int
        return nn.softmax_cross_entropy(logits, labels)


# ----- evaluation ---------------------------------------------------------------------------
def _topological_order(output: Node) -> list[Node]:
    """Every node ``output`` depends on, each after its inputs (iterative: no recursion limit)."""
    if not isinstance(output, Node):
        raise TypeError(f"expected a miniflow node, got {type(output).__name__}")
    order: list[Node] = []
    done: set[int] = set()
    stack: list[tuple[Node, bool]] = [(output, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.inputs) if id(child) not in done)
    return order


def _describe(node: Node, inputs: Sequence[Node]) -> str:
    if node.name:
        return f"Input {node.name!r}"
    return f"Input #{inputs.index(node)} of the graph" if node in inputs else repr(node)


def _graph_inputs(order: list[Node], feed_dict: Mapping[Node, Any]) -> list[Input]:
    inputs = [n for n in order if isinstance(n, Input)]
    missing = [n for n in inputs if n not in feed_dict]
    if missing:
        names = ", ".join(_describe(n, inputs) for n in missing)
        raise KeyError(f"feed_dict has no value for {names}; every Input the node uses needs one")
    return inputs


def _run(order: list[Node], env: dict[Node, Any]) -> Any:
    for node in order:
        if node not in env:
            env[node] = node.fn(*(env[i] for i in node.inputs))
    return env[order[-1]]


def _as_scalar(value: Any) -> Any:
    arr = np.asarray(value)
    return arr[()] if arr.ndim == 0 else arr


def evaluate(node: Node, feed_dict: Mapping[Node, Any]) -> Any:
    """The value of ``node`` for the given feeds (no gradients).

    Example:
        >>> a, b = Input(), Input()
        >>> evaluate(Add(a, b), {a: 1.0, b: 2.0})
        np.float64(3.0)
    """
    order = _topological_order(node)
    _graph_inputs(order, feed_dict)
    env: dict[Node, Any] = {n: np.asarray(feed_dict[n]) for n in order if isinstance(n, Input)}
    return _as_scalar(_run(order, env))


def _differentiable_feed(node: Node, value: Any, inputs: Sequence[Node]) -> Any:
    arr = np.asarray(value)
    if arr.dtype.kind in "biu":
        return arr.astype(float)  # the lab feeds plain ints ({x: 3, ...})
    if arr.dtype.kind not in "fc":
        raise TypeError(
            f"{_describe(node, inputs)} is in wrt but its feed has dtype {arr.dtype}; "
            "only numbers can be differentiated"
        )
    return arr


def value_and_grad(
    node: Node, feed_dict: Mapping[Node, Any], wrt: Sequence[Node] = ()
) -> tuple[Any, list[Any]]:
    """The value of ``node`` and its gradient with respect to each node in ``wrt``.

    Args:
        node: the output node.
        feed_dict: a value for every :class:`Input` the node depends on. Integer
            values of ``wrt`` inputs are converted to float.
        wrt: a list or tuple of ``Input`` nodes of the graph.

    Returns:
        ``(value, grads)``: ``grads[i]`` has the shape of ``feed_dict[wrt[i]]``
        (a Python float for a Python-number feed). When the value is not a scalar
        the gradient is that of the sum of its entries, as in the lab.

    Raises:
        TypeError: a ``wrt`` entry is not an ``Input`` node.
        ValueError: a ``wrt`` input is not part of ``node``'s graph.
        KeyError: an input of the graph has no value in ``feed_dict``.

    Example:
        >>> x, y, z = Input(), Input(), Input()
        >>> value_and_grad(Add(Mul(x, y), Mul(x, z)), {x: 3, y: 4, z: -5}, [x, y, z])
        (np.float64(-3.0), [-1.0, 3.0, 3.0])
    """
    if not isinstance(wrt, (list, tuple)):
        raise TypeError(f"wrt must be a list or tuple of Input nodes, got {type(wrt).__name__}")
    order = _topological_order(node)
    inputs = _graph_inputs(order, feed_dict)
    for i, w in enumerate(wrt):
        if not isinstance(w, Input):
            kind = type(w).__name__
            raise TypeError(
                f"wrt[{i}] is {a_or_an(kind)}; gradients are taken with respect to Input nodes "
                "only (feed weights through an Input)"
            )
        if w not in inputs:
            raise ValueError(
                f"wrt[{i}] ({_describe(w, inputs)}) is not an input of this graph: the output "
                "does not depend on it"
            )
    targets = list(dict.fromkeys(wrt))  # a node listed twice gets one gradient, reported twice
    fixed: dict[Node, Any] = {n: np.asarray(feed_dict[n]) for n in inputs if n not in targets}
    primals = [_differentiable_feed(w, feed_dict[w], inputs) for w in targets]

    def graph_function(*values: Any) -> Any:
        env: dict[Node, Any] = dict(fixed)
        env.update(zip(targets, values, strict=True))
        return _run(order, env)

    if not targets:
        return _as_scalar(graph_function()), []
    out, pullback = vjp(graph_function, *primals)
    cotangents = pullback(np.ones_like(np.asarray(out)))  # d(sum of entries)/d(out)
    by_node = dict(zip(targets, cotangents, strict=True))
    grads = []
    for w in wrt:
        g = by_node[w]
        grads.append(float(g) if isinstance(feed_dict[w], (int, float)) else g)
    return _as_scalar(out), grads


def accuracy(logits_node: Node, feed_dict: Mapping[Node, Any], labels: Any) -> float:
    """Fraction of rows whose largest logit is at the label's index.

    Args:
        logits_node: a node producing ``(rows, classes)`` scores.
        feed_dict: values for the inputs it needs.
        labels: integer class indices, one per row (or an Input node fed in ``feed_dict``).

    Example:
        >>> x = Input()
        >>> accuracy(x, {x: np.array([[0.1, 0.9], [0.8, 0.2]])}, [1, 1])
        0.5
    """
    if isinstance(labels, Node):
        labels = feed_dict[labels]
    scores = np.asarray(evaluate(logits_node, feed_dict))
    labels = np.asarray(labels)
    if scores.ndim != 2 or labels.shape != scores.shape[:1]:
        raise ValueError(
            f"accuracy expects (rows, classes) scores and one label per row; got scores of "
            f"shape {scores.shape} and labels of shape {labels.shape}"
        )
    return float(np.mean(np.argmax(scores, axis=1) == labels))
