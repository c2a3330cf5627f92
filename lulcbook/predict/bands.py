"""Band names of scene inputs: canonical spelling, matching to a model's bands, uniqueness.

Sentinel-2 names are normalised by :func:`lulcbook.bands.normalise_band` (``b2`` → ``B02``);
other names (mask bands such as ``SCL`` or ``Fmask``) are compared upper-cased.
"""

from __future__ import annotations

from collections.abc import Sequence

from lulcbook.bands import normalise_band


def canonical_band(name: str) -> str:
    """Canonical band name: Sentinel-2 names normalised (``b2`` → ``B02``), others upper-cased."""
    try:
        return normalise_band(name)
    except ValueError:
        return str(name).strip().upper()


def match_bands(available: Sequence[str | None], wanted: Sequence[str], source: str) -> list[int]:
    """Return the positions of ``wanted`` in ``available``, matched case-insensitively.

    Raises:
        ValueError: naming the missing band(s) and ``source``.
    """
    canon = [canonical_band(b) if b else None for b in available]
    missing = [b for b in wanted if canonical_band(b) not in canon]
    if missing:
        have = [c for c in canon if c]
        raise ValueError(f"Band(s) {missing} missing in {source}; it has {have}")
    return [canon.index(canonical_band(b)) for b in wanted]


def check_unique_bands(names: Sequence[str | None], source: str, option: str = "") -> None:
    """Raise if a band name occurs twice (after canonicalisation), naming the duplicates."""
    canon = [canonical_band(n) for n in names if n]
    dup = sorted({c for c in canon if canon.count(c) > 1})
    if dup:
        raise ValueError(
            f"Duplicate band name(s) {dup} {option or 'in'} {source}: {list(names)}; "
            "each band needs its own name"
        )


__all__ = ["canonical_band", "check_unique_bands", "match_bands"]
