"""The documented L2A input offset of a shipped map model, applied at map time.

The LUCAS-trained map models learn from Sentinel-2 L1C top-of-atmosphere medians. For L2A
surface reflectance, each shipped spectral model's metadata documents a per-band path offset
(``l2a_offset``: the approximate TOA − BOA reflectance of a clear atmosphere) that brings the
input towards what the model learned from; its measured effect on every L2A reference is in
the model card (notebook 07-maps), and it does not help everywhere. ``lulcbook predict``,
``lulcbook series`` and ``lulcbook produce`` apply it with ``--l2a-offset``; the maps' STAC items
then record it as ``lulcbook:input_offset``.

The offset is refused where the input says it is top-of-atmosphere: a ``--preset`` that
declares L1C (:func:`check_level`), a STAC item that declares a level-1 product
(:func:`check_items`, from ``processing:level``, ``s2:product_type``, the product id or the
collection id), and a STAC search of a level-1 collection (:func:`check_collection`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
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


def _level_of_text(text: str) -> str | None:
    """``"L1C"``/``"L2A"`` from a Sentinel-2 product type or id (``S2MSI1C``, ``…_MSIL2A_…``)."""
    upper = text.upper()
    for marker, level in (("MSI1C", "L1C"), ("MSIL1C", "L1C"), ("MSI2A", "L2A"), ("MSIL2A", "L2A")):
        if marker in upper:
            return level
    return None


def item_level(item: Mapping[str, Any]) -> tuple[str, str] | None:
    """The processing level a STAC item declares, and the field that declares it.

    Read, in this order: ``processing:level`` (e.g. ``L1C``, ``L2A``, ``L1TP``, ``L2SP``), the
    Sentinel-2 ``s2:product_type``, ``s2:product_uri`` or ``sentinel:product_id``, and the
    collection id (``sentinel-2-l1c``, ``sentinel-2-l2a``, ...).

    Args:
        item: a STAC item as a dictionary (``id``, ``collection``, ``properties``).

    Returns:
        ``(level, field)`` with ``level`` upper-case, or ``None`` when the item does not say.
    """
    props = item.get("properties") or {}
    declared = props.get("processing:level")
    if isinstance(declared, str) and declared.strip():
        return declared.strip().upper(), "processing:level"
    for key in ("s2:product_type", "s2:product_uri", "sentinel:product_id"):
        value = props.get(key)
        level = _level_of_text(value) if isinstance(value, str) else None
        if level is not None:
            return level, key
    collection = str(item.get("collection") or "").lower()
    for marker, level in (("l1c", "L1C"), ("l2a", "L2A")):
        if marker in collection.replace("_", "-").split("-"):
            return level, "collection"
    return None


def check_items(items: Iterable[Mapping[str, Any]], where: str) -> None:
    """Refuse the offset for STAC items that declare a level-1 (top-of-atmosphere) product.

    Args:
        items: STAC items as dictionaries (:func:`item_level`).
        where: what holds them (a file or catalog), for the message.

    Raises:
        ValueError: naming the first level-1 item, its level and the field that says so, and
            how many items are level 1 in all.
    """
    level1 = []
    for item in items:
        found = item_level(item)
        if found is not None and found[0].startswith("L1"):
            level1.append((str(item.get("id")), *found))
    if level1:
        ident, level, key = level1[0]
        raise ValueError(
            f"STAC item {ident!r} in {where} is {level} ({key}), top-of-atmosphere input that "
            f"the model learned from as it is ({len(level1)} level-1 item(s) in all); the offset "
            "is for L2A surface reflectance"
        )


def check_collection(collection: str | None) -> None:
    """Refuse the offset for a STAC search of a level-1 collection (e.g. ``sentinel-2-l1c``).

    Raises:
        ValueError: naming the collection.
    """
    if collection is None:
        return
    found = item_level({"collection": collection})
    if found is not None and found[0].startswith("L1"):
        raise ValueError(
            f"--collection {collection} holds {found[0]} top-of-atmosphere items, which the model "
            "learned from as they are; the offset is for L2A surface reflectance"
        )


def check_item_files(inputs: Iterable[str | Path]) -> None:
    """:func:`check_items` for every input that is a STAC item or item collection file.

    Inputs that are not ``.json`` files, or not readable JSON, are left to the reader, which
    reports them.

    Raises:
        ValueError: as :func:`check_items`.
    """
    for path in map(Path, inputs):
        if path.suffix.lower() != ".json" or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, Mapping):
            features = data.get("features") if data.get("type") == "FeatureCollection" else None
            check_items(features if isinstance(features, list) else [data], str(path))


def check_input(
    preset: str | None, inputs: Iterable[str | Path], collection: str | None = None
) -> None:
    """Everything that refuses the offset for an input, checked before the input is read.

    Args:
        preset: the ``--preset`` (:func:`check_level`).
        inputs: the input paths (:func:`check_item_files`).
        collection: the collection of a STAC search (:func:`check_collection`), if any.

    Raises:
        ValueError: as those functions.
    """
    check_level(preset)
    check_collection(collection)
    check_item_files(inputs)


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
    "check_collection",
    "check_input",
    "check_item_files",
    "check_items",
    "check_level",
    "documented_offset",
    "item_level",
    "with_input_offset",
]
