"""Tests for lulcbook.experiments.continental helpers of 08-continental."""

from __future__ import annotations

import pandas as pd

from lulcbook.experiments import continental as C


def test_region_records_keep_the_index_as_a_column() -> None:
    zones = pd.DataFrame({"n": [3, 4]}, index=pd.Index(["Cfb", "Dfb"], name="zone"))
    regions = pd.DataFrame({"n": [7]}, index=pd.Index(["north"], name="region"))
    rec = C.region_records(zones, regions)
    assert rec == {"zone": [{"zone": "Cfb", "n": 3}, {"zone": "Dfb", "n": 4}],
                   "region": [{"region": "north", "n": 7}]}  # fmt: skip


def test_subsample_draws_sorted_without_replacement() -> None:
    """n of the indices, sorted and distinct, the same for a seed; all of them when n is not smaller."""
    import numpy as np

    idx = np.arange(100, 200)
    a = C.subsample(idx, 10, 3)
    assert a.size == 10 and np.all(np.diff(a) > 0) and set(a) <= set(idx)
    assert np.array_equal(a, C.subsample(idx, 10, 3))
    assert not np.array_equal(a, C.subsample(idx, 10, 4))
    assert C.subsample(idx, None, 0) is idx and C.subsample(idx, 100, 0) is idx
