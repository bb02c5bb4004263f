"""The backpropagation lab's MNIST reader: ``read_data_sets`` with ``.next_batch``.

The lab's training loop was written against a reader with this shape::

    mnist = read_data_sets("MNIST_data/", one_hot=False)
    x, y = mnist.train.next_batch(128)
    x_val, y_val = mnist.validation.images, mnist.validation.labels

This module provides it on top of the verified :func:`tapeflow.datasets.mnist`
loader, so the loop runs unchanged.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple

import numpy as np

from tapeflow.datasets.batching import as_generator
from tapeflow.datasets.mnist import mnist
from tapeflow.datasets.splits import VALIDATION_SIZE, split_validation

__all__ = ["DataSet", "Datasets", "read_data_sets"]


class DataSet:
    """Images and labels of one split, with an epoch-aware ``next_batch``.

    Attributes:
        images: float32 array ``(N, 784)`` scaled to [0, 1].
        labels: uint8 ``(N,)`` class indices, or float32 ``(N, 10)`` one-hot rows.
        num_examples: N.
        epochs_completed: how many full passes ``next_batch`` has finished.

    Example:
        >>> import numpy as np
        >>> split = DataSet(np.zeros((5, 784), np.float32), np.arange(5, dtype=np.uint8), rng=0)
        >>> images, labels = split.next_batch(2)
        >>> images.shape, labels.shape
        ((2, 784), (2,))
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, rng: Any = None) -> None:
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        self.images = images
        self.labels = labels
        self.epochs_completed = 0
        self._rng = as_generator(rng)
        self._order: np.ndarray | None = None
        self._pos = 0

    @property
    def num_examples(self) -> int:
        return len(self.images)

    def _new_epoch(self, shuffle: bool) -> None:
        n = self.num_examples
        self._order = self._rng.permutation(n) if shuffle else np.arange(n)
        self._pos = 0

    def next_batch(self, batch_size: int, shuffle: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """The next ``batch_size`` examples ``(images, labels)``.

        The order is reshuffled at the start of every epoch (when ``shuffle``).
        A batch that runs past the end of an epoch is completed with the first
        examples of the next one, so every batch has exactly ``batch_size`` rows.

        Example:
            >>> ds = DataSet(np.zeros((5, 784), np.float32), np.arange(5, dtype=np.uint8), rng=0)
            >>> ds.next_batch(3)[0].shape
            (3, 784)
        """
        n = self.num_examples
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
        if not 0 < batch_size <= n:
            raise ValueError(
                f"batch_size must be between 1 and {n} (the split size), got {batch_size}"
            )
        if self._order is None:
            self._new_epoch(shuffle)
        parts = []
        need = batch_size
        while need:
            assert self._order is not None
            take = self._order[self._pos : self._pos + need]
            parts.append(take)
            self._pos += len(take)
            need -= len(take)
            if self._pos == n:
                self.epochs_completed += 1
                self._new_epoch(shuffle)
        idx = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return self.images[idx], self.labels[idx]

    def __repr__(self) -> str:
        return f"DataSet(num_examples={self.num_examples}, images={self.images.shape})"


class Datasets(NamedTuple):
    """The three splits returned by :func:`read_data_sets`.

    Example:
        >>> from tapeflow.datasets import read_data_sets
        >>> mnist = read_data_sets("benchmarks/data/mnist", seed=0)
        >>> mnist.train.num_examples, mnist.validation.num_examples, mnist.test.num_examples
        (55000, 5000, 10000)
    """

    train: DataSet
    validation: DataSet
    test: DataSet


def _one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    out = np.zeros((len(labels), classes), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def read_data_sets(
    data_dir: str | os.PathLike[str] | None = None,
    one_hot: bool = False,
    validation_size: int = VALIDATION_SIZE,
    seed: int | None = None,
    download: bool = True,
) -> Datasets:
    """MNIST split into train / validation / test, in the lab's format.

    Args:
        data_dir: directory with the four MNIST files (see :func:`tapeflow.datasets.mnist`
            for the default and for downloading).
        one_hot: labels as float32 one-hot rows instead of uint8 class indices.
        validation_size: how many of the 60,000 training examples (the last ones, as
            in ``benchmarks/mnist.py``) form the validation split.
        seed: seed for the per-epoch shuffles of ``next_batch`` (None: not reproducible).
        download: fetch missing files.

    Returns:
        ``Datasets(train, validation, test)``; each has ``.images`` (float32,
        ``(N, 784)``, in [0, 1]), ``.labels``, ``.num_examples`` and ``.next_batch(n)``.

    Example:
        >>> data = read_data_sets("benchmarks/data/mnist")  # doctest: +SKIP
        >>> data.train.num_examples, data.validation.num_examples  # doctest: +SKIP
        (55000, 5000)
    """
    if isinstance(validation_size, bool) or not isinstance(validation_size, (int, np.integer)):
        raise TypeError(f"validation_size must be an int, got {type(validation_size).__name__}")
    if validation_size < 0:
        raise ValueError(f"validation_size must be >= 0, got {validation_size}")
    train_x, train_y, test_x, test_y = mnist(data_dir, download=download)
    if validation_size >= len(train_x):
        raise ValueError(
            f"validation_size must be smaller than the {len(train_x)} training examples, "
            f"got {validation_size}"
        )

    def images(x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.divide(x.reshape(len(x), -1), 255, dtype=np.float32)  # exact 0, 1
        return out

    def labels(y: np.ndarray) -> np.ndarray:
        return _one_hot(y) if one_hot else y

    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    fit_x, fit_y, val_x, val_y = split_validation(train_x, train_y, validation_size)
    return Datasets(
        train=DataSet(images(fit_x), labels(fit_y), rngs[0]),
        validation=DataSet(images(val_x), labels(val_y), rngs[1]),
        test=DataSet(images(test_x), labels(test_y), rngs[2]),
    )
