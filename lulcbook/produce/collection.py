"""The run's STAC Collection (every finished cell's item) and VRT mosaics for viewing.

The mosaics are GDAL VRTs over the cells' COGs (``mosaic_class.vrt`` with the legend colour
table, ``mosaic_confidence.vrt``, ``mosaic_uncertainty.vrt``): all cells share the EEA grid, so
each cell is placed by whole-pixel offsets, and GDAL uses the cells' own overviews when a
viewer zooms out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pystac
import rasterio

from lulcbook import class_style, cog, legend, product_stac
from lulcbook.io import atomic_path
from lulcbook.produce.grid import GRID_CRS

PathLike = str | os.PathLike[str]

MOSAIC_DTYPES: dict[str, tuple[str, str]] = {
    cog.CLASS_BAND: ("Byte", str(legend.NODATA)),
    cog.CONFIDENCE_BAND: ("Byte", str(legend.NODATA)),
    cog.UNCERTAINTY_BAND: ("Float32", "nan"),
}
"""VRT data type and nodata per product band."""


def write_collection(
    out: PathLike,
    item_paths: Sequence[PathLike],
    collection_id: str,
    period: tuple[datetime, datetime],
    description: str,
) -> Path:
    """Write ``OUT/collection.json`` linking every finished cell's item (relative hrefs).

    Args:
        out: the run folder.
        item_paths: the cells' item files.
        collection_id: the collection id.
        period: the temporal extent.
        description: what the collection holds.

    Returns:
        The collection file.

    Raises:
        ValueError: if there is no item.
    """
    out = Path(out)
    if not item_paths:
        raise ValueError(f"No finished cell in {out}: nothing to put in a collection")
    items = [json.loads(Path(p).read_text()) for p in sorted(map(str, item_paths))]
    boxes = [it["bbox"] for it in items]
    bbox = [
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    ]
    coll = pystac.Collection(
        id=collection_id,
        description=description,
        extent=pystac.Extent(
            pystac.SpatialExtent([bbox]), pystac.TemporalExtent([[period[0], period[1]]])
        ),
        license=product_stac.PRODUCT_LICENSE,
        providers=[pystac.Provider.from_dict(p) for p in product_stac.PROVIDERS],
        summaries=pystac.Summaries({"proj:code": [GRID_CRS]}),
    )
    d = coll.to_dict(include_self_link=False, transform_hrefs=False)
    d["links"] = [lk for lk in d["links"] if lk["rel"] not in ("root", "self")]
    d["links"].append({"rel": "root", "href": "./collection.json", "type": "application/json"})
    for p, it in zip(sorted(map(str, item_paths)), items, strict=True):
        href = Path(os.path.relpath(Path(p).absolute(), out.absolute())).as_posix()
        d["links"].append(
            {"rel": "item", "href": f"./{href}", "type": "application/geo+json", "title": it["id"]}
        )
    d["item_assets"] = {
        k: {kk: vv for kk, vv in v.items() if kk != "href"} for k, v in items[0]["assets"].items()
    }
    d.setdefault("stac_extensions", []).append(
        "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json"
    )
    path = out / "collection.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(d, indent=2) + "\n")
    return path


def write_mosaic(out: PathLike, tifs: Sequence[PathLike], band: str) -> Path:
    """Write ``OUT/mosaic_<band>.vrt`` over the cells' COGs of one product band.

    Args:
        out: the run folder.
        tifs: the cells' COGs of ``band`` (all on the EEA grid at one resolution).
        band: one of :data:`lulcbook.cog.PRODUCT_BANDS`.

    Returns:
        The VRT file.

    Raises:
        ValueError: if there are no files, or files differ in CRS or resolution (naming one).
    """
    out = Path(out)
    if not tifs:
        raise ValueError(f"No {band} COGs to mosaic in {out}")
    metas = []
    for t in sorted(map(str, tifs)):
        with rasterio.open(t) as src:
            metas.append((Path(t), src.crs, src.transform, src.width, src.height))
    crs, t0 = metas[0][1], metas[0][2]
    res = t0.a
    for p, c, t, _, _ in metas:
        if c != crs or abs(t.a - res) > 1e-9 or abs(t.e + res) > 1e-9:
            raise ValueError(f"{p} is not on the grid of {metas[0][0]} (CRS or resolution)")
    left = min(t.c for _, _, t, _, _ in metas)
    top = max(t.f for _, _, t, _, _ in metas)
    right = max(t.c + w * res for _, _, t, w, _ in metas)
    bottom = min(t.f - h * res for _, _, t, _, h in metas)
    width, height = round((right - left) / res), round((top - bottom) / res)
    dtype, nodata = MOSAIC_DTYPES[band]
    lines = [
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
        f'  <SRS dataAxisToSRSAxisMapping="1,2">{escape(crs.to_wkt())}</SRS>',
        f"  <GeoTransform>{left!r}, {res!r}, 0.0, {top!r}, 0.0, {-res!r}</GeoTransform>",
        f'  <VRTRasterBand dataType="{dtype}" band="1">',
        f"    <Description>{band}</Description>",
        f"    <NoDataValue>{nodata}</NoDataValue>",
    ]
    if band == cog.CLASS_BAND:
        lines.append("    <ColorInterp>Palette</ColorInterp>")
        lines.append("    <CategoryNames>")
        lines += [f"      <Category>{escape(k)}</Category>" for k in legend.KEYS]
        lines.append("    </CategoryNames>")
        lines.append("    <ColorTable>")
        table = class_style.colour_table()
        for i in range(256):
            r, g, b, a = table.get(i, (0, 0, 0, 0))
            lines.append(f'      <Entry c1="{r}" c2="{g}" c3="{b}" c4="{a}"/>')
        lines.append("    </ColorTable>")
    elif band == cog.CONFIDENCE_BAND:
        lines.append(f"    <Scale>{cog.CONFIDENCE_SCALE!r}</Scale>")
    for p, _, t, w, h in metas:
        xoff, yoff = round((t.c - left) / res), round((top - t.f) / res)
        href = Path(os.path.relpath(p.absolute(), out.absolute())).as_posix()
        lines += [
            "    <ComplexSource>",
            f'      <SourceFilename relativeToVRT="1">{escape(href)}</SourceFilename>',
            "      <SourceBand>1</SourceBand>",
            f'      <SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>',
            f'      <DstRect xOff="{xoff}" yOff="{yoff}" xSize="{w}" ySize="{h}"/>',
            f"      <NODATA>{nodata}</NODATA>",
            "    </ComplexSource>",
        ]
    lines += ["  </VRTRasterBand>", "</VRTDataset>", ""]
    path = out / f"mosaic_{band}.vrt"
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines))
    return path
