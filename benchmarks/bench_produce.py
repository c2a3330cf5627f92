"""Map production speed: km²/s per core end to end, the I/O floor, scaling and peak memory.

On the Sentinel-2 L1C Brandenburg scene (1536×768 px at 10 m, 118 km²) with the default shipped
land-cover model (grid superpixels + MLP), each configuration in a fresh process (so peak memory
does not carry over, and torch uses one thread). The scene is read twice over: as the sample's
JPEG 2000 band files, and as Cloud-Optimized GeoTIFF copies of them (DEFLATE, 1024 px blocks,
made losslessly in a temporary folder; production archives such as Earth Search serve
Sentinel-2 as COGs):

* **I/O floor**: reading the model's bands whole (decoding, and the resampling of the 20 m
  bands included) — no prediction is faster than this;
* **profile** of one prediction: the share of time in reading, superpixels, the model,
  encoding, and writing the COGs;
* **predict**: ``lulcbook.predict.predict_scene`` on the whole scene for each tile size and
  input format: CPU time, km²/s per core, peak memory;
* **grid**: ``lulcbook.produce`` over the EEA cells (default 10 km) that cover the scene, from a
  static catalog of the COG copies, reprojected onto the EEA grid with nearest-neighbour (the
  default) and bilinear resampling, with 1 and 2 local dask workers: km²/s per core over the
  mapped area and the 1 → 2 worker scaling (the cluster's start-up is timed apart);
* **grid, 10 km cells** (the production default): the sample scene holds no wholly covered
  10 km cell, so the same run goes over a *mirrored mosaic* of the scene's COG copies (3 × 6
  copies, every other one flipped, 46 × 46 km; benchmark input only, its maps mean nothing):
  in this process, on a dask cluster of 1 worker and of 2, and in 2 plain processes that map
  a share of the cells each (no dask: what 2 workers can reach with this work on these cores);
  the scaling is given against both one-worker runs (the cluster's own overhead is the
  difference between them), and the 2 workers against the 2 plain processes; peak memory per
  worker process;
* **seams**: the wholly covered 2 km cells mapped one by one against one map of their union
  (cells are mapped without the pixels beyond their edge): the share of pixels that differ, by
  distance to the nearest cell edge;
* **machine scaling**: the same pure-NumPy work in one process and in two at once, which bounds
  the scaling any program can reach on these cores;
* the **plan for Europe** (10⁷ km²): core-hours at the measured rate per core, and the number
  of cores that maps it in one day.

km²/s per core uses CPU time (of the process, or summed over the cells on the dask workers),
which does not depend on other load on a shared machine; wall-clock rates are reported beside it,
with the machine's load average. Results go to ``reports/benchmarks/produce.json``.

Usage::

    python benchmarks/bench_produce.py [--tile-sizes 1024 4096] [--workers 1 2] [--cell-km 10]
        [--full-cell-km 2 5] [--mosaic 3 6] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lulcbook import config, io

SCENE = ("s2-l1c-brandenburg", "IMG_DATA")
EUROPE_KM2 = 1.0e7
"""Area of a map of Europe (km²), the order of magnitude of the EU + EFTA + UK + Balkans."""


def _rss_mb() -> float:
    """Peak resident set size of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _model() -> Any:
    import torch

    from lulcbook import predict, zoo

    torch.set_num_threads(1)
    info = zoo.get(zoo.DEFAULT_LULC)
    return info, predict.load_classifier(info.weights, info.metadata["model_class"])


def make_cog_copies(folder: Path, out: Path) -> Path:
    """Lossless COG copies (DEFLATE, 1024 px blocks, no overviews) of a folder of band files."""
    from rasterio import shutil as rio_shutil

    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(folder.glob("*.jp2")):
        rio_shutil.copy(str(f), str(out / f"{f.stem}.tif"), driver="COG", COMPRESS="DEFLATE",
                        PREDICTOR="YES", BLOCKSIZE=1024, OVERVIEWS="NONE")  # fmt: skip
    return out


