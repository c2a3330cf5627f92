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
