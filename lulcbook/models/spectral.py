"""Spectral map model: an MLP trained on the LUCAS annual band medians, applied to superpixels.

The continental LUCAS 2018 table (:mod:`lulcbook.sources.elc10`) gives 66,678 labelled points
with annual Sentinel-2 L1C band medians. :class:`SpectralClassifier` learns from those
medians, restricted to the bands a scene has (e.g. B02, B03, B04, B08, which every sample
scene shares, or all nine of B02–B08, B11, B12), plus normalised-difference indices computed
by the *same* function (:func:`spectral_features`) at training and at map time. A scene tile
is over-segmented with SLIC (:func:`lulcbook.graphs.segment`), each superpixel's mean
reflectance is classified and the probabilities are painted back onto its pixels; with
``segment_size=0`` every pixel is classified on its own.

Input harmonisation (choices measured in notebook 07-maps):

* ``augment`` at training time: each training copy gets a random gain (illumination, season)
  and a random additive offset along :data:`PATH_PROFILE` (the shape of an atmospheric path
  reflectance: strongest in the blue, negligible in the SWIR), covering both surface (L2A,
  offset < 0) and hazy top-of-atmosphere inputs (offset > 0);
* ``offset`` at map time: a fixed per-band value added to the input (e.g. :data:`PATH_PROFILE`
  to bring L2A surface reflectance towards L1C top-of-atmosphere values).

Climate input (optional, ``climate=`` of :func:`train_spectral`): the WorldClim 2.1 BIO1–19
vector of each training point, standardised and appended to the spectral features, so that the
model learns how the spectra of a class, and the classes themselves, vary with climate. Such a
model needs the climate of what it classifies (``climate=`` of the ``predict_*`` methods): one
vector for a whole tile, one per row, or one per pixel (``(19, y, x)``, averaged over each
superpixel like the reflectance). On a map the per-pixel climate comes from the pixels'
coordinates (:meth:`SpectralClassifier.climate_layers` with a
:class:`lulcbook.climate_field.ClimateField` attached by :meth:`SpectralClassifier.with_climate`),
so a superpixel gets the same climate in every tile. Its effect under spatially blocked
cross-validation is measured in :mod:`lulcbook.experiments.map_climate`.

The model implements the :class:`lulcbook.predict.TileClassifier` protocol and is saved as a
plain dictionary of tensors and JSON-able values (``torch.load(..., weights_only=True)``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from lulcbook import legend, superpixels
from lulcbook.bands import NORMALISED_DIFFERENCES
from lulcbook.graphs import fill_invalid, segment
from lulcbook.models.bundle import Bundle
from lulcbook.models.mc_dropout import mc_softmax

if TYPE_CHECKING:
    import pandas as pd
    from affine import Affine

    from lulcbook.climate_field import ClimateField

FORMAT: str = "lulcbook.spectral/1"

BANDS_ALL: tuple[str, ...] = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B11", "B12")
"""Bands the LUCAS table carries (annual L1C medians)."""

BANDS_10M: tuple[str, ...] = ("B02", "B03", "B04", "B08")
"""The four 10 m bands every sample scene shares (and the bands the grid segmentation uses)."""

SEGMENTATIONS: tuple[str, ...] = ("grid", "slic")
"""Superpixel methods of :class:`SpectralClassifier` (see the module docstring)."""

PATH_PROFILE: dict[str, float] = {
    "B02": 0.040,
    "B03": 0.025,
    "B04": 0.015,
    "B05": 0.012,
    "B06": 0.009,
    "B07": 0.008,
    "B08": 0.006,
    "B11": 0.002,
    "B12": 0.001,
}
"""Approximate TOA − BOA reflectance of a clear mid-latitude atmosphere (Rayleigh-dominated,
falling steeply with wavelength). Used as the *shape* of the augmentation offsets and as an
optional map-time offset; its effect is measured on the references, not assumed."""

REFLECTANCE_FLOOR: float = 1e-3

MC_SEED: int = 0
"""Seed of the table of dropout masks of :meth:`SpectralClassifier.predict_keyed`."""

MC_TABLE: int = 4096
"""Number of mask sets in that table."""


@functools.lru_cache(maxsize=4)
def _mask_table(mc_samples: int, width: int, dropout: float) -> torch.Tensor:
    """The dropout masks of :meth:`SpectralClassifier.predict_keyed`, drawn once per setting.

    ``(MC_TABLE, mc_samples, 2, width)`` booleans (kept units) from :data:`MC_SEED`.
    """
    gen = torch.Generator().manual_seed(MC_SEED)
    return torch.rand((MC_TABLE, mc_samples, 2, width), generator=gen) >= dropout


def _row_keys(values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's exact float64 bytes (non-negative int64)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)
    primes = np.array([0x9E3779B97F4A7C15 >> i for i in range(bits.shape[1])], dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = bits * primes[None, :]
        h = np.bitwise_xor.reduce(mixed ^ (mixed >> np.uint64(29)), axis=1)
    keys: np.ndarray = (h >> np.uint64(1)).astype(np.int64)
    return keys


def feature_names(bands: Sequence[str]) -> list[str]:
    """Names of the features :func:`spectral_features` computes for ``bands``."""
    b = set(bands)
    names = [f"log_{x}" for x in bands]
    names += [k for k, (a, c) in NORMALISED_DIFFERENCES.items() if a in b and c in b]
    return [*names, "log_brightness"]


def spectral_features(refl: np.ndarray, bands: Sequence[str]) -> np.ndarray:
    """Features of reflectance vectors: log10 bands, normalised differences, brightness.

    Args:
        refl: ``(n, n_bands)`` reflectance, columns in the order of ``bands``.
        bands: Sentinel-2 band names.

    Returns:
        ``(n, n_features)`` float32 (:func:`feature_names`).

    Raises:
        ValueError: a shape that does not match ``bands`` or an unknown band.
    """
    refl = np.asarray(refl, dtype=np.float64)
    if refl.ndim != 2 or refl.shape[1] != len(bands):
        raise ValueError(
            f"reflectance must be (n, {len(bands)}) for bands {list(bands)}; got {refl.shape}"
        )
    unknown = [b for b in bands if b not in BANDS_ALL]
    if unknown:
        raise ValueError(f"bands {unknown} are not in the LUCAS table's bands {BANDS_ALL}")
    r = np.clip(refl, REFLECTANCE_FLOOR, None)
    col = {b: r[:, i] for i, b in enumerate(bands)}
    feats = [np.log10(r)]
    for a, c in (p for p in NORMALISED_DIFFERENCES.values() if p[0] in col and p[1] in col):
        feats.append(((col[a] - col[c]) / (col[a] + col[c]))[:, None])
    feats.append(np.log10(r.mean(axis=1))[:, None])
    return np.concatenate(feats, axis=1).astype(np.float32)


def seasonal_reflectance(refl: np.ndarray, bands: Sequence[str], ndvi: np.ndarray) -> np.ndarray:
    """Move each annual median towards one season: set the NIR so that NDVI equals ``ndvi``.

    The LUCAS table carries seasonal NDVI medians per point (winter, spring, summer, fall)
    but only annual band medians. This copy keeps the visible and SWIR medians and sets
    B08 = B04 · (1 + ndvi) / (1 − ndvi); B06 and B07 follow B08's relative change. Rows with
    a non-finite ``ndvi`` are returned unchanged.

    Raises:
        ValueError: if B04 or B08 is not among ``bands``.
    """
    if "B04" not in bands or "B08" not in bands:
        raise ValueError(f"seasonal copies need B04 and B08; bands are {list(bands)}")
    out = np.array(refl, dtype=np.float64, copy=True)
    red, nir = out[:, list(bands).index("B04")], out[:, list(bands).index("B08")]
    n = np.clip(np.asarray(ndvi, dtype=np.float64), -0.9, 0.95)
    ok = np.isfinite(n)
    new_nir = np.where(ok, np.clip(red * (1 + n) / (1 - n), 0.005, 0.9), nir)
    ratio = new_nir / np.clip(nir, REFLECTANCE_FLOOR, None)
    for b in ("B06", "B07"):
        if b in bands:
            out[:, list(bands).index(b)] *= ratio
    out[:, list(bands).index("B08")] = new_nir
    return out


def augment_reflectance(
    refl: np.ndarray,
    bands: Sequence[str],
    rng: np.random.Generator,
    gain: tuple[float, float] = (0.8, 1.25),
    offset: tuple[float, float] = (-1.2, 2.0),
    seasons: np.ndarray | None = None,
) -> np.ndarray:
    """Random gain (log-uniform) and path-shaped offset (:data:`PATH_PROFILE` × U(offset)).

    With ``seasons`` (``(n, k)`` seasonal NDVI per row), each row is first moved to one
    randomly chosen season (:func:`seasonal_reflectance`).
    """
    n = refl.shape[0]
    if seasons is not None:
        seasons = np.asarray(seasons, dtype=np.float64)
        pick = seasons[np.arange(n), rng.integers(0, seasons.shape[1], size=n)]
        refl = seasonal_reflectance(refl, bands, pick)
    g = np.exp(rng.uniform(np.log(gain[0]), np.log(gain[1]), size=(n, 1)))
    s = rng.uniform(offset[0], offset[1], size=(n, 1))
    profile = np.array([PATH_PROFILE[b] for b in bands])[None, :]
    result: np.ndarray = np.clip(refl * g + s * profile, REFLECTANCE_FLOOR, None)
    return result


def standardise_climate(climate: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardised climate ``(n, k)`` float32; a missing value becomes 0 (the training mean)."""
    z = (np.asarray(climate, dtype=np.float64) - mean) / std
    result: np.ndarray = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return result


