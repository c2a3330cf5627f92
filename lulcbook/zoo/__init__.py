"""Trained models shipped with the package: weights, model card and metadata.

Each shipped model ``NAME`` is three files in this folder, written together by a
pipeline stage (never by hand):

* ``NAME.pt`` — the weights, loadable with ``torch.load(..., weights_only=True)``;
* ``NAME.md`` — the model card (training data and licence, bands, input level and
  scaling, accuracy with intervals, known failure cases), generated from the
  stage's metrics;
* ``NAME.json`` — machine-readable metadata (:class:`ModelInfo`).

``lulcbook models`` lists them; ``lulcbook predict`` uses :data:`DEFAULT_LULC`
when no ``--model`` is given.

Smoke runs (``LULCBOOK_SMOKE=1``) export into ``$LULCBOOK_SMOKE_DIR/lulcbook/zoo``
instead, so a smoke run never replaces a shipped model. ``LULCBOOK_ZOO_DIR``
points readers at another folder first.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lulcbook.config import is_smoke
from lulcbook.io import atomic_path, write_json

PACKAGE_DIR: Path = Path(__file__).resolve().parent
"""The folder the shipped models live in (inside the installed package)."""

DEFAULT_LULC: str = "lucas-s2-segments"
"""The land-cover model ``lulcbook predict`` uses when no ``--model`` is given."""

REQUIRED_METADATA: tuple[str, ...] = (
    "kind", "classes", "bands", "input_level", "scaling", "metrics", "training_data", "licence",
    "version",
)  # fmt: skip
"""Keys every shipped model's metadata must have."""


@dataclass(frozen=True)
class ModelInfo:
    """A shipped model: its name, files and metadata."""

    name: str
    weights: Path
    card: Path
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """One line: name, kind, input level and bands."""
        m = self.metadata
        bands = ",".join(m.get("bands", []))
        default = " (default)" if self.name == DEFAULT_LULC else ""
        return (
            f"{self.name}{default}: {m.get('kind', '?')}; input {m.get('input_level', '?')} "
            f"[{bands}]; {m.get('description', '')}".rstrip("; ")
        )


def search_dirs() -> list[Path]:
    """Folders searched for shipped models, in order (``LULCBOOK_ZOO_DIR`` first)."""
    dirs = []
    env = os.environ.get("LULCBOOK_ZOO_DIR")
    if env:
        dirs.append(Path(env))
    dirs.append(PACKAGE_DIR)
    return dirs


def export_dir() -> Path:
    """Where :func:`export_model` writes: the package, or the smoke folder in smoke mode."""
    if is_smoke():
        base = os.environ.get("LULCBOOK_SMOKE_DIR")
        if not base:
            raise RuntimeError(
                "smoke mode needs LULCBOOK_SMOKE_DIR to export a model "
                "(a smoke run never replaces a shipped model)"
            )
        return Path(base) / "lulcbook" / "zoo"
    return PACKAGE_DIR


def _info(weights: Path) -> ModelInfo:
    meta_file = weights.with_suffix(".json")
    try:
        metadata = json.loads(meta_file.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"model {weights} has no metadata file {meta_file}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"metadata file {meta_file} is not valid JSON: {err}") from None
    return ModelInfo(weights.stem, weights, weights.with_suffix(".md"), metadata)


def list_models() -> list[ModelInfo]:
    """Every shipped model (first folder of :func:`search_dirs` wins per name), sorted by name."""
    found: dict[str, ModelInfo] = {}
    for folder in search_dirs():
        if not folder.is_dir():
            continue
        for weights in sorted(folder.glob("*.pt")):
            if weights.stem not in found and weights.with_suffix(".json").exists():
                found[weights.stem] = _info(weights)
    return [found[k] for k in sorted(found)]


def get(name: str) -> ModelInfo:
    """Return the shipped model ``name``.

    Raises:
        KeyError: naming the model and the models that exist.
    """
    for info in list_models():
        if info.name == name:
            return info
    names = [m.name for m in list_models()]
    raise KeyError(
        f"no shipped model {name!r}; shipped: {names or 'none'} "
        f"(searched {', '.join(str(d) for d in search_dirs())}; "
        "`make repro` exports them)"
    )


def model_path(name: str = DEFAULT_LULC) -> Path:
    """Return the weights file of the shipped model ``name``."""
    return get(name).weights


def card_path(name: str = DEFAULT_LULC) -> Path:
    """Return the model card (Markdown) of the shipped model ``name``."""
    return get(name).card


def export_model(
    weights: str | os.PathLike[str],
    name: str,
    card_markdown: str,
    metadata: dict[str, Any],
) -> Path:
    """Ship a trained model: copy its weights, write its card and metadata.

    The three files are each written atomically; the weights last, so a model is
    listed (it needs ``.pt`` and ``.json``) only once its card exists.

    Args:
        weights: the trained weights (a ``torch.save`` file loadable with
            ``weights_only=True``).
        name: the model's name (letters, digits, ``-`` and ``_``).
        card_markdown: the model card.
        metadata: the keys of :data:`REQUIRED_METADATA` and any others.

    Returns:
        The path of the shipped weights.

    Raises:
        ValueError: for a bad name or missing metadata keys (named).
        FileNotFoundError: if ``weights`` does not exist.
    """
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ValueError(f"model name {name!r} must be letters, digits, '-' or '_'")
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise ValueError(f"metadata of model {name!r} lacks {missing}")
    src = Path(weights)
    if not src.is_file():
        raise FileNotFoundError(f"weights {src} of model {name!r} do not exist")
    out = export_dir()
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / f"{name}.md") as tmp:
        tmp.write_text(card_markdown.rstrip() + "\n")
    write_json(out / f"{name}.json", {"name": name, **metadata})
    target = out / f"{name}.pt"
    with atomic_path(target) as tmp:
        shutil.copyfile(src, tmp)
    return target


def shipped_path(path: str | os.PathLike[str]) -> str:
    """How the metrics name a shipped file: relative to the folder that holds the package.

    In a checkout that is ``lulcbook/zoo/NAME.pt``, so the metrics name no machine; a file
    outside that folder keeps its absolute path.
    """
    p = Path(path).resolve()
    root = Path(__file__).resolve().parents[2]
    return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)
