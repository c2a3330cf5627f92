"""The climate of every pixel at map time: WorldClim BIO1–19 looked up from pixel coordinates.

A map model with climate input (:attr:`lulcbook.models.spectral.SpectralClassifier.uses_climate`)
classifies a superpixel from its mean reflectance *and* the WorldClim 2.1 BIO1–19 vector of the
place. :class:`ClimateField` gives that vector for every pixel of a tile from the tile's CRS and
transform alone: each pixel centre is taken to longitude/latitude and looked up in the climate
raster (:func:`lulcbook.sources.worldclim.sample_climate`: the cell under it, or the nearest valid
cell within ``fill_km`` on a coast). A pixel's climate therefore depends on where it is, not on
the tile, scene or production cell it is mapped in, and neither do the superpixel means the
model takes (the grid superpixels are fixed in map coordinates too): maps stay seamless.

The default raster is the offline sample's WorldClim 2.1 10′ Europe folder
(:func:`default_path`, read once per process by :func:`default_field`): a climate model with no
raster attached maps with it, in Python as in the map commands. ``--climate`` of the map
commands (or ``with_climate`` in Python) names another, e.g. the global files of
:func:`lulcbook.sources.worldclim.download_worldclim`.

Every map product of a climate model records which raster gave the climate
(:data:`STAC_PROPERTY`: the raster's folder or file name and :attr:`ClimateField.fingerprint`, a
digest of its values and grid), so that a resumed production run refuses cells made with
another raster (:func:`lulcbook.produce.cell.check_same_model`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS, Transformer

from lulcbook.sources import worldclim

WORLDCLIM_SUBDIR: str = "worldclim/wc21_10m_bio_europe"
"""The sample's WorldClim 2.1 10′ BIO1–19 for Europe (the LUCAS points' climate source)."""

FILL_KM: float = 25.0
"""Radius (km) of the nearest-valid-cell lookup, as for the LUCAS training points."""

COVERAGE_GRID: int = 9
"""Points per side of the grid :meth:`ClimateField.coverage` samples over a map."""

STAC_PROPERTY: str = "lulcbook:climate"
"""The STAC item property naming the climate raster of a map (:meth:`ClimateField.stac_record`)."""


class ClimateFieldError(ValueError):
    """A climate raster that cannot serve a model (missing variables, no CRS, not found)."""


def _apply(transform: Affine, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map coordinates of fractional pixel positions (``cols``, ``rows``) under ``transform``."""
    t = transform
    return t.c + t.a * cols + t.b * rows, t.f + t.d * cols + t.e * rows


def default_path() -> Path:
    """The offline sample's WorldClim folder (``LULCBOOK_SAMPLE`` or ``paths.sample``)."""
    from lulcbook import config

    return config.sample_dir() / WORLDCLIM_SUBDIR


