"""Landsat-8 OLI → Sentinel-2 MSI translation: published band-pass adjustment and learned models.

Three translators, from the published baseline to learned ones:

* :func:`hls_bandpass` — the per-band linear band-pass adjustment of the Harmonized Landsat
  Sentinel-2 (HLS) project (Claverie et al. 2018, *Remote Sensing of Environment* 219:145–161;
  HLS Product User's Guide v1.4, Skakun et al. 2018; coefficient table at
  https://hls.gsfc.nasa.gov/algorithms/bandpass-adjustment/). HLS publishes the regression
  MSI → OLI (``OLI = slope · MSI + offset``, :data:`HLS_MSI_TO_OLI`); the OLI → MSI direction
  used here is its algebraic inverse ``MSI = (OLI − offset) / slope``, the same inversion ESA's
  sen2like processor applies to Landsat 8 (``S2L_Sbaf.get_sen2like_coef``).
* :class:`SpectralMLP` — a per-pixel MLP from OLI bands to MSI bands, trained on exactly paired
  spectra (:mod:`lulcbook.sources.spectra`).
* :class:`TranslateUNet` — a small U-Net from 30 m to 10 m (B02, B03, B04, B08), trained on
  Landsat-like inputs **simulated** from real Sentinel-2 patches (:func:`simulate_landsat`:
  HLS MSI → OLI adjustment, a Gaussian point-spread function and 3 × 3 block averaging). No
  co-located Landsat/Sentinel-2 image pairs are used anywhere: every spatial score is a score on
  simulated Landsat.

Metrics (:func:`rmse`, :func:`mae`, :func:`spectral_angle`, :func:`psnr`, :func:`ssim`) are in
reflectance units; the spectral angle (SAM, Kruse et al. 1993) is in degrees.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import torch
import torch.nn.functional as F
import xarray as xr
from scipy import ndimage
from torch import Tensor, nn

from lulcbook.bands import DEFAULT_BANDS, normalise_band
from lulcbook.progress import progress as tqdm

OLI_BANDS: tuple[str, ...] = ("coastal", "blue", "green", "red", "nir08", "swir16", "swir22")
"""Landsat-8 OLI reflective bands 1–7 by common name."""

OLI_FOR_MSI: dict[str, str] = {
    "B01": "coastal",
    "B02": "blue",
    "B03": "green",
    "B04": "red",
    "B08": "nir08",
    "B8A": "nir08",
    "B11": "swir16",
    "B12": "swir22",
}
"""The OLI band each MSI band is translated from (HLS band equivalence; B08 added, see below)."""

HLS_MSI_TO_OLI: dict[str, dict[str, tuple[float, float]]] = {
    # (slope, offset) of OLI = slope * MSI + offset, surface reflectance. HLS v1.4 User's Guide
    # (Skakun et al. 2018) bandpass-adjustment table / https://hls.gsfc.nasa.gov/algorithms/
    # bandpass-adjustment/ (Claverie et al. 2018). HLS adjusts B8A, not B08, to OLI band 5.
    "S2A": {
        "B01": (0.9959, -0.0002),
        "B02": (0.9778, -0.0040),
        "B03": (1.0053, -0.0009),
        "B04": (0.9765, 0.0009),
        "B8A": (0.9983, -0.0001),
        "B11": (0.9987, -0.0011),
        "B12": (1.0030, -0.0012),
    },
    "S2B": {
        "B01": (0.9959, -0.0002),
        "B02": (0.9778, -0.0040),
        "B03": (1.0075, -0.0008),
        "B04": (0.9761, 0.0010),
        "B8A": (0.9966, 0.0000),
        "B11": (1.0000, -0.0003),
        "B12": (0.9867, 0.0004),
    },
}
"""Published HLS band-pass adjustment coefficients, MSI → OLI, per Sentinel-2 satellite."""

HLS_APPROXIMATIONS: dict[str, str] = {"B08": "B8A"}
"""MSI bands without a published HLS coefficient and the band whose coefficients stand in.

