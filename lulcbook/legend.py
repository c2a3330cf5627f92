"""The land-cover legend: LUCAS LC1 level 1, and mappings from other schemes into it.

The eight classes are the top level of the LUCAS land-cover nomenclature (LC1
code letters A–H). Mappings translate EuroSAT, CORINE Land Cover (level 3),
eo-learn/Slovenian RABA and ST_LUCAS ``label_l1`` classes into this legend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np


@dataclass(frozen=True)
class LandCoverClass:
    """One legend entry."""

    index: int
    key: str
    name: str
    lucas_letter: str
    colour: str


CLASSES: tuple[LandCoverClass, ...] = (
    LandCoverClass(0, "artificial", "Artificial land", "A", "#d7191c"),
    LandCoverClass(1, "cropland", "Cropland", "B", "#f2d35b"),
    LandCoverClass(2, "woodland", "Woodland", "C", "#1a7a35"),
    LandCoverClass(3, "shrubland", "Shrubland", "D", "#8c9e3b"),
    LandCoverClass(4, "grassland", "Grassland", "E", "#a6db6a"),
    LandCoverClass(5, "bare", "Bare land", "F", "#bfb4a5"),
    LandCoverClass(6, "water", "Water", "G", "#2b83ba"),
    LandCoverClass(7, "wetland", "Wetland", "H", "#7fcdbb"),
)
KEYS: tuple[str, ...] = tuple(c.key for c in CLASSES)
NAMES: tuple[str, ...] = tuple(c.name for c in CLASSES)
COLOURS: tuple[str, ...] = tuple(c.colour for c in CLASSES)
N_CLASSES: int = len(CLASSES)
NODATA: int = 255

EUROSAT_TO_KEY: dict[str, str] = {
    "AnnualCrop": "cropland",
    "PermanentCrop": "cropland",
    "Forest": "woodland",
    "HerbaceousVegetation": "grassland",
    "Pasture": "grassland",
    "Highway": "artificial",
    "Industrial": "artificial",
    "Residential": "artificial",
    "River": "water",
    "SeaLake": "water",
}
"""EuroSAT classes → legend. Permanent crops (orchards, vineyards) are LUCAS B7x/B8x, hence cropland."""

EOLEARN_TO_KEY: dict[int, str | None] = {
    0: None,  # no data
    1: "cropland",  # cultivated land
    2: "woodland",  # forest
    3: "grassland",
    4: "shrubland",
    5: "water",
    6: "wetland",
    7: "shrubland",  # tundra (not present in Slovenia)
    8: "artificial",  # artificial surface
    9: "bare",  # bare land
    10: "bare",  # snow and ice (LUCAS F40)
}

ST_LUCAS_L1_TO_KEY: dict[int, str] = {
    1: "artificial",
    2: "cropland",
    3: "cropland",  # perennial crops
    4: "woodland",
    5: "shrubland",
    6: "grassland",
    7: "bare",
    8: "wetland",
    9: "water",
    10: "bare",  # glaciers
}


def corine_to_key(code: int | str) -> str:
    """Map a CORINE Land Cover level-3 code (e.g. ``311``) to a legend key.

    Raises:
        ValueError: for a code outside the CLC nomenclature.
    """
    c = int(code)
    if 100 <= c < 200:
        return "artificial"
    if 211 <= c <= 223 or 241 <= c <= 244:
        return "cropland"
    if c == 231:
        return "grassland"
    if 311 <= c <= 313:
        return "woodland"
    if c == 321:
        return "grassland"
    if 322 <= c <= 324:
        return "shrubland"
    if 331 <= c <= 335:
        return "bare"
    if 411 <= c <= 423:
        return "wetland"
    if 511 <= c <= 523:
        return "water"
    raise ValueError(f"Unknown CORINE code {code!r}; expected a CLC level-3 code 111–523")


LC1_CODE = re.compile(r"^[A-H](?:[0-9]{1,2}|X[0-9])$")
"""A LUCAS LC1 code: the level-1 letter A–H and one or two digits (``C21``, ``B11``, ``G3``),
or the 2018 photo-interpretation codes ``BX1``/``BX2``. Free text ("Forest") never matches."""


def lc1_to_key(code: str) -> str:
    """Map a LUCAS LC1 code (e.g. ``"C21"``, ``"B11"``) to a legend key by its letter.

    Only well-formed codes (:data:`LC1_CODE`, case-insensitive) are mapped: free text such as
    ``"Forest"`` or ``"Grassland"`` is never guessed from its first letter.

    Raises:
        ValueError: for anything that is not an LC1 code, naming the value.
    """
    text = str(code).strip().upper()
    if LC1_CODE.match(text):
        for c in CLASSES:
            if text[0] == c.lucas_letter:
                return c.key
    raise ValueError(
        f"Unknown LUCAS LC1 code {code!r}; expected a letter A–H followed by one or two digits "
        "(e.g. C21)"
    )


def index_of(key: str) -> int:
    """Return the class index of a legend key.

    Raises:
        ValueError: for an unknown key.
    """
    try:
        return KEYS.index(key)
    except ValueError:
        raise ValueError(f"Unknown legend class {key!r}; expected one of {KEYS}") from None


def class_counts(classes: np.ndarray) -> np.ndarray:
    """Pixels of each legend class in a class map: ``(N_CLASSES,)`` int64; NODATA not counted."""
    cls = np.asarray(classes)
    return np.bincount(cls[cls != NODATA].ravel(), minlength=N_CLASSES)[:N_CLASSES]


K = TypeVar("K")


def map_labels(values: Iterable[K], mapping: Mapping[K, str | None]) -> tuple[np.ndarray, list[K]]:
    """Map labels of another scheme to legend indices.

    Returns:
        ``(indices, unknown)`` — indices as int array with ``-1`` for labels not
        in ``mapping`` (or mapped to ``None``), and the sorted distinct unknown
        labels so callers can report them instead of dropping them silently.
    """
    out: list[int] = []
    unknown: set[K] = set()
    for v in values:
        key = mapping.get(v)
        if key is None:
            unknown.add(v)
            out.append(-1)
        else:
            out.append(index_of(key))
    return np.asarray(out, dtype=np.int64), sorted(unknown, key=str)


CORINE_NAMES: dict[str, int] = {
    "Continuous urban fabric": 111,
    "Discontinuous urban fabric": 112,
    "Industrial or commercial units": 121,
    "Road and rail networks and associated land": 122,
    "Port areas": 123,
    "Airports": 124,
    "Mineral extraction sites": 131,
    "Dump sites": 132,
    "Construction sites": 133,
    "Green urban areas": 141,
    "Sport and leisure facilities": 142,
    "Non-irrigated arable land": 211,
    "Permanently irrigated land": 212,
    "Rice fields": 213,
    "Vineyards": 221,
    "Fruit trees and berry plantations": 222,
    "Olive groves": 223,
    "Pastures": 231,
    "Annual crops associated with permanent crops": 241,
    "Complex cultivation patterns": 242,
    "Land principally occupied by agriculture, with significant areas of natural vegetation": 243,
    "Agro-forestry areas": 244,
    "Broad-leaved forest": 311,
    "Coniferous forest": 312,
    "Mixed forest": 313,
    "Natural grassland": 321,
    "Moors and heathland": 322,
    "Sclerophyllous vegetation": 323,
    "Transitional woodland/shrub": 324,
    "Beaches, dunes, sands": 331,
    "Bare rock": 332,
    "Sparsely vegetated areas": 333,
    "Burnt areas": 334,
    "Glaciers and perpetual snow": 335,
    "Inland marshes": 411,
    "Peatbogs": 412,
    "Salt marshes": 421,
    "Salines": 422,
    "Intertidal flats": 423,
    "Water courses": 511,
    "Water bodies": 512,
    "Coastal lagoons": 521,
    "Estuaries": 522,
    "Sea and ocean": 523,
}
"""CORINE Land Cover level-3 class names (as used by BigEarthNet) → CLC codes."""


def corine_name_to_key(name: str) -> str:
    """Map a CORINE level-3 class name (e.g. ``"Mixed forest"``) to a legend key.

    Raises:
        ValueError: for a name outside the CLC nomenclature.
    """
    if name not in CORINE_NAMES:
        raise ValueError(f"Unknown CORINE class name {name!r}")
    return corine_to_key(CORINE_NAMES[name])
