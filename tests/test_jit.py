"""tp.jit: same results as eager, retracing, static arguments, errors."""

from __future__ import annotations

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.core.trace import active_traces
from tapeflow.jit import ConcretizationError


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = tnp.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    z = logits - tnp.max(logits, axis=1, keepdims=True)
    logp = z - tnp.log(tnp.sum(tnp.exp(z), axis=1, keepdims=True))
    return -tnp.mean(tnp.sum(logp * y, axis=1))


def make_problem(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    params = [
        (rng.standard_normal((5, 4)).astype(dtype), np.zeros(4, dtype)),
        (rng.standard_normal((4, 3)).astype(dtype), np.zeros(3, dtype)),
    ]
    x = rng.standard_normal((6, 5)).astype(dtype)
    y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 6)]
    return params, x, y


def assert_trees_equal(a, b):
    la, ta = tp.tree_util.tree_flatten(a)
    lb, tb = tp.tree_util.tree_flatten(b)
    assert ta == tb
    for x, y in zip(la, lb, strict=True):
        assert np.shape(x) == np.shape(y)
        assert np.result_type(x) == np.result_type(y)
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_value_and_grad_is_bit_identical_to_eager(dtype):
    params, x, y = make_problem(dtype)
    eager = tp.value_and_grad(mlp_loss)
    compiled = tp.jit(eager)
    for seed in range(3):
        params, x, y = make_problem(dtype, seed)
        assert_trees_equal(compiled(params, x, y), eager(params, x, y))
    assert compiled.trace_count == 1


def test_training_step_with_update():
    def step(params, x, y):
        loss, grads = tp.value_and_grad(mlp_loss)(params, x, y)
        new = tp.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
        return loss, new

    fast = tp.jit(step)
    params, x, y = make_problem()
    p_eager, p_jit = params, params
    for _ in range(5):
        l1, p_eager = step(p_eager, x, y)
        l2, p_jit = fast(p_jit, x, y)
        assert l1 == l2
    assert_trees_equal(p_eager, p_jit)


def test_new_shape_retraces_and_cache_is_bounded():
    f = tp.jit(lambda x: tnp.sum(x * x), cache_size=2)
    for n in (2, 3, 4, 2):
        assert f(np.ones(n)) == n
    # sizes 2, 3, 4 traced; 2 was evicted by 4 (cache of 2), so it traced again
    assert f.trace_count == 4
    f(np.ones(4))
    assert f.trace_count == 4


def test_least_recently_used_program_is_the_one_dropped():
    f = tp.jit(lambda x: x + 1.0, cache_size=2)
    for n in (2, 3, 2, 4):  # 2 ran after 3, so 3 is the least recently used when 4 comes
        f(np.ones(n))
    assert f.trace_count == 3
    f(np.ones(2))
    assert f.trace_count == 3
    f(np.ones(3))
    assert f.trace_count == 4


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda p: p, id="lists and tuples of arrays"),
        pytest.param(lambda p: {"layers": p}, id="a dict"),
        pytest.param(lambda p: [tuple(p[0]), (p[1][0], float(p[1][1][0]))], id="a float leaf"),
    ],
)
def test_every_argument_structure_gives_eager_results_and_structure(wrap):
    def step(params, x):
        leaves = tp.tree_util.tree_leaves(params)
        h = tnp.tanh(x @ leaves[0] + leaves[1]) @ leaves[2] + leaves[3]
        return {"loss": tnp.sum(h * h)}, [(h,), [h * 2.0, 3.0], x]

    params, x, _ = make_problem()
    params = wrap(params)
    fast = tp.jit(step)
    for _ in range(2):  # the first call traces, the second runs the compiled program
        assert_trees_equal(fast(params, x), step(params, x))
    assert fast.trace_count == 1
    assert fast(params, x)[1][2] is x  # an input returned as an output is that input


