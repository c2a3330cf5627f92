"""Helpers for the prediction tests: a real pixel-wise classifier and simulated scenes.

The classifier is a nearest class centroid in band space.

It is fitted on labelled spectra (Gaussian class likelihood with a shared isotropic
variance, i.e. a minimum-distance classifier with softmax probabilities), saved as JSON and
loaded with :meth:`SpectralCentroid.load`, so ``lulcbook predict --model-class
predict_helpers:SpectralCentroid`` can use it. Being pixel-wise, tiled and untiled
predictions must agree exactly, which the seam test relies on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Typical top-of-atmosphere reflectance of four cover types in B02, B03, B04, B08 (simulated
# scene and training spectra are drawn around these; values in the range of Sentinel-2 L1C).
TYPICAL_SPECTRA: dict[str, tuple[float, float, float, float]] = {
    "water": (0.070, 0.055, 0.035, 0.020),
    "woodland": (0.035, 0.055, 0.030, 0.300),
    "cropland": (0.060, 0.090, 0.100, 0.250),
    "artificial": (0.120, 0.120, 0.130, 0.180),
}
BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08")


class SpectralCentroid:
    """Nearest-centroid classifier implementing ``lulcbook.predict.TileClassifier``."""

    def __init__(
        self, bands: Sequence[str], classes: Sequence[str], centroids: np.ndarray, sigma: float
    ) -> None:
        self.bands = list(bands)
        self.classes = list(classes)
        self.centroids = np.asarray(centroids, dtype=np.float64)
        self.sigma = float(sigma)

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, bands: Sequence[str], classes: Sequence[str]
    ) -> SpectralCentroid:
        """Fit on spectra ``x (n, band)`` with labels ``y (n,)`` indexing ``classes``."""
        cents = np.stack([x[y == k].mean(0) for k in range(len(classes))])
        resid = x - cents[y]
        return cls(bands, classes, cents, float(np.sqrt((resid**2).mean())))

    def predict_proba(self, tile: np.ndarray, mc_samples: int = 0) -> np.ndarray:
        """``(n_classes, y, x)`` probabilities; NaN where any band is NaN."""
        b, h, w = tile.shape
        px = tile.reshape(b, -1).T.astype(np.float64)
        d2 = ((px[:, None, :] - self.centroids[None]) ** 2).sum(-1)
        logit = -d2 / (2 * self.sigma**2)
        valid = np.isfinite(px).all(1)
        logit[valid] -= logit[valid].max(axis=1, keepdims=True)
        p = np.exp(logit)
        p /= p.sum(1, keepdims=True)
        p[~valid] = np.nan
        return p.T.reshape(len(self.classes), h, w).astype(np.float32)

    def save(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "bands": self.bands,
                    "classes": self.classes,
                    "centroids": self.centroids.tolist(),
                    "sigma": self.sigma,
                }
            )
        )
        return path

    @classmethod
    def load(cls, path: Path) -> SpectralCentroid:
        d = json.loads(Path(path).read_text())
        return cls(d["bands"], d["classes"], np.asarray(d["centroids"]), d["sigma"])


def simulate_spectra(n_per_class: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Simulated training spectra: typical spectra plus Gaussian noise; ``(x, y)``."""
    rng = np.random.default_rng(seed)
    classes = list(TYPICAL_SPECTRA)
    x = np.concatenate(
        [np.asarray(TYPICAL_SPECTRA[c]) + rng.normal(0, noise, (n_per_class, 4)) for c in classes]
    )
    y = np.repeat(np.arange(len(classes)), n_per_class)
    return x, y


