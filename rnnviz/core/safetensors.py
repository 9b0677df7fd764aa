"""Read a .safetensors file: tensors only, no code, no dependency.

The format (https://huggingface.co/docs/safetensors) is small enough to read here rather than
add the `safetensors` package for one function:

    8 bytes     N, the header's length, unsigned little-endian
    N bytes     JSON: {name: {"dtype": "F32", "shape": [r, c], "data_offsets": [begin, end]},
                       "__metadata__": {str: str} (optional)}
    the rest    the tensors' bytes, little-endian, row-major; offsets count from here

Everything is checked against the file's size before a byte of data is read, so a truncated
or hostile file is one `SafetensorsError` line, never a huge allocation or a traceback.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

# safetensors dtype -> numpy dtype (little-endian); BF16 is widened to float32 below.
DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "BF16": "<u2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
MAX_HEADER = 100 * 2**20  # the reference implementation's limit


class SafetensorsError(ValueError):
    """The file is not a readable safetensors file; the message says why."""


def read_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """Every tensor of the file by name, as numpy arrays (BF16 as float32)."""
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise SafetensorsError(f"{len(data)} bytes: too short for a safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > min(MAX_HEADER, len(data) - 8):
        raise SafetensorsError(f"header length {n} does not fit the file ({len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError("the header is not a JSON object")
    body = memoryview(data)[8 + n :]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        out[name] = _tensor(name, entry, body)
    return out


def _tensor(name: str, entry: object, body: memoryview) -> np.ndarray:
    try:
        dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
    except (TypeError, KeyError, ValueError):
        raise SafetensorsError(f"tensor {name!r}: no dtype, shape and data_offsets") from None
    if dtype not in DTYPES:
        raise SafetensorsError(f"tensor {name!r}: unknown dtype {dtype!r}")
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise SafetensorsError(f"tensor {name!r}: bad shape {shape!r}")
    np_dtype = np.dtype(DTYPES[dtype])
    size = int(np.prod(shape, dtype=np.int64)) * np_dtype.itemsize
    if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= len(body)):
        raise SafetensorsError(f"tensor {name!r}: data offsets {begin}..{end} outside the file")
    if end - begin != size:
        raise SafetensorsError(
            f"tensor {name!r}: {end - begin} bytes for shape {tuple(shape)} of {dtype} "
            f"({size} bytes)"
        )
    a = np.frombuffer(body[begin:end], dtype=np_dtype).reshape(shape)
    if dtype == "BF16":  # bfloat16 is the top half of a float32
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a
