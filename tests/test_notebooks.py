"""The committed notebooks: stripped, parameterised, framed, and thin (logic lives in the package)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]-*.ipynb"))
FRAME = ("Overview", "Prerequisites", "Summary", "What's next")
MAX_LOGIC_LINES = 12


def _cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text())["cells"]
    return cells


def _source(cell: dict[str, Any]) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else str(src)


def logic_lines(source: str) -> int:
    """Lines of a code cell that are neither blank nor comments."""
    return sum(1 for ln in source.splitlines() if ln.strip() and not ln.strip().startswith("#"))


def test_notebooks_are_found() -> None:
    assert len(NOTEBOOKS) >= 10


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, (path.name, i)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_cell_has_a_unique_id(path: Path) -> None:
    ids = [cell.get("id") for cell in _cells(path)]
    assert None not in ids, f"{path.name}: cell {ids.index(None)} has no id (nbformat 4.5)"
    assert len(set(ids)) == len(ids), f"{path.name}: duplicate cell ids"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_then_the_setup_helper(path: Path) -> None:
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert "parameters" in code[0].get("metadata", {}).get("tags", []), path.name
    setup = [i for i, c in enumerate(code) if "notebook.setup(" in _source(c)]
    assert setup and setup[0] <= 2, f"{path.name}: the setup helper runs right after the imports"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_frame_headings_in_order(path: Path) -> None:
    heads = [
        h.strip()
        for c in _cells(path)
        if c["cell_type"] == "markdown"
        for h in re.findall(r"^## (.+)$", _source(c), re.M)
    ]
    assert heads[0] == FRAME[0] and heads[1] == FRAME[1], (path.name, heads[:2])
    if heads[-1] == "References":
        heads.pop()
    assert heads[-2:] == list(FRAME[2:]), (path.name, heads[-2:])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_code_cell_above_a_dozen_logic_lines(path: Path) -> None:
    long = {
        i: n
        for i, c in enumerate(_cells(path))
        if c["cell_type"] == "code" and (n := logic_lines(_source(c))) > MAX_LOGIC_LINES
    }
    assert not long, f"{path.name}: cells (index: logic lines) {long}"


def test_logic_lines_skip_blanks_and_comments() -> None:
    assert logic_lines("a = 1\n\n# note\n  # indented note\nb = 2  # trailing\n") == 2
