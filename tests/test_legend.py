import numpy as np
import pytest

from lulcbook import legend


def test_lc1_letters_map_to_level1() -> None:
    assert legend.lc1_to_key("C21") == "woodland"
    assert legend.lc1_to_key("b11") == "cropland"
    assert legend.lc1_to_key("G11") == "water"
    with pytest.raises(ValueError, match="X99"):
        legend.lc1_to_key("X99")


def test_corine_codes_and_names() -> None:
    assert legend.corine_to_key(112) == "artificial"
    assert legend.corine_to_key("231") == "grassland"
    assert legend.corine_to_key(324) == "shrubland"
    assert legend.corine_to_key(512) == "water"
    assert legend.corine_name_to_key("Mixed forest") == "woodland"
    with pytest.raises(ValueError, match="999"):
        legend.corine_to_key(999)


def test_every_eurosat_class_maps() -> None:
    idx, unknown = legend.map_labels(list(legend.EUROSAT_TO_KEY), legend.EUROSAT_TO_KEY)
    assert unknown == [] and (idx >= 0).all()
    idx, unknown = legend.map_labels(["Forest", "Glacier"], legend.EUROSAT_TO_KEY)
    assert idx.tolist() == [legend.index_of("woodland"), -1] and unknown == ["Glacier"]


def test_eolearn_nodata_is_reported() -> None:
    idx, unknown = legend.map_labels([0, 2, 8], legend.EOLEARN_TO_KEY)
    assert idx.tolist() == [-1, legend.index_of("woodland"), legend.index_of("artificial")]
    assert unknown == [0]


@pytest.mark.parametrize(
    "text", ["Forest", "Grassland", "Artificial land", "water", "Bare", "C", "C211", "C-21", "G 11"]
)
def test_free_text_is_never_mapped_by_its_first_letter(text: str) -> None:
    with pytest.raises(ValueError, match=rf"Unknown LUCAS LC1 code {text!r}"):
        legend.lc1_to_key(text)


@pytest.mark.parametrize(
    ("code", "key"),
    [("A11", "artificial"), ("bx1", "cropland"), ("C3", "woodland"), (" e20 ", "grassland")],
)
def test_well_formed_lc1_codes_are_mapped(code: str, key: str) -> None:
    assert legend.lc1_to_key(code) == key


def test_class_counts_count_each_class_and_skip_no_data() -> None:
    cls = np.array([[0, 0, legend.NODATA], [7, 3, 0]], dtype=np.uint8)
    counts = legend.class_counts(cls)
    assert counts.shape == (legend.N_CLASSES,) and counts.sum() == 5
    assert counts[0] == 3 and counts[3] == 1 and counts[7] == 1
    assert legend.class_counts(np.full((2, 2), legend.NODATA, np.uint8)).sum() == 0
