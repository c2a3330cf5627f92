"""Sampling throughput of the climate-conditional diffusion model against DDIM steps.

Measures patches per second for DDIM sampling (with and without classifier-free guidance, which
doubles the network evaluations) and for a full edit (inversion + guided decoding) on CPU, with
the architecture of ``params.yaml`` (section ``diffusion``). Throughput does not depend on the
weights, so the trained ``models/diffusion.pt`` is used when present and a freshly initialised
model otherwise. Results go to ``reports/benchmarks/diffusion.json``.

Usage::

    python benchmarks/bench_diffusion.py [--steps 5 10 20 50] [--batch 32] [--threads 1 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from lulcbook import config, io
from lulcbook.models import diffusion
from lulcbook.models.condnorm import cond_dim


def _time(fn, repeats: int) -> float:
    """Best wall time of ``repeats`` calls (seconds)."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[5, 10, 20, 50])
    ap.add_argument("--batch", type=int, default=32, help="patches per call")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    args = ap.parse_args()

    params = config.load_params("diffusion")
    paths = config.get_paths()
    ckpt = paths.models / "diffusion.pt"
    if ckpt.exists():
        model, *_ = diffusion.load_diffusion(ckpt)
        source = str(ckpt.relative_to(paths.root)) if ckpt.is_relative_to(paths.root) else str(ckpt)
    else:
        model = diffusion.build_diffusion(climate_dim=cond_dim(), seed=0, **params["model"])
        source = "freshly initialised (no trained checkpoint)"
    model.eval()
    size = params["size"]
    g = torch.Generator().manual_seed(0)
    climate = torch.randn(args.batch, model.climate_dim, generator=g)
    climate[:, -1] = 0.0
    x = torch.randn(args.batch, model.net.in_channels, size, size, generator=g)

    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for steps in args.steps:
            for guidance in (1.0, params["guidance"]):
                sec = _time(
                    lambda s=steps, w=guidance: model.sample(climate, x.shape[1:], s, w),
                    args.repeats,
                )
                rows.append(
                    {
                        "task": "sample",
                        "threads": threads,
                        "ddim_steps": steps,
                        "guidance": guidance,
                        "seconds": sec,
                        "patches_per_s": args.batch / sec,
                    }
                )
            sec = _time(
                lambda s=steps: model.edit(
                    x, climate, climate.flip(0), s, params["guidance"], params["edit_strength"]
                ),
                args.repeats,
            )
            rows.append(
                {
                    "task": "edit",
                    "threads": threads,
                    "ddim_steps": steps,
                    "guidance": params["guidance"],
                    "seconds": sec,
                    "patches_per_s": args.batch / sec,
                }
            )
            print(
                f"threads={threads} steps={steps:3d}: "
                + ", ".join(
                    f"{r['task']}(w={r['guidance']}) {r['patches_per_s']:.1f}/s" for r in rows[-3:]
                )
            )
    top = max(args.threads)
    by_steps = {
        str(r["ddim_steps"]): r["patches_per_s"]
        for r in rows
        if r["task"] == "sample" and r["guidance"] == 1.0 and r["threads"] == top
    }
    result = {
        "benchmark": "diffusion sampling throughput vs DDIM steps",
        "model": source,
        "patch_shape": [model.net.in_channels, size, size],
        "batch": args.batch,
        "parameters": sum(p.numel() for p in model.net.parameters()),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0],
        "results": rows,
        "patches_per_s_by_steps": by_steps,
    }
    out = io.write_json(paths.benchmarks / "diffusion.json", result)
    print("wrote", out)


if __name__ == "__main__":
    main()
