"""Headline numbers: one row per notebook question, for ``dvc metrics show``.

The detailed metrics files in ``reports/metrics/`` hold every number a notebook reports;
``reports/metrics/summary.json`` holds one row per question the notebooks answer, with the
estimate and its 95 % interval, read from those files (nothing is recomputed). Run as
``python -m lulcbook.summary`` (the DVC stage ``summary``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lulcbook import config
from lulcbook.io import write_json


@dataclass(frozen=True)
class Headline:
    """One question and where its answer lives.

    Attributes:
        notebook: the notebook that answers it, e.g. ``"02-gnn"``.
        key: short name of the number, unique within the notebook.
        question: the question, in a few words.
        file: the metrics file (stem) under ``reports/metrics/``.
        value: ``.``-separated path of the estimate in that file.
        interval: path of the ``[lo, hi]`` 95 % interval, or a pair of paths to its two
            ends; ``None`` where the number has no interval.
        target: a target the number is judged against, as text (e.g. ``">= 0.95"``).
    """

    notebook: str
    key: str
    question: str
    file: str
    value: str
    interval: str | tuple[str, str] | None = None
    target: str | None = None


HEADLINES: tuple[Headline, ...] = (
    Headline(
        "02-gnn",
        "semi_minus_supervised_macro_f1",
        "Semi-supervision: macro-F1 of Graph U-Net + consistency minus Graph U-Net",
        "gnn",
        "paired_macro_f1_diff.graph_unet_semi_minus_graph_unet.estimate",
        "paired_macro_f1_diff.graph_unet_semi_minus_graph_unet.ci95",
    ),
    Headline(
        "02-gnn",
        "cnn_minus_rf_macro_f1",
        "Context: macro-F1 of the pixel CNN minus the random forest on the labelled pixel",
        "gnn",
        "paired_macro_f1_diff.cnn_minus_random_forest.estimate",
        "paired_macro_f1_diff.cnn_minus_random_forest.ci95",
    ),
    Headline(
        "03-bioclim",
        "climate_norm_delta_macro_f1",
        "Climate normalisation: out-of-region macro-F1 change of the GNN",
        "bioclim",
        "models.gnn_climate_norm.delta_macro_f1_vs_no_climate",
        "models.gnn_climate_norm.delta_macro_f1_vs_no_climate_ci95",
    ),
    Headline(
        "04-diffusion",
        "climate_swap_delta_macro_f1",
        "Climate-swap augmentation: out-of-region macro-F1 change of the graph classifier",
        "diffusion",
        "models.climate_swap.delta_macro_f1",
        "models.climate_swap.delta_macro_f1_ci95",
    ),
    Headline(
        "04-diffusion",
        "realism_auc",
        "Realism detector: AUC of generated vs real patches (0.5 = indistinguishable)",
        "diffusion",
        "realism_detector.autoencoder_samples.auc",
        "realism_detector.autoencoder_samples.auc_ci95",
    ),
    Headline(
        "05-translate",
        "mlp_translation_rmse",
        "Landsat → Sentinel-2: RMSE of the learned per-pixel translation",
        "translate",
        "methods.spectral/mlp.rmse",
    ),
    Headline(
        "05-translate",
        "hls_translation_rmse",
        "Landsat → Sentinel-2: RMSE of the published HLS band adjustment",
        "translate",
        "methods.spectral/hls_linear.rmse",
    ),
    Headline(
        "06-uncertainty",
        "ensemble_ece_calibrated",
        "Deep ensemble: expected calibration error after temperature scaling",
        "uncertainty",
        "methods.ensemble.after_calibration.ece",
    ),
    Headline(
        "06-uncertainty",
        "ensemble_conformal_coverage",
        "Deep ensemble: split-conformal coverage (target 0.9)",
        "uncertainty",
        "methods.ensemble.conformal_coverage",
    ),
    Headline(
        "07-maps",
        "brandenburg_forest_recall",
        "Brandenburg forest recall inside the reference polygons",
        "maps",
        "brandenburg.reference.per_class.woodland.recall",
        "brandenburg.reference.per_class.woodland.ci95",
        ">= 0.8",
    ),
    Headline(
        "07-maps",
        "brandenburg_water_recall",
        "Brandenburg water recall inside the reference polygons",
        "maps",
        "brandenburg.reference.per_class.water.recall",
        "brandenburg.reference.per_class.water.ci95",
        ">= 0.95",
    ),
    Headline(
        "08-continental",
        "best_oa",
        "Continental LUCAS: overall accuracy of the best model (200 km blocked CV)",
        "continental",
        "models.gbm_mlp_ensemble.oa",
        "models.gbm_mlp_ensemble.oa_ci95",
    ),
    Headline(
        "08-continental",
        "best_macro_f1",
        "Continental LUCAS: macro-F1 of the best model (200 km blocked CV)",
        "continental",
        "models.gbm_mlp_ensemble.macro_f1",
        "models.gbm_mlp_ensemble.macro_f1_ci95",
    ),
    Headline(
        "10-temporal",
        "temporal_minus_single_date_macro_f1",
        "Slovenia: macro-F1 of the temporal encoder minus the best single date",
        "temporal",
        "slovenia.differences_temporal_minus.single date (best on validation).macro_f1_diff",
        "slovenia.differences_temporal_minus.single date (best on validation).ci95",
    ),
    Headline(
        "10-temporal",
        "exeter_change_after_rule",
        "Exeter L2A 2024: share of pixels changing class between the clear summer dates, after the rule",
        "temporal",
        "consistency.Exeter S2 L2A 2024.date_pairs.2024-06-02→2024-08-01.rule.changed_share",
        target="<= 0.05",
    ),
    Headline(
        "10-temporal",
        "exeter_simulated_change_recall",
        "Exeter L2A 2024: share of simulated changes the rule keeps",
        "temporal",
        "consistency.Exeter S2 L2A 2024.simulated_change.rule.recall",
    ),
    Headline(
        "09-multitask",
        "multitask_delta_macro_f1",
        "Multi-task: land-cover macro-F1 change from adding LAI",
        "multitask",
        "multitask.diff_f1.estimate",
        "multitask.diff_f1.ci",
    ),
)
"""The questions of the notebooks and where their answers are."""


class MissingMetric(KeyError):
    """A headline's metrics file or key does not exist."""


