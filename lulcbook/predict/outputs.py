"""The output paths of a scene prediction, checked before any work."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lulcbook import cog, io

PathLike = str | os.PathLike[str]

_MAP_SUFFIXES = (".tif", ".tiff")


def output_paths(
    out: PathLike, stac_path: PathLike | None = None, inputs: Sequence[PathLike] = ()
) -> tuple[Path, Path, Path]:
    """Check and return the map, uncertainty and STAC item paths of a run, before any work.

    Args:
        out: the map COG (``.tif`` or ``.tiff``).
        stac_path: the STAC item (default: ``out`` with suffix ``.json``).
        inputs: files the run reads (:func:`~lulcbook.predict.input_files`, the model file).

    Raises:
        ValueError: for a map path without ``.tif`` suffix, or paths that coincide with each
            other or with an input (naming both).
        IsADirectoryError, FileNotFoundError, PermissionError: for a folder as output, a
            missing or unwritable output folder.
    """
    out = Path(out)
    if out.suffix.lower() not in _MAP_SUFFIXES:
        raise ValueError(f"--out {out} must end with .tif or .tiff (it is a GeoTIFF)")
    paths = cog.product_paths(out, stac_path)
    io.check_output_paths(
        [paths.classes, paths.uncertainty, paths.item, paths.confidence, paths.aux, paths.style],
        inputs,
        names=[
            "--out",
            "uncertainty output",
            "--stac-out",
            "confidence output",
            "attribute table",
            "QGIS style",
        ],
    )
    return paths.classes, paths.uncertainty, paths.item


__all__ = ["output_paths"]
