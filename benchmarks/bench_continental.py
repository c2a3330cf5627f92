"""Training time and inference throughput of the continental point models on the LUCAS table.

Trains, on real ELC10/LUCAS points, the gradient-boosting baseline and the neural point
classifier of ``params.yaml`` (section ``continental``) on ``--n-train`` points, and measures
prediction throughput (points per second) of both and of the shipped ``lucas-points`` model
(when exported) with 1 and 2 threads. CPU-only. Results go to
``reports/benchmarks/continental.json``.

Usage::

    python benchmarks/bench_continental.py [--n-train 20000] [--n-predict 20000] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from lulcbook import config, io, zoo
from lulcbook.experiments import continental as C
from lulcbook.models.points import PointClassifier, load_point_model


def _best(fn: Callable[[], Any], repeats: int) -> float:
    """Best wall time of ``repeats`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    """Run the benchmark and write ``reports/benchmarks/continental.json``."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--n-train", type=int, default=20000)
    ap.add_argument("--n-predict", type=int, default=20000)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    params = config.load_params("continental")
    paths = config.get_paths()
    data = C.load_points(paths.sample, None, params["seed"], params["climate_fill_km"])
    rng = np.random.default_rng(0)
    tr = rng.choice(len(data), min(args.n_train, len(data)), replace=False)
    te = rng.choice(len(data), min(args.n_predict, len(data)), replace=False)
    spec = params["models"]["gbm_s2s1_bio"]
    xg, _ = C.design_matrix(data, spec["features"], spec.get("bio", False))
    xm, names = C.design_matrix(data, "s2s1+idx", False)
    y, clim = data.y, data.climate
    mlp_cfg = {**params["mlp"], "variant": "climate_norm"}
    rows: list[dict[str, Any]] = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        with threadpool_limits(threads):
            t0 = time.perf_counter()
            gbm = C.make_gbm(params["gbm"]).fit(xg[tr], y[tr])
            gbm_fit = time.perf_counter() - t0
            t0 = time.perf_counter()
            mlp = PointClassifier(mlp_cfg, names).fit(xm[tr], y[tr], clim[tr])
            mlp_fit = time.perf_counter() - t0
            gbm_pred = _best(lambda g=gbm: g.predict_proba(xg[te]), args.repeats)
            mlp_pred = _best(lambda m=mlp: m.predict_proba(xm[te], clim[te]), args.repeats)
        row = {
            "threads": threads,
            "n_train": int(tr.size),
            "n_predict": int(te.size),
            "gbm_fit_s": gbm_fit,
            "gbm_points_per_s": te.size / gbm_pred,
            "mlp_fit_s": mlp_fit,
            "mlp_epochs": mlp_cfg["epochs"],
            "mlp_points_per_s": te.size / mlp_pred,
        }
        try:
            shipped = load_point_model(zoo.model_path("lucas-points"))
            t = _best(lambda m=shipped: m.predict_proba(xm[te], clim[te]), args.repeats)
            row["shipped_lucas_points_per_s"] = te.size / t
        except (KeyError, FileNotFoundError, ValueError):
            row["shipped_lucas_points_per_s"] = None
        rows.append(row)
        print(row)
    out = {
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "gbm": params["gbm"],
        "mlp": mlp_cfg,
        "results": rows,
    }
    io.write_json(paths.benchmarks / "continental.json", out)


if __name__ == "__main__":
    main()