def test_keyword_arguments_and_static_tuples_take_the_general_path():
    f = tp.jit(lambda x, sizes, scale=1.0: tnp.reshape(x, sizes) * scale, static_argnums=1)
    x = np.arange(6.0)
    np.testing.assert_array_equal(f(x, (2, 3), scale=2.0), np.arange(6.0).reshape(2, 3) * 2)
    np.testing.assert_array_equal(f(x, (3, 2)), np.arange(6.0).reshape(3, 2))
    np.testing.assert_array_equal(f(x, (3, 2)), np.arange(6.0).reshape(3, 2))
    assert f.trace_count == 2


def test_sums_and_transposes_call_numpy_directly_with_the_same_bits():
    def f(w, x):
        return tnp.sum(tnp.transpose(x) @ tnp.tanh(x @ w), axis=0), tnp.sum(tnp.sum(w))

    rng = np.random.default_rng(1)
    w, x = rng.standard_normal((5, 3)), rng.standard_normal((4, 5))
    jf = tp.jit(f)
    source = jf.lower(w, x)
    assert ".transpose(" in source and "_np_sum" not in source
    assert_trees_equal(jf(w, x), f(w, x))
    # 0-d arrays and numpy scalars share a signature, so their sums keep numpy's wrapper
    s = tp.jit(lambda a: tnp.sum(a * 2.0))
    assert s(np.array(1.5)) == s(np.float64(1.5)) == 3.0
    # a call recorded in another form (the axis passed positionally) keeps the general call
    from tapeflow.numpy.reductions import _sum

    positional = tp.jit(lambda a: _sum(a, 0))
    assert "(v0, 0)" in positional.lower(x)  # the recorded call itself, not add.reduce
    np.testing.assert_array_equal(positional(x), x.sum(0))


def test_dtype_is_part_of_the_signature():
    f = tp.jit(lambda x: x * 2)
    assert f(np.ones(2, np.float32)).dtype == np.float32
    assert f(np.ones(2, np.float64)).dtype == np.float64
    assert f.trace_count == 2


def test_static_argnums():
    f = tp.jit(lambda x, n, mode: x**n if mode == "pow" else x * n, static_argnums=(1, 2))
    np.testing.assert_allclose(f(np.full(2, 3.0), 2, "pow"), [9.0, 9.0])
    np.testing.assert_allclose(f(np.full(2, 3.0), 3, "pow"), [27.0, 27.0])
    np.testing.assert_allclose(f(np.full(2, 3.0), 3, "mul"), [9.0, 9.0])
    assert f.trace_count == 3


def test_value_dependent_control_flow_raises_clear_error():
    def f(x):
        if tnp.sum(x) > 0:
            return x
        return -x

    with pytest.raises(ConcretizationError, match="tnp.where"):
        tp.jit(f)(np.ones(3))
    with pytest.raises(ConcretizationError, match="static_argnums"):
        tp.jit(lambda x: float(x))(np.float64(1.0))
    assert active_traces() == ()
    # the same function works eagerly, and a where-based version works under jit
    np.testing.assert_array_equal(f(np.ones(3)), np.ones(3))
    g = tp.jit(lambda x: tnp.where(tnp.sum(x) > 0, x, -x))
    np.testing.assert_array_equal(g(-np.ones(3)), np.ones(3))


def test_side_effects_run_only_while_tracing():
    calls = []

    def f(x):
        calls.append(1)
        return x + 1

    jf = tp.jit(f)
    jf(np.ones(2))
    jf(np.ones(2))
    jf(np.zeros(2))
    assert len(calls) == 1
    # lower() shows the compiled program without tracing again, on either call path
    assert "def " in jf.lower(np.ones(2)) and len(calls) == 1
    g = tp.jit(lambda d: f(d["x"]))
    g({"x": np.ones(2)})
    assert "def " in g.lower({"x": np.ones(2)}) and len(calls) == 2
    assert "def " in jf.lower(np.ones(3)) and len(calls) == 3  # new shape: traced for lower


def test_shape_dependent_control_flow_is_fine():
    def f(x):
        return tnp.sum(x) if x.ndim == 1 else tnp.sum(x, axis=0)

    jf = tp.jit(f)
    assert jf(np.ones(3)) == 3
    np.testing.assert_array_equal(jf(np.ones((2, 3))), [2, 2, 2])