def make_mirrored_mosaic(folder: Path, out: Path, nx: int, ny: int) -> Path:
    """COGs of the scene repeated ``nx`` × ``ny`` times, every other copy mirrored.

    **Benchmark input only, not data:** the sample scene (15 × 8 km) holds no wholly covered
    10 km cell of the EEA grid, the production default. Mirroring keeps every seam continuous,
    so the superpixels and the reads cost what they cost on a real scene; the maps made from it
    mean nothing and are never kept.
    """
    import numpy as np
    import rasterio

    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(folder.glob("*.tif")):
        with rasterio.open(f) as src:
            a, profile = src.read(1), src.profile
        row = np.concatenate([a if i % 2 == 0 else a[:, ::-1] for i in range(nx)], axis=1)
        big = np.concatenate([row if j % 2 == 0 else row[::-1] for j in range(ny)], axis=0)
        profile.update(driver="COG", width=big.shape[1], height=big.shape[0], compress="DEFLATE",
                       predictor=2, blocksize=1024, overviews="NONE")  # fmt: skip
        for k in ("blockxsize", "blockysize", "tiled", "interleave"):
            profile.pop(k, None)
        with rasterio.open(out / f.name, "w", **profile) as dst:
            dst.write(big, 1)
    return out


def _io(folder: str) -> dict[str, Any]:
    from rasterio.windows import Window

    from lulcbook import predict

    info, model = _model()
    src = predict.source_from_folder(folder, list(model.bands))
    c0 = time.process_time()
    src.read(Window(0, 0, src.width, src.height))
    whole = time.process_time() - c0
    km2 = src.width * src.height * 1e-4
    return {"km2": km2, "whole_cpu_s": whole, "whole_km2_per_s": km2 / whole}


PROFILE_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "read": ("predict/sources.py", ("_read_direct", "_read_stack")),
    "superpixels": ("superpixels.py", ("grid_slic",)),
    "superpixel means": ("superpixels.py", ("segment_means",)),
    "model (mlp)": ("spectral.py", ("predict_vectors",)),
    "encode": ("predict/encoding.py", ("encode_segments",)),
    "cog writing": ("cog.py", ("write_cog",)),
}
"""Profiled functions: ``(file suffix, function names)`` per part of a prediction (reads that
need no warp and warped stacks; a mask band is read through the first). A part that the profile
does not find is an error, not a share of 0."""


def _predict(folder: str, tile: int, profile: bool) -> dict[str, Any]:
    import cProfile
    import pstats

    from lulcbook import predict
    from lulcbook.predict import datasets

    info, model = _model()
    base = _rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        # warm-up (imports, GDAL drivers), then read cold: no decoded block is kept
        predict.predict_scene(folder, model, Path(tmp) / "w.tif", tile_size=tile, progress=False)
        datasets.close_all()
        prof = cProfile.Profile() if profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        res = predict.predict_scene(
            folder, model, Path(tmp) / "m.tif", tile_size=tile, progress=False, workers=1
        )
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out: dict[str, Any] = {
        "tile_size": tile, "n_tiles": res.n_tiles, "km2": res.area_km2, "wall_s": wall,
        "cpu_s": cpu, "km2_per_s_per_core": res.area_km2 / cpu,
        "km2_per_s_wall": res.area_km2 / wall, "peak_rss_mb": _rss_mb(),
        "peak_above_model_mb": _rss_mb() - base,
    }  # fmt: skip
    if prof:
        st = pstats.Stats(prof)
        total = sum(v[2] for v in st.stats.values())  # type: ignore[attr-defined]
        shares = {}
        for name, (file, fns) in PROFILE_PARTS.items():
            cum = sum(v[3] for k, v in st.stats.items() if k[0].endswith(file) and k[2] in fns)  # type: ignore[attr-defined]
            if cum == 0:
                raise RuntimeError(f"profile part {name!r}: no call of {fns} in {file}")
            shares[name] = cum / total if total else float("nan")
        out["profile_share"] = shares
    return out


