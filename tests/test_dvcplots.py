from pathlib import Path

import pandas as pd
import pytest

from lulcbook import dvcplots


def _table() -> pd.DataFrame:
    rows = [
        {"model": m, "region": r, "epoch": e, "val_loss": 10 * i + j + e / 10}
        for i, m in enumerate(["gnn", "cnn"])
        for j, r in enumerate(["east", "west"])
        for e in range(3 if m == "gnn" else 2)  # early stopping: curves of different length
    ]
    return pd.DataFrame(rows)


def test_one_file_per_panel_one_column_per_curve(tmp_path: Path) -> None:
    out = tmp_path / "plots" / "curves"
    (tmp_path / "plots").mkdir()
    files = dvcplots.write_curves(_table(), out, "region", "model", "val_loss")
    assert [f.name for f in files] == ["east.csv", "west.csv"]
    west = pd.read_csv(out / "west.csv")
    assert list(west.columns) == ["epoch", "gnn", "cnn"]
    assert west["gnn"].tolist() == pytest.approx([1.0, 1.1, 1.2])
    assert west["cnn"].iloc[:2].tolist() == pytest.approx([11.0, 11.1])
    assert pd.isna(west["cnn"].iloc[2])


def test_rerun_replaces_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "curves"
    (out).mkdir()
    (out / "stale.csv").write_text("x")
    dvcplots.write_curves(_table(), out, "region", "model", "val_loss")
    assert sorted(p.name for p in out.iterdir()) == ["east.csv", "west.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name != "curves"]  # no scratch left


def test_bad_tables_are_named(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="val_los"):
        dvcplots.write_curves(_table(), tmp_path / "c", "region", "model", "val_los")
    twice = pd.concat([_table(), _table().iloc[:1]])
    with pytest.raises(ValueError, match="two values of 'val_loss'"):
        dvcplots.write_curves(twice, tmp_path / "c", "region", "model", "val_loss")
    assert not (tmp_path / "c").exists()