def lookup(metrics: dict[str, Any], path: str, source: Path) -> Any:
    """Return the value at a ``.``-separated path of a metrics dict.

    Raises:
        MissingMetric: naming the file, the path and the keys available where it stopped.
    """
    node: Any = metrics
    done: list[str] = []
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            have = sorted(node) if isinstance(node, dict) else type(node).__name__
            raise MissingMetric(
                f"{source}: no key {part!r} under {'.'.join(done) or 'the top level'} "
                f"(looking for {path}); there: {have}"
            )
        node = node[part]
        done.append(part)
    return node


def _number(value: Any, source: Path, path: str) -> float:
    """Return ``value`` as a float, or say which entry is not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{source}: {path} is {value!r}, not a number")
    return float(value)


def summarise(metrics_dir: Path, headlines: Sequence[Headline] = HEADLINES) -> dict[str, Any]:
    """Collect the headline rows from the metrics files.

    Args:
        metrics_dir: the folder of the detailed metrics files.
        headlines: the questions to collect.

    Returns:
        ``{notebook: {key: {estimate, ci95_lo, ci95_hi, target, question, source}}}``;
        ``dvc metrics show`` prints it as one column per question.

    Raises:
        MissingMetric: if a file or key is missing (naming both).
        TypeError: if an entry is not a number.
    """
    cache: dict[str, dict[str, Any]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for h in headlines:
        source = metrics_dir / f"{h.file}.json"
        if h.file not in cache:
            if not source.exists():
                raise MissingMetric(f"{source} does not exist (needed for {h.question!r})")
            cache[h.file] = json.loads(source.read_text())
        m = cache[h.file]
        estimate = _number(lookup(m, h.value, source), source, h.value)
        ci: list[float] | None = None
        if isinstance(h.interval, tuple):
            ci = [_number(lookup(m, p, source), source, p) for p in h.interval]
        elif h.interval is not None:
            pair = lookup(m, h.interval, source)
            if not (isinstance(pair, list) and len(pair) == 2):
                raise TypeError(f"{source}: {h.interval} is {pair!r}, not a [lo, hi] pair")
            ci = [_number(v, source, h.interval) for v in pair]
        row: dict[str, Any] = {"estimate": estimate}
        if ci is not None:
            row.update(ci95_lo=ci[0], ci95_hi=ci[1])
        row.update(question=h.question, source=f"{h.file}.json:{h.value}")
        if h.target is not None:
            row["target"] = h.target
        if h.key in rows.setdefault(h.notebook, {}):
            raise ValueError(f"two headlines of {h.notebook} are called {h.key!r}")
        rows[h.notebook][h.key] = row
    return rows


def main(argv: Sequence[str] | None = None) -> Path:
    """Write ``reports/metrics/summary.json`` (atomically) and return its path."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metrics", type=Path, default=None, help="metrics folder")
    args = ap.parse_args(argv)
    folder = args.metrics or config.get_paths().metrics
    out = write_json(folder / "summary.json", summarise(folder))
    for notebook, rows in json.loads(out.read_text()).items():
        for row in rows.values():
            ci = f" [{row['ci95_lo']:.3f}, {row['ci95_hi']:.3f}]" if "ci95_lo" in row else ""
            print(f"{notebook:15s} {row['estimate']:.3f}{ci}  {row['question']}")
    return out


if __name__ == "__main__":
    main()
