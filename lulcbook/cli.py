"""The ``lulcbook`` command line.

``lulcbook predict INPUT --model MODEL --out OUT.tif`` turns a scene into a land-cover map
(Cloud-Optimized GeoTIFF + STAC item); see :func:`lulcbook.predict.predict_scene`.

INPUT is a multi-band raster, a folder of single-band rasters (a Sentinel-2 granule's
``IMG_DATA``), a STAC item JSON file, or ``stac`` to search a STAC API (``--bbox``,
``--datetime``, ``--collection``, ``--stac-url``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lulcbook.cube import SCL_INVALID
from lulcbook.predict import SCALING


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None


def _names(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lulcbook``."""
    parser = argparse.ArgumentParser(prog="lulcbook", description="Land use / land cover mapping.")
    sub = parser.add_subparsers(dest="command", required=True)
    presets = "; ".join(f"{k}: {s:g}/{o:+g}" for k, (s, o) in SCALING.items())
    p = sub.add_parser(
        "predict",
        help="map a scene to a land-cover COG + STAC item",
        description="Predict a land-cover map (class, confidence, uncertainty) for a whole scene, "
        "tile by tile with overlap, in parallel with dask, and write a Cloud-Optimized GeoTIFF "
        "plus a STAC item JSON. Outputs appear only when complete.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "input", help="multi-band raster, folder of band files, STAC item JSON, or 'stac'"
    )
    p.add_argument(
        "--model", required=True, type=Path, help="saved classifier (e.g. models/gnn.pt)"
    )
    p.add_argument(
        "--out", required=True, type=Path, help="output COG (.tif); its folder must exist"
    )
    p.add_argument(
        "--model-class",
        default="lulcbook.models.gnn:SegmentClassifier",
        help="module:Class whose .load(MODEL) returns the classifier",
    )
    g = p.add_argument_group("bands and scaling")
    g.add_argument(
        "--band-names",
        type=_names,
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
        type=_ints,
        default=list(SCL_INVALID),
        help="mask-band values that become no data",
    )
    g = p.add_argument_group("tiling and parallelism")
    g.add_argument("--tile-size", type=int, default=512, help="core tile size (px)")
    g.add_argument("--overlap", type=int, default=32, help="context margin per tile side (px)")
    g.add_argument("--blocksize", type=int, default=512, help="COG internal tile size (px)")
    g.add_argument("--mc-samples", type=int, default=0, help="MC-dropout samples (0 = off)")
    g.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="local dask workers (default: the number of CPUs; 1 = in this process)",
    )
    g.add_argument("--threads", action="store_true", help="local workers as threads, not processes")
    g.add_argument("--scheduler", default=None, help="address of an existing dask scheduler")
    g = p.add_argument_group("output and STAC search")
    g.add_argument("--stac-out", type=Path, default=None, help="STAC item path (default OUT.json)")
    g.add_argument(
        "--datetime",
        default=None,
        help="acquisition time for the item; with INPUT 'stac': the search range",
    )
    g.add_argument(
        "--bbox", type=_floats, default=None, help="STAC search: lon/lat min_x,min_y,max_x,max_y"
    )
    g.add_argument("--collection", default="sentinel-2-l2a", help="STAC search collection")
    g.add_argument("--max-cloud", type=float, default=20.0, help="STAC search: max. cloud cover %%")
    g.add_argument("--stac-url", default=None, help="STAC API (default: lulcbook.sources.stac's)")
    g.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def _stac_search_input(args: argparse.Namespace, bands: Sequence[str]) -> Any:
    """Search a STAC API and describe the scene through lulcbook.sources.stac."""
    from lulcbook.predict import source_from_stac_search

    if args.bbox is None or args.datetime is None:
        raise ValueError("INPUT 'stac' needs --bbox and --datetime")
    if len(args.bbox) != 4:
        raise ValueError(f"--bbox needs 4 numbers (west,south,east,north), got {args.bbox}")
    return source_from_stac_search(
        bands,
        args.bbox,
        args.datetime,
        collection=args.collection,
        url=args.stac_url,
        max_cloud=args.max_cloud,
    )


def predict_command(args: argparse.Namespace) -> int:
    """Run ``lulcbook predict``; returns the exit status."""
    from lulcbook.predict import load_classifier, predict_scene

    if not args.out.parent.is_dir():
        raise FileNotFoundError(
            f"Output folder {args.out.parent} does not exist (for {args.out.name})"
        )
    model = load_classifier(args.model, args.model_class)
    if args.input == "stac":
        source: Any = _stac_search_input(args, model.bands)
        when = None
    else:
        source = Path(args.input)
        when = args.datetime
    result = predict_scene(
        source,
        model,
        args.out,
        tile_size=args.tile_size,
        overlap=args.overlap,
        blocksize=args.blocksize,
        mc_samples=args.mc_samples,
        workers=args.workers,
        processes=not args.threads,
        scheduler=args.scheduler,
        progress=not args.no_progress,
        model_name=str(args.model),
        datetime_=when,
        stac_path=args.stac_out,
        band_names=args.band_names,
        preset=args.preset,
        scale=args.scale,
        offset=args.offset,
        nodata=args.nodata,
        mask_band=args.mask_band,
        mask_values=args.mask_values,
    )
    print(
        f"wrote {result.path} and {result.stac_path}: {result.width}x{result.height} px, "
        f"{result.area_km2:.1f} km², {result.n_tiles} tiles in {result.seconds:.1f} s"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lulcbook`` console script; returns the exit status.

    Errors about inputs and outputs (missing file or band, no CRS, unreadable file, missing
    output folder) are printed as ``lulcbook: error: ...`` with exit status 1.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "predict":
            return predict_command(args)
    except (FileNotFoundError, ValueError, NotADirectoryError, PermissionError) as err:
        print(f"lulcbook: error: {err}", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command!r}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
