"""Digital numbers → reflectance: scaling presets per source and their resolution."""

from __future__ import annotations

import numpy as np

SCALING: dict[str, tuple[float, float]] = {
    "reflectance": (1.0, 0.0),
    "s2-l1c": (1e-4, 0.0),
    "s2-l2a": (1e-4, 0.0),
    "s2-l1c-n0400": (1e-4, -0.1),
    "s2-l2a-n0400": (1e-4, -0.1),
    "hls": (1e-4, 0.0),
    "landsat-c2-l2": (2.75e-5, -0.2),
}
"""``(scale, offset)`` from digital numbers to reflectance per source (``DN * scale + offset``).

* ``s2-l1c`` / ``s2-l2a``: Sentinel-2 products before processing baseline 04.00 (before
  2022-01-25): reflectance = DN / 10000.
* ``s2-l1c-n0400`` / ``s2-l2a-n0400``: baseline ≥ 04.00 adds ``RADIO_ADD_OFFSET`` /
  ``BOA_ADD_OFFSET`` = −1000: reflectance = (DN − 1000) / 10000.
* ``hls``: NASA HLS v2.0 S30/L30 surface reflectance, scale 1e-4.
* ``landsat-c2-l2``: Landsat Collection 2 Level-2 surface reflectance, 2.75e-5 and −0.2.
* ``reflectance``: the input already holds reflectance (float rasters).

Without a preset or explicit values, float rasters are taken as reflectance and integer
rasters as Sentinel-2 DN / 10000 (``s2-l1c``).
"""


def resolve_scaling(
    preset: str | None, scale: float | None, offset: float | None, dtype: str
) -> tuple[float, float]:
    """Return ``(scale, offset)``: explicit values win over the preset, the preset over defaults.

    Raises:
        ValueError: for an unknown preset.
    """
    if preset is not None and preset not in SCALING:
        raise ValueError(f"Unknown scaling preset {preset!r}; expected one of {sorted(SCALING)}")
    if preset is None:
        preset = "reflectance" if np.dtype(dtype).kind == "f" else "s2-l1c"
    s, o = SCALING[preset]
    return (s if scale is None else float(scale)), (o if offset is None else float(offset))


__all__ = ["SCALING", "resolve_scaling"]