def test_grad_of_jitted_function_and_jit_of_jit():
    f = tp.jit(lambda x: tnp.sum(tnp.sin(x) ** 2))
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(tp.grad(f)(x), 2 * np.sin(x) * np.cos(x))
    g = tp.jit(tp.grad(f))
    np.testing.assert_allclose(g(x), 2 * np.sin(x) * np.cos(x))


def test_higher_order_under_jit():
    d2 = tp.jit(tp.grad(tp.grad(lambda x: x**3)))
    assert d2(2.0) == 12.0
    assert d2(3.0) == 18.0


def test_dead_code_is_pruned_and_intermediates_deleted():
    def f(x):
        unused = tnp.exp(x) * 3  # noqa: F841
        return tnp.sum(tnp.sin(x) * 2)

    jf = tp.jit(f)
    source = jf.lower(np.ones(3))
    assert source.count(" = ") == 3  # sin, multiply, sum: exp and its multiply are gone
    assert "del v" in source


def test_outputs_that_are_constants_or_inputs():
    f = tp.jit(lambda x: (x, np.float64(2.0), {"y": x * 0 + 1}))
    out = f(np.ones(2))
    np.testing.assert_array_equal(out[0], np.ones(2))
    assert out[1] == 2.0
    np.testing.assert_array_equal(out[2]["y"], np.ones(2))


def test_closing_over_a_traced_value_is_an_error():
    def outer(x):
        inner = tp.jit(lambda y: y * x)
        return tnp.sum(inner(np.ones(2)))

    with pytest.raises(TypeError, match="closure"):
        tp.grad(outer)(1.0)
    assert active_traces() == ()


def test_bad_arguments():
    with pytest.raises(TypeError, match="callable"):
        tp.jit(3)
    with pytest.raises(ValueError, match="static_argnums"):
        tp.jit(lambda x: x, static_argnums=3)(np.ones(2))
    with pytest.raises(TypeError, match="hashable"):
        tp.jit(lambda x, s: x, static_argnums=1)(np.ones(2), [1, 2])


def test_traced_integer_indices_are_read_on_every_call():
    # Regression: index arrays passed to a jitted function used to be baked into
    # the program as the values of the first call.
    def loss(z, labels):
        return -tnp.mean(z[np.arange(len(labels)), labels])

    z = np.arange(6.0).reshape(2, 3)
    f = tp.jit(tp.value_and_grad(loss))
    for labels in ([0, 1], [2, 2], [1, 0]):
        labels = np.array(labels)
        assert_trees_equal(f(z, labels), tp.value_and_grad(loss)(z, labels))
    assert f.trace_count == 1
    g = tp.jit(lambda x, i: tnp.sum(tnp.take_along_axis(x, i, axis=1)))
    assert g(z, np.array([[0], [1]])) == 4.0
    assert g(z, np.array([[2], [2]])) == 7.0


def test_buffer_reuse_never_overwrites_live_values_or_inputs():
    def f(x, y):
        a = tnp.exp(x)  # fresh buffer
        view = tnp.reshape(a, (-1,))  # a view of it, alive until the end
        b = tnp.sin(a) + 1.0  # sin(a) is fresh and dies in the add: reusable
        c = b * 2.0
        return c, view, x * 1.0

    jf = tp.jit(f)
    x, y = np.linspace(0, 1, 6).reshape(2, 3), np.ones(3)
    x_copy = x.copy()
    for _ in range(3):
        out = jf(x, y)
        assert_trees_equal(out, f(x, y))
    np.testing.assert_array_equal(x, x_copy)
    src = jf.lower(x, y)
    assert "out=" in src
    # the result x * 1.0 must be a new array, not the caller's input
    assert jf(x, y)[2] is not x


def test_multiplications_by_one_are_removed():
    g = tp.jit(tp.grad(lambda x: tnp.sum(tnp.sin(x))))
    src = g.lower(np.ones(4))
    assert src.count(" = ") == 1  # just cos(x): the seed's "* 1" is gone


