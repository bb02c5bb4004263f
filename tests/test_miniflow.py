"""tapeflow.miniflow: the backpropagation lab's checks written out in full, and the API's errors."""

import numpy as np
import pytest

import tapeflow as tp
from tapeflow.miniflow import (
    Add,
    BiasAdd,
    CrossEntropyWithSoftmax,
    Input,
    Linear,
    MatMul,
    Mul,
    Sigmoid,
    Softmax,
    Sum,
    accuracy,
    evaluate,
    softmax,
    value_and_grad,
)


# ----- the lab's checks ----------------------------------------------------------------------
def test_lab_add_mul():
    x = Input()
    y = Input()
    z = Input()
    g = Mul(x, y)
    h = Mul(x, z)
    f = Add(g, h)
    feed_dict = {x: 3, y: 4, z: -5}
    wrt = [x, y, z]
    value, grad = value_and_grad(f, feed_dict, wrt)
    assert value == -3
    assert grad == [-1, 3, 3]


def test_lab_linear():
    x_in, w_in, b_in = Input(), Input(), Input()
    f = Linear(x_in, w_in, b_in)
    x = np.array([[-1.0, -2.0], [-1, -2]])
    w = np.array([[2.0, -3], [2.0, -3]])
    b = np.array([-3.0, -3]).reshape(1, -1)
    feed_dict = {x_in: x, w_in: w, b_in: b}
    loss, grad = value_and_grad(f, feed_dict, (x_in, w_in, b_in))
    assert np.allclose(loss, np.array([[-9.0, 6.0], [-9.0, 6.0]]))
    assert np.allclose(grad[0], np.array([[-1.0, -1.0], [-1.0, -1.0]]))
    assert np.allclose(grad[1], np.array([[-2.0, -2.0], [-4.0, -4.0]]))
    assert np.allclose(grad[2], np.array([[2.0, 2.0]]))
    assert grad[2].shape == (1, 2)  # each gradient has its input's shape


def test_lab_sigmoid():
    x_in = Input()
    f = Sigmoid(x_in)
    x = np.array([-10.0, 0, 10])
    feed_dict = {x_in: x}
    loss, grad = value_and_grad(f, feed_dict, [x_in])
    assert np.allclose(loss, np.array([0.0, 0.5, 1.0]), atol=1.0e-4)
    assert np.allclose(grad, np.array([0.0, 0.25, 0.0]), atol=1.0e-4)


def test_lab_cross_entropy_with_softmax():
    x_in = Input()
    y_in = Input()
    f = CrossEntropyWithSoftmax(x_in, y_in)
    x = np.array([[0.5, 1.0, 1.5]])
    y = np.array([1])
    feed_dict = {x_in: x, y_in: y}
    loss, grad = value_and_grad(f, feed_dict, wrt=[x_in])
    assert np.allclose(loss, 1.1802, atol=1.0e-4)
    assert np.allclose(grad, np.array([[0.1863, -0.6928, 0.5064]]), atol=1.0e-4)


def test_lab_softmax():
    a = [0.2, 1.0, 0.3]
    assert np.allclose(softmax(a), [0.2309, 0.5138, 0.2551], atol=1.0e-4)


# ----- beyond the lab ------------------------------------------------------------------------
def test_plain_number_gradients_and_duplicates():
    x, y = Input(name="x"), Input(name="y")
    value, grads = value_and_grad(Mul(x, y), {x: 2, y: 5.0}, (x, y, x))
    assert value == 10 and grads == [5.0, 2.0, 5.0]
    assert all(type(g) is float for g in grads)


def test_cross_entropy_is_a_mean_over_rows_and_stable():
    logits, labels = Input(), Input()
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 3))
    y = np.array([0, 2, 1, 1])
    node = CrossEntropyWithSoftmax(logits, labels)
    loss, (g,) = value_and_grad(node, {logits: z, labels: y}, [logits])
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    assert np.isclose(loss, -np.mean(np.log(p[np.arange(4), y])))
    np.testing.assert_allclose(g, (p - np.eye(3)[y]) / 4)
    big, _ = value_and_grad(node, {logits: np.array([[1e4, 0.0]]), labels: [1]}, [logits])
    assert np.isclose(big, 1e4)  # logits, not probabilities: no overflow
    float_labels, _ = value_and_grad(node, {logits: z, labels: y.astype(float)}, [logits])
    assert float_labels == loss


