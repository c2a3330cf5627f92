"""The map products opened in QGIS as a user opens them (headless, the system's PyQGIS).

QGIS's Python bindings come with the system Python (Debian/Ubuntu: ``python3-qgis``), not the
project's environment, so a short script runs with ``/usr/bin/python3`` in a subprocess and
reports what QGIS made of each file as JSON: the layer, its renderer and palette, the nodata
value and a 200×200 render. The class COG must be drawn in the legend colours of the classes it
holds (the style beside it applied), nodata transparent; the confidence and uncertainty COGs
must be single grey bands, not alpha; the STAC item's class href must open as the same map.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio

from lulcbook import cog, legend

SYSTEM_PYTHON = "/usr/bin/python3"
RENDER_PX = 200

QGIS_SCRIPT = r"""
import json
import sys

from qgis.core import (
    QgsApplication,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRaster,
    QgsRasterLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage

size = int(sys.argv[1])
layers = json.loads(sys.argv[2])
QgsApplication.setPrefixPath("/usr", True)  # where the system's QGIS keeps its providers
app = QgsApplication([], False)
app.initQgis()


def render(layer):
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(size, size))
    settings.setBackgroundColor(QColor(0, 0, 0, 0))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage().convertToFormat(QImage.Format_RGBA8888)
    ptr = image.constBits()
    ptr.setsize(image.height() * image.bytesPerLine())
    raw = bytes(ptr)
    counts = {}
    for y in range(image.height()):
        row = raw[y * image.bytesPerLine() : y * image.bytesPerLine() + 4 * image.width()]
        for x in range(0, len(row), 4):
            key = "%d,%d,%d,%d" % tuple(row[x : x + 4])
            counts[key] = counts.get(key, 0) + 1
    return {"width": image.width(), "height": image.height(), "colours": counts}


def describe(name, path):
    layer = QgsRasterLayer(path, name, "gdal")
    if not layer.isValid():  # (QgsError.summary() crashes on an empty error in 3.22)
        error = layer.error()
        return {"valid": False, "error": "" if error.isEmpty() else error.summary()}
    out = {"valid": True}
    message, loaded = layer.loadDefaultStyle()  # what QGIS does with the .qml beside a file
    provider = layer.dataProvider()
    renderer = layer.renderer()
    out.update(
        crs=layer.crs().authid(),
        band_count=layer.bandCount(),
        width=layer.width(),
        height=layer.height(),
        default_style={"loaded": loaded, "message": message},
        renderer=renderer.type(),
        alpha_band=renderer.alphaBand(),
        colour_interpretation=provider.colorInterpretationName(1),
        is_alpha=provider.colorInterpretation(1) == QgsRaster.AlphaBand,
        has_nodata=provider.sourceHasNoDataValue(1),
        uses_nodata=provider.useSourceNoDataValue(1),
        nodata=provider.sourceNoDataValue(1) if provider.sourceHasNoDataValue(1) else None,
        render=render(layer),
    )
    if renderer.type() == "paletted":
        out["palette"] = [
            {"value": int(c.value), "label": c.label, "colour": c.color.name(),
             "alpha": c.color.alpha()}
            for c in renderer.classes()
        ]
    return out


print(json.dumps({name: describe(name, path) for name, path in layers.items()}))
app.exitQgis()
"""


def _qgis_available() -> str | None:
    """Why PyQGIS cannot be used here, or ``None`` if it can."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found"
    probe = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        return (
            f"QGIS Python bindings not importable by {SYSTEM_PYTHON} "
            "(Debian/Ubuntu: apt-get install python3-qgis)"
        )
    return None


