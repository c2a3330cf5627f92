"""Map production speed: km²/s per core end to end, the I/O floor, scaling and peak memory.

On the Sentinel-2 L1C Brandenburg scene (1536×768 px at 10 m, 118 km², JPEG 2000 band files)
with the default shipped land-cover model (SLIC superpixels + MLP), each configuration in a
fresh process (so peak memory does not carry over, and torch uses one thread):

* **I/O floor**: reading the model's bands whole and window by window (JPEG 2000 decoding and
  the bilinear resampling of the 20 m bands included) — no prediction is faster than this;
* **profile** of one prediction: the share of time in reading, segmentation (SLIC), the model,
  encoding, and writing the COGs;
* **predict**: ``lulcbook.predict.predict_scene`` on the whole scene for two tile sizes:
  wall and CPU time, km²/s per core, peak memory;
* **grid**: ``lulcbook.produce`` over the EEA 5 km cells that cover the scene (a static catalog
  pointing at the sample's band files) with 1 and 2 local dask workers: km²/s per core over the
  mapped area and the 1 → 2 worker scaling (the cluster's start-up is timed apart);
* the **plan for Europe** (10⁷ km²): core-hours at the measured rate per core, and the number
  of cores that maps it in one day.

km²/s per core uses CPU time (of the process, or summed over the cells on the dask workers),
which does not depend on other load on a shared machine; wall-clock rates are reported beside it,
with the machine's load average. Results go to
``reports/benchmarks/produce.json``.

Usage::

    python benchmarks/bench_produce.py [--tile-sizes 512 1024] [--workers 1 2] [--cell-km 5]
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


def _io(tile: int) -> dict[str, Any]:
    from rasterio.windows import Window

    from lulcbook import predict

    info, model = _model()
    src = predict.source_from_folder(config.sample_dir() / Path(*SCENE), list(model.bands))
    c0 = time.process_time()
    src.read(Window(0, 0, src.width, src.height))
    whole = time.process_time() - c0
    c0 = time.process_time()
    for t in predict.tile_windows(src.width, src.height, tile, 32):
        src.read(t.padded)
    tiled = time.process_time() - c0
    km2 = src.width * src.height * 1e-4
    return {"km2": km2, "whole_cpu_s": whole, "tiled_cpu_s": tiled, "tile_size": tile,
            "whole_km2_per_s": km2 / whole, "tiled_km2_per_s": km2 / tiled}  # fmt: skip


def _predict(tile: int, profile: bool) -> dict[str, Any]:
    import cProfile
    import pstats

    from lulcbook import predict

    info, model = _model()
    base = _rss_mb()
    scene = config.sample_dir() / Path(*SCENE)
    with tempfile.TemporaryDirectory() as tmp:
        prof = cProfile.Profile() if profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        res = predict.predict_scene(
            scene, model, Path(tmp) / "m.tif", tile_size=tile, progress=False, workers=1
        )
        if prof:
            prof.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    out: dict[str, Any] = {
        "tile_size": tile, "km2": res.area_km2, "wall_s": wall, "cpu_s": cpu,
        "km2_per_s_per_core": res.area_km2 / cpu, "km2_per_s_wall": res.area_km2 / wall,
        "peak_rss_mb": _rss_mb(), "peak_above_model_mb": _rss_mb() - base,
    }  # fmt: skip
    if prof:
        st = pstats.Stats(prof)
        total = sum(v[2] for v in st.stats.values())  # type: ignore[attr-defined]
        parts = {
            "read": ("predict/sources.py", "_read_unchecked"),
            "segmentation (slic)": ("slic_superpixels.py", "slic"),
            "model (mlp)": ("spectral.py", "predict_vectors"),
            "encode": ("predict/encoding.py", "encode"),
            "cog writing": ("cog.py", "write_cog"),
        }
        shares = {}
        for name, (file, fn) in parts.items():
            cum = sum(v[3] for k, v in st.stats.items() if k[0].endswith(file) and k[2] == fn)  # type: ignore[attr-defined]
            shares[name] = cum / total if total else float("nan")
        out["profile_share"] = shares
    return out


def _grid(workers: int, cell_km: float) -> dict[str, Any]:
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
        cat = open_catalog(
            build_static_catalog([config.sample_dir() / Path(*SCENE)], Path(tmp) / "catalog")
        )
        assert isinstance(cat, StaticCatalog)
        bbox = cat.items[0].bbox
        assert bbox is not None
        cells = cells_for_bbox(bbox, cell_km=cell_km)
        period = parse_period("2017-02-16")
        t0 = time.perf_counter()
        with dask_client(workers) as client:  # start-up timed apart: a cluster serves many runs
            startup = time.perf_counter() - t0
            address = client.scheduler.address if client is not None else None
            from lulcbook.produce.cell import _model as load

            if client is not None:  # warm the workers: import torch, load the model
                client.run(load, spec.path, spec.model_class)
            else:
                load(spec.path, spec.model_class)
            t1, c1 = time.perf_counter(), time.process_time()
            report = produce(cells, cat, period, spec, Path(tmp) / "run", workers=workers,
                             scheduler=address, progress=False)  # fmt: skip
            wall, cpu = time.perf_counter() - t1, time.process_time() - c1
        mapped = 0
        import numpy as np
        import rasterio

        for c in report.cells:
            if c.item:
                tif = Path(c.item).with_suffix(".tif")
                with rasterio.open(tif) as src:
                    mapped += int((src.read(1) != 255).sum())
    km2 = mapped * 1e-4
    cells_cpu = sum(c.cpu_seconds for c in report.cells)  # the workers' CPU time per cell
    assert not report.failed, [c.error for c in report.failed]
    del np
    return {
        "workers": workers, "cells": len(cells), "cell_km": cell_km, "mapped_km2": km2,
        "wall_s": wall, "cluster_startup_s": startup,
        "km2_per_s": km2 / wall, "km2_per_s_per_core_wall": km2 / wall / workers,
        "cells_cpu_s": cells_cpu, "km2_per_s_per_core": km2 / cells_cpu,
        "cpu_s_this_process": cpu, "peak_rss_mb": _rss_mb(),
    }  # fmt: skip


def _spawn(*args: str) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LULCBOOK_PROGRESS": "off"}
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {args} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Run every configuration in a fresh process and write ``reports/benchmarks/produce.json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tile-sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cell-km", type=float, default=5.0)
    ap.add_argument("--child", nargs="+", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, value = args.child[0], args.child[1]
        if kind == "io":
            print(json.dumps(_io(int(value))))
        elif kind == "predict":
            print(json.dumps(_predict(int(value), profile=args.child[2] == "1")))
        else:
            print(json.dumps(_grid(int(value), float(args.child[2]))))
        return
    io_floor = _spawn("io", str(max(args.tile_sizes)))
    runs = [_spawn("predict", str(t), "0") for t in args.tile_sizes]
    profile = _spawn("predict", str(max(args.tile_sizes)), "1")["profile_share"]
    grid = [_spawn("grid", str(w), str(args.cell_km)) for w in args.workers]
    best = max(r["km2_per_s_per_core"] for r in runs)
    one = next((g for g in grid if g["workers"] == 1), grid[0])
    scaling = {  # wall-clock speed-up per worker; below 1 also where other load shares the cores
        f"{g['workers']}_workers": g["km2_per_s"] / (one["km2_per_s"] * g["workers"])
        for g in grid
        if g["workers"] > 1
    }
    scaling_cpu = {  # CPU cost per km² with n workers relative to 1 (1.0 = no overhead)
        f"{g['workers']}_workers": g["km2_per_s_per_core"] / one["km2_per_s_per_core"]
        for g in grid
        if g["workers"] > 1
    }
    rate = min(best, one["km2_per_s_per_core"])  # the slower of the two, to plan safely
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
        "scaling_efficiency_wall": scaling,
        "scaling_efficiency_cpu": scaling_cpu,
        "target_km2_per_s_per_core": 100.0,
        "europe_plan": {
            "area_km2": EUROPE_KM2, "km2_per_s_per_core_used": rate,
            "core_hours": core_hours, "cores_for_one_day": core_hours / 24,
            "io_floor_core_hours": EUROPE_KM2 / io_floor["whole_km2_per_s"] / 3600,
        },
    }  # fmt: skip
    out = io.write_json(config.get_paths().benchmarks / "produce.json", result)
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
