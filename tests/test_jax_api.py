"""JAX's public surface, keyword by keyword: what each option means here.

The symptoms the issue lists: ``custom_jvp.defjvps``; ``jit`` as a decorator factory
with JAX's keywords; ``is_leaf`` on the tree functions and ``tree_transpose``;
``tp.Array``; complex ``cholesky`` (in tests/test_complex_jacobians.py).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow import tree_util as tu


# ----- tp.Array ----------------------------------------------------------------------------
def _seen_inside(transform):
    box = []

    def f(x):
        box.append(isinstance(x, tp.Array))
        return x * 2.0

    transform(f)
    return box[0]


TRANSFORMS = [
    ("grad", lambda f: tp.grad(lambda x: tnp.sum(f(x)))(np.ones(2))),
    ("jvp", lambda f: tp.jvp(f, (np.ones(2),), (np.ones(2),))),
    ("vmap", lambda f: tp.vmap(f)(np.ones((3, 2)))),
    ("jit", lambda f: tp.jit(f)(np.ones(2))),
    ("hessian", lambda f: tp.hessian(lambda x: tnp.sum(f(x) ** 3))(np.ones(2))),
    ("none", lambda f: f(np.ones(2))),
]


@pytest.mark.parametrize("name,transform", TRANSFORMS, ids=[n for n, _ in TRANSFORMS])
def test_array_is_the_type_of_arrays_traced_or_not(name, transform):
    assert _seen_inside(transform)


@pytest.mark.parametrize(
    "value,expected",
    [
        (np.ones(2), True),
        (np.float32(1.0), True),
        (np.bool_(True), True),
        (1.0, False),
        ([1.0], False),
        ("a", False),
    ],
)
def test_array_outside_transforms(value, expected):
    assert isinstance(value, tp.Array) is expected


# ----- custom_jvp.defjvps, nondiff_argnames, symbolic_zeros ----------------------------------
def test_defjvps_one_rule_per_argument():
    @tp.custom_jvp
    def f(x, y):
        return tnp.sin(x) * y

    f.defjvps(lambda t, out, x, y: tnp.cos(x) * t * y, None)
    value, g = tp.value_and_grad(f, argnums=(0, 1))(1.0, 2.0)
    assert np.isclose(value, np.sin(1.0) * 2.0)
    assert np.isclose(g[0], np.cos(1.0) * 2.0) and g[1] == 0.0  # None: no derivative
    _, t = tp.jvp(f, (1.0, 2.0), (1.0, 1.0))
    assert np.isclose(t, np.cos(1.0) * 2.0)
    assert np.isclose(tp.grad(tp.grad(f))(1.0, 2.0), -np.sin(1.0) * 2.0)


def test_defjvps_checks_its_rules():
    f = tp.custom_jvp(lambda x, n: x * n, nondiff_argnums=(1,))
    with pytest.raises(TypeError, match="nondiff_argnums"):
        f.defjvps(lambda t, out, x, n: t * n)
    g = tp.custom_jvp(lambda x, y: x * y)
    g.defjvps(lambda t, out, x, y: t * y)
    with pytest.raises(TypeError, match="one rule"):
        tp.grad(g)(1.0, 2.0)


def test_nondiff_argnames_and_symbolic_zeros():
    @functools.partial(tp.custom_vjp, nondiff_argnames=("n",))
    def power(x, n):
        return x**n

    power.defvjp(lambda x, n: (x**n, x), lambda n, x, g: (g * n * x ** (n - 1),))
    assert tp.grad(power)(2.0, 3) == 12.0 and tp.grad(lambda x: power(x, n=3))(2.0) == 12.0
    with pytest.raises(ValueError, match="not a positional parameter"):
        tp.custom_jvp(lambda x: x, nondiff_argnames=("nope",))
    with pytest.raises(NotImplementedError, match="symbolic_zeros"):
        tp.custom_jvp(lambda x: x).defjvp(lambda p, t: (p[0], t[0]), symbolic_zeros=True)
    with pytest.raises(NotImplementedError, match="symbolic_zeros"):
        tp.custom_vjp(lambda x: x).defvjp(lambda x: (x, None), lambda r, g: (g,), True)


# ----- jit -----------------------------------------------------------------------------------
def test_jit_decorator_factory_with_jax_keywords():
    @functools.partial(tp.jit, static_argnames="n", donate_argnums=0)
    def power(x, n):
        return x**n

    x = np.arange(3.0)
    np.testing.assert_array_equal(power(x, n=2), x**2)
    np.testing.assert_array_equal(x, np.arange(3.0))  # donation is a no-op: x is intact

    @tp.jit(static_argnums=None, donate_argnames=("x",), keep_unused=True, inline=True)
    def double(x):
        return 2.0 * x

    np.testing.assert_array_equal(double(x), 2.0 * x)
    with pytest.raises(TypeError, match="donate_argnums must be ints"):
        tp.jit(lambda x: x, donate_argnums="x")


# ----- vmap ----------------------------------------------------------------------------------
def test_vmap_axis_size_and_names():
    out = tp.vmap(lambda x: x * 2.0, in_axes=None, axis_size=3)(np.ones(2))
    np.testing.assert_array_equal(out, 2.0 * np.ones((3, 2)))
    out = tp.vmap(tnp.sin, axis_name="batch", axis_size=2, spmd_axis_name=None)(np.zeros(2))
    np.testing.assert_array_equal(out, np.zeros(2))
    with pytest.raises(ValueError, match="axis_size=3"):
        tp.vmap(tnp.sin, axis_size=3)(np.zeros(2))
    with pytest.raises(ValueError, match="axis_size"):
        tp.vmap(tnp.sin, in_axes=None)(np.zeros(2))


# ----- checkpoint ------------------------------------------------------------------------------
CHECKPOINTS = [
    ("static_argnums", lambda f: tp.checkpoint(f, static_argnums=(1,))),
    ("static_argnames", lambda f: tp.remat(f, static_argnames="n")),
    ("policy nothing", lambda f: tp.checkpoint(f, policy=tp.checkpoint_policies.nothing_saveable)),
    (
        "policy everything",
        lambda f: tp.checkpoint(f, policy=tp.checkpoint_policies.everything_saveable),
    ),
    ("prevent_cse", lambda f: tp.checkpoint(f, prevent_cse=False)),
]


@pytest.mark.parametrize("name,wrap", CHECKPOINTS, ids=[n for n, _ in CHECKPOINTS])
def test_checkpoint_keywords_keep_the_values(name, wrap):
    def block(x, n):
        for _ in range(n):  # Python control flow on a static argument
            x = tnp.tanh(x)
        return x

    f = wrap(block)
    want = tp.grad(lambda x: tnp.sum(block(x, 3)))(np.linspace(0.1, 1.0, 4))
    np.testing.assert_allclose(tp.grad(lambda x: tnp.sum(f(x, 3)))(np.linspace(0.1, 1.0, 4)), want)


def test_checkpoint_static_arguments_must_be_hashable():
    f = tp.checkpoint(lambda x, k: x * k[0], static_argnums=1)
    with pytest.raises(TypeError, match="not hashable"):
        tp.grad(f)(1.0, [2.0])


# ----- tree_util ---------------------------------------------------------------------------------
IS_LEAF = lambda x: isinstance(x, tuple)  # noqa: E731
TREE = {"a": (1.0, 2.0), "b": [3.0, (4.0,)]}


def test_is_leaf_on_every_tree_function():
    assert tu.tree_leaves(TREE, is_leaf=IS_LEAF) == [(1.0, 2.0), 3.0, (4.0,)]
    leaves, treedef = tu.tree_flatten(TREE, is_leaf=IS_LEAF)
    assert treedef.num_leaves == 3 and tu.tree_unflatten(treedef, leaves) == TREE
    assert tu.tree_structure(TREE, is_leaf=IS_LEAF) == treedef
    assert tu.tree_map(lambda x: len(x) if IS_LEAF(x) else -x, TREE, is_leaf=IS_LEAF) == {
        "a": 2,
        "b": [-3.0, 1],
    }
    paths = [tu.keystr(p) for p, _ in tu.tree_flatten_with_path(TREE, is_leaf=IS_LEAF)[0]]
    assert paths == ["['a']", "['b'][0]", "['b'][1]"]
    assert tu.tree_map_with_path(lambda p, x: len(p), TREE, is_leaf=IS_LEAF) == {
        "a": 1,
        "b": [2, 2],
    }
    assert (
        tu.tree_reduce(lambda a, b: a + (len(b) if IS_LEAF(b) else 1), TREE, 0, is_leaf=IS_LEAF)
        == 4
    )
    assert tu.all_leaves([(1.0,), 2.0], is_leaf=IS_LEAF) and not tu.all_leaves([(1.0,)])
    assert tu.tree_all({"x": True, "y": (1, 2)}) and not tu.tree_all([True, 0])
    taking_path = tu.tree_leaves_with_path(
        TREE, is_leaf=lambda p, x: len(p) == 1, is_leaf_takes_path=True
    )
    assert [x for _, x in taking_path] == [(1.0, 2.0), [3.0, (4.0,)]]


def test_tree_transpose():
    outer, inner = tu.tree_structure([0, 0, 0]), tu.tree_structure({"w": 0, "b": 0})
    tree = [{"w": 1, "b": 2}, {"w": 3, "b": 4}, {"w": 5, "b": 6}]
    want = {"w": [1, 3, 5], "b": [2, 4, 6]}
    assert tu.tree_transpose(outer, inner, tree) == want
    assert tu.tree_transpose(outer, None, tree) == want
    with pytest.raises(ValueError, match="expects dict"):
        tu.tree_transpose(outer, inner, [{"w": 1, "b": 2}, 3, 4])


def test_key_paths_are_jax_key_entries():
    point = type("P", (), {})
    tu.register_pytree_node(point, lambda p: ((1.0, 2.0), None), lambda aux, ch: point())
    pairs = tu.tree_leaves_with_path({"w": [1.0], "p": point()})
    assert [p for p, _ in pairs] == [
        (tu.DictKey("p"), tu.FlattenedIndexKey(0)),
        (tu.DictKey("p"), tu.FlattenedIndexKey(1)),
        (tu.DictKey("w"), tu.SequenceKey(0)),
    ]
    assert tu.keystr(pairs[2][0], simple=True, separator="/") == "w/0"


def test_register_pytree_node_class_dataclass_and_partial():
    @tu.register_pytree_node_class
    class Scaled:
        def __init__(self, w, scale):
            self.w, self.scale = w, scale

        def tree_flatten(self):
            return (self.w,), self.scale

        @classmethod
        def tree_unflatten(cls, scale, children):
            return cls(*children, scale)

    g = tp.grad(lambda s: tnp.sum(s.w * s.scale))(Scaled(np.ones(2), 3.0))
    assert isinstance(g, Scaled) and g.scale == 3.0
    np.testing.assert_array_equal(g.w, [3.0, 3.0])

    @tu.register_dataclass
    @dataclasses.dataclass
    class Params:
        w: np.ndarray
        activation: str = dataclasses.field(default="tanh", metadata={"static": True})

    g = tp.grad(lambda p: tnp.sum(getattr(tnp, p.activation)(p.w)))(Params(np.zeros(2)))
    np.testing.assert_array_equal(g.w, [1.0, 1.0])
    assert g.activation == "tanh" and tu.keystr(tu.tree_leaves_with_path(g)[0][0]) == ".w"

    scale = tu.Partial(tnp.multiply, np.float64(2.0))
    assert tu.tree_leaves(scale) == [2.0]
    g = tp.grad(lambda p: p(3.0))(scale)
    assert isinstance(g, tu.Partial) and float(g.args[0]) == 3.0
    assert tp.jit(lambda p, x: p(x))(scale, np.ones(2)).tolist() == [2.0, 2.0]


def test_tree_map_takes_trees_with_the_first_as_prefix():
    assert tu.tree_map(lambda x, y: (x, y), [1, 2], [(3, 4), {"a": 5}]) == [
        (1, (3, 4)),
        (2, {"a": 5}),
    ]
    with pytest.raises(ValueError, match="argument 1"):
        tu.tree_map(lambda x, y: x, [1, 2], (1, 2))


# ----- eval_shape, closure_convert, named_call ----------------------------------------------------
def test_eval_shape_gives_shapes_and_dtypes():
    x = tp.ShapeDtypeStruct((4, 3), np.float32)
    out = tp.eval_shape(
        lambda x, w, scale=1.0: {"y": x @ w * scale, "n": tnp.sum(x)},
        x,
        np.ones((3, 2), np.float32),
        scale=2.0,
    )
    assert out == {
        "y": tp.ShapeDtypeStruct((4, 2), np.float32),
        "n": tp.ShapeDtypeStruct((), np.float32),
    }
    with pytest.raises(TypeError, match="tp.jit|traced"):
        tp.eval_shape(lambda x: x if float(tnp.sum(x)) > 0 else -x, x)  # no values while tracing
    with pytest.raises(NotImplementedError, match="sharding"):
        tp.ShapeDtypeStruct((2,), np.float32, sharding="device 0")


def test_closure_convert_lets_custom_vjp_differentiate_a_closure():
    @functools.partial(tp.custom_vjp, nondiff_argnums=(0,))
    def apply(f, x, *consts):
        return f(x, *consts)

    def fwd(f, x, *consts):
        return f(x, *consts), (x, consts)

    def bwd(f, res, g):
        x, consts = res
        _, pull = tp.vjp(f, x, *consts)
        return pull(g)

    apply.defvjp(fwd, bwd)

    def loss(w, x):
        f, consts = tp.closure_convert(lambda x: tnp.sin(x * w), x)
        return apply(f, x, *consts)

    g = tp.grad(loss, argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose(g, (2.0 * np.cos(1.0), 0.5 * np.cos(1.0)))
    f, consts = tp.closure_convert(lambda x: x * 3.0, 1.0)
    assert consts == [] and float(f(2.0)) == 6.0


def test_named_call_keeps_the_function():
    f = tp.named_call(lambda x: tnp.sin(x) * 2.0, name="layer")
    assert f.__name__ == "layer" and np.isclose(tp.grad(f)(0.0), 2.0)
