"""Curves for ``dvc plots show``: one file per panel, one column per curve.

DVC's default templates draw one line per ``y`` column, so a long table that mixes
several runs in one column is drawn as a single zig-zag line. :func:`write_curves`
pivots such a table into one CSV per panel (e.g. per held-out region) with one column
per run (e.g. per model), which ``dvc.yaml`` then lists under ``plots``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from lulcbook.io import scratch_dir


def write_curves(
    table: pd.DataFrame,
    folder: str | os.PathLike[str],
    panel: str,
    curve: str,
    value: str,
    x: str = "epoch",
) -> list[Path]:
    """Write one wide CSV per ``panel`` value, with ``x`` and one column per ``curve`` value.

    The folder is replaced as a whole (no file of an earlier run survives) and atomically.

    Args:
        table: long table with the columns ``panel``, ``curve``, ``x`` and ``value``.
        folder: output folder, e.g. ``reports/plots/02-gnn-training``.
        panel: column whose values become files (e.g. ``"region"``).
        curve: column whose values become curves (e.g. ``"model"``).
        value: the plotted column (e.g. ``"val_loss"``).
        x: the x column.

    Returns:
        The files written, one per panel, in sorted order.

    Raises:
        KeyError: naming a column the table lacks.
        ValueError: if a (panel, curve, x) combination occurs twice.
    """
    missing = [c for c in (panel, curve, x, value) if c not in table.columns]
    if missing:
        raise KeyError(f"curve table lacks column(s) {missing}; it has {list(table.columns)}")
    dup = table.duplicated([panel, curve, x])
    if dup.any():
        row = table.loc[dup, [panel, curve, x]].iloc[0].to_dict()
        raise ValueError(f"two values of {value!r} for {row}: one curve per {curve} per {panel}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    order = list(dict.fromkeys(table[curve]))
    names = []
    with scratch_dir(folder.parent) as scratch:
        new = scratch / "new"
        new.mkdir()
        for key, part in table.groupby(panel, sort=True):
            wide = part.pivot(index=x, columns=curve, values=value).reindex(columns=order)
            name = f"{key}.csv"
            wide.reset_index().to_csv(new / name, index=False)
            names.append(name)
        if folder.exists():
            os.replace(folder, scratch / "old")  # removed with the scratch folder
        os.replace(new, folder)
    return [folder / n for n in names]
