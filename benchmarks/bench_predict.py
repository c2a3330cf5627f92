"""End-to-end throughput of ``lulcbook predict`` on the Brandenburg scene, against the I/O floor.

Measures, for the Sentinel-2 L1C Brandenburg crop (1536×768 px at 10 m, 118 km²):

* the **I/O floor**: the time just to read the model's bands, window by window exactly as the
  prediction tasks read them (JPEG 2000 decoding included), and in one whole-scene read;
* **end to end** (read, segment, GNN with MC dropout, stitch, COG + STAC writing) with 1 worker
  (in process) and 2 local dask worker processes: seconds, km²/s and km²/s per core; the
  start-up of the local cluster (spawning workers that import torch) is timed apart, as a
  cluster serves many scenes (``--scheduler``, or one cluster per notebook);
* the summed **CPU time of the tile tasks** (their threads' CPU clock) next to their wall time:
  on a shared machine wall time includes waiting for a core, CPU time does not, so km² per
  task-CPU-second is the load-independent cost of the model;
* **peak memory** (maximum resident set size) of the process that runs the prediction and of
  the largest dask worker, and the peak above the memory held after loading the model, for two
  tile sizes: the increment should follow the tile size, not the scene size.

Each configuration runs in a fresh Python process so peaks do not carry over. The trained
``models/gnn.pt`` is used (throughput hardly depends on the weights; another bundle can be given
with ``--model``). Results go to ``reports/benchmarks/predict.json``.

Usage::

    python benchmarks/bench_predict.py [--workers 1 2] [--tile-sizes 256 512] [--mc-samples 8]
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

from lulcbook import config, io

BANDS_DIR = ("s2-l1c-brandenburg", "IMG_DATA")


def _rss_mb(who: int) -> float:
    """Peak resident set size in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(who).ru_maxrss / 1024


def _one_run(args: argparse.Namespace) -> dict:
    """Runs inside a fresh process: one prediction (or the I/O floor), returns its measurements."""
    import numpy as np
    import torch
    from rasterio.windows import Window

    from lulcbook import predict

    torch.set_num_threads(1)
    scene = config.sample_dir() / Path(*BANDS_DIR)
    model = predict.load_classifier(args.model)
    source = predict.open_source(scene, model.bands, preset="s2-l1c")
    area = source.width * source.height * source.resolution**2 / 1e6
    base = _rss_mb(resource.RUSAGE_SELF)
    if args.run == "io":
        tiles = predict.tile_windows(source.width, source.height, args.tile_size, args.overlap)
        t0 = time.perf_counter()
        for t in tiles:
            source.read(t.padded)
        tiled = time.perf_counter() - t0
        t0 = time.perf_counter()
        source.read(Window(0, 0, source.width, source.height))
        whole = time.perf_counter() - t0
        return {"area_km2": area, "tiled_read_s": tiled, "whole_read_s": whole,
                "n_tiles": len(tiles)}  # fmt: skip
    startup = 0.0
    cluster = None
    if args.workers > 1:  # start and warm the cluster first; its start-up is reported apart
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        with predict.local_worker_environ():
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0",  # a free port, not 8787
                                   scheduler_kwargs={"dashboard": False})  # fmt: skip
        with Client(cluster) as client:
            client.run(lambda: __import__("lulcbook.models.gnn"))
        startup = time.perf_counter() - t0
    times, tasks = [], []
    for _ in range(args.repeats):  # the first run also warms GDAL's decoders in every worker
        with tempfile.TemporaryDirectory() as tmp:
            res = predict.predict_scene(
                source, model, Path(tmp) / "map.tif", tile_size=args.tile_size,
                overlap=args.overlap, mc_samples=args.mc_samples, progress=False,
                scheduler=cluster.scheduler_address if cluster else None,
            )  # fmt: skip
        times.append(res.seconds)
        tasks.append((res.task_seconds, res.task_cpu_seconds))
    if cluster is not None:
        cluster.close()
    return {
        "area_km2": area,
        "seconds": min(times),
        "seconds_each_run": times,
        "task_wall_s": tasks[int(np.argmin(times))][0],
        "task_cpu_s": tasks[int(np.argmin(times))][1],
        "cluster_startup_s": startup,
        "n_tiles": res.n_tiles,
        "rss_after_model_load_mb": base,
        "peak_rss_main_mb": _rss_mb(resource.RUSAGE_SELF),
        "peak_rss_largest_worker_mb": _rss_mb(resource.RUSAGE_CHILDREN)
        if args.workers > 1
        else None,
    }


