"""Sentinel-2 band names, resolutions and band-name handling shared by every source."""

from __future__ import annotations

from collections.abc import Sequence

S2_BANDS: tuple[str, ...] = (
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
)
"""All 13 Sentinel-2 MSI bands in the order of the ESA product."""

S2_RESOLUTION: dict[str, int] = dict(
    zip(S2_BANDS, (60, 10, 10, 10, 20, 20, 20, 10, 20, 60, 60, 20, 20), strict=True)
)
"""Ground sampling distance (m) of each band of :data:`S2_BANDS`."""

DEFAULT_BANDS: tuple[str, ...] = ("B02", "B03", "B04", "B08")
"""The four 10 m bands that every imagery source of the project shares."""

EUROSAT_BAND_ORDER: tuple[str, ...] = (*(b for b in S2_BANDS if b != "B8A"), "B8A")
"""Band order inside the EuroSAT-MS GeoTIFFs (B8A last, as in the EuroSAT release)."""

NORMALISED_DIFFERENCES: dict[str, tuple[str, str]] = {
    "ndvi": ("B08", "B04"),
    "ndwi": ("B03", "B08"),
    "blue_red": ("B02", "B04"),
    "green_red": ("B03", "B04"),
    "mndwi": ("B03", "B11"),
    "ndbi": ("B11", "B08"),
    "nbr": ("B08", "B12"),
    "swir_nd": ("B11", "B12"),
    "ndre": ("B08", "B05"),
    "ndre3": ("B07", "B05"),
}
"""Spectral indices as normalised differences ``(a − b) / (a + b)`` of two bands."""


def normalise_band(name: str) -> str:
    """Return the canonical Sentinel-2 name of ``name`` (case-insensitive, ``b2`` → ``B02``).

    Raises:
        ValueError: if ``name`` is not a Sentinel-2 band.
    """
    n = str(name).strip().upper()
    if n.startswith("B") and n[1:].isdigit() and len(n) == 2:
        n = f"B0{n[1]}"
    if n not in S2_BANDS:
        raise ValueError(f"Unknown band {name!r}; expected one of {S2_BANDS}")
    return n


def select_bands(
    available: Sequence[str], wanted: Sequence[str], source: str = "input"
) -> list[int]:
    """Return the positions of ``wanted`` bands in ``available`` (matched case-insensitively).

    Raises:
        ValueError: naming the missing bands and the source they were looked for in.
    """
    canon = [normalise_band(b) for b in available]
    want = [normalise_band(b) for b in wanted]
    missing = [b for b in want if b not in canon]
    if missing:
        raise ValueError(f"Band(s) {missing} missing in {source}; it has {canon}")
    return [canon.index(b) for b in want]