class SpectralMLP(nn.Module):
    """Two hidden layers with dropout (kept for Monte-Carlo dropout at map time)."""

    def __init__(self, n_in: int, n_classes: int, hidden: int = 128, dropout: float = 0.2) -> None:
        """Build the layers; the arguments are described in the class docstring."""
        super().__init__()
        self.hidden, self.dropout = int(hidden), float(dropout)
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(n, n_classes)``."""
        result: torch.Tensor = self.net(x)
        return result


@dataclass
class SpectralClassifier(Bundle):
    """LUCAS-trained spectral classifier of superpixel (or pixel) mean reflectance.

    Attributes:
        bands: input bands (order of the tile's first axis).
        classes: legend key of each output.
        mean, std: feature standardisation.
        net: the MLP.
        segment_size: mean superpixel size in pixels (0 = per pixel); the grid segmentation's
            cell is ``round(√segment_size)`` pixels.
        compactness: SLIC compactness (reflectance units).
        offset: per-band value added to the input before classification (harmonisation).
        info: training description and metrics (JSON-able).
        segmentation: ``"grid"`` or ``"slic"`` (:data:`SEGMENTATIONS`).
        iterations: SLIC iterations of the grid segmentation.
        coarsen: the grid segmentation runs on block means of this many pixels a side when the
            cell is at least four blocks wide (2: 20 m blocks of a 10 m scene).
        climate_mean, climate_std: standardisation of the climate input (WorldClim BIO1–19),
            ``None`` for a model without climate input.
        climate_field: where a model with climate input looks up the climate of a map's pixels
            (:meth:`with_climate`); not saved with the model.
    """

    FORMAT: ClassVar[str] = FORMAT
    bands: list[str]
    classes: list[str]
    mean: np.ndarray
    std: np.ndarray
    net: SpectralMLP
    segment_size: float = 64.0
    compactness: float = 0.05
    offset: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    segmentation: str = "grid"
    iterations: int = 3
    coarsen: int = 2
    climate_mean: np.ndarray | None = None
    climate_std: np.ndarray | None = None
    climate_field: ClimateField | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse an unknown segmentation or a grid that cannot be built."""
        if self.segmentation not in SEGMENTATIONS:
            raise ValueError(
                f"segmentation must be one of {SEGMENTATIONS}; got {self.segmentation!r}"
            )
        if self.segmentation == "grid" and self.segment_size > 1:
            superpixels.check_grid(*self.grid(), self.iterations)

    def grid(self) -> tuple[int, int]:
        """``(cell, coarsen)`` of the grid segmentation: the cell edge in pixels and the block size."""
        cell = max(1, round(float(np.sqrt(self.segment_size))))
        coarsen = self.coarsen if cell % self.coarsen == 0 and cell // self.coarsen >= 4 else 1
        return cell, coarsen

    @property
    def context_px(self) -> int:
        """Margin (pixels) a tile needs for its core to equal the whole map (0: no such margin).

        Exact for the grid segmentation and per-pixel classification; SLIC on a tile depends on
        the whole tile, so no margin makes it exact and this is 0.
        """
        if self.segment_size <= 1:
            return 0
        if self.segmentation == "grid":
            return superpixels.context_px(self.grid()[0], self.iterations)
        return 0

    @property
    def uses_climate(self) -> bool:
        """Whether the model takes the WorldClim BIO1–19 vector as input."""
        return self.climate_mean is not None

    def with_climate(self, climate_field: ClimateField) -> SpectralClassifier:
        """A copy that looks up the climate of a map's pixels in ``climate_field``.

        Raises:
            ValueError: a model without climate input.
        """
        if not self.uses_climate:
            raise ValueError("this model has no climate input; it needs no climate raster")
        return SpectralClassifier(**{**self.__dict__, "climate_field": climate_field})

    def climate_layers(
        self, crs: Any, transform: Affine, shape: tuple[int, int]
    ) -> np.ndarray | None:
        """BIO1–19 ``(19, h, w)`` of a window's pixels; ``None`` for a model without climate input.

        Raises:
            ValueError: a model with climate input, no raster attached and no default one
                (:meth:`resolved_climate_field`).
        """
        if not self.uses_climate:
            return None
        return self.resolved_climate_field().layers(crs, transform, shape)

    def resolved_climate_field(self) -> ClimateField:
        """The raster the model maps with: the attached one, else the default one.

        Raises:
            ValueError: no raster attached and the default one
                (:func:`lulcbook.climate_field.default_field`) missing.
        """
        if self.climate_field is not None:
            return self.climate_field
        from lulcbook import climate_field

        try:
            return climate_field.default_field()
        except climate_field.ClimateFieldError as err:
            raise ValueError(
                "this model takes the WorldClim BIO1-19 climate of each pixel and has no climate "
                f"raster attached (with_climate, or --climate of the map commands); {err}"
            ) from None

    def features(self, refl: np.ndarray, climate: np.ndarray | None = None) -> np.ndarray:
        """Standardised features of ``(n, n_bands)`` reflectance (after the input offset).

        Args:
            refl: reflectance vectors.
            climate: BIO1–19 of the rows, ``(n, 19)`` or one ``(19,)`` vector for every row;
                required by a model with climate input and refused by one without.

        Raises:
            ValueError: climate given to a model without climate input, missing for one with
                it, or of the wrong length.
        """
        add = np.array([self.offset.get(b, 0.0) for b in self.bands], dtype=np.float64)
        refl = np.asarray(refl, dtype=np.float64)
        f = spectral_features(refl + add[None, :], self.bands)
        result: np.ndarray = ((f - self.mean) / self.std).astype(np.float32)
        if self.climate_mean is None or self.climate_std is None:
            if climate is not None:
                raise ValueError("this model has no climate input; classify without climate=")
            return result
        if climate is None:
            raise ValueError(
                f"this model takes the WorldClim BIO1-19 vector ({len(self.climate_mean)} values) "
                "as input; pass climate= (lulcbook.sources.worldclim.sample_climate)"
            )
        c = np.asarray(climate, dtype=np.float64)
        c = np.broadcast_to(c, (len(refl), c.shape[-1])) if c.ndim == 1 else c
        if c.shape != (len(refl), len(self.climate_mean)):
            raise ValueError(
                f"climate must be ({len(self.climate_mean)},) or ({len(refl)}, "
                f"{len(self.climate_mean)}); got {np.shape(climate)}"
            )
        z = standardise_climate(c, self.climate_mean, self.climate_std)
        return np.hstack([result, z])

    def predict_vectors(
        self, refl: np.ndarray, mc_samples: int = 0, climate: np.ndarray | None = None
    ) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of reflectance vectors ``(n, n_bands)``.

        ``climate``: see :meth:`features`.
        """
        x = torch.from_numpy(self.features(refl, climate))
        return mc_softmax(self.net, lambda: self.net(x), mc_samples).numpy()

    @torch.no_grad()
    def predict_keyed(
        self, refl: np.ndarray, mc_samples: int, climate: np.ndarray | None = None
    ) -> np.ndarray:
        """MC-dropout probabilities ``(n, n_classes)`` whose draws depend only on each row's values.

        Every row gets the dropout masks of entry ``hash(row) mod`` :data:`MC_TABLE` of a table
        drawn once from :data:`MC_SEED`, so a superpixel gets the same draws, and the same
        probabilities, whichever tile, scene or cell it is predicted in (its mean reflectance is
        bit-identical there, see :mod:`lulcbook.superpixels`).
        """
        x = torch.from_numpy(self.features(refl, climate))
        layers = [m for m in self.net.net if isinstance(m, nn.Linear)]
        width, p = self.net.hidden, self.net.dropout
        table = _mask_table(mc_samples, width, p)
        masks = table[torch.from_numpy(_row_keys(refl) % MC_TABLE)].transpose(0, 1).float()
        h = torch.relu(layers[0](x))[None] * masks[:, :, 0] / (1 - p)
        h = torch.relu(layers[1](h)) * masks[:, :, 1] / (1 - p)
        result: np.ndarray = torch.softmax(layers[2](h), dim=-1).mean(0).numpy()
        return result

    def segments(
        self,
        tile: np.ndarray,
        origin: tuple[int, int] = (0, 0),
        valid: np.ndarray | None = None,
    ) -> np.ndarray:
        """Superpixel labels ``(y, x)`` of a ``(band, y, x)`` tile (NaN = invalid).

        Args:
            tile: reflectance in the order of :attr:`bands`.
            origin: ``(row, col)`` of the tile's first pixel on the map grid (grid segmentation).
            valid: ``(y, x)`` pixels with every band finite, if the caller has it already.
        """
        _, h, w = tile.shape
        if not self.segment_size or self.segment_size <= 1:
            return np.arange(h * w, dtype=np.int64).reshape(h, w)
        if self.segmentation == "grid":
            use = [i for i, b in enumerate(self.bands) if b in BANDS_10M] or list(
                range(len(self.bands))
            )
            if valid is None:
                valid = np.isfinite(tile).all(axis=0)
            cell, coarsen = self.grid()
            return superpixels.grid_slic(
                tile[use], cell, self.compactness, self.iterations, coarsen, origin, valid
            )
        filled, _ = fill_invalid(tile)
        return segment(filled, "slic", self.segment_size, self.compactness).astype(np.int64)

    def shared_segments(self, series: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """One segmentation for every date of a ``(time, band, y, x)`` series of one place.

        The superpixels are those of the per-pixel median over the dates where the pixel is
        valid (NaN where it is valid on none), so a parcel keeps its segment from date to date:
        a change of class between two dates is then a change of the parcel's mean spectrum,
        not of where the segment boundaries fell on each date.

        Raises:
            ValueError: a series that is not ``(time, band, y, x)`` in the order of :attr:`bands`.
        """
        series = np.asarray(series, dtype=np.float32)
        if series.ndim != 4 or series.shape[1] != len(self.bands):
            raise ValueError(
                f"series must be (time, {len(self.bands)}, y, x) for bands {self.bands}; "
                f"got {series.shape}"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pixels masked on every date
            median = np.nanmedian(series, axis=0)
        return self.segments(median, origin)

    def predict_segments(
        self,
        tile: np.ndarray,
        mc_samples: int = 0,
        origin: tuple[int, int] = (0, 0),
        labels: np.ndarray | None = None,
        climate: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities of each superpixel of a tile and where the superpixels are.

        Args:
            tile: ``(band, y, x)`` reflectance in the order of :attr:`bands`; NaN = invalid.
            mc_samples: Monte-Carlo dropout samples (0 = deterministic).
            origin: ``(row, col)`` of the tile's first pixel on the map grid.
            labels: ``(y, x)`` superpixels to use instead of the tile's own (e.g.
                :meth:`shared_segments` of a series).
            climate: for a model with climate input, the tile's BIO1–19: one ``(19,)`` vector,
                or ``(19, y, x)`` per pixel (averaged over each superpixel's valid pixels).

        Returns:
            ``(index, proba)``: ``index`` ``(y, x)`` is the row of ``proba`` ``(n, n_classes)``
            of each pixel, -1 where the pixel is invalid.

        Raises:
            ValueError: a tile of other bands, or ``labels`` of another shape.
        """
        tile = self._check_tile(tile)
        valid = np.isfinite(tile).all(axis=0)
        if labels is None:
            labels = self.segments(tile, origin, valid)
        elif labels.shape != valid.shape:
            raise ValueError(f"labels {labels.shape} do not match the tile {valid.shape}")
        means, index, _ = superpixels.segment_means(tile, labels, valid)
        if climate is not None and np.ndim(climate) == 3:
            if np.shape(climate)[1:] != valid.shape:
                raise ValueError(
                    f"climate {np.shape(climate)} does not match the tile {tile.shape}"
                )
            climate = superpixels.segment_means(np.asarray(climate), labels, valid)[0]
        if len(means) == 0:
            return index, np.zeros((0, len(self.classes)), dtype=np.float32)
        if mc_samples > 0:
            return index, self.predict_keyed(means, mc_samples, climate)
        return index, self.predict_vectors(means, climate=climate)

    def predict_proba(
        self,
        tile: np.ndarray,
        mc_samples: int = 0,
        origin: tuple[int, int] = (0, 0),
        labels: np.ndarray | None = None,
        climate: np.ndarray | None = None,
    ) -> np.ndarray:
        """Class probabilities ``(n_classes, y, x)`` of a ``(band, y, x)`` tile; NaN where invalid.

        ``labels``, ``climate``: as in :meth:`predict_segments`.
        """
        index, p = self.predict_segments(tile, mc_samples, origin, labels, climate)
        out = np.full((len(self.classes), *index.shape), np.nan, dtype=np.float32)
        valid = index >= 0
        out[:, valid] = p[index[valid]].T
        return out

    def _check_tile(self, tile: np.ndarray) -> np.ndarray:
        tile = np.asarray(tile, dtype=np.float32)
        if tile.ndim != 3 or tile.shape[0] != len(self.bands):
            raise ValueError(
                f"tile must be ({len(self.bands)}, y, x) for bands {self.bands}; got {tile.shape}"
            )
        return tile

    # ------------------------------------------------------------------ persistence
    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the model: tensors and JSON-able values only."""
        return {
            "format": self.FORMAT,
            "bands": list(self.bands),
            "classes": list(self.classes),
            "mean": torch.from_numpy(np.asarray(self.mean, dtype=np.float32)),
            "std": torch.from_numpy(np.asarray(self.std, dtype=np.float32)),
            "state_dict": self.net.state_dict(),
            "hidden": self.net.hidden,
            "dropout": self.net.dropout,
            "segment_size": float(self.segment_size),
            "compactness": float(self.compactness),
            "offset": {k: float(v) for k, v in self.offset.items()},
            "info": self.info,
            "segmentation": self.segmentation,
            "iterations": int(self.iterations),
            "coarsen": int(self.coarsen),
        } | self._climate_state()

    def _climate_state(self) -> dict[str, Any]:
        if self.climate_mean is None or self.climate_std is None:
            return {}
        return {
            "climate_mean": torch.from_numpy(np.asarray(self.climate_mean, dtype=np.float64)),
            "climate_std": torch.from_numpy(np.asarray(self.climate_std, dtype=np.float64)),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SpectralClassifier:
        """Rebuild the model from :meth:`state` (as read by :meth:`~Bundle.load`)."""
        bands = list(state["bands"])
        cm, cs = state.get("climate_mean"), state.get("climate_std")
        n_climate = 0 if cm is None else len(cm)
        net = SpectralMLP(
            len(feature_names(bands)) + n_climate,
            len(state["classes"]),
            state["hidden"],
            state["dropout"],
        )
        net.load_state_dict(state["state_dict"])
        net.eval()
        return cls(
            bands=bands,
            classes=list(state["classes"]),
            mean=state["mean"].numpy(),
            std=state["std"].numpy(),
            net=net,
            segment_size=state["segment_size"],
            compactness=state["compactness"],
            offset=dict(state["offset"]),
            info=dict(state["info"]),
            # models saved before the grid segmentation used scikit-image's SLIC
            segmentation=str(state.get("segmentation", "slic")),
            iterations=int(state.get("iterations", 3)),
            coarsen=int(state.get("coarsen", 2)),
            climate_mean=None if cm is None else cm.numpy(),
            climate_std=None if cs is None else cs.numpy(),
        )


SEASON_COLUMNS: tuple[str, ...] = ("ndvi_winter", "ndvi_spring", "ndvi_summer", "ndvi_fall")
"""Seasonal NDVI medians of the LUCAS table (index × 1000) used for seasonal copies."""


def lucas_arrays(
    df: pd.DataFrame, bands: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training arrays from an ELC10 table (:func:`lulcbook.sources.elc10.read_elc10`).

    Returns:
        ``(reflectance (n, n_bands), legend indices (n,), seasonal NDVI (n, 4))``.

    Raises:
        lulcbook.sources.elc10.MissingColumnsError: a band or season column is missing.
    """
    from lulcbook.sources import elc10

    elc10.check_columns(df, list(SEASON_COLUMNS) + ["label_index"], "LUCAS table")
    refl = elc10.s2_reflectance(df)[list(bands)].to_numpy(np.float64)
    seasons = df[list(SEASON_COLUMNS)].to_numpy(np.float64) / 1000.0
    return refl, df["label_index"].to_numpy(np.int64), seasons


def train_spectral(
    refl: np.ndarray,
    labels: np.ndarray,
    bands: Sequence[str],
    *,
    augment: bool = True,
    copies: int = 2,
    hidden: int = 128,
    dropout: float = 0.2,
    epochs: int = 12,
    batch_size: int = 512,
    lr: float = 3e-3,
    seed: int = 0,
    segment_size: float = 64.0,
    compactness: float = 0.05,
    segmentation: str = "grid",
    iterations: int = 3,
    offset: dict[str, float] | None = None,
    seasons: np.ndarray | None = None,
    info: dict[str, Any] | None = None,
    climate: np.ndarray | None = None,
) -> SpectralClassifier:
    """Train a :class:`SpectralClassifier` on reflectance vectors and legend indices.

    Args:
        refl: ``(n, n_bands)`` TOA reflectance (LUCAS annual medians), columns = ``bands``.
        labels: ``(n,)`` legend indices (:data:`lulcbook.legend.KEYS`).
        bands: band names.
        augment: add ``copies`` augmented copies (:func:`augment_reflectance`) to the originals.
        copies: number of augmented copies.
        hidden: MLP hidden width.
        dropout: MLP dropout rate.
        epochs: Adam training epochs.
        batch_size: Adam mini-batch size.
        lr: Adam learning rate.
        seed: seeds NumPy and torch.
        segment_size: map-time mean superpixel size in pixels (0 = per pixel).
        compactness: map-time SLIC compactness (reflectance units).
        segmentation: map-time superpixels, ``"grid"`` or ``"slic"`` (:data:`SEGMENTATIONS`).
        iterations: SLIC iterations of the grid segmentation.
        offset: map-time input offset per band.
        seasons: ``(n, k)`` seasonal NDVI per point; augmented copies are moved to a random
            season (:func:`seasonal_reflectance`).
        info: stored with the model.
        climate: ``(n, 19)`` WorldClim BIO1–19 of the points: the model then takes the climate
            vector as input (NaN = unknown, standardised to the training mean).

    Raises:
        ValueError: mismatched shapes or labels outside the legend.
    """
    refl = np.asarray(refl, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if refl.shape[0] != labels.shape[0]:
        raise ValueError(f"{refl.shape[0]} reflectance rows but {labels.shape[0]} labels")
    if labels.size == 0 or labels.min() < 0 or labels.max() >= legend.N_CLASSES:
        raise ValueError(f"labels must be legend indices 0..{legend.N_CLASSES - 1}")
    if climate is not None and np.shape(climate)[0] != refl.shape[0]:
        raise ValueError(
            f"{refl.shape[0]} reflectance rows but {np.shape(climate)[0]} climate rows"
        )
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    x_parts, y_parts = [refl], [labels]
    if augment:
        for _ in range(copies):
            x_parts.append(augment_reflectance(refl, bands, rng, seasons=seasons))
            y_parts.append(labels)
    feats = spectral_features(np.concatenate(x_parts), bands)
    y = np.concatenate(y_parts)
    mean = feats.mean(0)
    std = feats.std(0) + 1e-6
    z = ((feats - mean) / std).astype(np.float32)
    c_mean = c_std = None
    if climate is not None:
        c = np.asarray(climate, dtype=np.float64)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a variable missing everywhere
            c_mean, c_std = np.nanmean(c, axis=0), np.nanstd(c, axis=0) + 1e-6
        c_mean, c_std = np.nan_to_num(c_mean), np.nan_to_num(c_std, nan=1.0)
        cz = standardise_climate(c, c_mean, c_std)
        z = np.hstack([z, np.concatenate([cz] * len(x_parts))])
    x = torch.from_numpy(z)
    yt = torch.from_numpy(y)
    net = SpectralMLP(x.shape[1], legend.N_CLASSES, hidden, dropout)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=epochs * int(np.ceil(len(y) / batch_size))
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad()
            loss = loss_fn(net(x[idx]), yt[idx])
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    return SpectralClassifier(
        bands=list(bands),
        classes=list(legend.KEYS),
        mean=mean,
        std=std,
        net=net,
        segment_size=segment_size,
        compactness=compactness,
        segmentation=segmentation,
        iterations=iterations,
        offset=dict(offset or {}),
        info=dict(info or {}),
        climate_mean=c_mean,
        climate_std=c_std,
    )


__all__ = [
    "BANDS_10M",
    "BANDS_ALL",
    "MC_SEED",
    "MC_TABLE",
    "PATH_PROFILE",
    "SEGMENTATIONS",
    "SpectralClassifier",
    "SpectralMLP",
    "augment_reflectance",
    "seasonal_reflectance",
    "standardise_climate",
    "feature_names",
    "lucas_arrays",
    "spectral_features",
    "train_spectral",
]
