"""MNIST and other MNIST-format datasets: locate, download, verify, read.

Where the files live (first one that is given wins):

1. the ``data_dir`` argument;
2. ``$TAPEFLOW_DATA_DIR/mnist``;
3. in a source checkout of tapeflow, the repository's ``benchmarks/data/mnist``
   when it holds the four files (so examples run from any directory, offline);
4. a per-user cache, ``$XDG_CACHE_HOME/tapeflow/mnist`` (``~/.cache/tapeflow/mnist``
   when ``XDG_CACHE_HOME`` is unset).

Each of the four files may be stored compressed (``.gz``) or not. Missing files
are downloaded from a list of public mirrors tried in turn; every file is checked
against the published MD5 of its uncompressed content before it is written, and
it is written atomically (temporary file in the same directory, then
``os.replace``), so an interrupted download never leaves a half-written file
that a later run would trust; directories are created only when a verified file
is written, so a failed download leaves no empty directory behind.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tapeflow.datasets.idx import parse_idx

__all__ = [
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_GZ_SHA256",
    "MNIST_MIRRORS",
    "DownloadError",
    "IdxData",
    "mnist",
    "idx_dataset",
    "default_data_dir",
    "download_file",
]

#: The four MNIST files, in the order ``mnist()`` returns their arrays.
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

#: MD5 of the *uncompressed* content of each file, as published with the dataset.
#: Checking the uncompressed bytes accepts any mirror that re-compressed the files.
MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}

#: SHA-256 of the original ``.gz`` files (the ones shipped in benchmarks/data/mnist).
#: Recorded for reference and for checking the repository's copies; downloads are
#: verified with :data:`MNIST_MD5`, which does not depend on how a mirror compressed.
MNIST_GZ_SHA256 = {
    "train-images-idx3-ubyte.gz": (
        "db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19"
    ),
    "train-labels-idx1-ubyte.gz": (
        "51fc562b6747b666fbf6e84ce29d43c3cb5f9c388c664d43b33f02095313405a"
    ),
    "t10k-images-idx3-ubyte.gz": "cfeddb84311ecf044fc6a5b0f6ee8a24d265d4e83e388400186eb114082f4209",
    "t10k-labels-idx1-ubyte.gz": "e41c74e484045d39b462a7790a4af51301bd9b0b24f0154798d713ec68c45920",
}

#: Public mirrors serving the four files under their standard names, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)


class DownloadError(OSError):
    """A dataset file could not be obtained from any mirror (the message lists each attempt)."""


class IdxData(NamedTuple):
    """Train and test arrays of an MNIST-format dataset; unpacks like a 4-tuple.

    Example:
        >>> data = mnist("benchmarks/data/mnist", download=False)
        >>> data.train_images.shape, data.test_labels.dtype
        ((60000, 28, 28), dtype('uint8'))
    """

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


def default_data_dir(dataset: str = "mnist") -> Path:
    """The directory used when no ``data_dir`` is given.

    ``$TAPEFLOW_DATA_DIR/<dataset>`` when that variable is set, else the per-user
    cache ``$XDG_CACHE_HOME/tapeflow/<dataset>`` (default ``~/.cache/tapeflow/<dataset>``).

    Example:
        >>> default_data_dir().name
        'mnist'
    """
    root = os.environ.get("TAPEFLOW_DATA_DIR")
    if root:
        return Path(root).expanduser() / dataset
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    return Path(cache).expanduser() / "tapeflow" / dataset


#: The four files as the repository ships them (present in a source checkout only).
SHIPPED_MNIST_DIR = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "mnist"


def _shipped_dir() -> Path | None:
    """The checkout's ``benchmarks/data/mnist`` when it holds all four files, else None."""
    if all(_find(SHIPPED_MNIST_DIR, [name[: -len(".gz")]]) for name in MNIST_FILES):
        return SHIPPED_MNIST_DIR
    return None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _manual_hint(filename: str, directory: Path) -> str:
    return (
        f"To install it by hand, download {filename} from any MNIST mirror "
        f"(e.g. {MNIST_MIRRORS[0]}{filename}) and place it, compressed or not, in {directory}; "
        "or pass data_dir= (or set $TAPEFLOW_DATA_DIR) to use a directory that already holds "
        "the files."
    )


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either absent or complete.

    Missing parent directories are made here, and removed again if the write fails.
    """
    made = []
    parent = path.parent
    while not parent.exists():
        made.append(parent)
        parent = parent.parent
    for d in reversed(made):
        d.mkdir(exist_ok=True)
    try:
        _write_file(path, data)
    except BaseException:
        for d in made:
            try:
                d.rmdir()
            except OSError:  # not empty, or already gone: leave it
                break
        raise


def _write_file(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fetch(url: str, timeout: float) -> bytes:
    import urllib.request  # imported lazily: only downloads need it

    request = urllib.request.Request(url, headers={"User-Agent": "tapeflow-datasets"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()  # type: ignore[no-any-return]


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)  # URLError wraps the socket error here
    if reason is not None and not getattr(exc, "code", None):
        return f"network error: {reason}"
    return f"{type(exc).__name__}: {exc}"


def download_file(
    filename: str,
    directory: str | os.PathLike[str],
    md5: str | None,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    timeout: float = 60.0,
) -> Path:
    """Download ``filename`` from the first mirror that serves a verified copy.

    Args:
        filename: the file's name on the mirrors (e.g. ``"t10k-labels-idx1-ubyte.gz"``).
        directory: where to store it (created when a verified copy is written).
        md5: expected MD5 of the uncompressed content, or None to accept any valid gzip data.
        mirrors: base URLs, each ending in ``/``, tried in order.
        timeout: seconds before giving up on one mirror.

    Returns:
        The path of the stored file.

    Raises:
        DownloadError: no mirror served a verified copy; the message lists every
            URL tried with its failure and says how to place the file by hand.

    Example:
        >>> name = "t10k-labels-idx1-ubyte.gz"
        >>> download_file(name, "data", MNIST_MD5[name])  # doctest: +SKIP
    """
    directory = Path(directory)
    target = directory / filename
    failures = []
    for base in mirrors:
        url = base if base.endswith(filename) else base.rstrip("/") + "/" + filename
        try:
            raw = _fetch(url, timeout)
        except Exception as exc:  # noqa: BLE001  (every failure is reported, then the next mirror)
            failures.append(f"{url}: {_describe(exc)}")
            continue
        try:
            content = gzip.decompress(raw) if filename.endswith(".gz") else raw
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{url}: the response is not valid gzip data ({exc})")
            continue
        if md5 is not None and _md5(content) != md5:
            failures.append(
                f"{url}: checksum mismatch (MD5 of the uncompressed data is {_md5(content)}, "
                f"expected {md5})"
            )
            continue
        _write_atomically(target, raw)
        return target
    tried = "\n".join(f"  - {f}" for f in failures) or "  (no mirrors were given)"
    raise DownloadError(
        f"could not download {filename}. Tried:\n{tried}\n{_manual_hint(filename, directory)}"
    )


def _find(directory: Path, candidates: Sequence[str]) -> Path | None:
    for name in candidates:
        for suffix in (".gz", ""):
            path = directory / (name + suffix)
            if path.is_file():
                return path
    return None


def _load(path: Path, md5: str | None, fix: str) -> np.ndarray:
    """Read and check one file; ``fix`` ends every error (how to get a good copy)."""
    raw = path.read_bytes()
    content = raw
    if raw[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(raw)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"{path}: corrupted or truncated gzip data ({exc}).{fix}") from exc
    if md5 is not None and _md5(content) != md5:
        raise ValueError(
            f"{path}: checksum mismatch (MD5 of the uncompressed data is {_md5(content)}, "
            f"expected {md5}); the file is damaged or not the published one.{fix}"
        )
    try:
        return parse_idx(content, str(path))
    except ValueError as exc:
        raise ValueError(f"{exc}.{fix}") from exc


def _check_pair(images: np.ndarray, labels: np.ndarray, split: str, directory: Path) -> None:
    if images.ndim < 2:
        raise ValueError(
            f"{directory}: {split} images have shape {images.shape}; expected (N, ...)"
        )
    if labels.ndim != 1:
        raise ValueError(f"{directory}: {split} labels have shape {labels.shape}; expected (N,)")
    if len(images) != len(labels):
        raise ValueError(
            f"{directory}: {len(images)} {split} images but {len(labels)} {split} labels"
        )


def mnist(
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    *,
    mirrors: Sequence[str] = MNIST_MIRRORS,
    checksums: Mapping[str, str | None] | None = None,
    timeout: float = 60.0,
) -> IdxData:
    """Load MNIST as uint8 arrays, downloading and verifying missing files.

    Args:
        data_dir: directory holding (or to receive) the four files. Default:
            ``$TAPEFLOW_DATA_DIR/mnist``; else, in a source checkout, the
            repository's ``benchmarks/data/mnist``; else the per-user cache (see
            :func:`default_data_dir`).
        download: fetch missing files from ``mirrors``; when False a missing file
            raises ``FileNotFoundError``.
        mirrors: base URLs tried in order for each missing file.
        checksums: MD5 of each file's uncompressed content, keyed by ``.gz`` name;
            defaults to the published :data:`MNIST_MD5`. Local files are checked too.
        timeout: seconds per download attempt.

    Returns:
        ``IdxData(train_images, train_labels, test_images, test_labels)``: images
        uint8 ``(60000, 28, 28)`` / ``(10000, 28, 28)``, labels uint8 ``(60000,)`` /
        ``(10000,)``. It unpacks like a tuple.

    Raises:
        DownloadError: a missing file could not be downloaded (the message says from
            where it was tried and how to place it by hand).
        ValueError: a file is damaged (bad checksum, truncated, wrong shape).

    Example:
        >>> x_train, y_train, x_test, y_test = mnist("benchmarks/data/mnist")  # doctest: +SKIP
        >>> x_train.shape, y_test[:3]  # doctest: +SKIP
        ((60000, 28, 28), array([7, 2, 1], dtype=uint8))
    """
    if data_dir is not None:
        directory = Path(data_dir).expanduser()
    elif os.environ.get("TAPEFLOW_DATA_DIR"):
        directory = default_data_dir()
    else:
        directory = _shipped_dir() or default_data_dir()
    table = MNIST_MD5 if checksums is None else checksums
    arrays = []
    for filename in MNIST_FILES:
        path = _find(directory, [filename[: -len(".gz")]])
        if path is None:
            if not download:
                raise FileNotFoundError(
                    f"{directory / filename} not found and download=False. "
                    + _manual_hint(filename, directory)
                )
            path = download_file(filename, directory, table.get(filename), mirrors, timeout)
        fix = (
            " Delete it to download it again, or replace it by hand."
            if download
            else " Replace it with a good copy (or delete it and load with download=True)."
        )
        arrays.append(_load(path, table.get(filename), fix))
    data = IdxData(*arrays)
    _check_pair(data.train_images, data.train_labels, "train", directory)
    _check_pair(data.test_images, data.test_labels, "test", directory)
    return data


#: Names under which MNIST-format datasets ship their files (Fashion-MNIST and
#: KMNIST use the MNIST names; some archives write ``.idx3-ubyte`` with a dot).
_IDX_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def idx_dataset(directory: str | os.PathLike[str]) -> IdxData:
    """Read any MNIST-format dataset (Fashion-MNIST, KMNIST, ...) from a directory.

    The directory must hold ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally
    ``.gz``-compressed. No checksums are checked (there is no table for arbitrary
    datasets); the IDX structure and the image/label counts are.

    Example:
        >>> x_train, y_train, x_test, y_test = idx_dataset("data/fashion-mnist")  # doctest: +SKIP
    """
    root = Path(directory).expanduser()
    arrays = []
    for role, names in _IDX_NAMES.items():
        path = _find(root, names)
        if path is None:
            raise FileNotFoundError(
                f"{root}: no {role.replace('_', ' ')} file (looked for "
                + ", ".join(f"{n}[.gz]" for n in names)
                + ")"
            )
        arrays.append(_load(path, None, " Replace it with a good copy."))
    data = IdxData(*arrays)
    _check_pair(data.train_images, data.train_labels, "train", root)
    _check_pair(data.test_images, data.test_labels, "test", root)
    return data