HLS keeps the broad NIR band B08 unadjusted and harmonises the narrow NIR band B8A with OLI
band 5; translating OLI band 5 to B08 with the B8A coefficients is an approximation of this
project (B08 is broader, 785–900 nm, than B8A and OLI band 5)."""


# --------------------------------------------------------------------------- HLS baseline


def hls_coefficients(
    satellite: str = "S2A", direction: str = "oli_to_msi", bands: Sequence[str] | None = None
) -> dict[str, tuple[float, float]]:
    """Per-band ``(slope, intercept)`` of the HLS band-pass adjustment.

    Args:
        satellite: ``"S2A"`` or ``"S2B"``.
        direction: ``"msi_to_oli"`` (the published regression) or ``"oli_to_msi"`` (its inverse
            ``slope' = 1/slope``, ``intercept' = −offset/slope``).
        bands: MSI bands (default: all of :data:`OLI_FOR_MSI`); B08 uses the B8A coefficients
            (:data:`HLS_APPROXIMATIONS`).

    Raises:
        ValueError: for an unknown satellite, direction or a band without an OLI equivalent.
    """
    if satellite not in HLS_MSI_TO_OLI:
        raise ValueError(
            f"Unknown satellite {satellite!r}; expected one of {sorted(HLS_MSI_TO_OLI)}"
        )
    if direction not in {"msi_to_oli", "oli_to_msi"}:
        raise ValueError(f"Unknown direction {direction!r}; expected 'msi_to_oli' or 'oli_to_msi'")
    table = HLS_MSI_TO_OLI[satellite]
    out: dict[str, tuple[float, float]] = {}
    for b in bands if bands is not None else OLI_FOR_MSI:
        name = normalise_band(b)
        key = HLS_APPROXIMATIONS.get(name, name)
        if key not in table:
            raise ValueError(
                f"Band {name!r} has no HLS band-pass coefficient; expected one of {sorted(OLI_FOR_MSI)}"
            )
        slope, offset = table[key]
        out[name] = (slope, offset) if direction == "msi_to_oli" else (1.0 / slope, -offset / slope)
    return out


def _linear(x: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray, axis: int) -> np.ndarray:
    """``x * slope + intercept`` per band along ``axis``, as float32."""
    shape = [1] * x.ndim
    shape[axis] = -1
    out: np.ndarray = (x * slopes.reshape(shape) + intercepts.reshape(shape)).astype(np.float32)
    return out


def hls_bandpass_array(
    oli: np.ndarray,
    oli_bands: Sequence[str],
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    axis: int = 0,
) -> np.ndarray:
    """Array form of :func:`hls_bandpass`: ``oli`` has its bands (``oli_bands``) along ``axis``.

    Raises:
        ValueError: if an OLI band needed for ``bands`` is missing or the axis length differs.
    """
    oli = np.asarray(oli, dtype=np.float32)
    oli_bands = [str(b) for b in oli_bands]
    if oli.shape[axis] != len(oli_bands):
        raise ValueError(
            f"Axis {axis} has {oli.shape[axis]} bands but {len(oli_bands)} names {oli_bands}"
        )
    coef = hls_coefficients(satellite, "oli_to_msi", bands)
    need = [OLI_FOR_MSI[b] for b in coef]
    missing = [b for b in need if b not in oli_bands]
    if missing:
        raise ValueError(
            f"OLI band(s) {sorted(set(missing))} needed for {list(coef)} missing; have {oli_bands}"
        )
    x = np.take(oli, [oli_bands.index(b) for b in need], axis=axis)
    slopes = np.array([c[0] for c in coef.values()], dtype=np.float32)
    intercepts = np.array([c[1] for c in coef.values()], dtype=np.float32)
    return _linear(x, slopes, intercepts, axis)


def hls_bandpass(
    oli: xr.DataArray, bands: Sequence[str] = DEFAULT_BANDS, satellite: str = "S2A"
) -> xr.DataArray:
    """Translate OLI reflectance to Sentinel-2 MSI bands with the HLS band-pass adjustment.

    Args:
        oli: reflectance with a ``band`` dim of OLI common names (:data:`OLI_BANDS`).
        bands: the MSI bands wanted (each needs its OLI equivalent in ``oli``).
        satellite: the Sentinel-2 satellite whose coefficients are used.

    Returns:
        The same array with a ``band`` coordinate of MSI names, float32.
    """
    if "band" not in oli.dims:
        raise ValueError(f"oli needs a 'band' dimension; it has {oli.dims}")
    axis = oli.dims.index("band")
    names = [normalise_band(b) for b in bands]
    data = hls_bandpass_array(
        oli.values, [str(b) for b in oli["band"].values], names, satellite, axis
    )
    out = xr.DataArray(
        data, dims=oli.dims, coords={k: v for k, v in oli.coords.items() if "band" not in v.dims}
    )
    out = out.assign_coords(band=names)
    out.attrs = {
        **oli.attrs,
        "translation": f"HLS band-pass adjustment OLI→{satellite} (Claverie et al. 2018)",
    }
    return out


def hls_msi_to_oli_array(
    msi: np.ndarray, msi_bands: Sequence[str], satellite: str = "S2A", axis: int = 0
) -> tuple[np.ndarray, list[str]]:
    """Apply the published HLS regression MSI → OLI; returns the array and its OLI band names."""
    names = [normalise_band(b) for b in msi_bands]
    coef = hls_coefficients(satellite, "msi_to_oli", names)
    slopes = np.array([coef[b][0] for b in names], dtype=np.float32)
    intercepts = np.array([coef[b][1] for b in names], dtype=np.float32)
    return _linear(np.asarray(msi, np.float32), slopes, intercepts, axis), [
        OLI_FOR_MSI[b] for b in names
    ]


# --------------------------------------------------------------------------- metrics


def rmse(
    pred: np.ndarray, true: np.ndarray, axis: int | tuple[int, ...] | None = None
) -> float | np.ndarray:
    """Root-mean-square error (NaN ignored): a NumPy float, or an array with ``axis``."""
    sq = (np.asarray(pred, float) - np.asarray(true, float)) ** 2
    out: float | np.ndarray = np.sqrt(np.nanmean(sq, axis=axis))
    return out


def mae(
    pred: np.ndarray, true: np.ndarray, axis: int | tuple[int, ...] | None = None
) -> float | np.ndarray:
    """Mean absolute error (NaN ignored): a NumPy float, or an array with ``axis``."""
    out: float | np.ndarray = np.nanmean(
        np.abs(np.asarray(pred, float) - np.asarray(true, float)), axis=axis
    )
    return out


def spectral_angle(pred: np.ndarray, true: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spectral angle in degrees between spectra along ``axis`` (0 for identical directions).

    Spectra with a zero vector give NaN.
    """
    p, t = np.asarray(pred, float), np.asarray(true, float)
    dot = (p * t).sum(axis=axis)
    norm = np.sqrt((p * p).sum(axis=axis) * (t * t).sum(axis=axis))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norm > 0, dot / norm, np.nan)
    angle: np.ndarray = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return angle


