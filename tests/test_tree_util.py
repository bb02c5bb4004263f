"""Pytrees: flattening, structures, key paths, registration and ravel_pytree."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import tapeflow as tp
import tapeflow.numpy as tnp
from tapeflow.tree_util import (
    keystr,
    ravel_pytree,
    register_pytree_node,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_map,
    tree_structure,
    tree_unflatten,
)

Point = namedtuple("Point", ["x", "y"])


def test_flatten_orders_dict_keys_and_treats_none_as_an_empty_node() -> None:
    tree = {"b": [1.0, None, (2.0,)], "a": Point(3.0, 4.0)}
    leaves, treedef = tree_flatten(tree)
    assert leaves == [3.0, 4.0, 1.0, 2.0]
    assert treedef.num_leaves == 4
    rebuilt = tree_unflatten(treedef, leaves)
    assert rebuilt == tree and type(rebuilt["a"]) is Point
    assert tree_leaves(None) == [] and tree_structure(None).num_leaves == 0


def test_key_paths_name_every_leaf() -> None:
    paths = [keystr(p) for p, _ in tree_flatten_with_path({"w": [1.0, Point(2.0, 3.0)]})[0]]
    assert paths == ["['w'][0]", "['w'][1].x", "['w'][1].y"]
    assert keystr(()) == "" and keystr("") == "<root>"  # tapeflow's own string paths


def test_structures_compare_by_shape_not_by_leaves() -> None:
    assert tree_structure([1.0, 2.0]) == tree_structure([np.ones(3), "x"])
    assert tree_structure([1.0, 2.0]) != tree_structure((1.0, 2.0))
    assert tree_structure({"a": 1}) != tree_structure({"b": 1})
    assert tree_structure([1.0]) != "not a structure"
    assert hash(tree_structure({"a": [1]})) == hash(tree_structure({"a": [2]}))
    assert "PyTreeDef({'a': *})" == repr(tree_structure({"a": 1}))


def test_tree_map_over_several_trees() -> None:
    out = tree_map(lambda a, b: a + b, {"x": 1.0, "y": [2.0]}, {"x": 10.0, "y": [20.0]})
    assert out == {"x": 11.0, "y": [22.0]}


def test_registered_node_flattens_and_is_differentiable() -> None:
    class Box:
        def __init__(self, value: float, scale: float) -> None:
            self.value, self.scale = value, scale

    register_pytree_node(Box, lambda b: ((b.value,), b.scale), lambda s, ch: Box(ch[0], s))
    leaves, treedef = tree_flatten(Box(2.0, 3.0))
    assert leaves == [2.0]
    g = tp.grad(lambda b: b.value**2 * b.scale)(Box(2.0, 3.0))
    assert type(g) is Box and g.value == 12.0 and g.scale == 3.0


def test_ravel_pytree_round_trips_shapes_and_dtypes() -> None:
    tree = {"w": np.arange(6.0).reshape(2, 3), "b": np.ones(2, np.float32), "s": np.float64(7.0)}
    flat, unravel = ravel_pytree(tree)
    assert flat.shape == (9,) and flat.dtype == np.float64
    back = unravel(flat)
    for key in tree:
        assert back[key].dtype == np.asarray(tree[key]).dtype
        np.testing.assert_array_equal(back[key], tree[key])
    empty, unravel_empty = ravel_pytree([])
    assert empty.shape == (0,) and unravel_empty(empty) == []


def test_ravel_pytree_is_differentiable_both_ways() -> None:
    tree = [np.array([1.0, 2.0]), np.array(3.0)]
    _, unravel = ravel_pytree(tree)

    def loss(vec: np.ndarray) -> float:
        a, b = unravel(vec)
        return tnp.sum(a**2) * b

    g = tp.grad(loss)(np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [6.0, 12.0, 5.0])
    g_tree = tp.grad(lambda t: tnp.sum(ravel_pytree(t)[0] ** 2))(tree)
    np.testing.assert_allclose(g_tree[0], [2.0, 4.0])
    assert float(g_tree[1]) == 6.0


def test_unravel_under_vmap_jvp_jit_and_second_order() -> None:
    tree = {"w": np.arange(4.0).reshape(2, 2), "b": np.array([1.0, -1.0]), "s": np.float64(2.0)}
    flat, unravel = ravel_pytree(tree)
    batch = np.stack([flat, 2 * flat, -flat])
    out = tp.vmap(unravel)(batch)
    for i in range(3):
        for key, value in unravel(batch[i]).items():
            np.testing.assert_array_equal(out[key][i], value)
    primal, tangent = tp.jvp(unravel, (flat,), (2 * flat,))
    for key in tree:
        np.testing.assert_array_equal(tangent[key], 2 * primal[key])

    def loss(vec: np.ndarray) -> float:
        p = unravel(vec)
        return tnp.sum(p["w"] ** 3) * p["s"] + tnp.sum(tnp.sin(p["b"]))

    np.testing.assert_array_equal(tp.jit(tp.grad(loss))(flat), tp.grad(loss)(flat))
    tp.check_grads(loss, (flat,), order=2, modes=("rev", "fwd"))


def test_unravel_checks_the_vector_length() -> None:
    _, unravel = ravel_pytree([np.ones(2)])
    with pytest.raises(ValueError, match=r"shape \(2,\), got shape \(3,\)"):
        unravel(np.ones(3))