def _inside(cells: list[Any], folder: Path) -> list[Any]:
    """The cells that lie wholly inside the footprint of the scene's band files."""
    import rasterio
    from rasterio.warp import transform_geom
    from shapely.geometry import box, shape

    with rasterio.open(sorted(folder.glob("*B02*"))[0]) as src:
        foot = shape(transform_geom(src.crs, "EPSG:3035", box(*src.bounds).__geo_interface__))
    return [c for c in cells if foot.contains(box(*c.bounds))]


def _warm_cell(cell: Any, items: Any, spec: Any, tmp: str, period: Any) -> None:
    """Map one cell into a folder of this process's own (the warm-up of a worker)."""
    from lulcbook.predict import datasets
    from lulcbook.produce.cell import run_cell

    run_cell(cell, items, spec, Path(tmp) / f"warm-{os.getpid()}", period)
    datasets.close_all()  # the timed run reads cold


@contextlib.contextmanager
def _client(workers: int, dask: bool) -> Iterator[Any]:
    """:func:`lulcbook.predict.dask_client`, or with ``dask`` a local cluster even of 1 worker."""
    from lulcbook.predict.cluster import dask_client, local_client

    with local_client(workers) if dask else dask_client(workers) as client:
        yield client


def _catalog_cells(
    folder: str, tmp: str, cell_km: float, full: bool
) -> tuple[Any, Any, list[Any], Any]:
    """The shipped model's spec, a static catalog of ``folder``, its grid cells and the period.

    With ``full``, only the cells the scene covers wholly.
    """
    from lulcbook import zoo
    from lulcbook.produce import (
        ModelSpec,
        StaticCatalog,
        build_static_catalog,
        cells_for_bbox,
        open_catalog,
        parse_period,
    )

    info = zoo.get(zoo.DEFAULT_LULC)
    spec = ModelSpec(str(info.weights), info.metadata["model_class"], info.name, "")
    cat = open_catalog(build_static_catalog([Path(folder)], Path(tmp) / "catalog"))
    assert isinstance(cat, StaticCatalog)
    bbox = cat.items[0].bbox
    assert bbox is not None
    cells = cells_for_bbox(bbox, cell_km=cell_km)
    if full:  # only cells the scene covers wholly: the rate of a run inside a swath
        cells = _inside(cells, Path(folder))
    return spec, cat, cells, parse_period("2017-02-16")


