"""The ``lulcbook`` command line.

``lulcbook predict INPUT --model MODEL --out OUT.tif`` turns a scene into a land-cover map
(Cloud-Optimized GeoTIFF + STAC item); see :func:`lulcbook.predict.predict_scene`.

INPUT is a multi-band raster, a folder of single-band rasters (a Sentinel-2 granule's
``IMG_DATA``), a STAC item JSON file, or ``stac`` to search a STAC API (``--bbox``,
``--datetime``, ``--collection``, ``--stac-url``). Without ``--model`` the shipped default
model (:data:`lulcbook.zoo.DEFAULT_LULC`) is used.

Every failure is one line ``lulcbook: error: ...`` on stderr naming the file, option or value
(``--debug`` shows the traceback instead), with the exit status:

* 2 — the command line is wrong, found before anything is read or predicted: option values,
  options that do not apply to the kind of INPUT, a missing INPUT, output paths that are
  folders, coincide with an input or with each other, or lie in a missing or unwritable folder;
  a ``--datetime`` that is not ISO 8601; no ``--model`` and no shipped model;
* 1 — the run failed: unreadable, corrupt or truncated input or model, missing or duplicate
  bands, no or a geographic CRS, implausible reflectance (``--allow-implausible`` overrides),
  an unreachable ``--scheduler``, any other error while predicting. Outputs are then left as
  they were.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from lulcbook import l2a_offset
from lulcbook.cli_options import (
    DEFAULT_MODEL_CLASS,
    ModelChoice,
    add_climate_option,
    add_command,
    add_l2a_offset_option,
    add_min_confidence_option,
    add_model_options,
    add_run_options,
    add_stac_search_options,
    choose_model,
    min_confidence_option,
    name_list,
    number_list,
    run_options,
)
from lulcbook.cube import SCL_INVALID
from lulcbook.predict import SCALING
from lulcbook.produce.command import UsageError as ProduceUsageError
from lulcbook.produce.command import add_produce_parser, produce_command
from lulcbook.series_predict import SeriesUsageError, add_series_parser, series_command


class UsageError(ValueError):
    """A wrong command line (exit status 2), found before any work."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the option (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"lulcbook: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lulcbook``."""
    parser = _Parser(prog="lulcbook", description="Land use / land cover mapping.")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (for bug reports)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    presets = "; ".join(f"{k}: {s:g}/{o:+g}" for k, (s, o) in SCALING.items())
    p = add_command(
        sub,
        "predict",
        help="map a scene to a land-cover COG + STAC item",
        description="Predict a land-cover map (class, confidence, uncertainty) for a whole scene, "
        "tile by tile with overlap, in parallel with dask, and write a Cloud-Optimized GeoTIFF "
        "plus a STAC item JSON. Outputs appear only when complete.",
    )
    p.add_argument(
        "input", help="multi-band raster, folder of band files, STAC item JSON, or 'stac'"
    )
    p.add_argument(
        "--out", required=True, type=Path, help="output COG (.tif); its folder must exist"
    )
    add_model_options(
        p,
        model_help="saved classifier file, or the name of a shipped model; default: the shipped "
        "default model (`lulcbook models` lists them)",
        class_help="module:Class whose .load(MODEL) returns the classifier (default: the shipped "
        f"model's own, else {DEFAULT_MODEL_CLASS})",
        model_type=Path,
    )
    g = p.add_argument_group("bands and scaling")
    g.add_argument(
        "--band-names",
        type=name_list,
        default=None,
        help="names of all bands in file order, for files without band descriptions",
    )
    g.add_argument(
        "--preset",
        choices=sorted(SCALING),
        default=None,
        help=f"DN→reflectance (scale/offset): {presets}. Default: float input = "
        "reflectance, integer input = s2-l1c",
    )
    g.add_argument("--scale", type=float, default=None, help="reflectance = DN*scale + offset")
    g.add_argument("--offset", type=float, default=None, help="added after scaling")
    g.add_argument(
        "--nodata",
        type=float,
        default=None,
        help="input nodata value (default: the file's; 0 for band-file folders)",
    )
    g.add_argument("--mask-band", default=None, help="band whose values mask pixels (e.g. SCL)")
    g.add_argument(
        "--mask-values",
        type=number_list(int),
        default=None,
        help=f"mask-band values that become no data (default with --mask-band: "
        f"{','.join(map(str, SCL_INVALID))}, the SCL cloud/shadow/no-data classes)",
    )
    g.add_argument(
        "--allow-implausible",
        action="store_true",
        help="predict even if the scaled input does not look like reflectance (a warning "
        "instead of an error)",
    )
    add_l2a_offset_option(g)
    add_climate_option(g)
    g = p.add_argument_group("tiling and parallelism")
    add_run_options(g, tile_size=512, workers=os.cpu_count() or 1)
    g.add_argument("--blocksize", type=int, default=512, help="COG internal tile size (px)")
    g.add_argument("--mc-samples", type=int, default=0, help="MC-dropout samples (0 = off)")
    g.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the MC-dropout draws (per tile: from the seed and the tile position)",
    )
    g.add_argument("--threads", action="store_true", help="local workers as threads, not processes")
    g = p.add_argument_group("output and STAC search")
    g.add_argument("--stac-out", type=Path, default=None, help="STAC item path (default OUT.json)")
    add_min_confidence_option(g)
    g.add_argument(
        "--datetime",
        default=None,
        help="acquisition time for the item; with INPUT 'stac': the search range",
    )
    g.add_argument(
        "--bbox",
        type=number_list(float),
        default=None,
        help="STAC search: lon/lat min_x,min_y,max_x,max_y",
    )
    add_stac_search_options(g, collection=None, max_cloud=None)
    m = sub.add_parser(
        "models",
        help="list the trained models shipped with the package",
        description="List the shipped models (name, kind, input level, bands); "
        "--card NAME prints a model's card.",
    )
    m.add_argument("--card", metavar="NAME", help="print the model card of NAME")
    c = sub.add_parser(
        "classify-points",
        help="classify a table of points (ELC10/LUCAS Sentinel-2 features) into land cover",
        description="Classify each row of a point table with the columns of the ELC10 "
        "Sentinel-2 table (POINT_ID, band medians, index statistics); coordinates for the "
        "climate lookup from lon/lat columns or the POINT_ID grid code. Writes POINT_ID, class, "
        "one probability per class and the normalised entropy (uncertainty).",
    )
    c.add_argument("table", type=Path, help="CSV (or .csv.gz) point table")
    c.add_argument("--out", required=True, type=Path, help="output CSV; its folder must exist")
    c.add_argument("--s1", type=Path, default=None, help="Sentinel-1 table joined on POINT_ID")
    c.add_argument(
        "--model", default=None, help="shipped model name or weights path (default lucas-points)"
    )
    c.add_argument("--climate", type=Path, default=None, help="WorldClim 2.1 BIO folder")
    a = add_command(
        sub,
        "assess",
        help="accuracy of a map at labelled reference points, with intervals",
        description="Compare a map (the class COG of `lulcbook predict` or `produce`) with "
        "labelled reference points: overall accuracy, recall and precision of each class with "
        "95% intervals (Wilson, or a bootstrap of whole groups with --cluster-column), "
        "macro-F1 and the confusion; "
        "points outside the map or on pixels without a class are counted and left out, "
        "duplicate points kept once. Prints a summary; --out writes the whole report (JSON).",
    )
    a.add_argument("map", type=Path, help="the map's class COG (.tif)")
    a.add_argument(
        "points",
        type=Path,
        help="reference points: vector file with a CRS (GPKG, GeoJSON, shapefile) or CSV "
        "with WGS84 longitude/latitude",
    )
    a.add_argument("--label-column", required=True, help="the column of the points' labels")
    a.add_argument(
        "--scheme",
        choices=("legend", "lucas", "corine"),
        default="legend",
        help="labels as legend keys/names/indices, LUCAS LC1 codes (C21) or CORINE level-3 "
        "codes (311)",
    )
    a.add_argument(
        "--cluster-column",
        default=None,
        help="column grouping the points (field, survey cluster, tile): intervals from a "
        "bootstrap of whole groups instead of Wilson intervals",
    )
    a.add_argument("--lon-column", default="lon", help="longitude column of a CSV")
    a.add_argument("--lat-column", default="lat", help="latitude column of a CSV")
    a.add_argument("--out", type=Path, default=None, help="report JSON; its folder must exist")
    la = add_command(
        sub,
        "lai",
        help="leaf area index COG (+ uncertainty, flags, STAC item) from L2A reflectance",
        description="Leaf area index from Sentinel-2 surface reflectance (B03 B04 B05 B06 B07 "
        "B8A B11 B12) with the Sentinel-2 Toolbox network; writes OUT.tif (lai, lai_sigma), "
        "OUT_flags.tif and OUT.json. L1C/TOA input is refused unless --allow-toa.",
    )
    la.add_argument("input", help="multi-band raster, folder of band files, or STAC item JSON")
    la.add_argument("--out", required=True, type=Path, help="output COG (.tif)")
    la.add_argument(
        "--level",
        choices=["L2A", "L1C"],
        default=None,
        help="processing level (default: from the name or --preset)",
    )
    la.add_argument(
        "--allow-toa",
        action="store_true",
        help="run on top-of-atmosphere (L1C) reflectance, outside the method's domain (flagged)",
    )
    la.add_argument("--preset", choices=sorted(SCALING), default=None, help="DN scaling preset")
    la.add_argument(
        "--band-names", type=name_list, default=None, help="band names of a raster file"
    )
    add_series_parser(sub)
    add_produce_parser(sub)
    return parser


_DEFAULT_COLLECTION = "sentinel-2-l2a"
"""The collection INPUT 'stac' searches without ``--collection``."""

_STAC_SEARCH_ONLY = {
    "bbox": "--bbox",
    "collection": "--collection",
    "max_cloud": "--max-cloud",
    "stac_url": "--stac-url",
}


def _stac_search_input(args: argparse.Namespace, bands: Sequence[str]) -> Any:
    """Search a STAC API and describe the scene through lulcbook.sources.stac."""
    from lulcbook.predict import source_from_stac_search

    return source_from_stac_search(
        bands,
        args.bbox,
        args.datetime,
        collection=args.collection or _DEFAULT_COLLECTION,
        url=args.stac_url,
        max_cloud=20.0 if args.max_cloud is None else args.max_cloud,
    )


def _source_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "band_names": args.band_names,
        "preset": args.preset,
        "scale": args.scale,
        "offset": args.offset,
        "nodata": args.nodata,
        "mask_band": args.mask_band,
        "mask_values": args.mask_values,
    }


def _shipped_model(name: str | None, model_class: str | None) -> ModelChoice:
    """The shipped model ``name`` (default: the default land-cover model) and its loader."""
    try:
        return choose_model(name, model_class)
    except (ImportError, FileNotFoundError, KeyError, ValueError) as err:
        from lulcbook.zoo import DEFAULT_LULC

        detail = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise UsageError(
            f"the shipped model {name or DEFAULT_LULC!r} is not available ({detail}); "
            "give --model PATH"
        ) from err


def _shipped_info(weights: Path) -> Any:
    """The shipped model whose weights are ``weights`` (``None``: not a shipped model)."""
    from lulcbook import zoo

    with contextlib.suppress(OSError, ValueError, KeyError):
        for info in zoo.list_models():
            if info.weights.resolve() == Path(weights).resolve():
                return info
    return None


def _model_identity(info: Any, weights: Path) -> tuple[str, str]:
    """Name and version of a model file for the map metadata (a shipped model by its name).

    Args:
        info: the shipped model of ``weights`` (:func:`_shipped_info`; ``None``: not shipped).
        weights: the model file.

    Returns:
        ``(name, version)``: a shipped model's name and metadata version, else the file name and
        an empty version.
    """
    if info is None:
        return Path(weights).name, ""
    return info.name, str(info.metadata.get("version", ""))


def _input_offset(model: Any, info: Any, name: str) -> tuple[Any, dict[str, Any]]:
    """``model`` with its documented L2A offset (``--l2a-offset``) and the STAC property saying so.

    Args:
        model: the loaded map model.
        info: its shipped model (:func:`_shipped_info`; ``None``: not shipped, no offset).
        name: its name for the messages (:func:`_model_identity`).

    Raises:
        UsageError: a model that is not shipped, documents no offset or takes none.
    """
    try:
        shifted, offset = l2a_offset.apply_documented(
            model, list(model.bands), {} if info is None else info.metadata, name
        )
        return shifted, {l2a_offset.STAC_PROPERTY: offset}
    except ValueError as err:
        raise UsageError(f"--l2a-offset: {err}") from None


def check_predict_args(args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """Check a ``predict`` command line before anything is read; fill in the default model.

    Returns:
        The map, uncertainty and STAC item paths.

    Raises:
        UsageError: naming the option and value that are wrong.
    """
    from lulcbook import predict, product_stac

    for name, value, low in (
        ("--tile-size", args.tile_size, 1),
        ("--overlap", args.overlap, 0),
        ("--mc-samples", args.mc_samples, 0),
        ("--workers", args.workers, 1),
    ):
        if value < low:
            raise UsageError(f"{name} must be >= {low}, got {value}")
    if args.blocksize % 16 or args.blocksize < 128:
        raise UsageError(f"--blocksize must be a multiple of 16 and >= 128, got {args.blocksize}")
    if args.band_names is not None and len(args.band_names) == 0:
        raise UsageError("--band-names is empty")
    if args.scale is not None and not (np.isfinite(args.scale) and args.scale > 0):
        raise UsageError(f"--scale must be a positive number, got {args.scale}")
    try:
        min_confidence_option(args)
    except ValueError as err:
        raise UsageError(str(err)) from None
    if args.l2a_offset:
        stac = args.input == "stac"
        try:
            l2a_offset.check_input(
                args.preset,
                [] if stac else [args.input],
                (args.collection or _DEFAULT_COLLECTION) if stac else None,
            )
        except ValueError as err:
            raise UsageError(f"--l2a-offset: {err}") from None
    if args.input == "stac":
        if args.bbox is None or args.datetime is None:
            raise UsageError("INPUT 'stac' needs --bbox and --datetime")
        if len(args.bbox) != 4:
            raise UsageError(f"--bbox needs 4 numbers (west,south,east,north), got {args.bbox}")
        w, so, e, n = args.bbox
        if not (-180 <= w < e <= 180 and -90 <= so < n <= 90):
            raise UsageError(f"--bbox {args.bbox} is not west,south,east,north in degrees")
        given = [k for k, v in _source_options(args).items() if v is not None]
        if given:
            opts = ", ".join(predict.OPTION_NAMES[k] for k in given)
            raise UsageError(f"{opts} do not apply to INPUT 'stac' (scaling comes from the items)")
        inputs: list[Path] = []
    else:
        given = [o for k, o in _STAC_SEARCH_ONLY.items() if getattr(args, k) is not None]
        if given:
            raise UsageError(f"{', '.join(given)} only apply to INPUT 'stac' (a STAC search)")
        src = Path(args.input)
        if not src.exists():
            raise UsageError(f"INPUT {src} does not exist")
        try:
            predict.check_options(src, **_source_options(args))
        except ValueError as err:
            raise UsageError(str(err)) from None
        if args.datetime is not None:
            try:
                product_stac.parse_datetime(args.datetime)
            except ValueError as err:
                raise UsageError(str(err)) from None
        inputs = predict.input_files(src)
    if args.model is None or (not args.model.exists() and args.model.suffix == ""):
        # no --model: the default shipped model; --model NAME: a shipped model by name
        shipped = _shipped_model(None if args.model is None else str(args.model), args.model_class)
        args.model, args.model_class = shipped.weights, shipped.model_class
    if args.model_class is None:
        args.model_class = DEFAULT_MODEL_CLASS
    if args.model.is_dir():
        raise UsageError(f"--model {args.model} is a folder; give the model file")
    if not args.model.exists():
        raise UsageError(f"--model {args.model} does not exist")
    try:
        return predict.output_paths(args.out, args.stac_out, [*inputs, args.model])
    except (ValueError, OSError) as err:
        raise UsageError(str(err)) from None


def _with_climate(model: Any, path: Path | None) -> Any:
    """The model with its climate raster attached (:func:`lulcbook.climate_field.attach`).

    Raises:
        UsageError: ``--climate`` for a model without climate input, or a raster that cannot
            serve one with it.
    """
    from lulcbook import climate_field

    try:
        return climate_field.attach(model, path)
    except (climate_field.ClimateFieldError, FileNotFoundError) as err:
        raise UsageError(str(err)) from None


def predict_command(args: argparse.Namespace) -> int:
    """Run ``lulcbook predict``; returns the exit status.

    Raises:
        UsageError: for a wrong command line (found before any work, see
            :func:`check_predict_args`); other exceptions for failed runs.
    """
    from lulcbook.predict import check_scheduler, load_classifier, predict_scene

    check_predict_args(args)
    if args.scheduler is not None:
        check_scheduler(args.scheduler)
    model = _with_climate(load_classifier(args.model, args.model_class), args.climate)
    shipped = _shipped_info(args.model)  # one look-up of the model zoo
    model_name, model_version = _model_identity(shipped, args.model)
    properties: dict[str, Any] = {}
    if args.l2a_offset:
        model, properties = _input_offset(model, shipped, model_name)
    if args.input == "stac":
        source: Any = _stac_search_input(args, model.bands)
        when = None
        source_kw: dict[str, Any] = {}
    else:
        source = Path(args.input)
        when = args.datetime
        source_kw = {k: v for k, v in _source_options(args).items() if v is not None}
    result = predict_scene(
        source,
        model,
        args.out,
        blocksize=args.blocksize,
        mc_samples=args.mc_samples,
        seed=args.seed,
        processes=not args.threads,
        model_name=model_name,
        model_version=model_version,
        datetime_=when,
        stac_path=args.stac_out,
        allow_implausible=args.allow_implausible,
        extra_inputs=[args.model],
        properties=properties,
        min_confidence=args.min_confidence,
        **run_options(args),
        **source_kw,
    )
    print(
        f"wrote {result.path}, {result.confidence_path}, {result.uncertainty_path} and "
        f"{result.stac_path}: "
        f"{result.width}x{result.height} px, {result.area_km2:.1f} km², {result.n_tiles} tiles "
        f"in {result.seconds:.1f} s"
        + (
            f"; {result.unconfident_pixels} px below --min-confidence {args.min_confidence:g} "
            "left without a class"
            if args.min_confidence is not None
            else ""
        )
    )
    return 0


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 2000 else text[:2000] + " ..."


def models_command(args: argparse.Namespace) -> int:
    """``lulcbook models``: list the shipped models, or print one model card."""
    from lulcbook import zoo

    if args.card:
        try:
            print(zoo.card_path(args.card).read_text(), end="")
        except KeyError as err:
            raise ValueError(err.args[0]) from None
        return 0
    models = zoo.list_models()
    if not models:
        print("no shipped models yet: `make repro` trains and exports them")
    for info in models:
        print(info.summary)
    return 0


def classify_points_command(args: argparse.Namespace) -> int:
    """``lulcbook classify-points``: classify a point table into a CSV."""
    from lulcbook.classify_points import classify_points

    for name, path in (("TABLE", args.table), ("--s1", args.s1)):
        if path is not None and not path.is_file():
            raise UsageError(f"{name} {path} does not exist")
    if args.out.is_dir() or not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out} must be a file in an existing folder")
    s = classify_points(args.table, args.out, args.s1, args.model, args.climate)
    print(f"wrote {s['out']}: {s['n_points']} points, mean uncertainty {s['mean_uncertainty']:.3f}")
    return 0


def assess_command(args: argparse.Namespace) -> int:
    """``lulcbook assess``: a map's accuracy at labelled reference points."""
    from lulcbook import io, point_check

    for name, path in (("MAP", args.map), ("POINTS", args.points)):
        if not path.is_file():
            raise UsageError(f"{name} {path} does not exist")
    if args.out is not None:
        try:
            io.check_output_paths([args.out], [args.map, args.points], names=["--out"])
        except (ValueError, OSError) as err:
            raise UsageError(str(err)) from None
    points = point_check.read_points(
        args.points, args.label_column, args.scheme, args.lon_column, args.lat_column
    )
    report = point_check.assess(args.map, points, args.cluster_column)
    print(point_check.summary(report))
    if args.out is not None:
        io.write_json(args.out, report)
        print(f"wrote {args.out}")
    return 0