def sam(pred: np.ndarray, true: np.ndarray, axis: int = -1) -> float:
    """Mean spectral angle (SAM) in degrees over all spectra."""
    return float(np.nanmean(spectral_angle(pred, true, axis)))


def psnr(pred: np.ndarray, true: np.ndarray, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB for reflectance with peak ``data_range``."""
    err = float(np.nanmean((np.asarray(pred, float) - np.asarray(true, float)) ** 2))
    return float("inf") if err == 0 else float(10 * math.log10(data_range**2 / err))


def ssim(pred: np.ndarray, true: np.ndarray, data_range: float | Sequence[float] = 1.0) -> float:
    """Mean structural similarity (Wang et al. 2004) of image stacks ``(..., band, y, x)``.

    Computed per image and band with scikit-image (7 × 7 window) and averaged.
    ``data_range`` may be one value or one per band.
    """
    from skimage.metrics import structural_similarity

    p = np.asarray(pred, np.float64)
    t = np.asarray(true, np.float64)
    if p.shape != t.shape or p.ndim < 3:
        raise ValueError(
            f"ssim needs two (..., band, y, x) stacks of equal shape; got {p.shape}, {t.shape}"
        )
    n_band = p.shape[-3]
    ranges = np.broadcast_to(np.asarray(data_range, float), (n_band,))
    p = p.reshape(-1, n_band, *p.shape[-2:])
    t = t.reshape(-1, n_band, *t.shape[-2:])
    vals = [
        # scikit-image leaves structural_similarity unannotated
        structural_similarity(p[i, b], t[i, b], data_range=float(ranges[b]))  # type: ignore[no-untyped-call]
        for i in range(p.shape[0])
        for b in range(n_band)
    ]
    return float(np.mean(vals))


def spectral_metrics(pred: np.ndarray, true: np.ndarray, bands: Sequence[str]) -> dict[str, Any]:
    """RMSE, MAE, SAM overall and RMSE/MAE per band of spectra ``(n, band)``."""
    pred, true = np.asarray(pred), np.asarray(true)
    return {
        "rmse": float(rmse(pred, true)),
        "mae": float(mae(pred, true)),
        "sam": sam(pred, true, axis=-1),
        "per_band": {
            str(b): {
                "rmse": float(rmse(pred[:, i], true[:, i])),
                "mae": float(mae(pred[:, i], true[:, i])),
            }
            for i, b in enumerate(bands)
        },
    }


def image_metrics(
    pred: np.ndarray, true: np.ndarray, bands: Sequence[str], data_range: float = 1.0
) -> dict[str, Any]:
    """RMSE, MAE, SAM, PSNR and SSIM of image stacks ``(sample, band, y, x)`` plus per band."""
    pred, true = np.asarray(pred, np.float32), np.asarray(true, np.float32)
    per_band = {
        str(b): {
            "rmse": float(rmse(pred[:, i], true[:, i])),
            "mae": float(mae(pred[:, i], true[:, i])),
            "psnr": psnr(pred[:, i], true[:, i], data_range),
            "ssim": ssim(pred[:, i : i + 1], true[:, i : i + 1], data_range),
        }
        for i, b in enumerate(bands)
    }
    return {
        "rmse": float(rmse(pred, true)),
        "mae": float(mae(pred, true)),
        "sam": sam(pred, true, axis=1),
        "psnr": psnr(pred, true, data_range),
        "ssim": float(np.mean([v["ssim"] for v in per_band.values()])),
        "per_band": per_band,
    }


# --------------------------------------------------------------------------- spectral MLP


class SpectralMLP(nn.Module):
    """Per-pixel translator: a linear map plus an MLP residual on standardised spectra.

    The last MLP layer starts at zero and :meth:`init_linear` sets the linear part to the
    least-squares solution, so training starts from the multivariate linear regression and the
    MLP learns the non-linear remainder.

    Args:
        in_bands: number of input (OLI) bands.
        out_bands: number of output (MSI) bands.
        hidden: hidden width.
        depth: number of hidden layers.
    """

    x_mean: Tensor
    x_std: Tensor
    y_mean: Tensor
    y_std: Tensor

    def __init__(self, in_bands: int, out_bands: int, hidden: int = 64, depth: int = 2) -> None:
        """Build the layers; see the class docstring for the arguments."""
        super().__init__()
        self.linear = nn.Linear(in_bands, out_bands)
        layers: list[nn.Module] = []
        width = in_bands
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.GELU()]
            width = hidden
        last = nn.Linear(width, out_bands)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        layers.append(last)
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("x_mean", torch.zeros(in_bands))
        self.register_buffer("x_std", torch.ones(in_bands))
        self.register_buffer("y_mean", torch.zeros(out_bands))
        self.register_buffer("y_std", torch.ones(out_bands))

    def set_scaling(self, x: np.ndarray, y: np.ndarray) -> None:
        """Store the mean/std of training inputs and targets (standardisation inside the model)."""
        for name, arr in (("x", x), ("y", y)):
            getattr(self, f"{name}_mean").copy_(
                torch.as_tensor(np.mean(arr, 0), dtype=torch.float32)
            )
            getattr(self, f"{name}_std").copy_(
                torch.as_tensor(np.std(arr, 0) + 1e-6, dtype=torch.float32)
            )

    def init_linear(self, x: np.ndarray, y: np.ndarray) -> None:
        """Set the linear part to the least-squares fit on standardised data (call after scaling)."""
        xs = (np.asarray(x, np.float64) - self.x_mean.numpy()) / self.x_std.numpy()
        ys = (np.asarray(y, np.float64) - self.y_mean.numpy()) / self.y_std.numpy()
        coef, *_ = np.linalg.lstsq(np.c_[xs, np.ones(len(xs))], ys, rcond=None)
        with torch.no_grad():
            self.linear.weight.copy_(torch.as_tensor(coef[:-1].T, dtype=torch.float32))
            self.linear.bias.copy_(torch.as_tensor(coef[-1], dtype=torch.float32))

    def forward_std(self, x: Tensor) -> Tensor:
        """Standardised prediction from raw reflectance ``(n, in_bands)``."""
        z = (x - self.x_mean) / self.x_std
        out: Tensor = self.linear(z) + self.mlp(z)
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Reflectance ``(n, out_bands)`` from reflectance ``(n, in_bands)``."""
        return self.forward_std(x) * self.y_std + self.y_mean

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        """NumPy convenience: ``(n, in_bands)`` → ``(n, out_bands)``; NaN rows stay NaN."""
        x = np.asarray(x, np.float32)
        out = np.full((x.shape[0], self.y_mean.numel()), np.nan, np.float32)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            self.eval()
            out[ok] = self(torch.as_tensor(x[ok])).numpy()
        return out


def fit_spectral_mlp(
    x: np.ndarray,
    y: np.ndarray,
    hidden: int = 64,
    depth: int = 2,
    epochs: int = 60,
    batch_size: int = 512,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    progress: bool = True,
) -> SpectralMLP:
    """Train a :class:`SpectralMLP` with Adam on the MSE of standardised targets (seeded)."""
    torch.manual_seed(seed)
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32)
    model = SpectralMLP(x.shape[1], y.shape[1], hidden, depth)
    model.set_scaling(x, y)
    model.init_linear(x, y)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    yz = (yt - model.y_mean) / model.y_std
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in tqdm(range(epochs), desc="spectral MLP", disable=not progress, leave=False):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            idx = perm[i : i + batch_size]
            loss = F.mse_loss(model.forward_std(xt[idx]), yz[idx])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            opt.step()
        sched.step()
    return model.eval()


