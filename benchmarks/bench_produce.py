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
* **machine scaling**: the same pure-NumPy work in one process and in two at once, which bounds
  the scaling any program can reach on these cores;
* the **plan for Europe** (10⁷ km²): core-hours at the measured rate per core, and the number
  of cores that maps it in one day.

km²/s per core uses CPU time (of the process, or summed over the cells on the dask workers),
which does not depend on other load on a shared machine; wall-clock rates are reported beside it,
with the machine's load average. Results go to ``reports/benchmarks/produce.json``.

Usage::

    python benchmarks/bench_produce.py [--tile-sizes 1024 4096] [--workers 1 2] [--cell-km 10]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
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


PROFILE_PARTS: dict[str, tuple[str, str]] = {
    "read": ("predict/sources.py", "_read_unchecked"),
    "superpixels": ("superpixels.py", "grid_slic"),
    "superpixel means": ("superpixels.py", "segment_means"),
    "model (mlp)": ("spectral.py", "predict_vectors"),
    "encode": ("predict/encoding.py", "encode_segments"),
    "cog writing": ("cog.py", "write_cog"),
}
"""Profiled functions: ``(file suffix, function name)`` per part of a prediction."""


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
        for name, (file, fn) in PROFILE_PARTS.items():
            cum = sum(v[3] for k, v in st.stats.items() if k[0].endswith(file) and k[2] == fn)  # type: ignore[attr-defined]
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


def _grid(
    workers: int, cell_km: float, resampling: str, folder: str, full: bool = False
) -> dict[str, Any]:
    from lulcbook import zoo
    from lulcbook.predict import dask_client
    from lulcbook.produce import (
        ModelSpec,
        StaticCatalog,
        build_static_catalog,
        cells_for_bbox,
        open_catalog,
        parse_period,
        produce,
    )  # fmt: skip

    info = zoo.get(zoo.DEFAULT_LULC)
    spec = ModelSpec(str(info.weights), info.metadata["model_class"], info.name, "")
    with tempfile.TemporaryDirectory() as tmp:
        cat = open_catalog(build_static_catalog([Path(folder)], Path(tmp) / "catalog"))
        assert isinstance(cat, StaticCatalog)
        bbox = cat.items[0].bbox
        assert bbox is not None
        cells = cells_for_bbox(bbox, cell_km=cell_km)
        if full:  # only cells the scene covers wholly: the rate of a run inside a swath
            cells = _inside(cells, Path(folder))
        period = parse_period("2017-02-16")
        t0 = time.perf_counter()
        with dask_client(workers) as client:  # start-up timed apart: a cluster serves many runs
            startup = time.perf_counter() - t0
            address = client.scheduler.address if client is not None else None
            # warm every worker with one cell (imports, GDAL and PROJ set-up, the model)
            warm = (cells[0], cat.search(cells[0].bounds_wgs84(), period), spec, tmp, period)
            if client is not None:
                client.run(_warm_cell, *warm)
            else:
                _warm_cell(*warm)
            t1, c1 = time.perf_counter(), time.process_time()
            report = produce(cells, cat, period, spec, Path(tmp) / "run", workers=workers,
                             scheduler=address, resampling=resampling,
                             progress=False)  # fmt: skip
            wall, cpu = time.perf_counter() - t1, time.process_time() - c1
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
        "workers": workers, "cells": len(cells), "cell_km": cell_km, "resampling": resampling,
        "cells_wholly_covered_only": full,
        "mapped_km2": km2, "wall_s": wall, "cluster_startup_s": startup,
        "km2_per_s": km2 / wall, "km2_per_s_per_core_wall": km2 / wall / workers,
        "cells_cpu_s": cells_cpu, "km2_per_s_per_core": km2 / cells_cpu,
        "cpu_s_this_process": cpu, "peak_rss_mb": _rss_mb(),
    }  # fmt: skip


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
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", "burn"],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )  # fmt: skip
        for _ in range(2)
    ]
    pair = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
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


def _spawn(*args: str) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LULCBOOK_PROGRESS": "off"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _child(args: list[str]) -> dict[str, Any]:
    kind, rest = args[0], args[1:]
    if kind == "io":
        return _io(rest[0])
    if kind == "predict":
        return _predict(rest[0], int(rest[1]), profile=rest[2] == "1")
    if kind == "grid":
        return _grid(int(rest[0]), float(rest[1]), rest[2], rest[3], rest[4] == "full")
    return _burn()


def main() -> None:
    """Run every configuration in a fresh process and write ``reports/benchmarks/produce.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tile-sizes", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cell-km", type=float, default=10.0)
    ap.add_argument("--full-cell-km", type=float, nargs="+", default=[2.0, 5.0])
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
    machine = _machine_scaling()
    first = [g for g in grid_full if g["cell_km"] == args.full_cell_km[0]]
    one = next((g for g in first if g["workers"] == 1), first[0])
    scaling = {  # wall-clock speed-up per worker; below 1 also where other load shares the cores
        f"{g['workers']}_workers": g["km2_per_s"] / (one["km2_per_s"] * g["workers"])
        for g in first
        if g["workers"] > 1
    }
    scaling_cpu = {  # CPU cost per km² with n workers relative to 1 (1.0 = no overhead)
        f"{g['workers']}_workers": g["km2_per_s_per_core"] / one["km2_per_s_per_core"]
        for g in first
        if g["workers"] > 1
    }
    best_scene = max(r["km2_per_s_per_core"] for r in runs["cog"])
    rate = min(best_scene, one["km2_per_s_per_core"])  # the slower of the two, to plan safely
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
        "grid_cell_cost": _cell_cost([g for g in grid_full if g["workers"] == 1]),
        "scaling_efficiency_wall": scaling,
        "scaling_efficiency_cpu": scaling_cpu,
        "machine_scaling": machine,
        "target_km2_per_s_per_core": 100.0,
        "europe_plan": {
            "area_km2": EUROPE_KM2, "km2_per_s_per_core_used": rate,
            "core_hours": core_hours, "cores_for_one_day": core_hours / 24,
            "io_floor_core_hours": EUROPE_KM2 / io_floor["cog"]["whole_km2_per_s"] / 3600,
        },
    }  # fmt: skip
    out = io.write_json(config.get_paths().benchmarks / "produce.json", result)
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
