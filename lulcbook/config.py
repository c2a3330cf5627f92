"""Parameters and paths for notebooks, DVC stages and tests.

Every tunable lives in ``params.yaml`` (one section per notebook). Smoke mode
(``LULCBOOK_SMOKE=1``) deep-merges the ``smoke:`` section over the others and
redirects every output to a scratch folder, so a smoke run (nbmake, CI) never
overwrites the real DVC outputs.

Environment variables:

* ``LULCBOOK_ROOT``: repository root (default: the folder above this package).
* ``LULCBOOK_SAMPLE``: the offline sample (default: ``paths.sample`` in params.yaml).
* ``LULCBOOK_SMOKE``: ``1``/``true`` switches smoke mode on.
* ``LULCBOOK_SMOKE_DIR``: where smoke outputs go (default: ``<tmp>/lulcbook-smoke``).
"""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from lulcbook import params as schema

ROOT: Path = Path(os.environ.get("LULCBOOK_ROOT", Path(__file__).resolve().parent.parent))
PARAMS_FILE: Path = ROOT / "params.yaml"


def is_smoke() -> bool:
    """Return whether smoke mode is switched on through ``LULCBOOK_SMOKE``."""
    return os.environ.get("LULCBOOK_SMOKE", "").strip().lower() in {"1", "true", "yes", "on"}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``base`` with ``override`` merged in, recursing into dicts."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_params(
    section: str | None = None,
    overrides: dict[str, Any] | None = None,
    smoke: bool | None = None,
    path: Path | None = None,
) -> dict[str, Any]:
    """Load ``params.yaml``, apply smoke overrides and explicit overrides.

    Args:
        section: a top-level section (e.g. ``"data"``); ``None`` returns everything.
        overrides: values merged last (a notebook's ``parameters`` cell).
        smoke: force smoke mode on or off; ``None`` reads ``LULCBOOK_SMOKE``.
        path: another params file (tests).

    Returns:
        The merged parameters.

    Raises:
        FileNotFoundError: if the params file does not exist.
        KeyError: if ``section`` is not in the file.
        lulcbook.params.ParamsError: if a key is unknown (naming it and its section) or a
            value has the wrong type; the file, its smoke block and the overrides are checked.
    """
    path = Path(path or PARAMS_FILE)
    if not path.exists():
        raise FileNotFoundError(f"Parameter file {path} does not exist")
    with path.open() as f:
        params: dict[str, Any] = yaml.safe_load(f) or {}
    smoke_over = params.pop("smoke", {}) or {}
    merged = deep_merge(params, smoke_over)
    # Both the file and the file with its smoke block must match the schema, so a typo in
    # either is caught whichever mode runs.
    schema.validate(params, str(path))
    schema.validate(merged, f"{path} (with its smoke block)")
    if is_smoke() if smoke is None else smoke:
        params = merged
    if section is not None:
        if section not in params:
            raise KeyError(f"Section {section!r} not in {path}; sections: {sorted(params)}")
        params = params[section]
        if overrides:
            params = deep_merge(params, overrides)
            schema.validate_section(section, params, f"{path} + overrides")
    elif overrides:
        params = deep_merge(params, overrides)
        schema.validate(params, f"{path} + overrides")
    return params


def load_config(
    section: str,
    overrides: dict[str, Any] | None = None,
    smoke: bool | None = None,
    path: Path | None = None,
) -> BaseModel:
    """Load one section of ``params.yaml`` as its typed object (see :mod:`lulcbook.params`).

    Args:
        section: a top-level section, e.g. ``"gnn"``.
        overrides: values merged last.
        smoke: force smoke mode on or off; ``None`` reads ``LULCBOOK_SMOKE``.
        path: another params file (tests).

    Returns:
        The validated section, e.g. a :class:`lulcbook.params.GnnSection`.
    """
    values = load_params(section, overrides, smoke, path)
    return schema.validate_section(section, values, str(path or PARAMS_FILE))


@dataclass(frozen=True)
class Paths:
    """Where a run reads and writes. In smoke mode everything but ``sample`` is scratch."""

    root: Path
    sample: Path
    data: Path
    models: Path
    reports: Path

    @property
    def raw(self) -> Path:
        """Downloaded and cached source files."""
        return self.data / "raw"

    @property
    def interim(self) -> Path:
        """Intermediate files (e.g. the graph cache)."""
        return self.data / "interim"

    @property
    def processed(self) -> Path:
        """Analysis-ready datasets (e.g. ``patches.nc``)."""
        return self.data / "processed"

    @property
    def maps(self) -> Path:
        """Map products written by the notebooks."""
        return self.data / "maps"

    @property
    def figures(self) -> Path:
        """PNG figures, one folder per notebook."""
        return self.reports / "figures"

    @property
    def metrics(self) -> Path:
        """Metrics files read by ``dvc metrics show``."""
        return self.reports / "metrics"

    @property
    def benchmarks(self) -> Path:
        """Benchmark results."""
        return self.reports / "benchmarks"

    def makedirs(self) -> Paths:
        """Create every output folder; returns ``self`` for chaining."""
        for p in (
            self.raw,
            self.interim,
            self.processed,
            self.maps,
            self.models,
            self.figures,
            self.metrics,
            self.benchmarks,
        ):
            p.mkdir(parents=True, exist_ok=True)
        return self


def sample_dir(params: dict[str, Any] | None = None) -> Path:
    """Return the offline sample folder (``LULCBOOK_SAMPLE`` or ``paths.sample``)."""
    env = os.environ.get("LULCBOOK_SAMPLE")
    if env:
        return Path(env).resolve()
    params = params if params is not None else load_params()
    rel = Path(params.get("paths", {}).get("sample", "../shared/eo-sample"))
    return (rel if rel.is_absolute() else ROOT / rel).resolve()


def get_paths(smoke: bool | None = None) -> Paths:
    """Return the run's paths, creating the output folders.

    In smoke mode outputs go to ``LULCBOOK_SMOKE_DIR`` (default
    ``<tmp>/lulcbook-smoke``) so the repository's DVC outputs stay untouched.
    """
    smoke = is_smoke() if smoke is None else smoke
    sample = sample_dir()
    if smoke:
        base = Path(
            os.environ.get("LULCBOOK_SMOKE_DIR", Path(tempfile.gettempdir()) / "lulcbook-smoke")
        )
        return Paths(ROOT, sample, base / "data", base / "models", base / "reports").makedirs()
    return Paths(ROOT, sample, ROOT / "data", ROOT / "models", ROOT / "reports").makedirs()


def require(path: Path, stage: str) -> Path:
    """Return ``path`` if it exists, else explain which stage makes it.

    Raises:
        FileNotFoundError: naming the missing file and the stage/notebook that writes it.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist: run stage {stage!r} first "
            f"(dvc repro {stage}, or its notebook with the same LULCBOOK_SMOKE setting)"
        )
    return path