def test_dropout_refuses_jit_instead_of_freezing_its_mask():
    f = tp.jit(lambda x: tp.nn.dropout(x, 0.5, np.random.default_rng(0), train=True))
    with pytest.raises(TypeError, match="Generator"):
        f(np.ones(4))
    g = tp.jit(lambda x: tp.nn.dropout(x, 0.5, None, train=False))
    np.testing.assert_array_equal(g(np.ones(4)), np.ones(4))


def test_mnist_training_with_jit_matches_eager_bit_for_bit():
    import benchmarks.mnist as job

    runs = [
        job.train("lab-mlp", epochs=1, max_batches=25, quiet=True, jit=jit) for jit in (False, True)
    ]
    assert runs[1]["jit_traces"] == 1
    assert runs[0]["test_accuracy"] == runs[1]["test_accuracy"]
    assert_trees_equal(runs[0]["params"], runs[1]["params"])


def test_boolean_mask_index_has_no_fixed_shape_under_jit():
    f = tp.jit(lambda x: tnp.sum(x[x > 0]))
    with pytest.raises(ConcretizationError, match="boolean mask"):
        f(np.array([-1.0, 2.0, 3.0]))
    g = tp.jit(lambda x: tnp.sum(tnp.where(x > 0, x, 0.0)))  # the fixed-shape way
    assert g(np.array([-1.0, 2.0, 3.0])) == 5.0


# ----- static_argnames and keyword arguments (JAX's semantics) ---------------------------
def test_static_argnames_by_name_and_by_position():
    def f(x, n, mode="pow"):
        return x**n if mode == "pow" else x * n

    jf = tp.jit(f, static_argnames=("n", "mode"))
    x = np.arange(4.0)
    np.testing.assert_array_equal(jf(x, n=3), x**3)
    np.testing.assert_array_equal(jf(x, 3), x**3)  # static by position too (signature)
    np.testing.assert_array_equal(jf(x, n=2, mode="times"), x * 2)
    assert jf.trace_count == 3
    jf(x, n=3)
    assert jf.trace_count == 3  # a static value seen before: no new trace
    # ... and static_argnums makes the name static: n passed by keyword is static too
    jn = tp.jit(f, static_argnums=(1,))
    np.testing.assert_array_equal(jn(x, n=3), x**3)


def test_keyword_arguments_are_traced_unless_static():
    seen = []

    def f(x, scale=1.0):
        seen.append(type(scale).__name__)
        return x * scale

    jf = tp.jit(f)
    x = np.arange(3.0)
    np.testing.assert_array_equal(jf(x, scale=2.0), 2 * x)
    np.testing.assert_array_equal(jf(x, scale=5.0), 5 * x)  # a new value, the same program
    assert jf.trace_count == 1 and seen == ["Tracer"]
    with pytest.raises(ConcretizationError):
        tp.jit(lambda x, flag=False: x if flag else -x)(x, flag=True)
    static = tp.jit(lambda x, flag=False: x if flag else -x, static_argnames="flag")
    np.testing.assert_array_equal(static(x, flag=True), x)


def test_jit_as_a_decorator_factory_and_with_partial():
    import functools

    @tp.jit(static_argnames="axis")
    def total(x, axis):
        return tnp.sum(x, axis=axis)

    @functools.partial(tp.jit, static_argnums=1)
    def total2(x, axis):
        return tnp.sum(x, axis=axis)

    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(total(x, axis=1), x.sum(axis=1))
    np.testing.assert_array_equal(total2(x, 0), x.sum(axis=0))


def test_an_unhashable_static_value_is_named():
    f = tp.jit(lambda x, shape: tnp.reshape(x, shape), static_argnames="shape")
    with pytest.raises(TypeError, match="static argument 'shape' is list"):
        f(np.ones(4), shape=[2, 2])
    with pytest.raises(TypeError, match="static argument at position 1 is list"):
        tp.jit(lambda x, shape: tnp.reshape(x, shape), static_argnums=1)(np.ones(4), [2, 2])
    with pytest.raises(TypeError, match="static_argnames must be strings"):
        tp.jit(lambda x: x, static_argnames=(1,))