@dataclass(frozen=True)
class ClimateField:
    """WorldClim BIO1–19 on their own grid, looked up at any pixel of any projected map.

    Attributes:
        bio: ``(bio, y, x)`` float32 with a CRS (:func:`lulcbook.sources.worldclim.read_bioclim`).
        fill_km: nearest-valid-cell radius for pixels on nodata cells.
        source: where the raster was read from (for messages and product metadata).
    """

    bio: xr.DataArray
    fill_km: float = FILL_KM
    source: str = ""

    @classmethod
    def read(
        cls, path: str | os.PathLike[str] | None = None, fill_km: float = FILL_KM
    ) -> ClimateField:
        """Read a WorldClim folder or multi-band file (default :func:`default_path`).

        Raises:
            ClimateFieldError: the path does not exist, or it lacks one of BIO1–19.
        """
        p = Path(path) if path is not None else default_path()
        if not p.exists():
            raise ClimateFieldError(
                f"WorldClim path {p} does not exist; pass --climate with a WorldClim 2.1 "
                "BIO1-19 folder (wc2.1_*_bio_1..19.tif) or set LULCBOOK_SAMPLE"
            )
        try:
            bio = worldclim.read_bioclim(p)
        except ValueError as err:
            raise ClimateFieldError(f"{p}: {err}") from None
        missing = [b for b in worldclim.BIO_NAMES if b not in set(bio["bio"].values.tolist())]
        if missing:
            raise ClimateFieldError(f"{p}: the climate raster lacks {missing} of BIO1-19")
        return cls(bio.sel(bio=list(worldclim.BIO_NAMES)), fill_km, str(p))

    @property
    def names(self) -> list[str]:
        """The variables, in the order of the vectors returned."""
        return [str(b) for b in self.bio["bio"].values]

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 (hex) of the variables' names and values, the grid, the CRS and ``fill_km``.

        Two rasters give every pixel the same climate exactly when their fingerprints agree
        (wherever they are stored); computed once per field.
        """
        h = hashlib.sha256()
        h.update(",".join(self.names).encode())
        h.update(np.ascontiguousarray(self.bio.values, dtype="<f4").tobytes())
        for axis in ("y", "x"):
            h.update(np.ascontiguousarray(self.bio[axis].values, dtype="<f8").tobytes())
        crs = self.bio.rio.crs
        h.update((crs.to_wkt() if crs is not None else "").encode())
        h.update(repr(float(self.fill_km)).encode())
        return h.hexdigest()

    def stac_record(self) -> dict[str, Any]:
        """What a map's STAC item records of the raster (:data:`STAC_PROPERTY`).

        Returns:
            ``{"source": folder or file name, "sha256": fingerprint, "fill_km": radius}``.
        """
        return {
            "source": Path(self.source).name if self.source else "",
            "sha256": self.fingerprint,
            "fill_km": float(self.fill_km),
        }

    def at(self, crs: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """BIO1–19 ``(n, 19)`` float32 at points ``x``, ``y`` in ``crs`` (NaN where none is near).

        Raises:
            ClimateFieldError: a missing CRS.
        """
        if crs is None:
            raise ClimateFieldError("the map has no CRS; its pixels cannot be given a climate")
        x, y = np.ravel(np.asarray(x, dtype=np.float64)), np.ravel(np.asarray(y, dtype=np.float64))
        to_lonlat = Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
        lon, lat = to_lonlat.transform(x, y)
        clim, _ = worldclim.sample_climate(self.bio, lon, np.clip(lat, -90, 90), self.fill_km)
        return np.asarray(clim.values, dtype=np.float32)

    def coverage(
        self, crs: Any, transform: Affine, shape: tuple[int, int], n: int = COVERAGE_GRID
    ) -> float:
        """Share of an ``n`` × ``n`` grid of points over a window that gets a climate."""
        h, w = int(shape[0]), int(shape[1])
        cols, rows = np.meshgrid(np.linspace(0.5, w - 0.5, n), np.linspace(0.5, h - 0.5, n))
        x, y = _apply(transform, cols.ravel(), rows.ravel())
        found = np.isfinite(self.at(crs, np.asarray(x), np.asarray(y))).all(axis=1)
        return float(found.mean())

    def check_covers(
        self, crs: Any, transform: Affine, shape: tuple[int, int], name: str = "the map"
    ) -> float:
        """Refuse a map that the raster does not cover; warn when it covers part of it.

        Returns:
            The covered share (:meth:`coverage`).

        Raises:
            ClimateFieldError: no sampled point of the map has a climate.
        """
        share = self.coverage(crs, transform, shape)
        if share == 0:
            raise ClimateFieldError(
                f"{name}: no pixel lies on or within {self.fill_km:g} km of a cell of the climate "
                f"raster {self.source or '(in memory)'}; pass --climate with a WorldClim 2.1 "
                "BIO1-19 raster that covers it"
            )
        if share < 1:
            warnings.warn(
                f"{name}: {1 - share:.0%} of the map has no climate in "
                f"{self.source or 'the climate raster'} (more than {self.fill_km:g} km from a "
                "cell); the model uses the training mean there",
                stacklevel=2,
            )
        return share

    def layers(self, crs: Any, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        """BIO1–19 ``(19, h, w)`` at the centre of every pixel of a window.

        Args:
            crs: the window's CRS.
            transform: the affine transform of the window's first pixel.
            shape: ``(h, w)``.
        """
        h, w = int(shape[0]), int(shape[1])
        cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        x, y = _apply(transform, cols.ravel(), rows.ravel())
        return self.at(crs, np.asarray(x), np.asarray(y)).T.reshape(-1, h, w)


@functools.lru_cache(maxsize=2)
def _read_default(path: str) -> ClimateField:
    return ClimateField.read(path)


def default_field() -> ClimateField:
    """The default raster (:func:`default_path`), read once per process.

    Raises:
        ClimateFieldError: the default raster is missing or incomplete.
    """
    return _read_default(str(default_path()))


def attach(model: Any, path: str | os.PathLike[str] | None = None) -> Any:
    """``model`` with its climate raster attached when it takes climate input.

    Args:
        model: a classifier; one with ``uses_climate`` gets ``with_climate(ClimateField.read(path))``.
        path: the WorldClim raster (default :func:`default_path`).

    Raises:
        ClimateFieldError: a raster given for a model without climate input, or one that cannot
            be read (:meth:`ClimateField.read`).
    """
    if not getattr(model, "uses_climate", False):
        if path is not None:
            raise ClimateFieldError(
                f"--climate {path}: the model has no climate input; it needs no climate raster"
            )
        return model
    return model.with_climate(ClimateField.read(path))


__all__ = [
    "COVERAGE_GRID",
    "FILL_KM",
    "STAC_PROPERTY",
    "WORLDCLIM_SUBDIR",
    "ClimateField",
    "ClimateFieldError",
    "attach",
    "default_field",
    "default_path",
]
