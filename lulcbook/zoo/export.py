"""Export the pipeline's trained land-cover map model into the shipped models.

Run as the DVC stage ``export`` (``python -m lulcbook.zoo.export``): it reads the
model written by stage ``gnn`` and its metrics (accuracy, the Brandenburg map), writes the model card from those numbers, and ships
all three files with :func:`lulcbook.zoo.export_model`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from lulcbook import __version__
from lulcbook.config import Paths, get_paths, require
from lulcbook.zoo import export_model

NAME = "gnn-eurosat"
"""The name the EuroSAT-trained Graph U-Net ships under."""

LICENCE = (
    "Model weights: MIT (this project). Training data: EuroSAT-MS (Helber et al. 2019, MIT), "
    "contains modified Copernicus Sentinel data."
)


def _read(path: Path) -> dict[str, Any]:
    with path.open() as f:
        data: dict[str, Any] = json.load(f)
    return data


def _ci(values: Sequence[float] | None) -> str:
    if not values:
        return "n/a"
    return f"[{values[0]:.3f}, {values[1]:.3f}]"


def gnn_card(bundle: dict[str, Any], gnn: dict[str, Any]) -> str:
    """The model card of the map model, written from its metrics.

    Args:
        bundle: the saved ``SegmentClassifier`` state (``torch.load`` of ``models/gnn.pt``).
        gnn: ``reports/metrics/gnn.json``.

    Returns:
        The card as Markdown.
    """
    name = gnn["final_model"]["name"]
    m = gnn["models"][name]
    lines = [
        f"# Model card: `{NAME}`",
        "",
        f"Superpixel graph classifier (`{bundle['model_name']}`, the `{name}` variant of notebook "
        "02-gnn): SLIC superpixels → region-adjacency graph → Graph U-Net, trained from one "
        "labelled pixel per patch (semi-supervised consistency on the unlabelled segments).",
        "",
        "## Inputs",
        "",
        f"- Bands: {', '.join(bundle['bands'])} (Sentinel-2, 10 m).",
        "- Input level: **Sentinel-2 L1C top-of-atmosphere reflectance** in [0, 1] "
        "(DN / 10000; baseline ≥ 04.00 also subtracts the 1000 DN offset). L2A surface "
        "reflectance is accepted by `lulcbook predict` but is outside the training "
        "distribution.",
        f"- Segmentation: {json.dumps(bundle['graph_params'])}.",
        f"- Classes: {', '.join(bundle['classes'])}.",
        "",
        "## Training data and licence",
        "",
        f"- {gnn['n_points']} EuroSAT-MS patches (64 × 64 px), one label each at the patch "
        "centre, 4 regions of Europe.",
        f"- {LICENCE}",
        "",
        "## Accuracy (leave-region-out, 95 % bootstrap intervals)",
        "",
        f"- Overall accuracy {m['oa']:.3f}, macro-F1 {m['macro_f1']:.3f} "
        f"{_ci(m.get('macro_f1_ci95'))}.",
        "- Per-class F1: "
        + ", ".join(f"{k} {v:.2f}" for k, v in m.get("per_class_f1", {}).items())
        + ".",
        "",
        "## Known failure cases (measured in notebook 02-gnn)",
        "",
    ]
    fractions = gnn.get("brandenburg", {}).get("class_fraction", {})
    if fractions:
        shares = ", ".join(f"{k} {v:.1%}" for k, v in fractions.items() if v >= 0.001)
        lines.append(
            f"- Brandenburg (L1C, 16 February 2017): the map is {shares}; woodland covers "
            f"{fractions.get('woodland', 0.0):.2%} although the scene's reference polygons include "
            "forest: winter forest is not recognised."
        )
    lines += [
        "- Trained on 200 patches: treat maps as a demonstration, not a validated product.",
        "",
        f"Exported by lulcbook {__version__}; weights load with "
        "`SegmentClassifier.load()` (safe `weights_only` loading).",
    ]
    return "\n".join(lines)


def export_default(paths: Paths | None = None) -> Path:
    """Ship ``models/gnn.pt`` as :data:`NAME` with its card."""
    paths = paths or get_paths()
    weights = require(paths.models / "gnn.pt", "gnn")
    gnn = _read(require(paths.metrics / "gnn.json", "gnn"))
    bundle = torch.load(weights, map_location="cpu", weights_only=True)
    name = gnn["final_model"]["name"]
    m = gnn["models"][name]
    metadata = {
        "kind": "lulc-segment-classifier",
        "description": "superpixel Graph U-Net, EuroSAT-trained, land-cover maps",
        "model_class": "lulcbook.models.gnn:SegmentClassifier",
        "classes": list(bundle["classes"]),
        "bands": list(bundle["bands"]),
        "input_level": "L1C",
        "scaling": "reflectance in [0, 1] (Sentinel-2 DN / 10000)",
        "metrics": {
            "validation": "leave-region-out",
            "oa": m["oa"],
            "macro_f1": m["macro_f1"],
            "macro_f1_ci95": m.get("macro_f1_ci95"),
        },
        "training_data": f"EuroSAT-MS, {gnn['n_points']} patches",
        "licence": LICENCE,
        "version": __version__,
    }
    return export_model(weights, NAME, gnn_card(bundle, gnn), metadata)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``export`` stage."""
    parser = argparse.ArgumentParser(prog="python -m lulcbook.zoo.export", description=__doc__)
    parser.parse_args(argv)
    out = export_default()
    print(f"shipped {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