def lai_command(args: argparse.Namespace) -> int:
    """``lulcbook lai``: LAI COG, flags COG and STAC item for a scene."""
    from lulcbook.lai_product import write_lai_product

    if not Path(args.input).exists():
        raise UsageError(f"INPUT {args.input} does not exist")
    if args.out.suffix.lower() not in (".tif", ".tiff") or not args.out.parent.is_dir():
        raise UsageError(f"--out {args.out} must be a .tif file in an existing folder")
    opts = {"preset": args.preset, "band_names": args.band_names}
    s = write_lai_product(
        args.input,
        args.out,
        level=args.level,
        allow_toa=args.allow_toa,
        **{k: v for k, v in opts.items() if v is not None},
    )
    print(
        f"wrote {s['lai']}, {s['flags']}, {s['stac']}: {s['n_valid']}/{s['n_pixels']} pixels, "
        f"mean LAI {s['lai_mean']:.2f}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lulcbook`` console script; returns the exit status.

    Every error is printed as one line ``lulcbook: error: ...``: exit status 2 for a wrong
    command line (:class:`UsageError`, argparse), 1 for a failed run (see the module
    docstring). ``--debug`` re-raises instead, showing the traceback. Warnings are printed as
    ``lulcbook: warning: ...``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)

    def show(message: Any, category: Any, *rest: Any, **kw: Any) -> None:
        print(f"lulcbook: warning: {_one_line(Exception(message))}", file=sys.stderr)

    if not args.debug:  # library log records (e.g. odc-stac read errors) would add lines
        logging.getLogger().addHandler(logging.NullHandler())
    with warnings.catch_warnings():
        if not args.debug:
            warnings.showwarning = show
        try:
            if args.command == "predict":
                return predict_command(args)
            if args.command == "models":
                return models_command(args)
            if args.command == "classify-points":
                return classify_points_command(args)
            if args.command == "lai":
                return lai_command(args)
            if args.command == "assess":
                return assess_command(args)
            if args.command == "series":
                return series_command(args)
            if args.command == "produce":
                return produce_command(args)
        except (UsageError, ProduceUsageError, SeriesUsageError) as err:
            if args.debug:
                raise
            print(f"lulcbook: error: {_one_line(err)}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            if args.debug:
                raise
            print("lulcbook: error: interrupted; outputs left as they were", file=sys.stderr)
            return 130
        except Exception as err:
            if args.debug:
                raise
            print(f"lulcbook: error: {_one_line(err)}", file=sys.stderr)
            return 1
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
