"""The first cell of every notebook: parameters, output folders, plotting and threads.

Each numbered notebook starts with::

    params, P, FIG = notebook.setup("02-gnn", "gnn", overrides)

which validates and loads its ``params.yaml`` section (with the smoke block and the notebook's
``overrides``), resolves the run's paths (scratch folders in smoke mode), creates the
notebook's figure folder, sets up hvplot/holoviews, optionally limits torch's CPU threads and
prints what the run uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lulcbook import config, viz


@dataclass(frozen=True)
class Setup:
    """What a notebook needs to start.

    Attributes:
        params: the notebook's validated ``params.yaml`` section.
        paths: where the run reads and writes.
        figures: the notebook's figure folder (created).
    """

    params: dict[str, Any]
    paths: config.Paths
    figures: Path

    def __iter__(self) -> Iterator[Any]:
        """Unpack as ``params, P, FIG``."""
        return iter((self.params, self.paths, self.figures))


def setup(
    notebook: str,
    section: str,
    overrides: Mapping[str, Any] | None = None,
    threads: int | None = None,
    show: bool = True,
) -> Setup:
    """Load parameters and paths, create the figure folder and set up plotting.

    Args:
        notebook: the notebook's name, e.g. ``"02-gnn"`` (its figure folder).
        section: its ``params.yaml`` section, e.g. ``"gnn"``.
        overrides: the notebook's ``overrides`` (its papermill parameters cell).
        threads: torch CPU threads (``None``: leave torch alone and do not import it).
        show: print the mode, the sample folder and the parameters.

    Returns:
        ``Setup(params, paths, figures)``, which unpacks as ``params, P, FIG``.

    Raises:
        lulcbook.params.ParamsError: for an unknown or mistyped parameter.
    """
    viz.setup_plotting()
    params = config.load_params(section, dict(overrides or {}))
    paths = config.get_paths()
    figures = paths.figures / notebook
    figures.mkdir(parents=True, exist_ok=True)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    if show:
        print(f"smoke mode: {config.is_smoke()} | sample: {paths.sample} | params: {params}")
    return Setup(params, paths, figures)