def fit_ols(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Least-squares multivariate linear map (with intercept); returns a predict function."""
    xa = np.c_[np.asarray(x, float), np.ones(len(x))]
    coef, *_ = np.linalg.lstsq(xa, np.asarray(y, float), rcond=None)
    return lambda z: (np.c_[np.asarray(z, float), np.ones(len(z))] @ coef).astype(np.float32)


def leave_one_group_out(
    x: np.ndarray,
    y: np.ndarray,
    groups: Sequence[str],
    fit: Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]],
    progress: bool = True,
    desc: str = "folds",
) -> np.ndarray:
    """Out-of-fold predictions: for each group, ``fit`` on the others and predict it.

    Args:
        x: inputs ``(n, in)``.
        y: targets ``(n, out)``.
        groups: the group of each row (the source scene).
        fit: ``fit(x_train, y_train) -> predict(x_test)``.
        progress: show a progress bar.
        desc: the progress bar's name.

    Returns:
        ``(n, out)`` predictions, each made by a model that never saw its group.
    """
    group_of = np.asarray(groups)
    out = np.full(np.shape(y), np.nan, np.float32)
    for g in tqdm(list(dict.fromkeys(group_of.tolist())), desc=desc, disable=not progress):
        test = group_of == g
        predict = fit(x[~test], y[~test])
        out[test] = predict(x[test])
    return out


# --------------------------------------------------------------------------- simulation


def psf_sigma(
    mtf_nyquist: float, gsd: float = 30.0, pixel: float = 10.0, detector: bool = True
) -> float:
    """Standard deviation (in ``pixel`` units) of a Gaussian PSF with a given MTF at Nyquist.

    A Gaussian PSF of standard deviation σ has ``MTF(f) = exp(−2π²σ²f²)``. The target is the
    system MTF at the Nyquist frequency ``f_N = 1/(2·gsd)``. With ``detector=True`` the
    box-shaped detector footprint (modelled afterwards by block averaging, MTF ``sinc(1/2) =
    2/π`` at Nyquist) is divided out, so Gaussian × detector reproduces ``mtf_nyquist``.

    Raises:
        ValueError: if ``mtf_nyquist`` is not in (0, 1) or the detector alone is below it.
    """
    if not 0 < mtf_nyquist < 1:
        raise ValueError(f"mtf_nyquist must be in (0, 1); got {mtf_nyquist}")
    target = mtf_nyquist / (2 / math.pi) if detector else mtf_nyquist
    if target >= 1:
        raise ValueError(
            f"mtf_nyquist {mtf_nyquist} exceeds the detector MTF at Nyquist ({2 / math.pi:.3f})"
        )
    f_n = 1.0 / (2.0 * gsd)
    sigma_m = math.sqrt(-math.log(target) / (2 * math.pi**2)) / f_n
    return sigma_m / pixel


def degrade(image: np.ndarray, factor: int = 3, sigma: float = 0.0) -> np.ndarray:
    """Blur the last two axes with a Gaussian PSF and average ``factor × factor`` blocks.

    The Gaussian uses mirror boundaries (``mode="reflect"``), which keeps the sum of every image,
    and block averaging keeps it too, so the mean reflectance of each image is preserved.

    Args:
        image: ``(..., y, x)`` with ``y`` and ``x`` divisible by ``factor``.
        factor: the resolution ratio (3 for 10 m → 30 m).
        sigma: PSF standard deviation in input pixels (0: no blur).

    Raises:
        ValueError: if the image size is not divisible by ``factor``.
    """
    img = np.asarray(image, np.float32)
    h, w = img.shape[-2:]
    if h % factor or w % factor:
        raise ValueError(f"Image size {(h, w)} is not divisible by factor {factor}; pad it first")
    if sigma > 0:
        sig = (0.0,) * (img.ndim - 2) + (sigma, sigma)
        img = ndimage.gaussian_filter(img, sig, mode="reflect", truncate=4.0)
    shape = (*img.shape[:-2], h // factor, factor, w // factor, factor)
    out: np.ndarray = img.reshape(shape).mean(axis=(-3, -1)).astype(np.float32)
    return out


def _pads(size: int, factor: int) -> tuple[int, int]:
    total = -size % factor
    return total // 2, total - total // 2


def simulate_landsat(
    s2: np.ndarray,
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    mtf_nyquist: float = 0.3,
    factor: int = 3,
) -> tuple[np.ndarray, list[str]]:
    """SIMULATED Landsat-8-like 30 m reflectance from Sentinel-2 10 m reflectance.

    Steps: (1) spectral — the published HLS regression MSI → OLI (:data:`HLS_MSI_TO_OLI`; B08 via
    the B8A coefficients); (2) spatial — mirror-pad to a multiple of ``factor``, Gaussian PSF
    with the given system MTF at the 30 m Nyquist frequency (:func:`psf_sigma`), ``factor ×
    factor`` block averaging (:func:`degrade`). No sensor noise, no geometric or temporal
    mismatch and no atmosphere difference are simulated.

    Args:
        s2: ``(..., band, y, x)`` Sentinel-2 reflectance.
        bands: its band names.
        satellite: Sentinel-2 satellite of the HLS coefficients.
        mtf_nyquist: system MTF at the 30 m Nyquist frequency. The default 0.3 is an assumed
            value typical of push-broom imagers, not a calibrated OLI measurement (for OLI's
            on-orbit spatial performance see Storey et al. 2014, Remote Sensing 6:11127–11152).
        factor: resolution ratio.

    Returns:
        ``(..., oli_band, ceil(y/f), ceil(x/f))`` simulated OLI reflectance and its OLI band names.
    """
    s2 = np.asarray(s2, np.float32)
    oli, names = hls_msi_to_oli_array(s2, bands, satellite, axis=s2.ndim - 3)
    (t, b), (lft, r) = _pads(oli.shape[-2], factor), _pads(oli.shape[-1], factor)
    pad = [(0, 0)] * (oli.ndim - 2) + [(t, b), (lft, r)]
    oli = np.pad(oli, pad, mode="symmetric")
    return degrade(oli, factor, psf_sigma(mtf_nyquist, gsd=10.0 * factor)), names


def upsample_bicubic(lowres: np.ndarray, shape: tuple[int, int], factor: int = 3) -> np.ndarray:
    """Bicubic upsampling ``(..., Y, X)`` → ``(..., *shape)``, undoing :func:`simulate_landsat`'s padding.

    NaN pixels are filled with the image mean for the interpolation and set back to NaN on
    their ``factor × factor`` footprint.
    """
    lr = np.asarray(lowres, np.float32)
    lead = lr.shape[:-2]
    flat = lr.reshape(-1, 1, *lr.shape[-2:])
    nan = ~np.isfinite(flat)
    if nan.any():
        with np.errstate(invalid="ignore"):
            total = np.where(nan, 0.0, flat).sum(axis=(2, 3), keepdims=True)
            fill = np.nan_to_num(total / (~nan).sum(axis=(2, 3), keepdims=True))
        flat = np.where(nan, fill, flat).astype(np.float32)
    up = F.interpolate(
        torch.as_tensor(flat), scale_factor=factor, mode="bicubic", align_corners=False
    ).numpy()
    if nan.any():
        up[np.repeat(np.repeat(nan, factor, axis=2), factor, axis=3)] = np.nan
    (t, _), (lft, _) = _pads(shape[0], factor), _pads(shape[1], factor)
    up = up[:, :, t : t + shape[0], lft : lft + shape[1]]
    return up.reshape(*lead, *shape).astype(np.float32)


def bicubic_linear(
    oli_lowres: np.ndarray,
    oli_bands: Sequence[str],
    shape: tuple[int, int],
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    factor: int = 3,
) -> np.ndarray:
    """The spatial baseline: bicubic upsampling to 10 m plus the HLS OLI → MSI adjustment."""
    up = upsample_bicubic(oli_lowres, shape, factor)
    return hls_bandpass_array(up, oli_bands, bands, satellite, axis=up.ndim - 3)


def upsample_nearest(lowres: np.ndarray, shape: tuple[int, int], factor: int = 3) -> np.ndarray:
    """Nearest-neighbour upsampling (to show 30 m pixels on the 10 m grid), padding undone."""
    up = np.repeat(np.repeat(np.asarray(lowres), factor, axis=-2), factor, axis=-1)
    (t, _), (lft, _) = _pads(shape[0], factor), _pads(shape[1], factor)
    return up[..., t : t + shape[0], lft : lft + shape[1]]


def crop_to_valid(da: xr.DataArray, max_size: int | None = None) -> xr.DataArray:
    """Crop ``(band, y, x)`` to the bounding box of pixels valid in every band.

    With ``max_size`` the box is further cut to the window of at most that many pixels per
    side that holds the most valid pixels.

    Raises:
        ValueError: if no pixel is valid.
    """
    ok = np.isfinite(da.values).all(axis=0)
    if not ok.any():
        raise ValueError(f"No valid pixel in {da.attrs.get('source', da.name)!r}")
    rows, cols = np.flatnonzero(ok.any(axis=1)), np.flatnonzero(ok.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    if max_size is not None:
        h, w = min(max_size, r1 - r0), min(max_size, c1 - c0)
        box = ok[r0:r1, c0:c1].astype(np.int64)
        integral = np.pad(box.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        counts = (
            integral[h:, w:] - integral[:-h, w:] - integral[h:, :-w] + integral[:-h, :-w]
        )  # valid pixels of every h × w window, by its upper-left corner
        dr, dc = np.unravel_index(np.argmax(counts), counts.shape)
        r0, c0 = r0 + dr, c0 + dc
        r1, c1 = r0 + h, c0 + w
    return da.isel(y=slice(int(r0), int(r1)), x=slice(int(c0), int(c1)))


# --------------------------------------------------------------------------- spatial U-Net


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.GELU(),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.GELU(),
    )


class TranslateUNet(nn.Module):
    """Small U-Net that refines the bicubic + HLS baseline to 10 m Sentinel-2 (residual output).

    Input and output are ``(B, band, H, W)`` reflectance on the 10 m grid; the network predicts
    a correction added to its input, so an untrained network starts at the baseline.

    Args:
        bands: number of bands (input = output).
        base: channels of the first level (doubling per level).
        depth: number of down-sampling levels.
    """

    mean: Tensor
    std: Tensor

    def __init__(self, bands: int = 4, base: int = 16, depth: int = 2) -> None:
        """Build the layers; see the class docstring for the arguments."""
        super().__init__()
        self.depth = depth
        chans = [base * 2**i for i in range(depth + 1)]
        self.inc = _block(bands, chans[0])
        self.down = nn.ModuleList(_block(chans[i], chans[i + 1]) for i in range(depth))
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(chans[i + 1], chans[i], 2, stride=2) for i in reversed(range(depth))
        )
        self.dec = nn.ModuleList(_block(2 * chans[i], chans[i]) for i in reversed(range(depth)))
        self.out = nn.Conv2d(chans[0], bands, 1)
        nn.init.zeros_(self.out.weight)
        if self.out.bias is not None:
            nn.init.zeros_(self.out.bias)
        self.register_buffer("mean", torch.zeros(bands))
        self.register_buffer("std", torch.ones(bands))

    def set_scaling(self, x: np.ndarray) -> None:
        """Store per-band mean/std of training inputs ``(n, band, y, x)``."""
        self.mean.copy_(torch.as_tensor(np.nanmean(x, axis=(0, 2, 3)), dtype=torch.float32))
        self.std.copy_(torch.as_tensor(np.nanstd(x, axis=(0, 2, 3)) + 1e-6, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, band, H, W)`` → ``(B, band, H, W)``; H and W must be divisible by ``2**depth``."""
        s = self.std.view(1, -1, 1, 1)
        z = (x - self.mean.view(1, -1, 1, 1)) / s
        skips = [self.inc(z)]
        for layer in self.down:
            skips.append(layer(F.max_pool2d(skips[-1], 2)))
        h = skips.pop()
        for up, dec in zip(self.up, self.dec, strict=True):
            h = dec(torch.cat([up(h), skips.pop()], dim=1))
        out: Tensor = x + self.out(h) * s
        return out

    @torch.no_grad()
    def predict(self, x: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """Apply to ``(n, band, y, x)`` or ``(band, y, x)`` of any size (mirror-padded); NaN kept."""
        x = np.asarray(x, np.float32)
        single = x.ndim == 3
        x = x[None] if single else x
        nan = ~np.isfinite(x)
        with np.errstate(invalid="ignore"):
            total = np.where(nan, 0.0, x).sum(axis=(0, 2, 3), keepdims=True)
            fill = np.nan_to_num(total / (~nan).sum(axis=(0, 2, 3), keepdims=True))
        x = np.where(nan, fill, x).astype(np.float32)
        m = 2**self.depth
        h, w = x.shape[-2:]
        x = np.pad(x, [(0, 0), (0, 0), (0, -h % m), (0, -w % m)], mode="symmetric")
        self.eval()
        out = np.concatenate(
            [
                self(torch.as_tensor(x[i : i + batch_size])).numpy()
                for i in range(0, len(x), batch_size)
            ]
        )[:, :, :h, :w]
        out[nan] = np.nan
        return out[0] if single else out


def fit_unet(
    x: np.ndarray,
    y: np.ndarray,
    base: int = 16,
    depth: int = 2,
    epochs: int = 20,
    batch_size: int = 16,
    lr: float = 2e-3,
    crop: int | None = 32,
    seed: int = 0,
    progress: bool = True,
) -> TranslateUNet:
    """Train a :class:`TranslateUNet` (L1 loss, Adam, random crops, flips and rotations; seeded).

    Args:
        x: baseline inputs ``(n, band, H, W)`` (bicubic + HLS of simulated Landsat).
        y: Sentinel-2 targets of the same shape.
        base: channels of the first U-Net level.
        depth: number of down-sampling levels.
        epochs: passes over the training patches.
        batch_size: patches per step.
        lr: maximum learning rate of the one-cycle schedule.
        crop: side of the random training crops (``None``: whole patches); a multiple of
            ``2**depth``.
        seed: seeds initialisation, shuffling and augmentation.
        progress: show a progress bar.

    Returns:
        The trained network in eval mode.
    """
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = TranslateUNet(x.shape[1], base, depth)
    model.set_scaling(x)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = max(epochs * math.ceil(len(x) / batch_size), 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    xt, yt = torch.as_tensor(np.asarray(x, np.float32)), torch.as_tensor(np.asarray(y, np.float32))
    model.train()
    for _ in tqdm(range(epochs), desc="U-Net", disable=not progress, leave=False):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), batch_size):
            idx = perm[i : i + batch_size]
            k = int(torch.randint(4, (1,), generator=gen))
            flip = bool(torch.randint(2, (1,), generator=gen))
            xb, yb = xt[idx], yt[idx]
            if crop is not None and crop < min(xb.shape[-2:]):
                r0 = int(torch.randint(xb.shape[-2] - crop + 1, (1,), generator=gen))
                c0 = int(torch.randint(xb.shape[-1] - crop + 1, (1,), generator=gen))
                xb = xb[..., r0 : r0 + crop, c0 : c0 + crop]
                yb = yb[..., r0 : r0 + crop, c0 : c0 + crop]
            xb, yb = torch.rot90(xb, k, (2, 3)), torch.rot90(yb, k, (2, 3))
            if flip:
                xb, yb = xb.flip(3), yb.flip(3)
            loss = F.l1_loss(model(xb), yb)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
            opt.step()
            sched.step()
    return model.eval()


# --------------------------------------------------------------------------- real Landsat chips


OLI_REFLECTANCE_MULT: float = 2.0e-5
OLI_REFLECTANCE_ADD: float = -0.1
"""USGS Landsat 8 level-1 rescaling of OLI digital numbers to TOA reflectance (before the sun
angle correction), ``REFLECTANCE_MULT_BAND_n`` / ``REFLECTANCE_ADD_BAND_n`` of the MTL file;
the same for every OLI band and scene in Collection 1 and 2 (Landsat 8 Data Users Handbook)."""


def dn_to_toa(dn: xr.DataArray, sun_elevation_deg: float) -> xr.DataArray:
    """Convert OLI level-1 digital numbers to TOA reflectance, ``(M·DN + A) / sin(θ_SE)``.

    ``sun_elevation_deg`` comes from the scene's MTL file; where it is unknown, any value
    passed here is an assumption and the result is approximate (say so).
    """
    if not 0 < sun_elevation_deg <= 90:
        raise ValueError(f"sun_elevation_deg must be in (0, 90]; got {sun_elevation_deg}")
    out = (dn * OLI_REFLECTANCE_MULT + OLI_REFLECTANCE_ADD) / math.sin(
        math.radians(sun_elevation_deg)
    )
    out = out.astype("float32")
    out.attrs = {**dn.attrs, "units": "TOA reflectance", "sun_elevation_deg": sun_elevation_deg}
    return out


def to_10m_grid(da: xr.DataArray, data: np.ndarray, factor: int = 3) -> xr.DataArray:
    """Wrap ``(band, factor·y, factor·x)`` data on the ``factor``-times finer grid of ``da``."""

    def fine(c: np.ndarray) -> np.ndarray:
        step = (c[1] - c[0]) if c.size > 1 else 1.0
        sub = (np.arange(factor) - (factor - 1) / 2) * step / factor
        return (c[:, None] + sub[None, :]).ravel()

    out = xr.DataArray(
        data.astype(np.float32),
        dims=("band", "y", "x"),
        coords={"y": fine(da["y"].values), "x": fine(da["x"].values)},
    )
    if da.rio.crs is not None:
        out = out.rio.write_crs(da.rio.crs)
    return out


def translate_chip(
    oli: xr.DataArray,
    unet: TranslateUNet | Sequence[TranslateUNet] | None,
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    factor: int = 3,
) -> xr.DataArray:
    """Translate a real 30 m OLI chip to 10 m Sentinel-2-like bands.

    Bicubic upsampling + HLS OLI → MSI adjustment; then, if given, the U-Net refinement.

    Args:
        oli: ``(band, y, x)`` reflectance with OLI common band names and a CRS.
        unet: a trained :class:`TranslateUNet`, several (their outputs are averaged) or
            ``None`` for the baseline only.
        bands: the Sentinel-2 bands to produce.
        satellite: Sentinel-2 satellite of the HLS coefficients.
        factor: resolution ratio (30 m / 10 m).

    Returns:
        ``(band, 3y, 3x)`` reflectance on the 10 m grid with MSI band names and the chip's CRS.
    """
    names = [normalise_band(b) for b in bands]
    need = [OLI_FOR_MSI[b] for b in names]
    have = [str(b) for b in oli["band"].values]
    missing = [b for b in need if b not in have]
    if missing:
        raise ValueError(f"Chip lacks OLI band(s) {missing} for {names}; it has {have}")
    lr = oli.sel(band=need).values
    shape = (lr.shape[-2] * factor, lr.shape[-1] * factor)
    base = bicubic_linear(lr, need, shape, names, satellite, factor)
    models = [] if unet is None else [unet] if isinstance(unet, TranslateUNet) else list(unet)
    out = np.mean([m.predict(base) for m in models], axis=0) if models else base
    da = to_10m_grid(oli, out, factor).assign_coords(band=names)
    da.attrs = {
        **oli.attrs,
        "translation": "bicubic + HLS" + (f" + U-Net (x{len(models)})" if models else ""),
    }
    return da


# --------------------------------------------------------------------------- land-cover consistency


def classify_tiles(classifier: Any, tiles: np.ndarray, progress: bool = True) -> np.ndarray:
    """Classify tiles ``(n, band, y, x)`` with a ``SegmentClassifier``; legend-index maps.

    Returns:
        ``(n, y, x)`` uint8 legend indices (:mod:`lulcbook.legend`), ``legend.NODATA`` where
        the input is invalid.
    """
    from lulcbook import legend

    to_legend = np.array([legend.index_of(c) for c in classifier.classes], dtype=np.uint8)
    tiles = np.asarray(tiles, np.float32)
    out = np.full((tiles.shape[0], *tiles.shape[-2:]), legend.NODATA, np.uint8)
    for i in tqdm(range(tiles.shape[0]), desc="classify", disable=not progress, leave=False):
        proba = classifier.predict_proba(tiles[i])
        ok = np.isfinite(proba).all(axis=0)
        out[i][ok] = to_legend[np.argmax(proba[:, ok], axis=0)]
    return out


def map_agreement(
    reference: np.ndarray,
    maps: np.ndarray,
    points: tuple[np.ndarray, np.ndarray] | None = None,
    labels: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Agreement of class maps with reference maps, at the labelled pixels and over the patches.

    Args:
        reference: ``(n, y, x)`` legend indices (e.g. the classification of real Sentinel-2).
        maps: ``(n, y, x)`` legend indices to compare (e.g. of translated simulated Landsat).
        points: ``(rows, cols)`` of the labelled pixel of each patch (``None``: patch only).
        labels: classes over which macro-F1 is averaged (default: those in the reference).

    Returns:
        ``{"pixel": metrics, "patch": metrics}`` with
        :func:`lulcbook.evaluate.classification_metrics` (OA, macro-F1, per-class F1), both
        ignoring ``legend.NODATA``.
    """
    from lulcbook import evaluate, legend

    reference, maps = np.asarray(reference), np.asarray(maps)
    if reference.shape != maps.shape:
        raise ValueError(f"reference {reference.shape} and maps {maps.shape} differ in shape")
    out: dict[str, Any] = {}
    if points is not None:
        n = np.arange(reference.shape[0])
        r, m = reference[n, points[0], points[1]], maps[n, points[0], points[1]]
        ok = (r != legend.NODATA) & (m != legend.NODATA)
        out["pixel"] = evaluate.classification_metrics(r[ok].astype(int), m[ok].astype(int), labels)
    ok = (reference != legend.NODATA) & (maps != legend.NODATA)
    out["patch"] = evaluate.classification_metrics(
        reference[ok].astype(int), maps[ok].astype(int), labels
    )
    return out


__all__ = [
    "HLS_APPROXIMATIONS",
    "HLS_MSI_TO_OLI",
    "OLI_BANDS",
    "OLI_FOR_MSI",
    "SpectralMLP",
    "TranslateUNet",
    "bicubic_linear",
    "classify_tiles",
    "crop_to_valid",
    "degrade",
    "dn_to_toa",
    "fit_ols",
    "fit_spectral_mlp",
    "fit_unet",
    "hls_bandpass",
    "hls_bandpass_array",
    "hls_coefficients",
    "hls_msi_to_oli_array",
    "image_metrics",
    "leave_one_group_out",
    "mae",
    "map_agreement",
    "psf_sigma",
    "psnr",
    "rmse",
    "sam",
    "simulate_landsat",
    "spatial_leave_region_out",
    "spectral_angle",
    "spectral_metrics",
    "ssim",
    "to_10m_grid",
    "translate_chip",
    "upsample_bicubic",
    "upsample_nearest",
]


def spatial_leave_region_out(
    s2: np.ndarray,
    regions: Sequence[str],
    bands: Sequence[str] = DEFAULT_BANDS,
    satellite: str = "S2A",
    mtf_nyquist: float = 0.3,
    factor: int = 3,
    progress: bool = True,
    **unet_kwargs: Any,
) -> dict[str, Any]:
    """Simulate Landsat from Sentinel-2 patches and translate it back, leave-region-out.

    For every region the U-Net is trained on the patches of all other regions and applied to
    that region, so each U-Net output comes from a model that never saw its region.

    Args:
        s2: real Sentinel-2 patches ``(n, band, y, x)``.
        regions: the region of each patch.
        bands: the Sentinel-2 band names of ``s2``.
        satellite: Sentinel-2 satellite of the HLS coefficients.
        mtf_nyquist: system MTF at the 30 m Nyquist frequency of the simulation.
        factor: resolution ratio (30 m / 10 m).
        progress: show progress bars.
        **unet_kwargs: passed to :func:`fit_unet`.

    Returns:
        ``{"landsat_sim": (n, oli_band, y/3, x/3) SIMULATED Landsat, "bicubic_linear": baseline,
        "unet": out-of-region U-Net output}`` (both on the 10 m grid of ``s2``) and
        ``"models"``: the trained U-Net of each region's fold, in sorted region order.
    """
    s2 = np.asarray(s2, np.float32)
    lowres, oli_bands = simulate_landsat(s2, bands, satellite, mtf_nyquist, factor)
    base = bicubic_linear(lowres, oli_bands, s2.shape[-2:], bands, satellite, factor)
    region_of = np.asarray(regions).astype(str)
    out = np.full_like(s2, np.nan)
    models = []
    for name in tqdm(sorted(set(region_of)), desc="regions", disable=not progress):
        test = region_of == name
        models.append(fit_unet(base[~test], s2[~test], progress=progress, **unet_kwargs))
        out[test] = models[-1].predict(base[test])
    return {"landsat_sim": lowres, "bicubic_linear": base, "unet": out, "models": models}
