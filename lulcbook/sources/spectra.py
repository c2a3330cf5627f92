"""Paired Landsat / Sentinel-2 spectra: the spechomo reference cubes in the offline sample.

The cubes (``eo-sample/spectra-l8-s2``; Scheffler et al., spechomo, GFZ Potsdam, Apache-2.0)
are ENVI BSQ int16 files (reflectance × 10000, nodata −9999) with ``lines`` = 1000 signatures
(50 k-means clusters × 20), ``samples`` = the 9 source images named in the ``.meta`` file
(``col_imName_dict``) and one band per sensor band. They are **spectrally simulated**: real
airborne hyperspectral surface spectra (APEX, HySpex, HyMap) convolved with each sensor's
spectral response, so row *i* of image *j* is the same surface in every cube; the pairs are
exact but carry no spatial context, no atmosphere and no geometry differences.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr

PathLike = str | os.PathLike[str]

FOLDER = "spectra-l8-s2"

SENSORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "landsat8": (
        "refcube__Landsat-8__OLI_TIRS__nclust50__nsamp1000",
        ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22"),
    ),
    "sentinel2a": (
        "refcube__Sentinel-2A__MSI__nclust50__nsamp1000",
        ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12"),
    ),
    "landsat5": (
        "refcube__Landsat-5__TM__nclust50__nsamp1000",
        ("blue", "green", "red", "nir08", "swir16", "swir22"),
    ),
}
"""Sensor key → (file stem, band names). Landsat bands carry their common names (OLI bands
1–7; TM bands 1–5 and 7), Sentinel-2A bands their ESA names."""

NODATA: int = -9999
SCALE: float = 1e-4


def read_spectra(sample_dir: PathLike, sensor: str) -> xr.DataArray:
    """Read one reference cube as reflectance ``(signature, image, band)``.

    Args:
        sample_dir: the offline sample folder (``config.get_paths().sample``).
        sensor: ``"landsat8"``, ``"sentinel2a"`` or ``"landsat5"``.

    Returns:
        float32 reflectance (nodata −9999 → NaN) with coordinates ``image`` (the source image
        names of ``col_imName_dict``), ``cluster`` (per signature) and ``wavelength`` (nm, per
        band, from the ENVI header).

    Raises:
        ValueError: for an unknown sensor, or a cube whose band count or image count does not
            match its ``.meta`` file.
        FileNotFoundError: if the cube is missing.
    """
    if sensor not in SENSORS:
        raise ValueError(f"Unknown sensor {sensor!r}; expected one of {sorted(SENSORS)}")
    stem, bands = SENSORS[sensor]
    folder = Path(sample_dir) / FOLDER
    bsq, meta_path = folder / f"{stem}.bsq", folder / f"{stem}.meta"
    for p in (bsq, meta_path):
        if not p.exists():
            raise FileNotFoundError(f"{p} does not exist; is the sample folder {sample_dir} right?")
    meta = json.loads(meta_path.read_text())
    images = [meta["col_imName_dict"][str(i)] for i in range(len(meta["col_imName_dict"]))]
    with rasterio.open(bsq) as src:
        raw = src.read()  # (band, lines, samples)
    if raw.shape[0] != len(bands) or raw.shape[2] != len(images):
        raise ValueError(
            f"{bsq} has shape {raw.shape} (band, signature, image); expected {len(bands)} bands "
            f"and {len(images)} images from {meta_path.name}"
        )
    data = raw.astype("float32") * np.float32(SCALE)
    data[raw == NODATA] = np.nan
    n_sig = raw.shape[1]
    per_cluster = int(meta.get("n_signatures_per_cluster", n_sig))
    return xr.DataArray(
        np.transpose(data, (1, 2, 0)),
        dims=("signature", "image", "band"),
        coords={
            "signature": np.arange(n_sig),
            "image": images,
            "band": list(bands),
            "cluster": ("signature", np.arange(n_sig) // max(per_cluster, 1)),
            "wavelength": ("band", np.asarray(meta["wavelengths"], dtype="float64")),
        },
        name=f"{meta['satellite']} {meta['sensor']} reflectance",
        attrs={
            "sensor": sensor,
            "source": str(bsq),
            "nature": "spectrally simulated from airborne hyperspectral spectra (spechomo)",
        },
    )


def read_paired_spectra(
    sample_dir: PathLike, source: str = "landsat8", target: str = "sentinel2a"
) -> xr.Dataset:
    """Read two cubes as exactly paired spectra, one row per valid (signature, image).

    Rows where any band of either sensor is nodata are dropped.

    Returns:
        Dataset with dims ``spectrum``, ``source_band``, ``target_band``: ``source`` and
        ``target`` reflectance, ``scene`` (source image name, the unit of leave-one-scene-out
        evaluation) and ``cluster``.
    """
    src = read_spectra(sample_dir, source)
    tgt = read_spectra(sample_dir, target)
    s = src.stack(spectrum=("signature", "image")).transpose("spectrum", "band")
    t = tgt.stack(spectrum=("signature", "image")).transpose("spectrum", "band")
    valid = np.isfinite(s.values).all(axis=1) & np.isfinite(t.values).all(axis=1)
    scene = s["image"].values[valid]
    cluster = s["cluster"].values[valid]
    return xr.Dataset(
        {
            "source": (("spectrum", "source_band"), s.values[valid]),
            "target": (("spectrum", "target_band"), t.values[valid]),
            "scene": ("spectrum", scene.astype(str)),
            "cluster": ("spectrum", cluster.astype("int64")),
        },
        coords={
            "spectrum": np.arange(int(valid.sum())),
            "source_band": src["band"].values,
            "target_band": tgt["band"].values,
        },
        attrs={"source_sensor": source, "target_sensor": target, "nature": src.attrs["nature"]},
    )


__all__ = ["SENSORS", "read_paired_spectra", "read_spectra"]
