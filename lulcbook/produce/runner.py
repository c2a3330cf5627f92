"""A production run: every grid cell of an area and a period → map products, on dask.

:func:`produce` lists the cells (:mod:`lulcbook.produce.grid`), finds each cell's scenes
(:mod:`lulcbook.produce.catalog`) and runs :func:`lulcbook.produce.cell.run_cell` for every
cell that is not finished yet — in this process with one worker, on a local
``dask.distributed`` cluster with several, or on an existing cluster given by its scheduler
address. Then it writes the STAC Collection and the VRT mosaics
(:mod:`lulcbook.produce.collection`) and ``OUT/run.json``: every cell's status and timing.

Resumable and idempotent: each cell's files appear together or not at all, so a rerun (after a
crash, ``kill -9`` or a failed cell) skips the finished cells and redoes the others, and gives
the same files as an uninterrupted run (the items differ only in their ``created`` time). A
failed cell is reported in ``run.json`` and on the command line; it never stops the run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lulcbook import cog
from lulcbook.io import clean_stale_scratch, write_json
from lulcbook.predict import check_min_confidence, check_scheduler, dask_client
from lulcbook.produce.catalog import ApiCatalog, StaticCatalog
from lulcbook.produce.cell import (
    CellResult,
    ModelSpec,
    cell_paths,
    check_same_model,
    is_finished,
    run_cell,
    run_cell_task,
)
from lulcbook.produce.collection import write_collection, write_mosaic
from lulcbook.produce.grid import GridCell
from lulcbook.progress import progress as tqdm

PathLike = str | os.PathLike[str]


@dataclass
class RunReport:
    """What a production run did (also written to ``OUT/run.json``).

    Attributes:
        out: the run folder.
        cells: one result per cell, in grid order.
        seconds: wall time of the run.
        workers: the number of workers used.
        collection: the collection file (``None`` if no cell is finished).
        mosaics: the VRT mosaics.
    """

    out: Path
    cells: list[CellResult]
    seconds: float
    workers: int
    collection: Path | None = None
    mosaics: list[Path] = field(default_factory=list)

    def count(self, status: str) -> int:
        """The number of cells with ``status``.

        Args:
            status: ``done``, ``skipped``, ``empty`` or ``failed``.

        Returns:
            The count.
        """
        return sum(c.status == status for c in self.cells)

    @property
    def failed(self) -> list[CellResult]:
        """The failed cells."""
        return [c for c in self.cells if c.status == "failed"]

    @property
    def km2_done(self) -> float:
        """Area of the cells predicted in this run (km²)."""
        return sum(c.area_km2 for c in self.cells if c.status == "done")

    def summary(self) -> str:
        """One line: counts per status and the time.

        Returns:
            The line.
        """
        parts = [f"{self.count(s)} {s}" for s in ("done", "skipped", "empty", "failed")]
        return f"{len(self.cells)} cells: {', '.join(parts)} in {self.seconds:.1f} s"


def _as_completed(
    cells: Sequence[GridCell],
    jobs: dict[str, dict[str, Any]],
    workers: int,
    scheduler: str | None,
) -> Iterator[CellResult]:
    """Run the jobs (by cell id) here or on dask; yield results as they complete."""
    with dask_client(workers, scheduler, processes=True) as client:
        if client is None:
            for c in cells:
                if c.id in jobs:
                    yield run_cell(**jobs[c.id])
            return
        from distributed import as_completed

        futures = [
            client.submit(run_cell_task, jobs[c.id], key=f"cell-{c.id}", pure=False)
            for c in cells
            if c.id in jobs
        ]
        for fut in as_completed(futures):  # type: ignore[no-untyped-call]
            yield fut.result()
            fut.release()


def produce(
    cells: Sequence[GridCell],
    catalog: StaticCatalog | ApiCatalog,
    period: tuple[datetime, datetime],
    model: ModelSpec,
    out: PathLike,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    tile_size: int = 1024,
    overlap: int = 32,
    blocksize: int = 512,
    resampling: str = "nearest",
    min_confidence: float | None = None,
    collection_id: str = "lulcbook-landcover",
    progress: bool = True,
) -> RunReport:
    """Map every cell of ``cells`` and write the collection, mosaics and ``run.json``.

    Args:
        cells: the grid cells (:func:`~lulcbook.produce.grid.cells_for_bbox`).
        catalog: where the scenes are found (:func:`~lulcbook.produce.catalog.open_catalog`).
        period: ``(start, end)`` of the scenes.
        model: the model (loaded once per worker).
        out: the run folder (created); cells go to ``OUT/cells/<id>/``.
        workers: local dask workers (1: cells run one after another in this process).
        scheduler: address of an existing dask.distributed scheduler (its workers must see
            the scenes, the model and ``out``).
        tile_size: core tile size of the prediction in pixels (memory per task ∝ its square);
            the default holds a 10 km cell at 10 m in one tile, so each band is read once.
        overlap: context pixels around each tile.
        blocksize: internal COG tile size.
        resampling: reprojection of the scenes' bands onto the cell grid: ``"nearest"`` (each
            pixel keeps a measured spectrum; odc-stac's and stackstac's default) or
            ``"bilinear"``.
        min_confidence: pixels below it get no class (their confidence and uncertainty are
            kept; :func:`~lulcbook.predict.encoding.blank_unconfident`); ``None``: none.
        collection_id: the id of the STAC Collection.
        progress: show a progress bar over the cells.

    Returns:
        The run report.

    Raises:
        ValueError: if there are no cells, two cells share an id, ``min_confidence`` is not in
            (0, 1], or a finished cell of ``out`` was made with another model, input offset,
            climate raster or minimum confidence
            (:func:`~lulcbook.produce.cell.check_same_model`).
        ConnectionError: for an unreachable scheduler.
    """
    t0 = time.perf_counter()
    if not cells:
        raise ValueError("No grid cells: the area does not intersect the grid")
    ids = [c.id for c in cells]
    if len(set(ids)) != len(ids):
        raise ValueError("Grid cells with the same id; give cells of one size")
    if resampling not in ("nearest", "bilinear"):
        raise ValueError(f"resampling must be 'nearest' or 'bilinear'; got {resampling!r}")
    if min_confidence is not None:
        min_confidence = check_min_confidence(min_confidence)
    if scheduler is not None:
        check_scheduler(scheduler)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for cell in cells:  # before any work: a resumed run keeps one model, offset, climate, P
        if is_finished(out, cell):
            check_same_model(out, cell, model, min_confidence)
    results: dict[str, CellResult] = {}
    jobs: dict[str, dict[str, Any]] = {}
    for cell in cells:
        if is_finished(out, cell):
            # a run killed between committing a cell and removing its scratch leaves the scratch
            clean_stale_scratch(cell_paths(out, cell)[1].parent)
            results[cell.id] = CellResult(
                cell.id, "skipped", item=str(cell_paths(out, cell)[1]), area_km2=cell.area_km2
            )
            continue
        try:
            items = catalog.search(cell.bounds_wgs84(), period)
        except Exception as err:  # a failed search fails this cell only
            results[cell.id] = CellResult(
                cell.id, "failed", area_km2=cell.area_km2, error=f"search: {err}"
            )
            continue
        if not items:
            results[cell.id] = CellResult(cell.id, "empty", area_km2=cell.area_km2)
            continue
        jobs[cell.id] = {
            "cell": cell,
            "items": items,
            "model": model,
            "out": out,
            "period": period,
            "tile_size": tile_size,
            "overlap": overlap,
            "blocksize": blocksize,
            "resampling": resampling,
            "min_confidence": min_confidence,
        }
    n_workers = 1 if scheduler is None and workers <= 1 else workers
    with tqdm(total=len(cells), desc="produce", unit="cell", disable=not progress) as bar:
        bar.update(len(results))
        for res in _as_completed(cells, jobs, workers, scheduler):
            results[res.cell] = res
            bar.update(1)
            if res.status == "failed":
                bar.write(f"cell {res.cell} failed: {res.error}")
    ordered = [results[c.id] for c in cells]
    report = RunReport(out, ordered, 0.0, n_workers)
    finished = [c for c in cells if is_finished(out, c)]
    if finished:
        item_files = [cell_paths(out, c)[1] for c in finished]
        report.collection = write_collection(
            out,
            item_files,
            collection_id,
            period,
            f"Land-cover maps on the EEA reference grid, {period[0]:%Y-%m-%d} to "
            f"{period[1]:%Y-%m-%d}, model {model.name} {model.version}".rstrip(),
        )
        for band in cog.PRODUCT_BANDS:
            tifs = [_asset(p, band) for p in item_files]
            report.mosaics.append(write_mosaic(out, tifs, band))
    report.seconds = time.perf_counter() - t0
    write_json(
        out / "run.json",
        {
            "summary": report.summary(),
            "workers": report.workers,
            "seconds": report.seconds,
            "model": {"name": model.name, "version": model.version}
            | ({"input_offset": dict(model.offset)} if model.offset else {})
            | ({"climate_sha256": model.climate_sha256} if model.climate_sha256 else {}),
            "min_confidence": min_confidence,
            "period": [period[0].isoformat(), period[1].isoformat()],
            "catalog": str(catalog.name),
            "cells": [asdict(c) for c in ordered],
        },
    )
    return report


def _asset(item_path: Path, key: str) -> Path:
    """The file of asset ``key`` of a cell's item."""
    item = json.loads(Path(item_path).read_text())
    return Path(item_path).parent / str(item["assets"][key]["href"])
