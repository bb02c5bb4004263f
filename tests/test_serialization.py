"""save_params / load_params: round trips, structure checks, no pickle."""

import collections

import numpy as np
import pytest

import tapeflow as tp
from tapeflow import nn


def _model_params():
    init, _ = nn.serial(nn.Dense(5), nn.Relu, nn.Dense(3))
    return init(np.random.default_rng(0), (-1, 4))[1]


def test_round_trip_with_and_without_like(tmp_path):
    params = _model_params()
    path = tmp_path / "params.npz"
    tp.save_params(path, params)
    for loaded in (tp.load_params(path), tp.load_params(path, like=params)):
        assert tp.tree_util.tree_structure(loaded) == tp.tree_util.tree_structure(params)
        for a, b in zip(
            tp.tree_util.tree_leaves(loaded), tp.tree_util.tree_leaves(params), strict=True
        ):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    # Key paths name the arrays, readable with plain numpy.
    with np.load(path, allow_pickle=False) as f:
        assert "[0][0]" in f.files and "[2][1]" in f.files


def test_nested_dicts_none_and_scalars(tmp_path):
    Point = collections.namedtuple("Point", "x y")
    tree = {
        "b": [np.arange(3), None, ()],
        "a": {"k": np.float32(2.5), "p": {3: Point(np.ones(2), 1.5)}},
    }
    path = tmp_path / "tree.npz"
    tp.save_params(path, tree)
    loaded = tp.load_params(path)
    assert loaded["b"][1] is None and loaded["b"][2] == ()
    # Without like=: the namedtuple comes back with its fields, and the scalars as scalars.
    point = loaded["a"]["p"][3]
    assert type(point).__name__ == "Point" and point._fields == ("x", "y")
    np.testing.assert_array_equal(point.x, np.ones(2))
    assert type(point.y) is float and point.y == 1.5
    assert type(loaded["a"]["k"]) is np.float32 and loaded["a"]["k"] == 2.5
    exact = tp.load_params(path, like=tree)
    assert isinstance(exact["a"]["p"][3], Point) and exact["a"]["p"][3].y == 1.5
    assert exact["a"]["k"].dtype == np.float32


def test_wrong_structure_shape_or_dtype_is_a_clear_error(tmp_path):
    params = _model_params()
    path = tmp_path / "p.npz"
    tp.save_params(path, params)
    other = nn.serial(nn.Dense(5), nn.Relu, nn.Dense(3), nn.Dense(2))[0](
        np.random.default_rng(0), (-1, 4)
    )[1]
    with pytest.raises(ValueError, match=r"missing \[3\]\[0\]"):
        tp.load_params(path, like=other)
    wider = nn.serial(nn.Dense(6), nn.Relu, nn.Dense(3))[0](np.random.default_rng(0), (-1, 4))[1]
    with pytest.raises(ValueError, match=r"\[0\]\[0\] has shape \(4, 5\)"):
        tp.load_params(path, like=wider)
    as64 = tp.tree_util.tree_map(lambda a: a.astype(np.float64), params)
    with pytest.raises(ValueError, match="dtype float32"):
        tp.load_params(path, like=as64)
    as_tuples = [tuple(p) for p in params]
    tp.save_params(path, as_tuples)
    with pytest.raises(ValueError, match="containers"):
        tp.load_params(path, like=[list(p) for p in params])


def test_foreign_or_object_files_are_rejected(tmp_path):
    plain = tmp_path / "plain.npz"
    np.savez(plain, w=np.ones(2))
    with pytest.raises(ValueError, match="not a tapeflow parameter file"):
        tp.load_params(plain)
    pickled = tmp_path / "obj.npz"
    np.savez(
        pickled,
        __tapeflow_tree__=np.array('{"format": 1, "tree": {"leaf": "x"}}'),
        x=np.array([{"evil": 1}], dtype=object),
    )
    with pytest.raises(ValueError, match="pickle"):  # numpy refuses: allow_pickle=False
        tp.load_params(pickled)
    with pytest.raises(TypeError, match="not a numeric array"):
        tp.save_params(tmp_path / "bad.npz", [np.array([object()])])


Saved = collections.namedtuple("Saved", "count weights")


def test_load_without_like_keeps_namedtuple_classes_and_python_scalars(tmp_path):
    # An optimizer state (a namedtuple holding a numpy int) and a module-level namedtuple
    # come back as their own classes; Python ints, floats and bools as Python scalars.
    opt = tp.optim.adam(1e-3)
    params = {"w": np.ones(2, np.float32)}
    tree = {"state": opt.init(params), "saved": Saved(3, [np.zeros(2)]), "flags": (True, 2, 0.5)}
    tp.save_params(tmp_path / "t.npz", tree)
    loaded = tp.load_params(tmp_path / "t.npz")
    assert type(loaded["state"]) is type(tree["state"])
    assert type(loaded["saved"]) is Saved and type(loaded["saved"].count) is int
    assert [type(v) for v in loaded["flags"]] == [bool, int, float]
    assert loaded["state"].step.dtype == np.int64 and loaded["state"].step.shape == ()
    # The loaded state works with the optimizer.
    new_params, _ = opt.update(params, loaded["state"], params)
    assert new_params["w"].dtype == np.float32


@pytest.mark.parametrize("name", ["ckpt", "ckpt.npz"])
def test_a_path_without_extension_round_trips(tmp_path, name):
    # save_params("ckpt") writes ckpt.npz (numpy's rule); load_params("ckpt") finds it.
    tp.save_params(tmp_path / name, [np.arange(3.0)])
    assert (tmp_path / "ckpt.npz").exists()
    for spelling in ("ckpt", "ckpt.npz"):
        np.testing.assert_array_equal(tp.load_params(tmp_path / spelling)[0], np.arange(3.0))
        np.testing.assert_array_equal(
            tp.load_params(str(tmp_path / spelling), like=[np.zeros(3)])[0], np.arange(3.0)
        )
