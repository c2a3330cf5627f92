"""Target verdicts: judged on the estimate, with what the interval adds."""

from lulcbook.targets import verdict


def test_verdict_never_prints_a_miss_as_the_target() -> None:
    text, ok = verdict(0.94984, 0.95, ">=", "water recall")
    assert not ok and "0.9498 (MISSES" in text
    assert verdict(0.8117, 0.8, ">=", "forest")[0].startswith("forest: 0.812 (meets")


def test_verdict_says_where_the_interval_lies() -> None:
    text, ok = verdict(0.814, 0.8, ">=", "forest", [0.537, 0.968], "10 polygons")
    assert ok and text == (
        "forest: 0.814 [0.537, 0.968], 10 polygons (meets the target >= 0.8; "
        "the interval holds the target)"
    )
    assert verdict(1.0, 0.95, ">=", "water", [1.0, 1.0])[0].endswith(
        "(meets the target >= 0.95; the whole interval is on that side)"
    )
    miss, ok = verdict(0.19, 0.1, "<=", "change", [0.17, 0.21])
    assert not ok and miss.endswith(
        "(MISSES the target <= 0.1; the whole interval is on that side)"
    )
    near, ok = verdict(0.09, 0.1, "<=", "change", [0.07, 0.12])
    assert ok and near.endswith("the interval holds the target)")
