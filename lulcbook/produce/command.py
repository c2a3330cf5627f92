"""The ``lulcbook produce`` command: its options and what it runs.

Kept beside the production code so that :mod:`lulcbook.cli` only registers it. Usage errors
(bad bbox, period, missing catalog, model or output folder) are :class:`UsageError` (exit
status 2, nothing read); a run with failed cells exits with status 1 after every other cell is
finished and reported.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lulcbook import l2a_offset
from lulcbook.cli_options import (
    add_climate_option,
    add_command,
    add_l2a_offset_option,
    add_min_confidence_option,
    add_model_options,
    add_run_options,
    add_stac_search_options,
    choose_model,
    min_confidence_option,
    run_options,
)


class UsageError(ValueError):
    """A wrong ``produce`` command line (exit status 2)."""


def _bbox(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not W,S,E,N in degrees") from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"{text!r} is not W,S,E,N (four numbers)")
    return values


def add_produce_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``produce`` on the subparsers of the ``lulcbook`` parser.

    Args:
        sub: the object returned by ``ArgumentParser.add_subparsers``.

    Returns:
        The ``produce`` parser.
    """
    p = add_command(
        sub,
        "produce",
        help="map an area and a period on the EEA grid (COGs + STAC items + collection), on dask",
        description="Map every cell of the EEA reference grid (EPSG:3035) that intersects the "
        "area: find the cell's scenes in a static STAC catalog or a STAC API, composite them "
        "(first valid pixel, least cloud first), predict, and write per cell a class COG (with "
        "palette, attribute table and QGIS style), confidence and uncertainty COGs and a STAC "
        "item under OUT/cells/ID/; then OUT/collection.json, VRT mosaics and OUT/run.json. "
        "Rerunning skips finished cells and redoes unfinished ones; a failed cell is reported "
        "and does not stop the run.",
    )
    area = p.add_mutually_exclusive_group(required=True)
    area.add_argument("--bbox", type=_bbox, help="area as W,S,E,N in degrees")
    area.add_argument("--region", type=Path, help="area as a vector file (GeoPackage, GeoJSON)")
    p.add_argument(
        "--datetime", required=True, help="period START/END (ISO dates), e.g. 2017-02-01/2017-02-28"
    )
    p.add_argument(
        "--catalog",
        required=True,
        help="static STAC catalog/collection/item collection (file or folder) or STAC API URL",
    )
    p.add_argument("--out", required=True, type=Path, help="run folder (created)")
    add_model_options(
        p,
        model_help="shipped model name or model file (default: the default land-cover model)",
        class_help="loader module:Class of a model file",
    )
    p.add_argument(
        "--cell-km", type=float, default=10.0, help="cell edge in km (EEA grid: 1, 10, 100)"
    )
    p.add_argument("--resolution", type=float, default=10.0, help="pixel size in metres")
    p.add_argument(
        "--resampling",
        choices=("nearest", "bilinear"),
        default="nearest",
        help="reprojection of the scenes' bands onto the cell grid (default: nearest)",
    )
    add_l2a_offset_option(p)
    add_climate_option(p)
    add_min_confidence_option(p)
    add_stac_search_options(p, collection="sentinel-2-l2a", max_cloud=50.0, api=False)
    add_run_options(p, tile_size=1024, workers=1)
    p.add_argument(
        "--collection-id", default="lulcbook-landcover", help="id of the output STAC Collection"
    )
    return p


def produce_command(args: argparse.Namespace) -> int:
    """Run ``lulcbook produce``.

    Args:
        args: the parsed command line.

    Returns:
        0 if every cell is finished or empty, 1 if any cell failed.

    Raises:
        UsageError: for a wrong command line (naming the option and value).
    """
    from lulcbook.produce.catalog import open_catalog, parse_period
    from lulcbook.produce.grid import cells_for_bbox, cells_for_region
    from lulcbook.produce.runner import produce

    try:
        period = parse_period(args.datetime)
        if args.bbox is not None:
            cells = cells_for_bbox(args.bbox, args.cell_km, args.resolution)
        else:
            cells = cells_for_region(args.region, args.cell_km, args.resolution)
        catalog = open_catalog(args.catalog, args.collection, args.max_cloud)
        min_confidence = min_confidence_option(args)
    except (ValueError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    if not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out}: folder {args.out.parent} does not exist")
    if args.l2a_offset:
        _check_catalog_level(catalog)
    model = _model_spec(args.model, args.model_class, args.l2a_offset, args.climate)
    try:
        report = produce(
            cells,
            catalog,
            period,
            model,
            args.out,
            collection_id=args.collection_id,
            resampling=args.resampling,
            min_confidence=min_confidence,
            **run_options(args),
        )
    except ValueError as err:  # refused before any cell (e.g. resuming with another model)
        raise UsageError(str(err)) from None
    print(f"{args.out}: {report.summary()}")
    for c in report.failed:
        print(f"lulcbook: error: cell {c.cell}: {c.error}")
    return 1 if report.failed else 0


def _check_catalog_level(catalog: Any) -> None:
    """Refuse ``--l2a-offset`` for a catalog of level-1 (top-of-atmosphere) items.

    A static catalog's items are checked one by one; an API search, by its collection.

    Raises:
        UsageError: naming the item or collection (:mod:`lulcbook.l2a_offset`).
    """
    from lulcbook.produce.catalog import StaticCatalog

    try:
        if isinstance(catalog, StaticCatalog):
            items = (
                {"id": it.id, "collection": it.collection_id, "properties": it.properties}
                for it in catalog.items
            )
            l2a_offset.check_items(items, catalog.name)
        else:
            l2a_offset.check_collection(catalog.collection)
    except ValueError as err:
        raise UsageError(f"--l2a-offset: {err}") from None


def _model_spec(
    model: str | None,
    model_class: str | None,
    l2a: bool = False,
    climate: Path | None = None,
) -> Any:
    """The model of a run: a shipped model by name (default) or a model file.

    With ``l2a``, the shipped model's documented L2A offset (:mod:`lulcbook.l2a_offset`). A
    model with climate input gets its climate raster (``climate`` or the default), read here
    once to refuse a bad one before any cell, and again by each worker.
    """
    from lulcbook import climate_field
    from lulcbook.predict import load_classifier
    from lulcbook.produce.cell import ModelSpec
    from lulcbook.zoo import DEFAULT_LULC

    try:
        m = choose_model(model, model_class)
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise UsageError(
            f"--model {model or DEFAULT_LULC!r} is neither a file nor a shipped model ({err})"
        ) from None
    offset: dict[str, float] = {}
    classifier = load_classifier(m.weights, m.model_class)
    try:
        attached = climate_field.attach(classifier, climate)
    except (climate_field.ClimateFieldError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None
    climate_path = str(Path(climate).resolve()) if climate is not None else ""
    field = getattr(attached, "climate_field", None)
    climate_sha256 = field.fingerprint if field is not None else ""
    if l2a:
        try:  # checked here, before any cell; each worker applies it to its own copy
            _, offset = l2a_offset.apply_documented(
                classifier, list(classifier.bands), m.metadata, m.name
            )
        except ValueError as err:
            raise UsageError(f"--l2a-offset: {err}") from None
    return ModelSpec(
        str(m.weights), m.model_class, m.name, m.version, offset, climate_path, climate_sha256
    )
