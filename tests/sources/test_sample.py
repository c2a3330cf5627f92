import numpy as np
import pytest

from lulcbook import legend
from lulcbook.sources import sample


def test_read_eurosat_subset(sample_dir) -> None:
    ds = sample.read_eurosat(sample_dir, bands=["B02", "B08"], max_per_class=2, seed=0)
    assert ds.sizes["sample"] == 20 and ds.sizes["y"] == 64
    assert list(ds.band.values) == ["B02", "B08"]
    assert ds["reflectance"].dtype == np.float32
    assert 0 <= float(ds["reflectance"].min()) and float(ds["reflectance"].max()) <= 1
    forest = ds["source_class"].values == "Forest"
    assert (ds["label"].values[forest] == legend.index_of("woodland")).all()
    # vegetation is brighter in NIR than in blue; water is darker in NIR than forest
    water = ds["source_class"].values == "SeaLake"
    nir = ds["reflectance"].sel(band="B08").mean(("y", "x")).values
    assert nir[forest].mean() > nir[water].mean()


def test_read_eurosat_missing_folder(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="eurosat-ms"):
        sample.read_eurosat(tmp_path)


def test_read_brandenburg(sample_dir) -> None:
    da = sample.read_brandenburg(sample_dir, bands=["B04", "B11"])
    assert da.shape == (2, 768, 1536) and da.rio.crs.to_epsg() == 32633
    assert da.rio.transform().a == pytest.approx(10.0)
    assert 0 < float(da.mean()) < 1


def test_read_exeter_aligned(sample_dir) -> None:
    dates = sample.read_exeter_s2(sample_dir)
    assert len(dates) == 5
    assert all(d.rio.crs == dates[0].rio.crs and d.shape == dates[0].shape for d in dates)
    assert dates[0].attrs["datetime"] < dates[-1].attrs["datetime"]
    assert float(dates[0].isnull().mean()) < 0.5


def test_read_landsat_chips(sample_dir) -> None:
    lau = sample.read_landsat_chip(sample_dir, "lausanne")
    assert (
        list(lau.band.values)[:4] == ["blue", "green", "red", "nir08"]
        and lau.attrs["units"] == "reflectance"
    )
    assert 0.2 < float(lau.sel(band="nir08").median()) < 0.4
    pop = sample.read_landsat_chip(sample_dir, "poppendorf")
    assert pop.attrs["units"] == "DN" and pop.sizes["band"] == 5
    with pytest.raises(ValueError, match="'paris'"):
        sample.read_landsat_chip(sample_dir, "paris")


def test_read_bigearthnet_and_reference(sample_dir) -> None:
    patches = sample.read_bigearthnet(sample_dir)
    assert len(patches) == 14 and patches[0].shape == (4, 120, 120)
    assert all(set(p.attrs["legend_keys"]) <= set(legend.KEYS) for p in patches)
    ref = sample.read_brandenburg_reference(sample_dir)
    assert len(ref) == 30 and set(ref["label"]) == {"water", "woodland"}


def test_read_exeter_hls_unmasked_with_fmask(sample_dir) -> None:
    refl, fmask = sample.read_exeter_hls(sample_dir)
    assert [d.attrs["datetime"][:10] for d in refl] == [
        "2021-06-08", "2021-06-13", "2021-06-23", "2021-07-18"]  # fmt: skip
    assert fmask.shape == (4, *refl[0].shape[1:]) and fmask.dtype == np.int16
    assert list(refl[0].band.values) == ["B02", "B03", "B04", "B08"]
    nodata = fmask < 0
    assert 0 < nodata.mean() < 0.05
    values = np.stack([d.values for d in refl])
    assert np.isnan(values).any(axis=1)[nodata].all()  # nodata in both
    assert 0.01 < float(np.nanmedian(values[:, 0])) < 0.2  # blue reflectance, scaled
    assert set(np.unique(fmask[~nodata]) >> 6) <= {0, 1, 2, 3}


def test_read_exeter_hls_refuses_other_grids_and_no_files(sample_dir, tmp_path) -> None:
    """A date on another grid is named; a folder without HLS files is refused."""
    import rasterio
    from rasterio.windows import Window

    folder = tmp_path / "s2-hls-exeter" / "hls-data"
    folder.mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="No hls_exe_"):
        sample.read_exeter_hls(tmp_path)
    files = sorted((sample_dir / "s2-hls-exeter" / "hls-data").glob("hls_exe_*.tif"))[:2]
    (folder / files[0].name).write_bytes(files[0].read_bytes())
    with rasterio.open(files[1]) as src:  # the second date cropped: another grid
        win = Window(0, 0, src.width - 5, src.height)
        profile = {**src.profile, "width": win.width, "transform": src.window_transform(win)}
        with rasterio.open(folder / files[1].name, "w", **profile) as dst:
            dst.write(src.read(window=win))
            dst.update_tags(**src.tags())
            dst.descriptions = src.descriptions
    with pytest.raises(ValueError, match=f"{files[1].name} is not on the grid of"):
        sample.read_exeter_hls(tmp_path)
