"""Build the lulcbook site: a static HTML book of the executed notebooks.

Reads only committed results (nothing is executed): the executed notebooks in
``reports/notebooks/``, the metrics in ``reports/metrics/``, the model cards in
``lulcbook/zoo/*.md`` and the provenance notes of the offline sample
(``../shared/eo-sample/**/PROVENANCE.md``). It stages a Sphinx source tree (landing page with the
headline numbers, the notebooks in order, model and data cards, how to reproduce) and runs
``sphinx-build`` on it (myst-nb, execution off). The site needs no network, to build or to read.

Usage::

    python book/build.py [--out book/_build] [--notebooks reports/notebooks] [--metrics reports/metrics]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

BOOK = Path(__file__).resolve().parent
ROOT = BOOK.parent
NOTEBOOK_NAME = re.compile(r"^(\d{2})-[\w-]+\.ipynb$")
# Outputs that only serve a live notebook: holoviews/panel loaders that fetch BokehJS and Panel
# from a CDN, the panel comm manager that links plots to the kernel, and the shim options and
# styles they come with. The book serves BokehJS itself and its figures need no kernel.
LOADER_MIMES = ("application/vnd.holoviews_load.v0+json",)
KERNEL_LINK = ("application/vnd.holoviews_exec.v0+json", "panel.models.comm_manager.CommManager")
SHIM_HTML = '<script type="esms-options">'
BOKEH_JS = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables")


@dataclass(frozen=True)
class Notebook:
    """An executed notebook of the book."""

    path: Path
    number: str
    title: str

    @property
    def stem(self) -> str:
        return self.path.stem


def find_notebooks(folder: Path) -> list[Notebook]:
    """The executed notebooks ``NN-name.ipynb`` in ``folder``, in number order.

    Raises:
        FileNotFoundError: if ``folder`` holds no such notebook.
    """
    found = []
    for path in sorted(folder.glob("*.ipynb")):
        match = NOTEBOOK_NAME.match(path.name)
        if match:
            found.append(Notebook(path, match.group(1), notebook_title(path)))
    if not found:
        raise FileNotFoundError(f"No executed notebooks NN-name.ipynb in {folder}")
    return sorted(found, key=lambda nb: (nb.number, nb.stem))


def notebook_title(path: Path) -> str:
    """The first Markdown heading of a notebook (its file stem when it has none)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return path.stem


def _live_only(data: dict[str, Any]) -> bool:
    """Whether an output's mime bundle only serves a live notebook (see ``LOADER_MIMES``)."""
    html = data.get("text/html", "")
    html = "".join(html) if isinstance(html, list) else html
    mime, marker = KERNEL_LINK
    return (
        any(m in data for m in LOADER_MIMES)
        or (mime in data and marker in html)
        or (html.lstrip().startswith(SHIM_HTML) and set(data) <= {"text/html", "text/plain"})
    )


def clean_notebook(src: Path, dst: Path) -> int:
    """Copy an executed notebook for the book, leaving out the outputs for a live notebook only.

    ``holoviews``/``panel`` display loaders (BokehJS from a CDN) and a kernel link when a notebook
    starts plotting; the book serves BokehJS itself, so they are dropped. Nothing else changes
    (stderr outputs, warnings and errors stay, so a test can find them).

    Returns:
        The number of outputs left out.
    """
    nb = nbformat.read(src, as_version=4)
    dropped = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if _live_only(out.get("data", {})):
                dropped += 1
                continue
            kept.append(out)
        cell.outputs = kept
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dst)
    return dropped


def lookup(data: dict[str, Any], key: str) -> Any:
    """The value at dotted path ``key`` (``"methods.spectral/mlp.rmse"``) in ``data``.

    Raises:
        KeyError: naming the first missing part of the path.
    """
    value: Any = data
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{part!r} (of {key!r})")
        value = value[part]
    return value


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and spec in ("d", ","):
        spec = ",.0f" if spec == "," else ".0f"
    return format(value, spec)


