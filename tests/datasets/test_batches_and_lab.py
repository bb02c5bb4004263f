"""batches(), and read_data_sets() on the real MNIST files committed in benchmarks/data/mnist."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from tapeflow.datasets import (
    MNIST_FILES,
    MNIST_GZ_SHA256,
    IdxData,
    batches,
    mnist,
    read_data_sets,
)
from tapeflow.datasets.lab import DataSet

MNIST_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "mnist"


def test_batches_in_order_covers_everything():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    got = list(batches(x, y, 4, shuffle=False))
    assert [len(b[1]) for b in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), x)
    assert [len(b[1]) for b in batches(x, y, 4, shuffle=False, drop_last=True)] == [4, 4]


def test_batches_shuffle_is_a_permutation_and_reproducible():
    x = np.arange(10) * 10
    y = np.arange(10)
    first = list(batches(x, y, 3, rng=7))
    again = list(batches(x, y, 3, rng=np.random.default_rng(7)))
    ys = np.concatenate([b[1] for b in first])
    assert sorted(ys.tolist()) == list(range(10)) and ys.tolist() != list(range(10))
    for (xa, ya), (xb, _yb) in zip(first, again, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(xa, ya * 10)  # rows stay paired
    gen = np.random.default_rng(3)
    e1 = np.concatenate([b[1] for b in batches(x, y, 10, rng=gen)])
    e2 = np.concatenate([b[1] for b in batches(x, y, 10, rng=gen)])
    assert e1.tolist() != e2.tolist()  # a shared generator gives a new order each pass


def test_batches_validation():
    with pytest.raises(ValueError, match="x has 3 rows but y has 2"):
        next(batches(np.zeros(3), np.zeros(2), 1))
    with pytest.raises(ValueError, match="positive"):
        next(batches(np.zeros(3), np.zeros(3), 0))
    with pytest.raises(TypeError, match="rng"):
        next(batches(np.zeros(3), np.zeros(3), 1, rng="seed"))


def test_next_batch_wraps_around_and_reshuffles():
    ds = DataSet(np.arange(5, dtype=np.float32)[:, None], np.arange(5, dtype=np.uint8), rng=0)
    seen = [ds.next_batch(2)[1] for _ in range(5)]  # 10 examples: exactly two epochs
    assert all(len(b) == 2 for b in seen)
    flat = np.concatenate(seen)
    assert sorted(flat[:5].tolist()) == list(range(5))
    assert sorted(flat[5:].tolist()) == list(range(5))
    assert ds.epochs_completed == 2
    x, y = ds.next_batch(3)
    np.testing.assert_array_equal(x[:, 0], y)
    with pytest.raises(ValueError, match="between 1 and 5"):
        ds.next_batch(6)


def test_committed_files_are_the_originals():
    for name in MNIST_FILES:
        digest = hashlib.sha256((MNIST_DIR / name).read_bytes()).hexdigest()
        assert digest == MNIST_GZ_SHA256[name], name


def test_mnist_real_files():
    x, y, xt, yt = mnist(MNIST_DIR, download=False)  # checks the published MD5s
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
    assert yt[:5].tolist() == [7, 2, 1, 0, 4] and y[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(yt).tolist()[:3] == [980, 1135, 1032]


def test_read_data_sets_real_files():
    data = read_data_sets(MNIST_DIR, one_hot=False, validation_size=5000, seed=0, download=False)
    assert data.train.num_examples == 55000
    assert data.validation.num_examples == 5000
    assert data.test.num_examples == 10000
    for split in data:
        assert split.images.dtype == np.float32 and split.images.shape[1] == 784
        assert split.images.min() == 0.0 and split.images.max() == 1.0
    # The last 5,000 training rows, as benchmarks/mnist.py holds out.
    _, y_train, _, _ = mnist(MNIST_DIR, download=False)
    np.testing.assert_array_equal(data.validation.labels, y_train[-5000:])
    np.testing.assert_array_equal(data.train.labels, y_train[:-5000])
    xb, yb = data.train.next_batch(128)
    assert xb.shape == (128, 784) and yb.shape == (128,)
    hot = read_data_sets(MNIST_DIR, one_hot=True, validation_size=100, seed=0, download=False)
    assert hot.validation.labels.shape == (100, 10)
    np.testing.assert_array_equal(hot.validation.labels.argmax(1), y_train[-100:])
    with pytest.raises(ValueError, match="validation_size must be >= 0"):
        read_data_sets(MNIST_DIR, validation_size=-1, download=False)


def test_read_data_sets_validation_size_too_large(monkeypatch):
    import tapeflow.datasets.lab as lab

    small = IdxData(
        np.zeros((4, 28, 28), np.uint8),
        np.arange(4, dtype=np.uint8),
        np.zeros((2, 28, 28), np.uint8),
        np.arange(2, dtype=np.uint8),
    )
    monkeypatch.setattr(lab, "mnist", lambda data_dir, download: small)
    assert lab.read_data_sets("unused", validation_size=3).train.num_examples == 1
    with pytest.raises(ValueError, match="smaller than the 4 training examples"):
        lab.read_data_sets("unused", validation_size=4)


def test_read_data_sets_and_the_benchmark_hold_out_the_same_images():
    import benchmarks.mnist as bench

    data = read_data_sets(MNIST_DIR, one_hot=False, seed=0, download=False)
    split = bench.load_data(str(MNIST_DIR), "flat", np.float32)
    np.testing.assert_array_equal(data.validation.labels, split["y_val"])
    # (the same pixels; scaled as x / 255 and as x * (1 / 255), an ulp apart at most)
    np.testing.assert_allclose(data.validation.images, split["x_val"], rtol=1e-6)
    assert data.train.num_examples == len(split["x_train"]) == 55000


def test_the_shipped_files_are_found_from_any_directory(tmp_path, monkeypatch):
    # docs/miniflow.md calls read_data_sets() without a path: in a checkout that works from
    # anywhere, offline (the repository's benchmarks/data/mnist before the per-user cache).
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TAPEFLOW_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    data = read_data_sets(one_hot=False, seed=0, download=False)
    assert data.test.num_examples == 10000
    assert os.listdir(tmp_path) == []  # nothing downloaded, no directory made
