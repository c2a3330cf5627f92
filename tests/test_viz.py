from pathlib import Path

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
