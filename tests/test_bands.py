import pytest

from lulcbook.bands import (
    EUROSAT_BAND_ORDER,
    S2_BANDS,
    S2_RESOLUTION,
    normalise_band,
    select_bands,
)
from lulcbook.cloudmask import S2CLOUDLESS_BANDS


def test_normalise_band() -> None:
    assert normalise_band("b2") == "B02"
    assert normalise_band("b8a") == "B8A"
    with pytest.raises(ValueError, match="B99"):
        normalise_band("B99")


def test_select_bands_names_missing() -> None:
    assert select_bands(["b04", "B02", "B03"], ["B02", "B04"]) == [1, 0]
    with pytest.raises(ValueError, match=r"\['B08'\].*scene.tif"):
        select_bands(["B02"], ["B08"], "scene.tif")


def test_band_tables_follow_the_esa_order() -> None:
    assert S2_RESOLUTION["B01"] == 60 and S2_RESOLUTION["B8A"] == 20
    assert [b for b in S2_BANDS if S2_RESOLUTION[b] == 10] == ["B02", "B03", "B04", "B08"]
    assert list(S2_RESOLUTION) == list(S2_BANDS)
    assert EUROSAT_BAND_ORDER[-2:] == ("B12", "B8A") and sorted(EUROSAT_BAND_ORDER) == sorted(
        S2_BANDS
    )
    assert S2CLOUDLESS_BANDS == (
        "B01", "B02", "B04", "B05", "B08", "B8A", "B09", "B10", "B11", "B12",
    )  # fmt: skip