def test_matches_tapeflow_functional_api():
    """A two-layer network through nodes gives tapeflow's own gradients."""
    X, W1, b1, W2, b2, Y = (Input() for _ in range(6))
    hidden = Sigmoid(BiasAdd(MatMul(X, W1), b1))
    loss = CrossEntropyWithSoftmax(Linear(hidden, W2, b2), Y)
    rng = np.random.default_rng(1)
    params = [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2)), np.zeros(2)]
    x, y = rng.normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    feed = {X: x, W1: params[0], b1: params[1], W2: params[2], b2: params[3], Y: y}
    value, grads = value_and_grad(loss, feed, [W1, b1, W2, b2])

    def f(w1, c1, w2, c2):
        h = tp.nn.sigmoid(x @ w1 + c1)
        return tp.nn.softmax_cross_entropy(h @ w2 + c2, y)

    ref_value, ref_grads = tp.value_and_grad(f, argnums=(0, 1, 2, 3))(*params)
    assert np.isclose(value, ref_value)
    for g, r in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12)
    tp.check_grads(f, params, order=1, modes=("rev",))


def test_non_scalar_output_gives_gradient_of_sum_and_sum_node():
    a = Input()
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    v1, (g1,) = value_and_grad(Mul(a, a), {a: x}, [a])
    v2, (g2,) = value_and_grad(Sum(Mul(a, a)), {a: x}, [a])
    assert v2 == 30.0 and np.array_equal(v1, x * x)
    np.testing.assert_array_equal(g1, 2 * x)
    np.testing.assert_array_equal(g2, 2 * x)


def test_float32_stays_float32():
    a, w = Input(), Input()
    feed = {a: np.ones((2, 3), np.float32), w: np.ones((3, 2), np.float32)}
    value, (g,) = value_and_grad(Sum(MatMul(a, w)), feed, [w])
    assert g.dtype == np.float32 and np.asarray(value).dtype == np.float32


def test_softmax_node_and_evaluate():
    a = Input()
    out = evaluate(Softmax(a), {a: np.array([[0.2, 1.0, 0.3], [0.0, 0.0, 0.0]])})
    np.testing.assert_allclose(out.sum(1), [1.0, 1.0])
    np.testing.assert_allclose(out[1], [1 / 3] * 3)


def test_accuracy():
    x = Input()
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert accuracy(x, {x: scores}, np.array([1, 1, 1])) == pytest.approx(2 / 3)
    y = Input()
    assert accuracy(x, {x: scores, y: [1, 0, 1]}, y) == 1.0
    with pytest.raises(ValueError, match="one label per row"):
        accuracy(x, {x: scores}, [1, 0])


def test_deep_graph_has_no_recursion_limit():
    x = Input()
    node = x
    for _ in range(3000):
        node = Add(node, x)
    value, (g,) = value_and_grad(node, {x: 1.0}, [x])
    assert value == 3001.0 and g == 3001.0


# ----- errors --------------------------------------------------------------------------------
def test_wrt_must_be_inputs_of_the_graph():
    x, y, stray = Input(), Input(), Input(name="stray")
    f = Mul(x, y)
    with pytest.raises(ValueError, match=r"wrt\[0\] \(Input 'stray'\) is not an input of this"):
        value_and_grad(f, {x: 1.0, y: 2.0, stray: 3.0}, [stray])
    with pytest.raises(TypeError, match=r"wrt\[1\] is a Mul; gradients are taken with respect"):
        value_and_grad(f, {x: 1.0, y: 2.0}, [x, f])
    with pytest.raises(TypeError, match="list or tuple"):
        value_and_grad(f, {x: 1.0, y: 2.0}, x)


def test_missing_feed_is_named():
    x, w = Input(name="x"), Input(name="weights")
    with pytest.raises(KeyError, match="feed_dict has no value for Input 'weights'"):
        value_and_grad(Mul(x, w), {x: 1.0}, [x])
    with pytest.raises(KeyError, match="Input #1 of the graph"):
        evaluate(Mul(x, Input()), {x: 1.0})


def test_nodes_take_nodes():
    with pytest.raises(TypeError, match="input 1 is an ndarray, not a node"):
        Add(Input(), np.ones(2))
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'b'"):
        Linear(Input(), Input())


def test_labels_cannot_be_fractional():
    z, y = Input(), Input()
    with pytest.raises(ValueError, match="whole class indices"):
        evaluate(CrossEntropyWithSoftmax(z, y), {z: np.zeros((1, 2)), y: [0.5]})
