"""Class styling of the land-cover maps, as GIS clients read it.

The legend (:mod:`lulcbook.legend`) rendered for third-party clients: the GDAL colour table of
the class COG (index → RGBA, nodata transparent), the legend entries stored in the map metadata,
the GDAL PAM XML with category names and a thematic raster attribute table (``OUT.tif.aux.xml``,
read by GDAL and QGIS) and the QGIS paletted style (``OUT.qml``, loaded automatically by QGIS).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from lulcbook import legend

PathLike = str | os.PathLike[str]


def colour_table() -> dict[int, tuple[int, int, int, int]]:
    """The legend colours as a GDAL colour table (index → RGBA); nodata 255 is transparent.

    Returns:
        The colour table.
    """
    table = {}
    for i, hex_ in enumerate(legend.COLOURS):
        table[i] = (*_rgb(hex_), 255)
    table[legend.NODATA] = (0, 0, 0, 0)
    return table


def _rgb(hex_: str) -> tuple[int, int, int]:
    h = hex_.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def legend_entries() -> list[dict[str, Any]]:
    """The legend as a list of ``{"value", "key", "name", "lucas_letter", "colour"}``.

    Returns:
        One entry per legend class.
    """
    return [
        {
            "value": c.index,
            "key": c.key,
            "name": c.name,
            "lucas_letter": c.lucas_letter,
            "colour": c.colour,
        }
        for c in legend.CLASSES
    ]


def attribute_table_xml() -> str:
    """GDAL PAM XML with the legend as category names and a thematic raster attribute table.

    Returns:
        The content of ``OUT.tif.aux.xml``.
    """
    fields = [
        ("value", 0, 5),  # GFT_Integer, GFU_MinMax
        ("class", 2, 2),  # GFT_String, GFU_Name
        ("description", 2, 0),  # GFT_String, GFU_Generic
        ("red", 0, 6),
        ("green", 0, 7),
        ("blue", 0, 8),
        ("alpha", 0, 9),
    ]
    lines = ["<PAMDataset>", '  <PAMRasterBand band="1">', "    <CategoryNames>"]
    lines += [f"      <Category>{escape(c.key)}</Category>" for c in legend.CLASSES]
    lines += ["    </CategoryNames>", '    <GDALRasterAttributeTable tableType="thematic">']
    for i, (name, typ, usage) in enumerate(fields):
        lines.append(
            f'      <FieldDefn index="{i}"><Name>{name}</Name><Type>{typ}</Type>'
            f"<Usage>{usage}</Usage></FieldDefn>"
        )
    for c in legend.CLASSES:
        r, g, b = _rgb(c.colour)
        values = [str(c.index), escape(c.key), escape(c.name), str(r), str(g), str(b), "255"]
        cells = "".join(f"<F>{v}</F>" for v in values)
        lines.append(f'      <Row index="{c.index}">{cells}</Row>')
    lines += ["    </GDALRasterAttributeTable>", "  </PAMRasterBand>", "</PAMDataset>", ""]
    return "\n".join(lines)


def qgis_style_qml() -> str:
    """A QGIS style (paletted renderer on band 1) with the legend colours and class names.

    Returns:
        The content of ``OUT.qml``; QGIS applies it when it opens ``OUT.tif``.
    """
    entries = "\n".join(
        f"        <paletteEntry value={quoteattr(str(c.index))} color={quoteattr(c.colour)} "
        f'label={quoteattr(f"{c.key}: {c.name}")} alpha="255"/>'
        for c in legend.CLASSES
    )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        '<qgis version="3.22.0" styleCategories="AllStyleCategories">\n'
        "  <pipe>\n"
        '    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" '
        'nodataColor="">\n'
        "      <rasterTransparency/>\n"
        "      <colorPalette>\n"
        f"{entries}\n"
        "      </colorPalette>\n"
        "    </rasterrenderer>\n"
        "  </pipe>\n"
        "</qgis>\n"
    )


def write_class_sidecars(aux: PathLike, style: PathLike) -> None:
    """Write the raster attribute table (PAM XML) and the QGIS style of a class COG.

    Args:
        aux: where the ``.tif.aux.xml`` content goes (may be a temporary path).
        style: where the ``.qml`` content goes (may be a temporary path).
    """
    Path(aux).write_text(attribute_table_xml(), encoding="utf-8")
    Path(style).write_text(qgis_style_qml(), encoding="utf-8")
