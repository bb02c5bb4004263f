"""Reading and writing IDX files, the container format of MNIST and its look-alikes.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension,
then the array data in C order, big-endian. The magic number is two zero
bytes, a dtype code and the number of dimensions. Files may be gzip-compressed
(detected from the content, not the name).

Every check that can fail names the file and says what is wrong, so a
truncated download or a mislabelled file is diagnosed at once instead of
surfacing later as a reshape error.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from typing import Any

import numpy as np

__all__ = ["read_idx", "parse_idx", "write_idx", "IDX_DTYPES"]

#: IDX dtype codes and the (big-endian) numpy dtypes they stand for.
IDX_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def _decompress(raw: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        # gzip raises BadGzipFile (an OSError) for bad headers, EOFError for a
        # stream cut short and zlib.error for damaged blocks.
        raise ValueError(f"{name}: corrupted or truncated gzip data ({exc})") from exc


def parse_idx(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of an IDX file (gzip-compressed or not) into an array.

    Args:
        data: the file's content.
        name: what to call the data in error messages (usually the path).

    Returns:
        An array in native byte order with the shape stored in the header.

    Raises:
        ValueError: bad magic number, unknown dtype code, or a data section
            whose length does not match the header.

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
        [7, 9]
    """
    if data[:2] == _GZIP_MAGIC:
        data = _decompress(data, name)
    if len(data) < 4:
        raise ValueError(
            f"{name}: file too short for an IDX header ({len(data)} bytes, need at least 4)"
        )
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{name}: bad IDX magic number 0x{data[:4].hex()} (the first two bytes must be zero); "
            "this is not an IDX file"
        )
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{name}: unknown IDX dtype code 0x{code:02X} (known codes: {known})")
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header_len} header bytes, "
            f"the file has {len(data)}"
        )
    shape = struct.unpack(f">{ndim}I", data[4:header_len])
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow for absurd headers
    found = len(data) - header_len
    if found < expected:
        raise ValueError(
            f"{name}: truncated IDX data: shape {shape} of {dtype.name} needs {expected} bytes "
            f"after the header, the file has {found}"
        )
    if found > expected:
        raise ValueError(
            f"{name}: {found - expected} unexpected trailing bytes after the IDX data "
            f"(shape {shape} of {dtype.name} needs {expected} bytes)"
        )
    arr = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header_len)
    # A writable, native-endian copy: callers scale, shuffle and slice it freely.
    return arr.reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) into a numpy array.

    Example:
        >>> images = read_idx("benchmarks/data/mnist/t10k-images-idx3-ubyte.gz")  # doctest: +SKIP
        >>> images.shape, images.dtype  # doctest: +SKIP
        ((10000, 28, 28), dtype('uint8'))
    """
    name = os.fspath(path)
    with open(name, "rb") as fh:
        data = fh.read()
    return parse_idx(data, name)


def write_idx(path: str | os.PathLike[str], array: Any) -> None:
    """Write ``array`` as an IDX file; gzip-compressed when the name ends in ``.gz``.

    Example:
        >>> write_idx("labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))  # doctest: +SKIP
    """
    arr = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = arr.dtype.newbyteorder("=")
    if native not in codes:
        raise TypeError(
            f"IDX cannot store dtype {arr.dtype}; use one of uint8, int8, int16, "
            "int32, float32, float64"
        )
    if arr.ndim == 0 or arr.ndim > 255:
        raise ValueError(f"IDX stores arrays with 1 to 255 dimensions, got {arr.ndim}")
    code = codes[native]
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + np.ascontiguousarray(arr, dtype=IDX_DTYPES[code]).tobytes()
    name = os.fspath(path)
    if name.endswith(".gz"):
        # mtime=0 keeps the output byte-for-byte reproducible.
        payload = gzip.compress(payload, mtime=0)
    with open(name, "wb") as fh:
        fh.write(payload)
