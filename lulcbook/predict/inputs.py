"""What a run reads: the kind of input, the options that apply to it, its source and files."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lulcbook.predict.readers import (
    RASTER_SUFFIXES,
    source_from_array,
    source_from_file,
    source_from_folder,
)
from lulcbook.predict.sources import ArraySource, BandRef, RasterSource, Source
from lulcbook.predict.stac import source_from_stac_item

OPTION_NAMES: dict[str, str] = {
    "band_names": "--band-names",
    "preset": "--preset",
    "scale": "--scale",
    "offset": "--offset",
    "nodata": "--nodata",
    "mask_band": "--mask-band",
    "mask_values": "--mask-values",
}
"""Keyword arguments of :func:`open_source` and the command-line options that set them."""


def input_kind(input: Any) -> str:
    """``"source"``, ``"array"``, ``"folder"``, ``"stac-item"`` or ``"raster"``."""
    if isinstance(input, (RasterSource, ArraySource)) or all(
        hasattr(input, a) for a in ("read", "band_names", "affine", "crs")
    ):
        return "source"
    if hasattr(input, "dims") and hasattr(input, "rio"):
        return "array"
    path = Path(input)
    if path.is_dir():
        return "folder"
    if path.suffix.lower() == ".json":
        return "stac-item"
    return "raster"


APPLICABLE_OPTIONS: dict[str, tuple[str, ...]] = {
    "raster": tuple(OPTION_NAMES),
    "folder": ("preset", "scale", "offset", "nodata"),
    "stac-item": (),
    "array": (),
    "source": (),
}
"""Which :func:`open_source` keywords apply to which kind of input (the rest are errors)."""

_WHY_NOT = {
    "folder": "a folder of band files (bands are named by their file names; no mask band)",
    "stac-item": "a STAC item (bands, scaling and nodata come from the item's metadata)",
    "array": "an xarray DataArray (named bands of reflectance)",
    "source": "a prepared source",
}


def check_options(input: Any, **kw: Any) -> str:
    """Refuse source options that would be silently ignored for this kind of input.

    Args:
        input: what :func:`open_source` gets.
        **kw: its keyword arguments; ``None`` means not given.

    Returns:
        The input kind (:func:`input_kind`).

    Raises:
        ValueError: naming the options (and their command-line spelling) that do not apply.
    """
    kind = input_kind(input)
    unknown = sorted(set(kw) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"Unknown source option(s) {unknown}; expected {sorted(OPTION_NAMES)}")
    bad = [k for k, v in kw.items() if v is not None and k not in APPLICABLE_OPTIONS[kind]]
    if bad:
        opts = ", ".join(f"{OPTION_NAMES[k]} ({k})" for k in bad)
        raise ValueError(f"Option(s) {opts} do not apply to {_WHY_NOT[kind]}: {input}")
    if kw.get("mask_values") is not None and kw.get("mask_band") is None:
        raise ValueError("--mask-values (mask_values) needs --mask-band (mask_band)")
    return kind


def open_source(input: Any, bands: Sequence[str], **kw: Any) -> Source:
    """Dispatch on the input: DataArray, STAC item JSON, folder of band files, or raster file.

    Keyword arguments go to :func:`source_from_file` / :func:`source_from_folder`
    (``band_names``, ``preset``, ``scale``, ``offset``, ``nodata``, ``mask_band``, ``mask_values``);
    ``None`` means not given. An option that does not apply to the kind of input (e.g.
    ``mask_band`` for a folder, any of them for a STAC item) is an error, never ignored.

    Raises:
        ValueError: for options that do not apply (:func:`check_options`) and bad inputs.
    """
    kind = check_options(input, **kw)
    kw = {k: v for k, v in kw.items() if v is not None}
    if kind == "source":
        return input  # type: ignore[no-any-return]
    if kind == "array":
        return source_from_array(input, bands)
    path = Path(input)
    if kind == "folder":
        return source_from_folder(path, bands, **kw)
    if kind == "stac-item":
        return source_from_stac_item(path, bands)
    if "mask_band" in kw and "mask_values" not in kw:
        from lulcbook.cube import SCL_INVALID

        kw["mask_values"] = SCL_INVALID
    return source_from_file(path, bands, **kw)


def input_files(input: Any) -> list[Path]:
    """The files a run reads for ``input`` (for checking that no output overwrites one).

    A raster file itself; every raster in a folder; a STAC item file and its local assets.
    """
    kind = input_kind(input)
    if kind in ("array", "source"):
        return [Path(r.path) for r in getattr(input, "bands", ()) if isinstance(r, BandRef)]
    path = Path(input)
    if kind == "folder":
        return [f for f in path.rglob("*") if f.suffix.lower() in RASTER_SUFFIXES]
    files = [path]
    if kind == "stac-item" and path.is_file():
        import json

        with contextlib.suppress(ValueError, OSError, AttributeError, TypeError):
            for asset in json.loads(path.read_text()).get("assets", {}).values():
                href = str(asset.get("href", ""))
                if "://" not in href or href.startswith("file://"):
                    local = Path(href.removeprefix("file://"))
                    files.append(local if local.is_absolute() else path.parent / local)
    return files


__all__ = [
    "APPLICABLE_OPTIONS",
    "OPTION_NAMES",
    "check_options",
    "input_files",
    "input_kind",
    "open_source",
]