def headline_markdown(spec: dict[str, Any], metrics_dir: Path, notebooks: list[Notebook],
                      problems: list[str]) -> str:  # fmt: skip
    """Markdown tables of the headline numbers, one section per notebook present.

    Args:
        spec: ``headlines.yaml`` (notebook stem → metrics file, numbers, whether to show models).
        metrics_dir: the folder of the metrics JSON files.
        notebooks: the notebooks of the book (others are skipped).
        problems: receives one line per number that could not be read.
    """
    parts = []
    for nb in notebooks:
        entry = spec.get(nb.stem)
        if not entry:
            continue
        path = metrics_dir / entry["metrics"]
        if not path.exists():
            problems.append(f"{nb.stem}: metrics file {path} is missing")
            continue
        data = json.loads(path.read_text())
        rows = []
        for item in entry.get("numbers", []):
            try:
                value = _fmt(lookup(data, item["key"]), item.get("fmt", ".3f"))
                if item.get("ci"):
                    lo, hi = lookup(data, item["ci"])
                    value += (
                        f" [{_fmt(lo, item.get('fmt', '.3f'))}, {_fmt(hi, item.get('fmt', '.3f'))}]"
                    )
            except (KeyError, TypeError, ValueError) as err:
                problems.append(f"{nb.stem}: {path.name} has no usable {err}")
                continue
            rows.append(f"| {item['label']} | {value} |")
        section = [f"### {nb.title}", "", f"[Read the notebook]({nb.stem}.ipynb)", ""]
        if rows:
            section += ["| | |", "|---|---|", *rows, ""]
        if entry.get("models") and isinstance(data.get("models"), dict):
            section += models_table(data["models"])
        if len(section) > 4:
            parts.append("\n".join(section))
    return "\n\n".join(parts)


def models_table(models: dict[str, Any]) -> list[str]:
    """Markdown rows: model, macro-F1 with its 95% interval, OA; best macro-F1 first."""
    scored = [(name, m) for name, m in models.items() if isinstance(m, dict) and "macro_f1" in m]
    scored.sort(key=lambda item: -float(item[1]["macro_f1"]))
    rows = ["| model | macro-F1 [95% CI] | OA |", "|---|---|---|"]
    for name, m in scored:
        ci = m.get("macro_f1_ci95")
        f1 = f"{m['macro_f1']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
        oa = f"{m['oa']:.3f}" if isinstance(m.get("oa"), int | float) else "–"
        rows.append(f"| `{name}` | {f1} | {oa} |")
    return [*rows, ""] if scored else []


def provenance_summary(path: Path, sample: Path) -> str:
    """A Markdown section for one PROVENANCE.md: its title, source, licence and citation lines."""
    text = path.read_text()
    lines = text.splitlines()
    title = next((ln.lstrip("#").strip() for ln in lines if ln.startswith("# ")), path.parent.name)
    bullets: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("- "):
            if current:
                bullets.append(" ".join(current))
            current = [line[2:].strip()]
        elif current and line.startswith("  ") and line.strip():
            current.append(line.strip())
        else:
            if current:
                bullets.append(" ".join(current))
            current = []
    if current:
        bullets.append(" ".join(current))
    wanted = re.compile(r"^\*\*(source|licen|cite|citation)", re.IGNORECASE)
    picked = [b for b in bullets if wanted.match(b)]
    loose = [ln.strip() for ln in lines if re.search(r"\b(licen[cs]e|cite)\b", ln, re.I)]
    if not picked:
        picked = loose[:3] or bullets[:2]
    folder = path.parent.relative_to(sample).as_posix()
    body = "\n".join(f"- {b}" for b in picked)
    return f"## `{folder}`\n\n**{title}**\n\n{body}\n"


def data_card(sample: Path) -> str:
    """The data card page: one summary per PROVENANCE.md of the offline sample."""
    head = [
        "# Data card",
        "",
        "Every result in this book comes from small, real, public data read in place from the",
        "offline sample; each of its folders documents where the files come from, their licence",
        "and how to cite them. The summaries below are taken from those notes when the book is",
        "built. Contains modified Copernicus Sentinel data.",
        "",
    ]
    files = sorted(sample.glob("*/PROVENANCE.md")) + sorted(sample.glob("*/*/PROVENANCE.md"))
    if not files:
        return "\n".join([*head, f"*The offline sample was not found at `{sample}`.*", ""])
    return "\n".join(head) + "\n" + "\n".join(provenance_summary(f, sample) for f in files)


def model_cards(zoo: Path, dest: Path) -> list[str]:
    """Copy the model cards ``zoo/*.md`` into ``dest``; return their page names."""
    names = []
    for card in sorted(zoo.glob("*.md")):
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(card, dest / card.name)
        names.append(card.stem)
    return names