def simulate_scene(
    height: int, width: int, noise: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A simulated scene: blocky class layout (index into TYPICAL_SPECTRA) and its reflectance.

    Returns ``(truth (y, x) int, reflectance (4, y, x) float32)``.
    """
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, len(TYPICAL_SPECTRA), (height // 16 + 1, width // 16 + 1))
    truth = np.kron(coarse, np.ones((16, 16), dtype=int))[:height, :width]
    spectra = np.asarray(list(TYPICAL_SPECTRA.values()))
    refl = spectra[truth].transpose(2, 0, 1) + rng.normal(0, noise, (4, height, width))
    return truth, refl.astype(np.float32)


def write_scene(
    path: Path,
    data: np.ndarray,
    descriptions: Sequence[str] | None = ("b02", "b03", "b04", "b08"),
    crs: str | None = "EPSG:32633",
    nodata: float | None = 0,
    res: float = 10.0,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write ``(band, y, x)`` as a GeoTIFF with a real CRS/transform (Brandenburg, UTM 33N)."""
    import rasterio
    from rasterio.transform import from_origin

    profile = {
        "driver": "GTiff",
        "height": data.shape[1],
        "width": data.shape[2],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "transform": from_origin(330000.0, 5822040.0, res, res),
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
        if tags:
            dst.update_tags(**tags)
    return path


def scene_dn(height: int = 200, width: int = 260, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A simulated scene as Sentinel-2 L1C digital numbers (reflectance × 10000, uint16).

    The top-left 20×30 px are no data (0). Returns ``(truth, dn)``.
    """
    truth, refl = simulate_scene(height, width, noise=0.01, seed=seed)
    dn = np.clip(np.rint(refl * 10000), 1, None).astype("uint16")
    dn[:, :20, :30] = 0
    return truth, dn


def fitted_centroid() -> SpectralCentroid:
    """The nearest-centroid classifier fitted on simulated training spectra."""
    x, y = simulate_spectra(50, noise=0.01, seed=0)
    return SpectralCentroid.fit(x, y, BANDS, list(TYPICAL_SPECTRA))


class NoisyCentroid(SpectralCentroid):
    """A stochastic classifier like MC dropout: each pass perturbs the spectra with noise
    drawn from torch's global generator, and ``mc_samples`` passes are averaged."""

    def predict_proba(self, tile: np.ndarray, mc_samples: int = 0) -> np.ndarray:
        if mc_samples <= 0:
            return super().predict_proba(tile)
        import torch

        passes = []
        for _ in range(mc_samples):
            noise = torch.randn(tile.shape, dtype=torch.float32).numpy() * 3 * self.sigma
            passes.append(super().predict_proba(tile + noise))
        return np.mean(passes, axis=0)


def noisy_centroid() -> NoisyCentroid:
    """:func:`fitted_centroid` with MC noise."""
    m = fitted_centroid()
    return NoisyCentroid(m.bands, m.classes, m.centroids, m.sigma)


class SlowCentroid(SpectralCentroid):
    """:class:`SpectralCentroid` that takes a second per tile (to interrupt a run)."""

    def predict_proba(self, tile: np.ndarray, mc_samples: int = 0) -> np.ndarray:
        import time

        time.sleep(1.0)
        return super().predict_proba(tile, mc_samples)


def truth_index(model: SpectralCentroid, truth: np.ndarray) -> np.ndarray:
    """The legend index of the true class of every pixel (``truth`` indexes ``model.classes``)."""
    from lulcbook.predict import class_values

    return class_values(model.classes)[truth]


def leftovers(folder: Path) -> list[str]:
    """Hidden files (scratch of an unfinished output set) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def local_item(folder: Path, dn: np.ndarray, day: int) -> dict:
    """A STAC item whose assets are single-band GeoTIFFs written to ``folder`` (relative hrefs)."""
    import datetime as dt

    import pystac
    import rasterio
    from pystac.extensions.projection import ProjectionExtension

    when = dt.datetime(2017, 2, day, 10, 21, 1, tzinfo=dt.UTC)
    props = {"platform": "sentinel-2b", "s2:processing_baseline": "02.04"}
    item = pystac.Item(f"S2B_T33UUU_201702{day:02d}", None, None, when, props)
    for i, b in enumerate(BANDS):
        write_scene(folder / f"{b}_{day}.tif", dn[i : i + 1], None)
        href = f"./{b}_{day}.tif"
        item.add_asset(b, pystac.Asset(href=href, media_type=pystac.MediaType.GEOTIFF))
    proj = ProjectionExtension.ext(item, add_if_missing=True)
    with rasterio.open(folder / f"B02_{day}.tif") as ds:
        proj.epsg, proj.shape, proj.transform = 32633, list(ds.shape), list(ds.transform)[:6]
    return item.to_dict(include_self_link=False)


def random_spectral_model(segment_size: float = 64.0, seed: int = 0):
    """An untrained four-band :class:`~lulcbook.models.spectral.SpectralClassifier` (grid superpixels).

    Its probabilities are arbitrary but deterministic, which is all a tiling test needs.
    """
    import torch

    from lulcbook import legend
    from lulcbook.models import spectral

    torch.manual_seed(seed)
    names = spectral.feature_names(spectral.BANDS_10M)
    net = spectral.SpectralMLP(len(names), legend.N_CLASSES, hidden=16, dropout=0.2).eval()
    return spectral.SpectralClassifier(
        bands=list(spectral.BANDS_10M), classes=list(legend.KEYS), mean=np.zeros(len(names)),
        std=np.full(len(names), 0.3), net=net, segment_size=segment_size,
    )  # fmt: skip