@pytest.mark.parametrize("limit", [0, 10**9], ids=["steps from a list", "generated code"])
def test_long_programs_run_their_steps_from_a_list_with_the_same_results(monkeypatch, limit):
    # Past COMPILE_LIMIT instructions a program runs its steps from a list (compiling
    # its source would cost more than tracing it): every feature must give the same bits.
    import importlib

    monkeypatch.setattr(importlib.import_module("tapeflow.jit.codegen"), "COMPILE_LIMIT", limit)

    def f(x, labels, y):
        a = tnp.exp(x)
        view = tnp.reshape(a, (-1,))
        b = tnp.sin(a) + 1.0  # a buffer reused in place
        picked = b[np.arange(2), labels]  # a tuple of indices holding a traced value
        return [b * 2.0, (view, {"p": tnp.sum(picked) * y})], x * 1.0

    x, y = np.linspace(0, 1, 6).reshape(2, 3), np.float64(3.0)
    x_copy = x.copy()
    jf = tp.jit(f)
    for labels in ([0, 1], [2, 0]):
        labels = np.array(labels)
        assert_trees_equal(jf(x, labels, y), f(x, labels, y))
        first = lambda x, labels: tnp.sum(f(x, labels, y)[0][0])  # noqa: E731
        assert_trees_equal(tp.jit(tp.grad(first))(x, labels), tp.grad(first)(x, labels))
    np.testing.assert_array_equal(x, x_copy)
    assert jf(x, labels, y)[1] is not x
    assert "out=" in jf.lower(x, labels, y)


def test_scalars_and_named_tuples_find_their_program_again():
    # A step that returns a 0-d counter gets back a numpy scalar, and optimizer states
    # are named tuples: both must reuse the program traced for them.
    import collections

    State = collections.namedtuple("State", "count mean")
    f = tp.jit(lambda c, s, x: (c + 1, State(s.count + 1, s.mean * 0.5 + x)))
    c, s = np.zeros((), np.int64), State(np.int64(0), np.zeros(3))
    for _ in range(3):
        c, s = f(c, s, np.ones(3))
    assert f.trace_count == 1
    assert c == 3 and s.count == 3 and isinstance(s, State)
    np.testing.assert_allclose(s.mean, [1.75, 1.75, 1.75])


def _jit_example_primitives():
    """A square and a halving, declared as a user would, with the jit hooks."""
    from tapeflow.core.primitive import get_primitive

    calls = []
    square = tp.primitive(lambda x: x * x, name="test_jit.square")
    half = tp.primitive(lambda x: x * 0.5, name="test_jit.half")
    tp.defvjp(square, lambda ans, x: lambda g: 2.0 * g * x)
    tp.defvjp(half, lambda ans, x: lambda g: 0.5 * g)

    def half_into(x, out):
        calls.append("into")
        return np.multiply(x, 0.5, out=out)

    def square_then_half(x):
        calls.append("fusion")
        return x * x * 0.5

    def fuse(own, own_kw, consumer, consumer_kw):
        return square_then_half, own, own_kw

    get_primitive(square).jit_fresh = True  # new arrays, which a later call may write into
    get_primitive(half).jit_into = half_into
    return square, half, fuse, calls


@pytest.mark.parametrize("declared", ["into", "fusion"])
def test_primitives_declare_in_place_and_fused_calls(declared):
    # jit_into: the halving writes into the square's dying buffer (the square's answer
    # is declared fresh). jit_fusions: the pair becomes one call. Same values either way,
    # and the caller's array and the returned ones never share memory.
    from tapeflow.core.primitive import get_primitive

    square, half, fuse, calls = _jit_example_primitives()
    if declared == "fusion":
        get_primitive(square).jit_fusions = {get_primitive(half).fun: fuse}
    try:
        f = lambda x: (half(square(x)), x * 1.0)  # noqa: E731
        x = np.linspace(-1.0, 1.0, 5)
        compiled = tp.jit(f)
        got, again = compiled(x), compiled(x)
        assert_trees_equal(got, f(x))
        assert not np.shares_memory(got[0], again[0]) and not np.shares_memory(got[0], x)
        assert calls and set(calls) == {declared}
    finally:
        get_primitive(square).jit_fusions = None