def copy_bokeh_js(dest: Path) -> list[str]:
    """Copy BokehJS (the installed ``bokeh`` package's own files) into ``dest``.

    Raises:
        FileNotFoundError: if a BokehJS bundle is missing from the ``bokeh`` package.
    """
    import bokeh

    js = Path(bokeh.__file__).parent / "server" / "static" / "js"
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for stem in BOKEH_JS:
        src = js / f"{stem}.min.js"
        if not src.exists():
            raise FileNotFoundError(f"BokehJS bundle {src} is missing from the bokeh package")
        name = f"{stem}-{bokeh.__version__}.min.js"
        shutil.copyfile(src, dest / name)
        names.append(name)
    return names


def stage(out: Path, notebooks_dir: Path, metrics_dir: Path, zoo: Path, sample: Path) -> list[str]:
    """Write the Sphinx source tree into ``out / "src"``; return the problems found.

    Raises:
        FileNotFoundError: if there are no executed notebooks.
    """
    src = out / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    for name in ("conf.py", "reproduce.md"):
        shutil.copyfile(BOOK / name, src / name)
    shutil.copytree(BOOK / "_static", src / "_static")
    copy_bokeh_js(src / "_static" / "bokeh")

    problems: list[str] = []
    notebooks = find_notebooks(notebooks_dir)
    for nb in notebooks:
        clean_notebook(nb.path, src / nb.path.name)
    spec = yaml.safe_load((BOOK / "headlines.yaml").read_text()) or {}
    headlines = headline_markdown(spec, metrics_dir, notebooks, problems)

    cards = model_cards(zoo, src / "models")
    if cards:
        (src / "models.md").write_text(
            "# Model cards\n\nThe trained models shipped with the package (`lulcbook.zoo`), "
            "each with its card: what it was trained on, how well it does, with intervals, "
            "and where not to use it.\n\n"
            "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(f"models/{c}" for c in cards) + "\n```\n"
        )
    (src / "data.md").write_text(data_card(sample))

    landing = (BOOK / "index.md").read_text()
    toc_notebooks = "\n".join(nb.path.name for nb in notebooks)
    toc_about = "\n".join(["data", *(["models"] if cards else []), "reproduce"])
    landing = landing.replace("<!-- HEADLINES -->", headlines or "*No metrics found.*")
    landing = landing.replace("<!-- NOTEBOOK_LIST -->", "\n".join(
        f"{i}. [{nb.title}]({nb.path.name})" for i, nb in enumerate(notebooks, 1)
    ))  # fmt: skip
    landing += (
        f"\n```{{toctree}}\n:hidden:\n:caption: Notebooks\n\n{toc_notebooks}\n```\n"
        f"\n```{{toctree}}\n:hidden:\n:caption: About\n\n{toc_about}\n```\n"
    )
    (src / "index.md").write_text(landing)
    return problems


def build(out: Path, notebooks_dir: Path, metrics_dir: Path, zoo: Path, sample: Path,
          quiet: bool = True) -> Path:  # fmt: skip
    """Stage the sources and run ``sphinx-build``; return the folder of the HTML site.

    Raises:
        RuntimeError: if ``sphinx-build`` fails (its output is in the message).
    """
    problems = stage(out, notebooks_dir, metrics_dir, zoo, sample)
    for line in problems:
        print(f"book: {line}", file=sys.stderr)
    html = out / "html"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-j", "1", "-E",
           "-w", str(out / "sphinx-warnings.log"), str(out / "src"), str(html)]  # fmt: skip
    if quiet:
        cmd.insert(3, "-q")
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(
            f"sphinx-build failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=BOOK / "_build")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "reports" / "notebooks")
    parser.add_argument("--metrics", type=Path, default=ROOT / "reports" / "metrics")
    parser.add_argument("--zoo", type=Path, default=ROOT / "lulcbook" / "zoo")
    parser.add_argument("--sample", type=Path, default=None, help="default: the offline sample")
    args = parser.parse_args(argv)
    if args.sample is None:
        from lulcbook.config import sample_dir

        args.sample = sample_dir()
    html = build(args.out, args.notebooks, args.metrics, args.zoo, args.sample, quiet=True)
    print(f"book: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
