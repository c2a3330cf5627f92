"""dvc.yaml: every stage runs through the runner, and its deps follow its imports."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lulcbook.config import ROOT, load_params

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
PACKAGE = ROOT / "lulcbook"
RUNNER = "\\${LULCBOOK_PYTHON:-.venv/bin/python} -m "


def _module_file(module: str) -> Path | None:
    """The file of ``lulcbook.a.b`` (module or package), or None if it is not one."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(tree: ast.AST, module: str | None = None) -> Iterator[str]:
    """``lulcbook`` modules imported anywhere in ``tree`` (``module``: where it lives)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "lulcbook")
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import inside the package
                assert module is not None
                parts = module.split(".")
                is_pkg = _module_file(module) == ROOT.joinpath(*parts) / "__init__.py"
                anchor = parts if is_pkg else parts[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if base.split(".")[0] != "lulcbook":
                continue
            yield base
            for alias in node.names:
                if _module_file(f"{base}.{alias.name}") is not None:
                    yield f"{base}.{alias.name}"
                elif (_module_file(base) or Path()).name == "__init__.py":
                    yield f"{base}:{alias.name}"  # a name defined in a package's __init__


def _required(module: str) -> set[str]:
    """The module and its parent packages whose ``__init__`` does real work (imports)."""
    parts = module.split(".")
    out = {module}
    for i in range(1, len(parts)):
        pkg = ".".join(parts[:i])
        init = _module_file(pkg)
        if init is not None and _counts(init):
            out.add(pkg)
    return out


def closure(modules: set[str]) -> set[Path]:
    """Files of every ``lulcbook`` module reachable from ``modules`` by imports."""
    todo, seen, used_inits = list(modules), set(), set()
    while todo:
        mod = todo.pop()
        if ":" in mod:
            used_inits.add(_module_file(mod.split(":")[0]))
            continue
        if mod in seen:
            continue
        seen.add(mod)
        file = _module_file(mod)
        if file is None:
            continue
        todo.extend(_required(mod) - seen)
        todo.extend(set(_imports(ast.parse(file.read_text()), mod)) - seen)
    files = {_module_file(m) for m in seen}
    return {f.relative_to(ROOT) for f in files if f is not None and (_counts(f) or f in used_inits)}


def _counts(file: Path) -> bool:
    """A package ``__init__`` counts if it imports something (or a name is taken from it)."""
    if file.name != "__init__.py":
        return True
    return any(
        isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(ast.parse(file.read_text()))
    )


def notebook_imports(path: Path) -> set[str]:
    """``lulcbook`` modules the code cells of a notebook import."""
    cells = json.loads(path.read_text())["cells"]
    mods: set[str] = set()
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        src = "\n".join(
            line for line in src.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        mods |= set(_imports(ast.parse(src)))
    return mods


def _deps(spec: dict[str, Any]) -> list[str]:
    return [d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])]


def _stage_entry(spec: dict[str, Any]) -> set[str]:
    """The ``lulcbook`` modules a stage runs: its notebook's imports, or its ``-m`` module."""
    notebooks = [d for d in _deps(spec) if d.endswith(".ipynb")]
    if notebooks:
        return notebook_imports(ROOT / notebooks[0])
    module = spec["cmd"].split(" -m ", 1)[1].split()[0]
    return {module}


@pytest.mark.parametrize("name", sorted(DVC))
def test_stage_runs_without_path(name: str) -> None:
    """Stage commands name their interpreter; nothing depends on what is on PATH."""
    assert DVC[name]["cmd"].startswith(RUNNER), DVC[name]["cmd"]


@pytest.mark.parametrize("name", sorted(DVC))
def test_stage_deps_follow_imports(name: str) -> None:
    spec = DVC[name]
    listed = {Path(d) for d in _deps(spec) if d.startswith("lulcbook/") and d.endswith(".py")}
    needed = closure(_stage_entry(spec))
    missing = sorted(str(p) for p in needed - listed)
    extra = sorted(str(p) for p in listed - needed)
    assert not missing, f"stage {name!r} uses but does not list {missing}"
    assert not extra, f"stage {name!r} lists modules it never imports: {extra}"


@pytest.mark.parametrize("name", sorted(DVC))
def test_outputs_persist_until_the_runner_saves_them(name: str) -> None:
    """DVC must not delete outputs before the runner has moved them aside."""
    spec = DVC[name]
    for kind in ("outs", "metrics", "plots"):
        for entry in spec.get(kind, []):
            path, opts = (entry, {}) if isinstance(entry, str) else next(iter(entry.items()))
            assert opts.get("persist") is True, f"{name}: {kind} {path} lacks persist: true"


@pytest.mark.parametrize("name", sorted(DVC))
def test_stage_params_exist(name: str) -> None:
    params = load_params(smoke=False)
    for entry in DVC[name].get("params", []):
        key = entry if isinstance(entry, str) else next(iter(entry))
        assert key.split(".")[0] in params, f"stage {name!r}: no params section {key!r}"


def test_closure_sees_transitive_and_lazy_imports() -> None:
    """The checker itself: a module reached only through another module is found."""
    found = closure({"lulcbook.zoo.export"})
    assert Path("lulcbook/zoo/__init__.py") in found
    assert Path("lulcbook/io.py") in found  # zoo -> io
    assert Path("lulcbook/config.py") in found
