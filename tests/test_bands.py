import pytest

from lulcbook.bands import normalise_band, select_bands


def test_normalise_band() -> None:
    assert normalise_band("b2") == "B02"
    assert normalise_band("b8a") == "B8A"
    with pytest.raises(ValueError, match="B99"):
        normalise_band("B99")


def test_select_bands_names_missing() -> None:
    assert select_bands(["b04", "B02", "B03"], ["B02", "B04"]) == [1, 0]
    with pytest.raises(ValueError, match=r"\['B08'\].*scene.tif"):
        select_bands(["B02"], ["B08"], "scene.tif")
