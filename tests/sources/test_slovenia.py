import shutil

import numpy as np
import pytest

from lulcbook import legend
from lulcbook.sources import slovenia


def test_read_slovenia(sample_dir) -> None:
    ds = slovenia.read_slovenia(sample_dir)
    assert ds.sizes == {"time": 68, "y": 101, "x": 100}
    assert str(ds["time"].values[0])[:10] == "2015-07-11"
    assert (np.diff(ds["time"].values.astype("int64")) > 0).all()
    # NDVI is NaN exactly where the observation is not clear
    assert np.array_equal(np.isfinite(ds["ndvi"].values), ds["clear"].values)
    ndvi = ds["ndvi"].values[ds["clear"].values]
    assert -1.0 <= ndvi.min() and ndvi.max() <= 1.0
    counts = dict(zip(*np.unique(ds["label"].values, return_counts=True), strict=True))
    assert counts[legend.index_of("woodland")] == 7601  # PROVENANCE.md: forest 7601 px
    assert counts[legend.index_of("grassland")] == 1777
    assert counts[legend.NODATA] == 155
    # forest is greener than artificial surfaces in summer
    summer = ds["ndvi"].sel(time=slice("2016-06-01", "2016-08-31")).median("time").values
    wood = summer[ds["label"].values == legend.index_of("woodland")]
    art = summer[ds["label"].values == legend.index_of("artificial")]
    assert np.nanmedian(wood) > np.nanmedian(art) + 0.1


def test_read_slovenia_missing_file(sample_dir, tmp_path) -> None:
    src = sample_dir / slovenia.FOLDER
    dst = tmp_path / slovenia.FOLDER
    shutil.copytree(src, dst)
    (dst / "mask" / "CLM.npy").unlink()
    with pytest.raises(FileNotFoundError, match="CLM.npy"):
        slovenia.read_slovenia(tmp_path)


def test_read_slovenia_unknown_code(sample_dir, tmp_path) -> None:
    dst = tmp_path / slovenia.FOLDER
    shutil.copytree(sample_dir / slovenia.FOLDER, dst)
    lulc = np.load(dst / "mask_timeless" / "LULC.npy")
    lulc[0, 0, 0] = 42
    np.save(dst / "mask_timeless" / "LULC.npy", lulc)
    with pytest.raises(ValueError, match=r"codes \[42\]"):
        slovenia.read_slovenia(tmp_path)