def _worker_rss_mb() -> float:
    """Peak resident set size of a dask worker's process in MiB (run on the worker)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _wait_for_go(sync: Path, part: int) -> None:
    """Say this process is ready, then wait until every process of the run is (a start line)."""
    (sync / f"ready-{part}").touch()
    while not (sync / "go").exists():
        time.sleep(0.01)


def _grid(
    workers: int,
    cell_km: float,
    resampling: str,
    folder: str,
    full: bool = False,
    dask: bool = False,
    scene: str = "sample",
    part: tuple[int, int] | None = None,
    sync: Path | None = None,
) -> dict[str, Any]:
    """One grid run; with ``part = (i, n)`` only every n-th cell from the i-th (in this process),
    started when ``sync`` holds a ``go`` file."""
    from lulcbook.produce import produce

    with tempfile.TemporaryDirectory() as tmp:
        spec, cat, cells, period = _catalog_cells(folder, tmp, cell_km, full)
        if part is not None:
            cells = cells[part[0] :: part[1]]
        t0 = time.perf_counter()
        with _client(workers, dask) as client:  # start-up timed apart: a cluster serves many runs
            startup = time.perf_counter() - t0
            address = client.scheduler.address if client is not None else None
            # warm every worker with one cell (imports, GDAL and PROJ set-up, the model), in
            # the thread that runs its tasks
            warm = (cells[0], cat.search(cells[0].bounds_wgs84(), period), spec, tmp, period)
            if client is not None:
                for addr in client.scheduler_info()["workers"]:
                    client.submit(_warm_cell, *warm, workers=[addr], allow_other_workers=False,
                                  pure=False).result()  # fmt: skip
            else:
                _warm_cell(*warm)
            if sync is not None and part is not None:
                _wait_for_go(sync, part[0])
            t1, c1 = time.perf_counter(), time.process_time()
            report = produce(cells, cat, period, spec, Path(tmp) / "run", workers=workers,
                             scheduler=address, resampling=resampling,
                             progress=False)  # fmt: skip
            wall, cpu = time.perf_counter() - t1, time.process_time() - c1
            per_worker = max(client.run(_worker_rss_mb).values()) if client is not None else None
        mapped = 0
        import rasterio

        for c in report.cells:
            if c.item:
                tif = Path(c.item).with_suffix(".tif")
                with rasterio.open(tif) as src:
                    mapped += int((src.read(1) != 255).sum())
    km2 = mapped * 1e-4
    cells_cpu = sum(c.cpu_seconds for c in report.cells)  # the workers' CPU time per cell
    assert not report.failed, [c.error for c in report.failed]
    return {
        "workers": workers, "cluster": "dask" if address else "this process", "scene": scene,
        "cells": len(cells), "cell_km": cell_km, "resampling": resampling,
        "cells_wholly_covered_only": full,
        "mapped_km2": km2, "wall_s": wall, "cluster_startup_s": startup,
        "km2_per_s": km2 / wall, "km2_per_s_per_core_wall": km2 / wall / workers,
        "cells_cpu_s": cells_cpu, "km2_per_s_per_core": km2 / cells_cpu,
        "cpu_s_this_process": cpu, "peak_rss_mb_this_process": _rss_mb(),
        "peak_rss_mb_per_worker": per_worker if per_worker is not None else _rss_mb(),
    }  # fmt: skip


def _processes(n: int, cell_km: float, folder: str, scene: str) -> dict[str, Any]:
    """The same cells in ``n`` plain processes at once (a share each, no dask): the reference for
    what ``n`` workers can reach on these cores with this work."""
    with tempfile.TemporaryDirectory() as sync:
        rest = [str(n), str(cell_km), folder, scene, sync]
        procs = [_start_child("part", str(i), *rest) for i in range(n)]
        while len(list(Path(sync).glob("ready-*"))) < n:
            if any(p.poll() not in (None, 0) for p in procs):
                break
            time.sleep(0.01)
        (Path(sync) / "go").touch()
        parts = _child_results(procs, "part")
    wall = max(r["wall_s"] for r in parts)
    km2 = sum(r["mapped_km2"] for r in parts)
    cpu = sum(r["cells_cpu_s"] for r in parts)
    return {
        "workers": n, "cluster": f"{n} plain processes", "scene": scene,
        "cells": sum(r["cells"] for r in parts), "cell_km": cell_km, "resampling": "nearest",
        "cells_wholly_covered_only": True, "mapped_km2": km2, "wall_s": wall,
        "km2_per_s": km2 / wall, "km2_per_s_per_core_wall": km2 / wall / n,
        "cells_cpu_s": cpu, "km2_per_s_per_core": km2 / cpu,
        "peak_rss_mb_per_worker": max(r["peak_rss_mb_this_process"] for r in parts),
    }  # fmt: skip


def _seams(folder: str, cell_km: float) -> dict[str, Any]:
    """Cells mapped one by one against one map of their union: where the mosaic differs.

    A cell is mapped without the pixels beyond its edge, so its superpixels near the edge can
    differ from those of a map of the whole area; the share of differing pixels is given by
    distance to the nearest cell edge.
    """
    import numpy as np
    import rasterio

    from lulcbook.produce.cell import cell_paths, run_cell
    from lulcbook.produce.grid import GridCell

    with tempfile.TemporaryDirectory() as tmp:
        spec, cat, cells, period = _catalog_cells(folder, tmp, cell_km, full=True)
        x0, y0 = min(c.x0 for c in cells), min(c.y0 for c in cells)
        size = max(max(c.x0 + c.size for c in cells) - x0, max(c.y0 + c.size for c in cells) - y0)

        def mapped(cell: GridCell, out: str) -> np.ndarray:
            items = cat.search(cell.bounds_wgs84(), period)
            res = run_cell(cell, items, spec, Path(tmp) / out, period, tile_size=4096)
            assert res.status == "done", res.error
            with rasterio.open(cell_paths(Path(tmp) / out, cell)[0]) as src:
                return np.asarray(src.read(1))

        union = mapped(GridCell(x0, y0, size), "union")
        mosaic = np.full(union.shape, 255, np.uint8)
        edge = np.full(union.shape, -1, np.int64)
        for c in cells:
            a = mapped(c, "cells")
            r, q = int((y0 + size - c.y0 - c.size) / c.resolution), int((c.x0 - x0) / c.resolution)
            yy, xx = np.mgrid[0 : a.shape[0], 0 : a.shape[1]]
            mosaic[r : r + a.shape[0], q : q + a.shape[1]] = a
            edge[r : r + a.shape[0], q : q + a.shape[1]] = np.minimum.reduce(
                [yy, xx, a.shape[0] - 1 - yy, a.shape[1] - 1 - xx]
            )
    ok = (edge >= 0) & (mosaic != 255) & (union != 255)
    diff = (mosaic != union) & ok
    bands = {}
    for lo, hi in ((0, 8), (8, 24), (24, 48), (48, 80), (80, None)):
        m = ok & (edge >= lo) & ((edge < hi) if hi is not None else True)
        bands[f"{lo}-{hi if hi is not None else ''}px"] = {
            "share_of_pixels": float(m.sum() / ok.sum()), "differing": float(diff[m].mean())
        }  # fmt: skip
    return {"cell_km": cell_km, "cells": len(cells), "pixels": int(ok.sum()),
            "differing": float(diff[ok].mean()), "by_distance_to_cell_edge": bands}  # fmt: skip


def _burn() -> dict[str, Any]:
    """A fixed amount of NumPy work (element-wise and reductions on 4 MB arrays): CPU seconds."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.random((1024, 1024), dtype=np.float32)
    c0, t0 = time.process_time(), time.perf_counter()
    acc = 0.0
    for _ in range(150):
        y = np.sqrt(x * x + 1.0) - x
        acc += float(y.sum())
    return {"cpu_s": time.process_time() - c0, "wall_s": time.perf_counter() - t0, "acc": acc}


