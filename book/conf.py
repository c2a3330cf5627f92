"""Sphinx configuration of the lulcbook site (built by ``make book`` through ``book/build.py``).

The executed notebooks are rendered as they are (``nb_execution_mode = "off"``). Everything a
page needs is served from the site itself, so it builds and reads offline: BokehJS is copied from
the installed ``bokeh`` package into ``_static/bokeh`` (by ``build.py``), MathJax from
``sphinx-mathjax-offline``; no page loads anything from another host.
"""

from __future__ import annotations

from pathlib import Path

project = "lulcbook"
author = "lulcbook contributors"
copyright = "lulcbook contributors, MIT licence"  # noqa: A001  (Sphinx's name)

extensions = ["myst_nb", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# Notebooks: rendered from their committed outputs, never executed here.
nb_execution_mode = "off"
nb_merge_streams = True
nb_output_stderr = "show"  # a stderr output must be seen (and fails tests/test_book.py), not hidden

exclude_patterns = ["_build", "**.ipynb_checkpoints", "build.py", "headlines.yaml"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "lulcbook"
html_static_path = ["_static"]
html_css_files = ["lulcbook.css"]
html_show_sourcelink = False
html_context = {"default_mode": "light"}  # a fresh browser has no saved mode
html_theme_options = {
    "use_download_button": True,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "show_toc_level": 2,
    "home_page_in_toc": True,
}

_bokeh_order = ("bokeh-3", "bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax")
_here = Path(__file__).parent
html_js_files = sorted(
    (f"bokeh/{p.name}" for p in (_here / "_static" / "bokeh").glob("*.min.js")),
    key=lambda name: next((i for i, s in enumerate(_bokeh_order) if s in name), 99),
)