def _spawn(args: argparse.Namespace, **kw: object) -> dict:
    cmd = [sys.executable, __file__, "--_run", str(kw["run"]), "--model", str(args.model),
           "--workers", str(kw.get("workers", 1)), "--tile-sizes", str(kw["tile_size"]),
           "--overlap", str(args.overlap), "--mc-samples", str(args.mc_samples),
           "--repeats", str(args.repeats)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark run {kw} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None, help="default: models/<maps.model>")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--tile-sizes", type=int, nargs="+", default=[512, 256])
    ap.add_argument("--overlap", type=int, default=None)
    ap.add_argument("--mc-samples", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=2, help="runs per configuration (best kept)")
    ap.add_argument("--_run", dest="run", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    params = config.load_params("maps")
    paths = config.get_paths()
    args.model = args.model or config.require(paths.models / params["model"], "gnn")
    args.overlap = params["overlap"] if args.overlap is None else args.overlap
    args.mc_samples = params["mc_samples"] if args.mc_samples is None else args.mc_samples
    if args.run is not None:  # inside a measured child process
        args.tile_size, args.workers = args.tile_sizes[0], args.workers[0]
        print(json.dumps(_one_run(args)))
        return

    tile = args.tile_sizes[0]
    io_runs = [_spawn(args, run="io", tile_size=tile) for _ in range(args.repeats)]
    io_best = min(io_runs, key=lambda r: r["tiled_read_s"])  # each in a fresh process: cold reads
    area = io_best["area_km2"]
    runs = []
    for ts in args.tile_sizes:
        for w in args.workers:
            best = _spawn(args, run="predict", workers=w, tile_size=ts)
            best.update(workers=w, tile_size=ts, km2_per_s=area / best["seconds"],
                        km2_per_s_per_core=area / best["seconds"] / w,
                        km2_per_task_cpu_s=area / best["task_cpu_s"],
                        peak_above_model_mb=best["peak_rss_main_mb"] - best["rss_after_model_load_mb"])  # fmt: skip
            runs.append(best)
            print(f"workers={w} tile={ts}: {best['seconds']:.1f} s, {best['km2_per_s']:.2f} km²/s, "
                  f"peak {best['peak_rss_main_mb']:.0f} MiB")  # fmt: skip
    model = args.model
    result = {
        "scene": {
            "name": "Sentinel-2 L1C T33UUU 2017-02-16 (Brandenburg crop)",
            "area_km2": area,
            "pixels": 1536 * 768,
            "bands": 4,
        },  # fmt: skip
        "model": str(model.relative_to(paths.root))
        if model.is_relative_to(paths.root)
        else str(model),
        "mc_samples": args.mc_samples,
        "overlap": args.overlap,
        "io_floor": {
            "tile_size": tile,
            "tiled_read_s": io_best["tiled_read_s"],
            "whole_read_s": io_best["whole_read_s"],
            "km2_per_s": area / io_best["tiled_read_s"],
        },
        "runs": runs,
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1min": os.getloadavg()[0],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },  # fmt: skip
    }
    out = io.write_json(paths.benchmarks / "predict.json", result)
    print(f"I/O floor: {result['io_floor']['tiled_read_s']:.2f} s; wrote {out}")


if __name__ == "__main__":
    main()
