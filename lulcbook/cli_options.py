"""Command-line option builders shared by the ``lulcbook`` subcommands.

:mod:`lulcbook.cli` (``predict``, ``lai``), :mod:`lulcbook.series_predict` (``series``) and
:mod:`lulcbook.produce.command` (``produce``) register their parsers and the options they
have in common through these functions, so that an option means the same everywhere and is
read back into keyword arguments by one function (:func:`run_options`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T", int, float)

DEFAULT_MODEL_CLASS = "lulcbook.models.gnn:SegmentClassifier"
"""Loader of a ``--model`` file when neither ``--model-class`` nor shipped metadata name one."""


@dataclass(frozen=True)
class ModelChoice:
    """A ``--model`` resolved to a weights file and the class that loads it.

    Attributes:
        weights: the model file (absolute for a given file).
        model_class: its loader (``module:Class``).
        name: the shipped model's name, else the file name.
        version: the shipped model's version, else empty.
        metadata: the shipped model's metadata, else empty.
    """

    weights: Path
    model_class: str
    name: str
    version: str
    metadata: dict[str, Any] = field(default_factory=dict)


def choose_model(model: str | None, model_class: str | None) -> ModelChoice:
    """Resolve ``--model`` (a model file, a shipped model's name, or none) and ``--model-class``.

    Args:
        model: a model file, or the name of a shipped model (default: the default land-cover
            model :data:`lulcbook.zoo.DEFAULT_LULC`).
        model_class: the loader; default: the shipped model's own, else
            :data:`DEFAULT_MODEL_CLASS`.

    Returns:
        The model.

    Raises:
        KeyError: ``model`` is neither a file nor a shipped model (naming those that exist).
        FileNotFoundError: a shipped model's files are missing.
        ValueError: a shipped model's metadata is unreadable.
    """
    from lulcbook import zoo

    if model is not None and Path(model).is_file():
        path = Path(model).resolve()
        return ModelChoice(path, model_class or DEFAULT_MODEL_CLASS, path.name, "")
    info = zoo.get(model or zoo.DEFAULT_LULC)
    return ModelChoice(
        info.weights,
        model_class or info.metadata.get("model_class", DEFAULT_MODEL_CLASS),
        info.name,
        str(info.metadata.get("version", "")),
        info.metadata,
    )


def number_list(kind: type[T]) -> Callable[[str], list[T]]:
    """An argparse ``type`` for comma-separated numbers (``12.5,52,13,53``).

    Args:
        kind: ``int`` or ``float``.

    Returns:
        The parser; it raises ``argparse.ArgumentTypeError`` naming the value.
    """
    what = "integers" if kind is int else "numbers"

    def parse(text: str) -> list[T]:
        try:
            return [kind(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {what}, got {text!r}"
            ) from None

    return parse


def name_list(text: str) -> list[str]:
    """An argparse ``type`` for comma-separated names; blanks around and between are dropped.

    Args:
        text: the option value.

    Returns:
        The names.
    """
    return [v.strip() for v in text.split(",") if v.strip()]


def add_command(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """Register a subcommand that shows option defaults in its help and accepts ``--debug``.

    Args:
        sub: the subparsers action of the ``lulcbook`` parser.
        name: the subcommand.
        help: one line for ``lulcbook --help``.
        description: the subcommand's ``--help`` text.

    Returns:
        The subcommand's parser.
    """
    p: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )
    return p


def add_model_options(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    model_help: str,
    class_help: str,
    model_type: Callable[[str], Any] = str,
) -> None:
    """Add ``--model`` (a shipped model's name or a model file) and ``--model-class``.

    Args:
        p: the parser or argument group.
        model_help: help of ``--model`` (what its default is).
        class_help: help of ``--model-class``.
        model_type: argparse ``type`` of ``--model``.
    """
    p.add_argument("--model", type=model_type, default=None, help=model_help)
    p.add_argument("--model-class", default=None, help=class_help)


def add_l2a_offset_option(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--l2a-offset``: apply the shipped model's documented L2A input offset.

    Args:
        p: the parser or argument group.
    """
    p.add_argument(
        "--l2a-offset",
        action="store_true",
        help="add the model's documented L2A path offset (metadata l2a_offset; its effect on "
        "each L2A reference is in the model card) to the input before classifying; refused "
        "for input declared L1C (--preset, STAC item, --collection)",
    )


def add_climate_option(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--climate``: the WorldClim raster a model with climate input looks pixels up in.

    Args:
        p: the parser or argument group.
    """
    p.add_argument(
        "--climate",
        type=Path,
        default=None,
        metavar="PATH",
        help="WorldClim 2.1 BIO1-19 folder or multi-band file for a model with climate input "
        "(default: the offline sample's worldclim/wc21_10m_bio_europe under LULCBOOK_SAMPLE or "
        "paths.sample); refused for a model without it",
    )


def add_min_confidence_option(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """Add ``--min-confidence``: leave pixels below a confidence without a class.

    Args:
        p: the parser or argument group.
    """
    p.add_argument(
        "--min-confidence",
        type=float,
        default=None,
        metavar="P",
        help="leave pixels whose confidence is below P (0-1] without a class (class no data, "
        "confidence and uncertainty kept; the STAC items record P and the share it took); "
        "notebook 07 chooses a P on another series (maps.json: exeter.confidence.threshold). "
        "Default: every pixel with data keeps its class",
    )


def min_confidence_option(args: argparse.Namespace) -> float | None:
    """The value of ``--min-confidence`` (:func:`add_min_confidence_option`), checked.

    Raises:
        ValueError: ``--min-confidence`` outside (0, 1], naming the option.
    """
    from lulcbook.predict.encoding import check_min_confidence

    if args.min_confidence is None:
        return None
    try:
        return check_min_confidence(args.min_confidence)
    except ValueError as err:
        raise ValueError(f"--min-confidence: {err}") from None


def add_run_options(
    p: argparse.ArgumentParser | argparse._ArgumentGroup, tile_size: int, workers: int
) -> None:
    """Add the tiling and dask options read back by :func:`run_options`.

    ``--tile-size``, ``--overlap`` (32), ``--workers``, ``--scheduler`` and ``--no-progress``.

    Args:
        p: the parser or argument group.
        tile_size: default prediction tile size (pixels).
        workers: default number of local dask workers.
    """
    p.add_argument("--tile-size", type=int, default=tile_size, help="prediction tile size (px)")
    p.add_argument("--overlap", type=int, default=32, help="context margin per tile side (px)")
    p.add_argument(
        "--workers", type=int, default=workers, help="local dask workers (1 = in this process)"
    )
    p.add_argument(
        "--scheduler", default=None, help="address of an existing dask scheduler (tcp://host:8786)"
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of the options of :func:`add_run_options`.

    Args:
        args: the parsed command line.

    Returns:
        ``tile_size``, ``overlap``, ``workers``, ``scheduler`` and ``progress``.
    """
    return {
        "tile_size": args.tile_size,
        "overlap": args.overlap,
        "workers": args.workers,
        "scheduler": args.scheduler,
        "progress": not args.no_progress,
    }


def add_stac_search_options(
    p: argparse.ArgumentParser | argparse._ArgumentGroup,
    collection: str | None,
    max_cloud: float | None,
    api: bool = True,
) -> None:
    """Add ``--collection``, ``--max-cloud`` and (with ``api``) ``--stac-url`` of a STAC search.

    Args:
        p: the parser or argument group.
        collection: default collection (``None``: the option is unset unless given).
        max_cloud: default largest cloud cover in percent (``None``: unset unless given).
        api: add ``--stac-url``.
    """
    p.add_argument(
        "--collection",
        default=collection,
        help="STAC search collection" + ("" if collection else " (default sentinel-2-l2a)"),
    )
    p.add_argument(
        "--max-cloud",
        type=float,
        default=max_cloud,
        help="STAC search: max. cloud cover %%"
        + ("" if max_cloud is not None else " (default 20)"),
    )
    if api:
        p.add_argument(
            "--stac-url", default=None, help="STAC API (default: lulcbook.sources.stac's)"
        )


__all__ = [
    "DEFAULT_MODEL_CLASS",
    "ModelChoice",
    "add_command",
    "add_climate_option",
    "add_l2a_offset_option",
    "add_model_options",
    "add_run_options",
    "add_stac_search_options",
    "choose_model",
    "name_list",
    "number_list",
    "run_options",
]
