"""The type-checking and docstring configuration in pyproject.toml stays strict and narrow."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from lulcbook.config import ROOT


def _tool() -> dict[str, Any]:
    tool: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    return tool


def _ignored_modules() -> list[str]:
    mypy = _tool()["mypy"]
    return [
        module
        for override in mypy.get("overrides", [])
        if override.get("ignore_missing_imports")
        for module in (
            override["module"] if isinstance(override["module"], list) else [override["module"]]
        )
    ]


def test_mypy_is_strict_on_the_package_without_a_blanket_ignore() -> None:
    mypy = _tool()["mypy"]
    assert mypy["strict"] is True
    assert mypy["packages"] == ["lulcbook"]
    assert mypy["python_version"] == "3.11"
    assert "ignore_missing_imports" not in mypy, "ignore missing imports per module, not globally"
    for override in mypy.get("overrides", []):
        assert set(override) <= {"module", "ignore_missing_imports"}, (
            f"override {override} relaxes more than missing imports"
        )


@pytest.mark.parametrize("pattern", _ignored_modules())
def test_each_ignored_import_is_an_installed_package_without_type_information(
    pattern: str,
) -> None:
    top = pattern.removesuffix(".*")
    assert "." not in top and "*" not in top, f"{pattern}: name a whole top-level package"
    assert top != "lulcbook", "the package itself is never exempt"
    spec = importlib.util.find_spec(top)
    assert spec is not None and spec.origin is not None, f"{top} is not installed"
    package_dir = Path(spec.origin).parent
    assert not (package_dir / "py.typed").exists(), (
        f"{top} ships type information (py.typed); remove it from the mypy overrides"
    )
    stubs = [Path(p) / f"{top}-stubs" for p in sys.path if p]
    assert not any(s.is_dir() for s in stubs), (
        f"{top}-stubs is installed; remove {top} from the mypy overrides"
    )


def test_docstring_rules_cover_the_package_only() -> None:
    lint = _tool()["ruff"]["lint"]
    assert "D" in lint["select"]
    assert lint["pydocstyle"]["convention"] == "google"
    ignores = lint["per-file-ignores"]
    assert ignores.get("!lulcbook/**") == ["D"]
    assert not any("D" in rules for glob, rules in ignores.items() if glob.startswith("lulcbook"))