def _machine_scaling() -> dict[str, Any]:
    """CPU seconds of :func:`_burn` alone and with two copies at once (1.0 = perfect scaling)."""
    alone = _spawn("burn")
    pair = _child_results([_start_child("burn") for _ in range(2)], "burn")
    both = max(r["cpu_s"] for r in pair)
    return {"one_process_cpu_s": alone["cpu_s"], "two_processes_cpu_s": [r["cpu_s"] for r in pair],
            "efficiency": alone["cpu_s"] / both}  # fmt: skip


def _cell_cost(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Least-squares CPU seconds per cell = fixed + per_km2 · cell area, over wholly covered cells.

    ``1 / per_km2`` is the rate a grid run approaches as cells grow (km²/s per core).
    """
    import numpy as np

    area = np.array([r["mapped_km2"] / r["cells"] for r in runs])
    cost = np.array([r["cells_cpu_s"] / r["cells"] for r in runs])
    if len(runs) < 2 or np.ptp(area) == 0:
        return {}
    per_km2, fixed = np.polyfit(area, cost, 1)
    return {"fixed_s_per_cell": float(fixed), "s_per_km2": float(per_km2),
            "large_cell_km2_per_s_per_core": float(1 / per_km2)}  # fmt: skip


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate per core of one setting's rounds, with every round's rates.

    The machine's speed drifts by ±20 % over minutes (other load on the host), so each setting
    runs once per round, all settings in every round, and the median run stands for it.
    """
    keys = ("km2_per_s_per_core", "km2_per_s_per_core_wall", "km2_per_s")
    return {**_median(runs, keys[0]), "rounds": {k: [r[k] for r in runs] for k in keys}}


def _median(runs: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The run with the median ``key`` (the upper one of an even number)."""
    return sorted(runs, key=lambda r: r[key])[len(runs) // 2]


def _paired_scaling(
    rounds: list[list[dict[str, Any]]], i: int, ref: int, workers: int
) -> dict[str, Any]:
    """Scaling of setting ``i`` against setting ``ref`` within each round: medians and rounds.

    Wall: area per second with ``workers`` workers over ``workers`` times the reference's; CPU:
    the ratio of the rates per CPU second. Comparing within a round keeps the machine's drift
    out of the ratios.
    """
    import numpy as np

    wall = [r[i]["km2_per_s"] / (r[ref]["km2_per_s"] * workers) for r in rounds]
    cpu = [r[i]["km2_per_s_per_core"] / r[ref]["km2_per_s_per_core"] for r in rounds]
    return {"wall": float(np.median(wall)), "cpu": float(np.median(cpu)),
            "wall_rounds": wall, "cpu_rounds": cpu}  # fmt: skip


def _start_child(*args: str) -> subprocess.Popen[str]:
    """This script in a fresh process (one BLAS thread, no progress bars) running ``--child``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LULCBOOK_PROGRESS": "off"}
    return subprocess.Popen([sys.executable, __file__, "--child", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _child_results(procs: list[subprocess.Popen[str]], what: object) -> list[dict[str, Any]]:
    """Wait for every child; their results (the last line of output), or the first one's error."""
    outs = [p.communicate() for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"benchmark child {what} failed:\n{err[-3000:]}")
    return [dict(json.loads(out.strip().splitlines()[-1])) for out, _ in outs]


def _spawn(*args: str) -> dict[str, Any]:
    """The result of one child process (:func:`_child`)."""
    return _child_results([_start_child(*args)], args)[0]


def _child(args: list[str]) -> dict[str, Any]:
    kind, rest = args[0], args[1:]
    if kind == "io":
        return _io(rest[0])
    if kind == "predict":
        return _predict(rest[0], int(rest[1]), profile=rest[2] == "1")
    if kind == "grid":
        dask = len(rest) > 5 and rest[5] == "dask"
        scene = rest[6] if len(rest) > 6 else "sample"
        return _grid(int(rest[0]), float(rest[1]), rest[2], rest[3], rest[4] == "full", dask, scene)
    if kind == "part":
        i, n = int(rest[0]), int(rest[1])
        return _grid(1, float(rest[2]), "nearest", rest[3], True, False, rest[4], (i, n),
                     Path(rest[5]))  # fmt: skip
    if kind == "seams":
        return _seams(rest[0], float(rest[1]))
    return _burn()


def main() -> None:
    """Run every configuration in a fresh process and write ``reports/benchmarks/produce.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tile-sizes", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cell-km", type=float, default=10.0)
    ap.add_argument("--full-cell-km", type=float, nargs="+", default=[2.0, 5.0])
    ap.add_argument("--mosaic", type=int, nargs=2, default=[3, 6], metavar=("NX", "NY"),
                    help="copies of the scene across and down in the mirrored mosaic")  # fmt: skip
    ap.add_argument("--repeats", type=int, default=5,
                    help="rounds of the 10 km mosaic runs (each round runs every setting once)")  # fmt: skip
    ap.add_argument("--child", nargs="+", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    jp2 = config.sample_dir() / Path(*SCENE)
    with tempfile.TemporaryDirectory() as tmp:
        cog = str(make_cog_copies(jp2, Path(tmp) / "cog"))
        inputs = {"cog": cog, "jpeg2000": str(jp2)}
        io_floor = {k: _spawn("io", v) for k, v in inputs.items()}
        runs = {k: [_spawn("predict", v, str(t), "0") for t in args.tile_sizes]
                for k, v in inputs.items()}  # fmt: skip
        profile = _spawn("predict", cog, str(max(args.tile_sizes)), "1")["profile_share"]
        km = str(args.cell_km)
        grid = [_spawn("grid", str(w), km, "nearest", cog, "all") for w in args.workers]
        bilinear = _spawn("grid", "1", km, "bilinear", cog, "all")
        grid_full = [
            _spawn("grid", str(w), str(km_full), "nearest", cog, "full")
            for km_full in args.full_cell_km
            for w in (args.workers if km_full == args.full_cell_km[0] else [1])
        ]
        seams = _spawn("seams", cog, str(args.full_cell_km[0]))
        mosaic = str(make_mirrored_mosaic(Path(cog), Path(tmp) / "mosaic", *args.mosaic))
        # the production default cell (10 km): in this process, 1 and 2 workers, in rounds
        configs = ((1, "here"), (1, "dask"), *((w, "dask") for w in args.workers if w > 1))
        plain = [w for w in args.workers if w > 1]  # the same cells in plain processes
        rounds, machines = [], []
        for _ in range(args.repeats):  # each round: every setting, then the machine's own scaling
            row = [_spawn("grid", str(w), km, "nearest", mosaic, "full", how, "mirrored mosaic")
                   for w, how in configs]  # fmt: skip
            row += [_processes(w, args.cell_km, mosaic, "mirrored mosaic") for w in plain]
            rounds.append(row)
            machines.append(_machine_scaling())
    machine = {**_median(machines, "efficiency"),
               "efficiency_rounds": [m["efficiency"] for m in machines]}  # fmt: skip
    grid_mosaic = [_median_run([r[i] for r in rounds]) for i in range(len(rounds[0]))]
    first = [g for g in grid_full if g["cell_km"] == args.full_cell_km[0]]
    one = next((g for g in first if g["workers"] == 1), first[0])
    here = grid_mosaic[0]
    many = [g for g in grid_mosaic if g["workers"] > 1 and g["cluster"] == "dask"]
    scaling = {  # speed-up per worker, 10 km cells; below 1 also where other load shares the cores
        f"{configs[i][0]}_workers_vs_{name}": _paired_scaling(rounds, i, ref, configs[i][0])
        for i in range(2, len(configs))
        for name, ref in (("one_dask_worker", 1), ("this_process", 0))
    }
    for j, w in enumerate(plain):  # what plain processes reach, and dask against them
        k = len(configs) + j
        scaling[f"{w}_plain_processes_vs_this_process"] = _paired_scaling(rounds, k, 0, w)
        i = next(i for i, c in enumerate(configs) if c == (w, "dask"))
        scaling[f"{w}_workers_vs_{w}_plain_processes"] = _paired_scaling(rounds, i, k, 1)
    small = {  # the same on the 2 km cells of the real scene (short tasks: fixed costs weigh)
        f"{g['workers']}_workers": {
            "wall": g["km2_per_s"] / (one["km2_per_s"] * g["workers"]),
            "cpu": g["km2_per_s_per_core"] / one["km2_per_s_per_core"],
        }
        for g in first
        if g["workers"] > 1
    }
    best_scene = max(r["km2_per_s_per_core"] for r in runs["cog"])
    widest = max(many, key=lambda g: g["workers"]) if many else here
    rate = min(best_scene, widest["km2_per_s_per_core"])  # the slower of the two, to plan safely
    core_hours = EUROPE_KM2 / rate / 3600
    result = {
        "scene": "/".join(SCENE),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    "load_avg_1min_at_end": os.getloadavg()[0]},
        "io_floor": io_floor,
        "predict": runs,
        "profile_share_of_predict_time": profile,
        "grid": grid,
        "grid_bilinear": bilinear,
        "grid_wholly_covered_cells": grid_full,
        "grid_mirrored_mosaic_10km": grid_mosaic,
        "grid_seams": seams,
        "grid_cell_cost": _cell_cost([g for g in grid_full if g["workers"] == 1] + [here]),
        "scaling_efficiency": scaling,
        "scaling_efficiency_2km_cells": small,
        "machine_scaling": machine,
        "target_km2_per_s_per_core": 100.0,
        "europe_plan": {
            "area_km2": EUROPE_KM2, "km2_per_s_per_core_used": rate,
            "rate_from": f"min(best predict_scene, 10 km cells with {widest['workers']} workers)",
            "core_hours": core_hours, "cores_for_one_day": core_hours / 24,
            "io_floor_core_hours": EUROPE_KM2 / io_floor["cog"]["whole_km2_per_s"] / 3600,
        },
    }  # fmt: skip
    out = io.write_json(config.get_paths().benchmarks / "produce.json", result)
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
