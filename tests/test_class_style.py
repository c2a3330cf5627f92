"""Tests for lulcbook.class_style: the raster attribute table and the QGIS style of the legend."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lulcbook import class_style, legend


def test_attribute_table_and_style_name_every_class() -> None:
    root = ET.fromstring(class_style.attribute_table_xml())
    cats = [c.text for c in root.iter("Category")]
    assert cats == list(legend.KEYS)
    rows = root.findall(".//Row")
    assert len(rows) == legend.N_CLASSES
    for c, row in zip(legend.CLASSES, rows, strict=True):
        values = [f.text for f in row.findall("F")]
        assert values[:3] == [str(c.index), c.key, c.name]
        assert "#{:02x}{:02x}{:02x}".format(*map(int, values[3:6])) == c.colour
    qml = ET.fromstring(class_style.qgis_style_qml().split("\n", 1)[1])
    renderer = qml.find(".//rasterrenderer")
    assert renderer is not None and renderer.get("type") == "paletted"
    entries = qml.findall(".//paletteEntry")
    assert [e.get("value") for e in entries] == [str(c.index) for c in legend.CLASSES]
    assert [e.get("color") for e in entries] == list(legend.COLOURS)