def _open_in_qgis(layers: dict[str, Path], tmp_path: Path) -> dict[str, Any]:
    """Open each file as a QGIS raster layer (headless) and report what QGIS shows.

    Args:
        layers: layer name → file to open.
        tmp_path: a folder for the script and QGIS's settings.

    Returns:
        Per layer: validity, CRS, bands, the renderer, palette and nodata, and the render's
        pixel counts by ``"r,g,b,a"``.
    """
    script = tmp_path / "open_in_qgis.py"
    script.write_text(QGIS_SCRIPT, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # QGIS writes its profile and settings here
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_RUNTIME_DIR": str(home),
        "OMP_NUM_THREADS": "1",
    }
    paths = json.dumps({name: str(path) for name, path in layers.items()})
    proc = subprocess.run(
        [SYSTEM_PYTHON, str(script), str(RENDER_PX), paths],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _hex(rgba: str) -> str:
    r, g, b, _ = map(int, rgba.split(","))
    return f"#{r:02x}{g:02x}{b:02x}"


def _a_cell(setup: dict[str, Any]) -> Path:
    """The class COG of the cell with the most classes (the most telling render)."""
    best: tuple[int, Path] | None = None
    for cell in setup["cells"]:
        path = setup["ref"] / "cells" / cell.id / f"{cell.id}.tif"
        with rasterio.open(path) as src:
            n = len(np.unique(src.read(1)))
        if best is None or n > best[0]:
            best = (n, path)
    assert best is not None
    return best[1]


@pytest.fixture(scope="module")
def pyqgis() -> None:
    """Skip unless the system Python imports QGIS (checked before the products are built)."""
    reason = _qgis_available()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def qgis_view(
    pyqgis: None, setup: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """What QGIS shows for one cell's class, confidence and uncertainty COGs and item href."""
    tif = _a_cell(setup)
    item = json.loads(tif.with_suffix(".json").read_text())
    href = item["assets"][cog.CLASS_BAND]["href"]
    from_item = (tif.parent / href) if not Path(href).is_absolute() else Path(href)
    layers = {
        "class": tif,
        "confidence": cog.confidence_path(tif),
        "uncertainty": cog.uncertainty_path(tif),
        "item_class": from_item,
    }
    view = _open_in_qgis(layers, tmp_path_factory.mktemp("qgis"))
    with rasterio.open(tif) as src:
        data = src.read(1)
    return {"tif": tif, "href": href, "data": data, **view}


def test_qgis_draws_the_class_map_in_the_legend_colours(qgis_view: dict[str, Any]) -> None:
    layer, data = qgis_view["class"], qgis_view["data"]
    assert layer["valid"], layer.get("error")
    assert layer["crs"] == "EPSG:3035" and layer["band_count"] == 1
    assert layer["default_style"]["loaded"], layer["default_style"]["message"]
    assert layer["renderer"] == "paletted" and layer["alpha_band"] <= 0
    assert layer["has_nodata"] and layer["uses_nodata"] and layer["nodata"] == legend.NODATA
    # the palette of the style beside the file: every class, its colour, key and name
    palette = layer["palette"]
    assert [p["value"] for p in palette] == [c.index for c in legend.CLASSES]
    assert [p["colour"] for p in palette] == list(legend.COLOURS)
    for p, c in zip(palette, legend.CLASSES, strict=True):
        assert c.key in p["label"] and c.name in p["label"], p
    # the render: one colour per class present, in the right shares; nodata transparent
    render = layer["render"]
    total = render["width"] * render["height"]
    colours = Counter({k: v for k, v in render["colours"].items() if not k.endswith(",0")})
    transparent = total - sum(colours.values())
    white = render["colours"].get("255,255,255,255", 0)
    present = [int(v) for v in np.unique(data) if v != legend.NODATA]
    assert len(present) >= 2, "the cell should hold several classes"
    assert white == 0
    assert {_hex(k) for k in colours} == {legend.COLOURS[v] for v in present}
    assert all(k.endswith(",255") for k in colours)  # classes drawn opaque
    nodata_share = float((data == legend.NODATA).mean())
    assert abs(transparent / total - nodata_share) < 0.03
    by_colour = {_hex(k): n / total for k, n in colours.items()}
    for v in present:
        want = float((data == v).mean())
        assert abs(by_colour[legend.COLOURS[v]] - want) < 0.03, legend.KEYS[v]


def test_qgis_opens_confidence_and_uncertainty_as_grey_bands_not_alpha(
    qgis_view: dict[str, Any],
) -> None:
    for name in ("confidence", "uncertainty"):
        layer = qgis_view[name]
        assert layer["valid"], layer.get("error")
        assert layer["band_count"] == 1 and layer["crs"] == "EPSG:3035"
        assert layer["renderer"] == "singlebandgray", (name, layer["renderer"])
        assert not layer["is_alpha"] and layer["alpha_band"] <= 0, name
        assert layer["colour_interpretation"] == "Gray", name
        opaque = [k for k in layer["render"]["colours"] if k.endswith(",255")]
        assert len(opaque) > 10, name  # a stretch of greys, not one flat colour
    assert qgis_view["confidence"]["nodata"] == legend.NODATA


def test_qgis_opens_the_class_href_of_the_stac_item(qgis_view: dict[str, Any]) -> None:
    assert not Path(qgis_view["href"]).is_absolute()
    layer, direct = qgis_view["item_class"], qgis_view["class"]
    assert layer["valid"], layer.get("error")
    assert layer["renderer"] == "paletted" and layer["palette"] == direct["palette"]
    assert layer["render"] == direct["render"]
