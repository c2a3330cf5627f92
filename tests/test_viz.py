from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lulcbook import legend, viz


def test_save_png_writes_a_png(tmp_path: Path) -> None:
    import hvplot.pandas  # noqa: F401

    plot = pd.DataFrame({"a": [0, 1, 2], "b": [1.0, 3.0, 2.0]}).hvplot.line("a", "b", title="t")
    out = viz.save_png(plot, tmp_path / "f.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]


def test_rgb_stretch_and_errors() -> None:
    img = np.stack([np.linspace(0, 1, 16).reshape(4, 4)] * 3).astype("float32")
    img[0, 0, 0] = np.nan  # NaN is shown black, the rest of the channel still stretches
    out = viz.rgb(img, ["B02", "B03", "B04"])
    assert out.shape == (4, 4, 3) and out.dtype == np.uint8
    assert out[..., 0].max() == 255 and out[3, 3, 0] == 255
    with pytest.raises(ValueError, match="B08"):
        viz.rgb(img, ["B02", "B03", "B04"], ("B08", "B04", "B03"))
    assert viz.class_cmap() == list(legend.COLOURS)


def _class_da(ny: int, nx: int) -> Any:
    import xarray as xr

    values = (np.arange(ny * nx).reshape(ny, nx) % legend.N_CLASSES).astype("uint8")
    values[0, 0] = legend.NODATA
    return xr.DataArray(values, dims=("y", "x"),
                        coords={"y": 5e6 - 10.0 * np.arange(ny), "x": 3e5 + 10.0 * np.arange(nx)})  # fmt: skip


def test_show_saves_png_and_returns_pannable_bokeh_map(tmp_path: Path) -> None:
    from bokeh.models import ColorBar, GlyphRenderer, Image

    viz.setup_plotting()
    fig = viz.class_map(_class_da(60, 90), title="A map")
    shown = viz.show(fig, tmp_path / "map.png")
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert isinstance(shown, viz.BokehFigure)
    assert {"PanTool", "WheelZoomTool", "ResetTool"} <= shown.tools()
    bundle = shown._repr_mimebundle_()
    assert "Bokeh.embed.embed_items" in bundle["text/html"] and "A map" in bundle["text/html"]
    # the class legend: one colour-bar label per class, in legend order
    bar = next(iter(shown.model.select({"type": ColorBar})))
    assert [bar.major_label_overrides[i] for i in range(legend.N_CLASSES)] == list(legend.KEYS)
    image = next(
        r for r in shown.model.select({"type": GlyphRenderer}) if isinstance(r.glyph, Image)
    )
    assert image.data_source.data["image"][0].shape == (60, 90)


def test_interactive_thins_large_rasters_keeping_orientation() -> None:
    import holoviews as hv
    from bokeh.models import GlyphRenderer, Image

    viz.setup_plotting()
    arr = np.zeros((300, 200), dtype="float32")
    arr[:10, :10] = 1.0  # top-left corner marked
    fig = hv.Image(arr, bounds=(0, 0, 200, 300))
    shown = viz.interactive(fig, max_pixels=100)
    image = next(
        r for r in shown.model.select({"type": GlyphRenderer}) if isinstance(r.glyph, Image)
    )
    data = image.data_source.data["image"][0]
    assert data.shape == (100, 67)
    # Bokeh images are stored bottom row first: the marked corner must be the last rows' start
    assert data[-1, 0] == 1.0 and data[0, 0] == 0.0 and data[-1, -1] == 0.0
    extent = [image.data_source.data[k][0] for k in ("x", "y", "dw", "dh")]
    assert extent == pytest.approx([0, 0, 200, 300])  # same place on the map


def test_interactive_carries_matplotlib_options_to_bokeh() -> None:
    import holoviews as hv
    from bokeh.models import GlyphRenderer, Plot, Scatter

    viz.setup_plotting()
    pts = hv.Points([(0, 1), (2, 3)]).opts(color="red", s=64, title="labelled", xlabel="lon")
    shown = viz.interactive(pts)
    plot = next(iter(shown.model.select({"type": Plot})))
    assert plot.title.text == "labelled" and plot.xaxis[0].axis_label == "lon"
    glyph = next(r.glyph for r in shown.model.select({"type": GlyphRenderer})
                 if isinstance(r.glyph, Scatter))  # fmt: skip
    assert glyph.fill_color == "red" and glyph.size == pytest.approx(8.0)
    # the matplotlib rendering (the PNG) keeps its own options
    assert hv.Store.lookup_options("matplotlib", pts, "style").kwargs["s"] == 64


def test_interactive_passes_matplotlib_figures_through() -> None:
    grid = viz.class_grid([[np.zeros((4, 4), "uint8")]], [["t"]])
    assert viz.interactive(grid) is grid


def test_interactive_renders_interval_plots_and_layouts() -> None:
    import holoviews as hv
    from bokeh.models import Plot

    viz.setup_plotting()
    df = pd.DataFrame({"model": ["a", "b"], "f1": [0.6, 0.7], "lo": [0.5, 0.6], "hi": [0.7, 0.8]})
    cmp = viz.interval_plot(df, "model", "f1", title="compare")
    heat = hv.HeatMap([("x", "y", 1), ("y", "x", 2)], ["predicted", "reference"], "count")
    shown = viz.interactive(cmp + hv.Layout([heat.opts(title="h", cmap="Blues")]).cols(3))
    titles = {p.title.text for p in shown.model.select({"type": Plot})}
    assert titles == {"compare", "h"}


def test_confusion_heatmap_pairs_each_row_with_its_label() -> None:
    viz.setup_plotting()
    names = ["artificial", "cropland", "water"]
    m = np.array([[60, 1, 0], [2, 30, 3], [0, 4, 9]])
    fig = viz.confusion_heatmap(m, names)
    heat = fig.get(0)
    ticks = dict(heat.opts.get().kwargs["yticks"])
    for _, (x, y, count) in heat.dframe().iterrows():
        row = names.index(ticks[y])
        assert count == m[row, int(x)]
    sums = heat.dframe().groupby("reference")["count"].sum()
    assert {ticks[y]: s for y, s in sums.items()} == dict(zip(names, m.sum(axis=1), strict=True))
    with pytest.raises(ValueError, match="does not match 2 class names"):
        viz.confusion_heatmap(m, names[:2])
