"""IDX files (the MNIST / Fashion-MNIST format), plain or gzip: a checked reader and a writer.

Header: two zero bytes, a dtype code, the number of dimensions, then each dimension as a
big-endian uint32; then the payload, big-endian, C order, of exactly prod(dims) items.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import numpy as np

from cnnviz.data.budget import require_data
from cnnviz.data.errors import DataError
from cnnviz.data.fileio import open_regular_file, write_atomically

# IDX dtype code -> big-endian NumPy dtype
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_PAYLOAD_BYTES = 2**31  # 2 GiB: far above any real IDX file, refuses absurd headers
GZIP_MAGIC = b"\x1f\x8b"


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or gzip) into a new native-endian array; DataError if bad."""
    p = Path(path)
    try:
        with _open(p) as handle:
            return _read(handle, p)
    except DataError:
        raise
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise DataError(f"{p}: cannot read IDX data ({error})") from error
    except MemoryError as error:
        raise DataError(f"{p}: too large to load") from error


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    """The file's byte stream (a regular file only), decompressed if it starts with the
    gzip magic."""
    with open_regular_file(path) as raw:
        magic = raw.read(2)
        raw.seek(0)
        if magic != GZIP_MAGIC:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield unzipped


def _read(handle: IO[bytes], path: Path) -> np.ndarray:
    """Parse and check header and payload from an open stream."""
    dtype, shape = _read_header(handle, path)
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    payload = _read_exactly(handle, nbytes)
    if len(payload) < nbytes:
        raise DataError(f"{path}: payload too short: {len(payload)} bytes, the header "
                        f"{shape} of {dtype.name} needs {nbytes}")
    if handle.read(1):
        raise DataError(f"{path}: payload too long: data after the {nbytes} bytes the header "
                        f"{shape} of {dtype.name} needs")
    return np.frombuffer(payload, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _read_header(handle: IO[bytes], path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """The payload dtype and shape from the magic number and dimension sizes."""
    magic = handle.read(4)
    if len(magic) < 4:
        raise DataError(f"{path}: not an IDX file: shorter than its 4-byte magic number")
    if magic[0] != 0 or magic[1] != 0:
        raise DataError(f"{path}: not an IDX file: magic number {magic.hex()} must start "
                        "with two zero bytes")
    if magic[2] not in IDX_DTYPES:
        allowed = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise DataError(f"{path}: unknown IDX dtype code 0x{magic[2]:02X} (allowed: {allowed})")
    ndim = magic[3]
    if ndim == 0:
        raise DataError(f"{path}: IDX header has 0 dimensions")
    raw = handle.read(4 * ndim)
    if len(raw) < 4 * ndim:
        raise DataError(f"{path}: header truncated: {ndim} dimension sizes announced")
    shape = struct.unpack(f">{ndim}I", raw)
    dtype = IDX_DTYPES[magic[2]]
    items = math.prod(shape)
    if items * dtype.itemsize > MAX_PAYLOAD_BYTES:
        raise DataError(f"{path}: impossible dimensions {shape}: more than "
                        f"{MAX_PAYLOAD_BYTES // 2**30} GiB of data")
    # Checked from the header alone, before a byte of a (maybe gzip) payload is read.
    require_data(items, dtype.itemsize, f"{path} (IDX header {shape} of {dtype.name})",
                 raw_copies=3)
    return dtype, tuple(shape)


def _read_exactly(handle: IO[bytes], nbytes: int) -> bytes:
    """Up to nbytes from the stream, reading in chunks until it ends."""
    chunks, remaining = [], nbytes
    while remaining > 0:
        chunk = handle.read(min(remaining, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def save_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write an array as IDX (gzip if the name ends in .gz), atomically."""
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        allowed = ", ".join(str(dt) for dt in codes)
        raise DataError(f"{path}: IDX cannot store {array.dtype} (allowed: {allowed})")
    if not 1 <= array.ndim <= 255 or max(array.shape) >= 2**32:
        raise DataError(f"{path}: IDX cannot store an array of shape {array.shape}")
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I",
                                                                    *array.shape)
    body = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[codes[native]]).tobytes()
    if str(path).endswith(".gz"):
        body = gzip.compress(body, mtime=0)
    write_atomically(path, lambda handle: handle.write(body))
