"""The documented L2A input offset of a shipped map model, applied at map time.

The LUCAS-trained map models learn from Sentinel-2 L1C top-of-atmosphere medians. For L2A
surface reflectance, each shipped spectral model's metadata documents a per-band path offset
(``l2a_offset``: the approximate TOA − BOA reflectance of a clear atmosphere) that brings the
input towards what the model learned from; its measured effect on every L2A reference is in
the model card (notebook 07-maps), and it does not help everywhere. ``lulcbook predict``,
``lulcbook series`` and ``lulcbook produce`` apply it with ``--l2a-offset``; the maps' STAC items
then record it as ``lulcbook:input_offset``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

M = TypeVar("M")

METADATA_KEY: str = "l2a_offset"
"""Key of the per-band offset in a shipped model's metadata."""

STAC_PROPERTY: str = "lulcbook:input_offset"
"""STAC item property that records the offset a map was made with."""


def check_level(preset: str | None) -> None:
    """Refuse the offset for inputs that a scaling preset declares L1C.

    Args:
        preset: the ``--preset`` of the input (``None``: not given, nothing to check).

    Raises:
        ValueError: a Sentinel-2 L1C preset (``s2-l1c``, ``s2-l1c-n0400``).
    """
    if preset is not None and preset.startswith("s2-l1c"):
        raise ValueError(
            f"--preset {preset} declares L1C top-of-atmosphere input, which the model learned "
            "from as it is; the offset is for L2A surface reflectance"
        )


def documented_offset(
    metadata: Mapping[str, Any], bands: Sequence[str], name: str
) -> dict[str, float]:
    """The per-band L2A offset a model's metadata documents, for every band the model reads.

    Args:
        metadata: the shipped model's metadata (``lulcbook.zoo``).
        bands: the model's input bands.
        name: the model's name, for the messages.

    Returns:
        ``{band: offset}`` (reflectance units) for each of ``bands``.

    Raises:
        ValueError: the metadata documents no offset, misses one of ``bands``, or holds a value
            that is not a finite number (each named).
    """
    raw = metadata.get(METADATA_KEY)
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(
            f"model {name!r} documents no {METADATA_KEY} in its metadata; --l2a-offset applies "
            "only to shipped spectral models (`lulcbook models`)"
        )
    missing = [b for b in bands if b not in raw]
    if missing:
        raise ValueError(f"model {name!r}: {METADATA_KEY} has no value for bands {missing}")
    out: dict[str, float] = {}
    for band in bands:
        value = raw[band]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ValueError(
                f"model {name!r}: {METADATA_KEY} of {band} is not a finite number: {value!r}"
            )
        out[band] = float(value)
    return out


def with_input_offset(model: M, offset: Mapping[str, float], name: str) -> M:
    """A copy of ``model`` that adds ``offset`` to its input before classifying.

    Args:
        model: a dataclass map model with an ``offset`` field (e.g.
            :class:`lulcbook.models.spectral.SpectralClassifier`).
        offset: ``{band: offset}``.
        name: the model's name, for the message.

    Raises:
        ValueError: a model that takes no input offset.
    """
    fields = (
        {f.name for f in dataclasses.fields(model)} if dataclasses.is_dataclass(model) else set()
    )
    if "offset" not in fields:
        raise ValueError(f"model {name!r} ({type(model).__name__}) takes no input offset")
    return dataclasses.replace(model, offset=dict(offset))  # type: ignore[type-var]


def apply_documented(
    model: M, bands: Sequence[str], metadata: Mapping[str, Any], name: str
) -> tuple[M, dict[str, float]]:
    """``model`` with the L2A offset its metadata documents, and that offset.

    :func:`documented_offset` for ``bands``, then :func:`with_input_offset`.

    Args:
        model: the loaded map model.
        bands: the model's input bands.
        metadata: the shipped model's metadata.
        name: the model's name, for the messages.

    Raises:
        ValueError: as :func:`documented_offset` and :func:`with_input_offset`.
    """
    offset = documented_offset(metadata, bands, name)
    return with_input_offset(model, offset, name), offset


__all__ = [
    "METADATA_KEY",
    "STAC_PROPERTY",
    "apply_documented",
    "check_level",
    "documented_offset",
    "with_input_offset",
]
