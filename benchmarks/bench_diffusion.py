"""How many training steps the diffusion autoencoder needs: loss and realism-AUC against steps.

Trains the model of ``params.yaml`` (section ``diffusion``) once for the largest number of
steps and, at each checkpoint, samples patches with the EMA weights (semantic codes and
land-cover maps of real patches, new noise) and scores them with the realism detector of
:func:`lulcbook.augment.detector_auc` (held-out AUC: 0.5 = indistinguishable from real). The
learning-rate schedule is that of the longest run, so earlier checkpoints are a slight
underestimate of a run stopped there. Seconds per step are measured on this machine.

``--baseline-samples CKPT`` instead writes samples of an older checkpoint (the conditional
DDPM without encoder: 400 steps, no land-cover map) to
``reports/benchmarks/diffusion-ddpm400-samples.npz``, which notebook 04 uses as the realism
detector's positive control; training that configuration takes longer than the stage's budget.

Usage::

    python benchmarks/bench_diffusion.py [--steps 150 300 600 900] [--n-samples 100]
    python benchmarks/bench_diffusion.py --baseline-samples models/diffusion.pt
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lulcbook import augment, config, cube, io
from lulcbook.experiments import diffusion as exp
from lulcbook.models import diffusion
from lulcbook.models.gnn import SegmentClassifier


def baseline_samples(checkpoint: Path, out: Path, n: int = 64, steps: int = 20) -> Path:
    """Sample ``n`` patches from a conditional-DDPM checkpoint under random patch climates.

    Args:
        checkpoint: a :func:`lulcbook.models.diffusion.save_diffusion` file without encoder.
        out: the ``.npz`` to write (``samples``, ``climate_index``, ``checkpoint``).
        n: patches.
        steps: DDIM steps (guidance 2, seed 0, as the earlier notebook).

    Returns:
        The written path.
    """
    paths = config.get_paths()
    model, bscaler, cscaler, bands = diffusion.load_diffusion(checkpoint)
    ds = cube.open_patches(paths.processed / "patches.nc")
    valid = ds["climate_valid"].values.astype(bool)
    cond = torch.as_tensor(cscaler.transform(ds["climate"].values), dtype=torch.float32)
    idx = np.random.default_rng(0).choice(np.flatnonzero(valid), n)
    shape = (len(bands), int(config.load_params("diffusion")["size"]), 32)
    shape = (shape[0], shape[1], shape[1])
    gen = bscaler.inverse(model.sample(cond[idx], shape, steps, 2.0, 0)).numpy()
    with io.atomic_path(out, suffix=".npz") as tmp:
        np.savez_compressed(tmp, samples=gen.astype(np.float32), climate_index=idx, bands=bands)
    return out


def main() -> None:
    """Run the training benchmark (or write baseline samples) and save the results."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--steps", type=int, nargs="+", default=[150, 300, 600, 900])
    ap.add_argument("--n-samples", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--baseline-samples", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    paths = config.get_paths()
    if args.baseline_samples is not None:
        out = baseline_samples(
            args.baseline_samples, paths.benchmarks / "diffusion-ddpm400-samples.npz"
        )
        print("wrote", out)
        return

    params = config.load_params("diffusion")
    clf = SegmentClassifier.load(paths.models / params["classifier"])
    data, _ = exp.load_patches(paths.processed / "patches.nc", clf, params["size"])
    rng = np.random.default_rng(0)
    idx = rng.choice(len(data.x), min(args.n_samples, len(data.x)), replace=False)
    real_rest = np.setdiff1d(np.arange(len(data.x)), idx)
    feats = lambda a: augment.realism_features(a, data.bands)  # noqa: E731
    rows: list[dict[str, Any]] = []
    checkpoints = sorted(set(args.steps))
    model_holder: dict[str, diffusion.ClimateDiffusion] = {}
    t_start = time.perf_counter()
    t_eval = 0.0

    def evaluate(step: int) -> None:
        nonlocal t_eval
        if step not in checkpoints:
            return
        t0 = time.perf_counter()
        model = model_holder["m"]
        model.eval()
        with torch.no_grad():
            sem = model.encode(data.z[idx])
            gen = data.band_scaler.inverse(
                model.sample(
                    data.cond[idx],
                    tuple(data.x.shape[1:]),
                    params["ddim_steps"],
                    params["guidance"],
                    0,
                    semantic=sem,
                    lc_map=data.lc_tensor[idx],
                )
            ).numpy()
        auc = augment.detector_auc(data.x[real_rest], gen, feats, n_boot=200)
        t_eval += time.perf_counter() - t0
        train_s = time.perf_counter() - t_start - t_eval
        rows.append(
            {
                "steps": step,
                "loss_last50": None,
                "realism_auc": auc["auc"],
                "realism_auc_ci95": auc["auc_ci95"],
                "train_seconds": train_s,
            }
        )
        print(rows[-1], flush=True)

    cfg = dict(
        in_channels=len(data.bands),
        climate_dim=int(data.cond.shape[1]),
        map_channels=int(data.lc_map.shape[1]),
        seed=params["seed"],
        **params["model"],
    )
    model_holder["m"] = diffusion.build_diffusion(**cfg)
    train_cfg = {**params["train"], "steps": max(checkpoints)}

    losses = diffusion.train_diffusion(
        model_holder["m"],
        data.z,
        data.cond,
        seed=params["seed"],
        lc_map=data.lc_tensor,
        on_step=evaluate,
        progress=False,
        **train_cfg,
    )
    for r in rows:
        r["loss_last50"] = float(np.mean(losses[max(0, r["steps"] - 50) : r["steps"]]))
    total_train = rows[-1]["train_seconds"] if rows else float("nan")
    result = {
        "benchmark": "diffusion autoencoder: loss and realism-detector AUC against training steps",
        "model": {k: v for k, v in cfg.items() if k != "seed"},
        "train": train_cfg,
        "n_samples": len(idx),
        "seconds_per_step": total_train / max(checkpoints),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "load_average_1min": os.getloadavg()[0],
        "results": rows,
    }
    out = io.write_json(paths.benchmarks / "diffusion.json", result)
    print("wrote", out)


if __name__ == "__main__":
    main()
