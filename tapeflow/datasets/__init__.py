"""Datasets: a checked IDX reader, MNIST with verified downloads, batching, the lab's reader.

Example:
    >>> import tapeflow as tp
    >>> data = tp.datasets.mnist("benchmarks/data/mnist")  # doctest: +SKIP
    >>> x_train, y_train, x_test, y_test = data  # doctest: +SKIP
    >>> for xb, yb in tp.datasets.batches(x_train, y_train, 128, rng=0):  # doctest: +SKIP
    ...     pass  # doctest: +SKIP
"""

from tapeflow.datasets.batching import batches
from tapeflow.datasets.idx import parse_idx, read_idx, write_idx
from tapeflow.datasets.lab import DataSet, Datasets, read_data_sets
from tapeflow.datasets.mnist import (
    MNIST_FILES,
    MNIST_GZ_SHA256,
    MNIST_MD5,
    MNIST_MIRRORS,
    DownloadError,
    IdxData,
    default_data_dir,
    download_file,
    idx_dataset,
    mnist,
)
from tapeflow.datasets.splits import VALIDATION_SIZE, split_validation

__all__ = [
    "read_idx",
    "parse_idx",
    "write_idx",
    "mnist",
    "idx_dataset",
    "batches",
    "split_validation",
    "VALIDATION_SIZE",
    "read_data_sets",
    "DataSet",
    "Datasets",
    "IdxData",
    "DownloadError",
    "download_file",
    "default_data_dir",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_GZ_SHA256",
    "MNIST_MIRRORS",
]
