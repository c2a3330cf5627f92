"""Reproducible, safe torch checkpoints.

``torch.save`` writes a random ``serialization_id`` into every archive, so saving
the same tensors twice gives two different files and DVC sees a changed output
after every run. :func:`save` writes the archive atomically and replaces that id by
a digest of the archive's content: the same state gives byte-identical files.
:func:`load` only unpickles tensors and plain containers (``weights_only=True``), so
a crafted checkpoint cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zlib
from pathlib import Path
from typing import Any

import torch

from lulcbook.io import atomic_path

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_ID_RECORD = b".data/serialization_id"


def _patch_serialization_id(data: bytearray) -> bytearray:
    """Replace the archive's random serialization id by a digest of everything else."""
    start = 0
    found = []
    while (pos := data.find(_LOCAL, start)) >= 0:
        n_name, n_extra = struct.unpack_from("<HH", data, pos + 26)
        name = bytes(data[pos + 30 : pos + 30 + n_name])
        size = struct.unpack_from("<I", data, pos + 22)[0]
        if name.endswith(_ID_RECORD):
            found.append((pos, pos + 30 + n_name + n_extra, size))
        start = pos + 4
    if len(found) != 1:
        return data  # an archive layout without (or with several) ids: leave it alone
    header, offset, size = found[0]
    blanked = bytearray(data)
    blanked[offset : offset + size] = b"0" * size
    new_id = hashlib.sha256(bytes(blanked)).hexdigest().encode()[:size].rjust(size, b"0")
    data[offset : offset + size] = new_id
    crc = zlib.crc32(new_id) & 0xFFFFFFFF
    struct.pack_into("<I", data, header + 14, crc)
    start = 0
    while (pos := data.find(_CENTRAL, start)) >= 0:
        n_name = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + n_name]).endswith(_ID_RECORD):
            struct.pack_into("<I", data, pos + 16, crc)
        start = pos + 4
    return data


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``obj`` with ``torch.save`` atomically and byte-reproducibly.

    Returns:
        ``path``.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = _patch_serialization_id(bytearray(buffer.getvalue()))
    path = Path(path)
    with atomic_path(path, suffix=".pt") as tmp:
        tmp.write_bytes(bytes(data))
    return path


def load(path: str | os.PathLike[str], what: str = "checkpoint") -> Any:
    """Load a checkpoint safely (``weights_only=True``).

    Args:
        path: the file.
        what: what the file should be, for error messages (e.g. ``"SegmentClassifier"``).

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a torch archive, is truncated, or holds
            objects other than tensors and plain containers (refused, never run).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or unsafe files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(
            f"{path} is not a loadable {what} (corrupt, truncated, or holding objects other "
            f"than tensors, which are refused): {first}"
        ) from None
