import json
from pathlib import Path

import pytest

from lulcbook import config, summary
from lulcbook.summary import Headline, MissingMetric

H = (
    Headline("02-gnn", "diff", "Q1", "gnn", "paired.a/b.diff", ("paired.a/b.lo", "paired.a/b.hi")),
    Headline("07-maps", "water", "Q2", "maps", "water.recall", "water.ci95", ">= 0.95"),
    Headline("07-maps", "n", "Q3", "maps", "water.n"),
)


def _metrics(tmp_path: Path) -> Path:
    (tmp_path / "gnn.json").write_text(
        json.dumps({"paired": {"a/b": {"diff": 0.05, "lo": -0.01, "hi": 0.11}}})
    )
    (tmp_path / "maps.json").write_text(
        json.dumps({"water": {"recall": 0.96, "ci95": [0.9, 0.99], "n": 17}})
    )
    return tmp_path


def test_rows_carry_estimate_interval_and_target(tmp_path: Path) -> None:
    rows = summary.summarise(_metrics(tmp_path), H)
    assert rows["02-gnn"]["diff"]["estimate"] == pytest.approx(0.05)
    assert (rows["02-gnn"]["diff"]["ci95_lo"], rows["02-gnn"]["diff"]["ci95_hi"]) == (-0.01, 0.11)
    assert rows["07-maps"]["water"]["target"] == ">= 0.95"
    assert "ci95_lo" not in rows["07-maps"]["n"]


def test_missing_key_and_file_are_named(tmp_path: Path) -> None:
    m = _metrics(tmp_path)
    bad = (Headline("07-maps", "x", "Q", "maps", "water.recal"),)
    with pytest.raises(MissingMetric, match=r"maps.json: no key 'recal' under water"):
        summary.summarise(m, bad)
    with pytest.raises(MissingMetric, match="nope.json does not exist"):
        summary.summarise(m, (Headline("x", "y", "Q", "nope", "a"),))
    with pytest.raises(TypeError, match="water.ci95 is"):
        summary.summarise(m, (Headline("07-maps", "x", "Q", "maps", "water.ci95"),))


def test_main_writes_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(summary, "HEADLINES", H)
    m = _metrics(tmp_path)
    monkeypatch.setattr(summary.summarise, "__defaults__", (H,))
    out = summary.main(["--metrics", str(m)])
    assert json.loads(out.read_text())["07-maps"]["water"]["estimate"] == pytest.approx(0.96)


def test_committed_metrics_hold_every_headline() -> None:
    """A renamed key in a notebook's metrics breaks the summary here, not in the pipeline."""
    rows = summary.summarise(config.ROOT / "reports" / "metrics")
    assert sum(len(v) for v in rows.values()) == len(summary.HEADLINES)
