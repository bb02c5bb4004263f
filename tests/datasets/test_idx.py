"""The IDX reader on generated, corrupted and truncated files."""

import gzip
import struct

import numpy as np
import pytest

from tapeflow.datasets import idx_dataset, parse_idx, read_idx, write_idx


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("compress", [False, True])
def test_round_trip(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    arr = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / ("a-idx3" + (".gz" if compress else ""))
    write_idx(path, arr)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype)  # native byte order, not the file's big-endian
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 1  # writable


def test_known_bytes_big_endian():
    data = bytes([0, 0, 0x0B, 2, 0, 0, 0, 1, 0, 0, 0, 2]) + struct.pack(">2h", 258, -3)
    np.testing.assert_array_equal(parse_idx(data), [[258, -3]])


def test_gzip_detected_from_content_not_name(tmp_path):
    plain = tmp_path / "labels"
    plain.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3])))
    np.testing.assert_array_equal(read_idx(plain), [1, 2, 3])


def _header(code, shape):
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01" + b"\x00" * 8, "bad IDX magic number"),
        (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x00", "unknown IDX dtype code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02", "truncated IDX header"),
        (_header(8, (2, 3)) + b"\x00" * 5, "truncated IDX data"),
        (_header(0x0D, (4,)) + b"\x00" * 15, "truncated IDX data"),
        (_header(8, (2,)) + b"\x00" * 3, "1 unexpected trailing bytes"),
        (_header(0x0E, (2**32 - 1,) * 4) + b"\x00" * 8, "truncated IDX data"),  # no overflow
    ],
)
def test_corrupted_files_raise_naming_file_and_problem(tmp_path, data, message):
    path = tmp_path / "broken-idx"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    write_idx(path, np.arange(600, dtype=np.uint8).reshape(6, 10, 10))
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="corrupted or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_damaged_gzip_stream(tmp_path):
    path = tmp_path / "x-idx3-ubyte.gz"
    write_idx(path, np.arange(600, dtype=np.uint8).reshape(6, 10, 10))
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # flip a byte inside the deflate stream (or its CRC)
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="gzip"):
        read_idx(path)


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="IDX cannot store"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))


def _write_split(root, n_train=7, n_test=4, images_name="{}-images-idx3-ubyte.gz"):
    rng = np.random.default_rng(1)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(root / images_name.format(prefix), images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))


def test_idx_dataset_reads_any_mnist_format_directory(tmp_path):
    _write_split(tmp_path, images_name="{}-images.idx3-ubyte")  # a dotted name, not compressed
    x, y, xt, yt = idx_dataset(tmp_path)
    assert x.shape == (7, 28, 28) and y.shape == (7,)
    assert xt.shape == (4, 28, 28) and yt.shape == (4,)


def test_idx_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train images"):
        idx_dataset(tmp_path)
    _write_split(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(5, dtype=np.uint8))
    with pytest.raises(ValueError, match="4 test images but 5 test labels"):
        idx_dataset(tmp_path)
