"""Figures: hvplot/holoviews objects rendered with the matplotlib backend to PNG.

Notebooks show interactive hvplot figures; every figure is also saved as a PNG
under ``reports/figures/`` so it can be read without running anything.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lulcbook import legend
from lulcbook.io import atomic_path

os.environ.setdefault("MPLBACKEND", "Agg")


def setup_plotting() -> None:
    """Use the matplotlib backend for hvplot/holoviews in notebooks.

    Figures then render as static images inline (light executed notebooks that read anywhere)
    and options set with ``.opts`` apply to the same backend that :func:`save_png` uses.
    """
    import holoviews as hv
    import hvplot

    hv.extension("bokeh", "matplotlib", logo=False)  # options may still name either backend
    hvplot.extension("matplotlib", logo=False)
    hv.output(backend="matplotlib", fig="png", dpi=90)


def save_png(obj: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Save a holoviews/hvplot object (or a matplotlib figure) as PNG, atomically.

    Holoviews objects are rendered with the matplotlib backend, which needs no
    browser, so this works headless (CI, DVC).
    """
    import holoviews as hv

    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        if hasattr(obj, "savefig"):
            obj.savefig(tmp, dpi=dpi, bbox_inches="tight")
        else:
            if "matplotlib" not in hv.Store.renderers:
                hv.extension("matplotlib", logo=False)
            renderer = hv.renderer("matplotlib").instance(dpi=dpi, fig="png")
            renderer.save(obj, str(tmp.with_suffix("")), fmt="png")
            written = tmp.with_suffix(".png")
            if written != tmp:
                os.replace(written, tmp)
    return path


def rgb(
    image: np.ndarray,
    bands: list[str],
    combo: tuple[str, str, str] = ("B04", "B03", "B02"),
    percentiles: tuple[float, float] = (2, 98),
) -> np.ndarray:
    """Return an (y, x, 3) uint8 composite of ``image`` (band, y, x).

    Each channel is stretched between its percentiles (NaN shown black).
    ``combo=("B08", "B04", "B03")`` gives the false-colour (NIR) composite.

    Raises:
        ValueError: if a band of ``combo`` is not in ``bands``.
    """
    missing = [b for b in combo if b not in bands]
    if missing:
        raise ValueError(f"Bands {missing} needed for the composite are not in {bands}")
    arr = np.stack([image[bands.index(b)] for b in combo], axis=-1).astype("float32")
    out = np.zeros(arr.shape, dtype="float32")
    for i in range(3):
        channel = arr[..., i]
        valid = np.isfinite(channel)
        if not valid.any():
            continue
        lo, hi = np.percentile(channel[valid], percentiles)
        out[..., i] = np.clip((np.nan_to_num(channel, nan=lo) - lo) / max(hi - lo, 1e-6), 0, 1)
    return (out * 255).astype(np.uint8)


def class_cmap(n: int = legend.N_CLASSES) -> list[str]:
    """Return the legend colours as a list for categorical colour maps."""
    return list(legend.COLOURS[:n])


def interval_plot(
    df: Any,
    x: str,
    y: str,
    lo: str = "lo",
    hi: str = "hi",
    by: str | None = None,
    title: str = "",
    ylabel: str | None = None,
    width: float = 0.5,
) -> Any:
    """Points with confidence-interval whiskers over a categorical ``x`` (holoviews overlay).

    Groups of ``by`` are drawn side by side (dodged) at each category, one colour each.

    Args:
        df: a pandas DataFrame with columns ``x``, ``y``, ``lo``, ``hi`` (and ``by``).
        x: categorical column on the x axis (categories keep their order of appearance).
        y: the estimate.
        lo: column of the lower interval bounds.
        hi: column of the upper interval bounds.
        by: optional grouping column.
        title: figure title.
        ylabel: y-axis label (default: ``y``).
        width: total horizontal spread of the groups at one category.

    Raises:
        ValueError: if a named column is missing.
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    missing = [c for c in (x, y, lo, hi, by) if c is not None and c not in df.columns]
    if missing:
        raise ValueError(f"Columns {missing} not in the table; it has {list(df.columns)}")
    cats = list(dict.fromkeys(df[x]))
    groups = [("", df)] if by is None else [(str(k), g) for k, g in df.groupby(by, sort=False)]
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    n = len(groups)
    layers = []
    for j, (name, g) in enumerate(groups):
        offset = 0.0 if n == 1 else (j / (n - 1) - 0.5) * width
        d = g.assign(
            _pos_x=[cats.index(v) + offset for v in g[x]],
            _neg=g[y] - g[lo],
            _pos=g[hi] - g[y],
        )
        c = colours[j % len(colours)]
        bars = hv.ErrorBars(d, "_pos_x", [y, "_neg", "_pos"])
        pts = hv.Scatter(d, "_pos_x", y, label=name)
        layers.append(bars.opts(color=c, backend="bokeh").opts(edgecolor=c, backend="matplotlib"))
        layers.append(
            pts.opts(color=c, size=7, backend="bokeh").opts(color=c, s=40, backend="matplotlib")
        )
    plot = dict(
        title=title,
        ylabel=ylabel or y,
        xlabel=x,
        xticks=list(enumerate(cats)),
        xrotation=30,
        xlim=(-0.6, len(cats) - 0.4),
    )
    overlay = hv.Overlay(layers)
    overlay = overlay.opts(
        **plot,
        backend="bokeh",
        width=max(420, 110 * len(cats)),
        height=340,
        legend_position="right",
    )
    return overlay.opts(
        **plot,
        backend="matplotlib",
        fig_inches=(max(5.0, 1.1 * len(cats)), 3.5),
        aspect=max(1.5, 0.5 * len(cats)),
        legend_position="right",
    )


def class_map(classes: Any, title: str = "", width: int = 560) -> Any:
    """A land-cover map ``(y, x)`` DataArray of legend indices as a holoviews image.

    Legend colours, one colour-bar entry per class, nodata (255) transparent; options are set
    for both the bokeh (interactive) and matplotlib (PNG) backends.
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    da = classes.where(classes != legend.NODATA).astype("float32")
    n = legend.N_CLASSES
    ny, nx = da.sizes["y"], da.sizes["x"]
    common = {"cmap": class_cmap(), "clim": (-0.5, n - 0.5), "colorbar": True, "xaxis": None,
              "yaxis": None, "title": title, "color_levels": n, "clabel": ""}  # fmt: skip
    img = hv.Image(da, kdims=["x", "y"])
    img = img.opts(
        backend="bokeh", width=width, height=max(150, int(width * ny / nx)),
        colorbar_opts={"major_label_overrides": dict(enumerate(legend.KEYS))}, **common,
    )  # fmt: skip
    return img.opts(
        backend="matplotlib", cbar_ticks=list(enumerate(legend.KEYS)),
        fig_inches=(6.5, max(2.0, 6.5 * ny / nx)), aspect=nx / ny, **common,
    )  # fmt: skip


def value_map(
    values: Any,
    title: str = "",
    cmap: str = "viridis",
    clim: tuple[float, float] = (0.0, 1.0),
    label: str = "",
    width: int = 560,
) -> Any:
    """A continuous map ``(y, x)`` DataArray (e.g. confidence, uncertainty) as a holoviews image.

    NaN is transparent; options are set for both the bokeh and matplotlib backends.
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    ny, nx = values.sizes["y"], values.sizes["x"]
    common = {"cmap": cmap, "clim": clim, "colorbar": True, "xaxis": None, "yaxis": None,
              "title": title, "clabel": label}  # fmt: skip
    img = hv.Image(values.astype("float32"), kdims=["x", "y"])
    img = img.opts(backend="bokeh", width=width, height=max(150, int(width * ny / nx)), **common)
    return img.opts(
        backend="matplotlib", fig_inches=(6.5, max(2.0, 6.5 * ny / nx)), aspect=nx / ny, **common
    )


def rgb_shared(
    images: list[np.ndarray],
    bands: list[str],
    combo: tuple[str, str, str] = ("B04", "B03", "B02"),
    percentiles: tuple[float, float] = (2, 98),
) -> list[np.ndarray]:
    """Composites of several ``(band, y, x)`` images with ONE percentile stretch for all.

    Use it to compare images (e.g. a patch and its edits): brightness differences stay visible,
    which a per-image stretch (:func:`rgb`) would hide. Images must share their ``y`` size.
    """
    widths = [im.shape[-1] for im in images]
    mosaic = rgb(np.concatenate(images, axis=-1), bands, combo, percentiles)
    return np.split(mosaic, np.cumsum(widths)[:-1], axis=1)


def image_grid(
    rows: list[list[np.ndarray]],
    bands: list[str],
    titles: list[list[str]],
    combo: tuple[str, str, str] = ("B04", "B03", "B02"),
    tile_inches: float = 1.7,
    suptitle: str | None = None,
) -> Any:
    """A matplotlib figure of composites, one row per list, one shared stretch per row.

    Args:
        rows: rows of ``(band, y, x)`` images (e.g. a source patch followed by its edits).
        bands: band names of the images.
        titles: a title per image, same nesting as ``rows``.
        combo: bands of the composite (``("B08", "B04", "B03")`` for false colour).
        tile_inches: size of one tile.
        suptitle: figure title.

    Raises:
        ValueError: if ``titles`` does not match ``rows``.
    """
    fig, axes = _panel_grid(rows, titles, tile_inches, legend_inches=0.0)
    for r, (images, names) in enumerate(zip(rows, titles, strict=True)):
        for c, (img, title) in enumerate(zip(rgb_shared(images, bands, combo), names, strict=True)):
            axes[r, c].imshow(img, interpolation="nearest")
            axes[r, c].set_title(title, fontsize=7)
    return _finish_figure(fig, suptitle)


def class_grid(
    rows: list[list[np.ndarray]],
    titles: list[list[str]],
    tile_inches: float = 1.7,
    suptitle: str | None = None,
) -> Any:
    """A matplotlib figure of land-cover maps ``(y, x)`` of legend indices, in legend colours.

    Nodata (``legend.NODATA``) is white; a legend of the classes present is added below.

    Raises:
        ValueError: if ``titles`` does not match ``rows``.
    """
    fig, axes = _panel_grid(rows, titles, tile_inches, legend_inches=0.4)
    present: set[int] = set()
    for r, (maps, names) in enumerate(zip(rows, titles, strict=True)):
        for c, (m, title) in enumerate(zip(maps, names, strict=True)):
            present |= _draw_classes(axes[r, c], m, title)
    return _finish_class_figure(fig, present, max_columns=4, bottom=0.06, suptitle=suptitle)


def rgb_class_rows(
    images: list[np.ndarray],
    bands: list[str],
    maps: list[list[np.ndarray]],
    titles: list[str],
    row_titles: list[str] | None = None,
    segments: list[np.ndarray] | None = None,
    tile_inches: float = 1.6,
    suptitle: str | None = None,
) -> Any:
    """A matplotlib figure with one row per image: its RGB composite, then its class maps.

    Args:
        images: ``(band, y, x)`` images, one per row.
        bands: band names of the images.
        maps: per row, the ``(y, x)`` maps of legend indices (one per column title).
        titles: column titles of the maps.
        row_titles: a title per RGB panel (e.g. the reference class).
        segments: optional ``(y, x)`` segmentations whose boundaries are drawn on the RGB.
        tile_inches: size of one panel.
        suptitle: figure title.

    Raises:
        ValueError: if a row's map count differs from ``titles``.
    """
    import matplotlib.pyplot as plt

    if any(len(m) != len(titles) for m in maps):
        raise ValueError(f"Every row needs {len(titles)} maps (one per title)")
    ncols = 1 + len(titles)
    fig, axes = plt.subplots(
        len(images), ncols, figsize=(tile_inches * ncols, (tile_inches + 0.2) * len(images) + 0.5),
        squeeze=False,
    )  # fmt: skip
    present: set[int] = set()
    for r, img in enumerate(images):
        axes[r, 0].imshow(rgb(img, bands), interpolation="nearest")
        if segments is not None:
            axes[r, 0].contour(segments[r], levels=np.unique(segments[r]) + 0.5, colors="yellow",
                               linewidths=0.3)  # fmt: skip
        axes[r, 0].set_title(row_titles[r] if row_titles else "RGB", fontsize=7)
        for c, m in enumerate(maps[r]):
            present |= _draw_classes(axes[r, c + 1], m, titles[c])
    for ax in axes.ravel():
        ax.set_axis_off()
    return _finish_class_figure(fig, present, max_columns=5, bottom=0.05, suptitle=suptitle)


def _draw_classes(ax: Any, classes: np.ndarray, title: str) -> set[int]:
    """Draw a ``(y, x)`` map of legend indices on ``ax`` in legend colours (nodata white).

    Args:
        ax: the matplotlib axes.
        classes: the map.
        title: the panel title.

    Returns:
        The legend indices present in the map.
    """
    from matplotlib.colors import ListedColormap

    m = np.asarray(classes)
    cmap = ListedColormap(class_cmap())
    cmap.set_bad("white")
    ax.imshow(np.ma.masked_equal(m.astype(int), legend.NODATA), cmap=cmap, vmin=-0.5,
              vmax=legend.N_CLASSES - 0.5, interpolation="nearest")  # fmt: skip
    ax.set_title(title, fontsize=7)
    return {int(v) for v in np.unique(m) if v != legend.NODATA}


def _finish_class_figure(
    fig: Any, present: set[int], max_columns: int, bottom: float, suptitle: str | None
) -> Any:
    """Add the legend of the ``present`` classes below the panels and the title; close ``fig``.

    Args:
        fig: the matplotlib figure.
        present: legend indices shown in the panels.
        max_columns: most legend entries per row.
        bottom: figure fraction kept free for the legend.
        suptitle: figure title.

    Returns:
        ``fig``.
    """
    from matplotlib.patches import Patch

    handles = [Patch(color=legend.COLOURS[i], label=legend.NAMES[i]) for i in sorted(present)]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), max_columns),
               fontsize=7, frameon=False)  # fmt: skip
    return _finish_figure(fig, suptitle, bottom)


def _panel_grid(
    rows: Sequence[Sequence[Any]], titles: list[list[str]], tile_inches: float, legend_inches: float
) -> tuple[Any, Any]:
    """A figure with one panel per entry of ``rows`` (axes off), ``titles`` nested alike.

    Args:
        rows: the panels' contents, row by row.
        titles: a title per panel.
        tile_inches: size of one panel.
        legend_inches: figure height added below the panels for a legend.

    Returns:
        ``(figure, axes)`` with ``axes`` of shape ``(rows, widest row)``.

    Raises:
        ValueError: if ``titles`` does not match ``rows``.
    """
    import matplotlib.pyplot as plt

    if [len(r) for r in rows] != [len(t) for t in titles]:
        raise ValueError("titles must have the same nesting as rows")
    ncols = max(len(r) for r in rows)
    height = (tile_inches + 0.25) * len(rows) + legend_inches
    fig, axes = plt.subplots(len(rows), ncols, figsize=(tile_inches * ncols, height), squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    return fig, axes


def _finish_figure(fig: Any, suptitle: str | None, bottom: float = 0.0) -> Any:
    """Add the title, lay ``fig`` out above ``bottom`` (a figure fraction) and close it.

    Args:
        fig: the matplotlib figure.
        suptitle: figure title.
        bottom: figure fraction kept free below the panels (for a legend).

    Returns:
        ``fig``.
    """
    import matplotlib.pyplot as plt

    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    plt.close(fig)
    return fig


def rgb_image(
    image: np.ndarray, bounds: tuple[float, float, float, float], title: str = "", width: int = 560
) -> Any:
    """An ``(y, x, 3)`` uint8 composite (see :func:`rgb`) placed at map ``bounds`` (l, b, r, t).

    Options are set for both the bokeh and matplotlib backends, matching :func:`class_map`.
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    ny, nx = image.shape[:2]
    common = {"xaxis": None, "yaxis": None, "title": title}
    img = hv.RGB(image, bounds=bounds)
    img = img.opts(backend="bokeh", width=width, height=max(150, int(width * ny / nx)), **common)
    return img.opts(
        backend="matplotlib", fig_inches=(6.5, max(2.0, 6.5 * ny / nx)), aspect=nx / ny, **common
    )


# --- interactive figures --------------------------------------------------------------------
# Notebooks build figures with the matplotlib backend (the PNG) and display them with Bokeh:
# `show(fig, path)` saves the PNG and returns the interactive version, which pans and zooms in
# JupyterLab and in the rendered book alike (a standalone Bokeh document; BokehJS is loaded by
# `setup_plotting()` in a notebook and served by the book itself).

# Options that mean the same for both backends: copied from the matplotlib options to Bokeh
# where an element has no Bokeh value of its own (titles, labels, limits, colour maps, ...).
_SHARED_OPTIONS: tuple[str, ...] = (
    "title", "xlabel", "ylabel", "clabel", "xlim", "ylim", "xticks", "yticks", "xrotation",
    "yrotation", "logx", "logy", "logz", "invert_xaxis", "invert_yaxis", "invert_axes", "xaxis",
    "yaxis", "cmap", "clim", "colorbar", "color_levels", "color", "fill_color", "alpha", "marker",
    "legend_position", "show_legend", "show_grid", "stacked", "line_dash",
)  # fmt: skip
# Matplotlib style names whose Bokeh counterparts differ: name -> (bokeh name, conversion).
_RENAMED_OPTIONS: dict[str, tuple[str, Any]] = {
    "linewidth": ("line_width", float),
    "s": ("size", lambda s: float(np.sqrt(s))),  # marker area (pt²) -> diameter (px)
    "edgecolor": ("line_color", None),
    "facecolor": ("fill_color", None),
}
INTERACTIVE_MAX_PIXELS: int = 1200
"""Longest side, in pixels, of a raster shown interactively (longer ones are thinned by striding;
the PNG and the map products keep full resolution)."""


def _bokeh_defaults() -> None:
    """Sizes and tools for Bokeh renderings of figures whose options were set for matplotlib."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401

    size = {"width": 480, "height": 320}
    hv.opts.defaults(
        *(getattr(hv.opts, name)(**size, tools=["hover"])
          for name in ("Curve", "Scatter", "Points", "Bars", "Histogram", "HeatMap")),
        *(getattr(hv.opts, name)(**size) for name in ("ErrorBars", "Area", "Spread")),
        hv.opts.Image(width=560, height=420, tools=["hover"]),
        hv.opts.RGB(width=560, height=420),
        hv.opts.Layout(shared_axes=False),
        backend="bokeh",
    )  # fmt: skip


def _thin(element: Any, max_pixels: int) -> Any:
    """The raster ``element`` (Image or RGB) strided so its longest side is ``max_pixels``."""
    import holoviews as hv

    if isinstance(element, hv.RGB):
        arr = np.dstack([np.flipud(element.dimension_values(d, flat=False))
                         for d in element.vdims])  # fmt: skip
    else:
        arr = np.flipud(element.dimension_values(2, flat=False))
    step = int(np.ceil(max(arr.shape[:2]) / max_pixels))
    if step <= 1:
        return element
    return element.clone(arr[::step, ::step], bounds=element.bounds.lbrt())


def _custom_options(el: Any, backend: str) -> dict[str, Any]:
    """Options set on ``el`` (or by hvplot) for ``backend``, without the backend's defaults."""
    from holoviews.core.options import Store

    own: dict[str, Any] = {}
    default: dict[str, Any] = {}
    bare = el.clone(id=None)
    for group in ("plot", "style"):
        own.update(Store.lookup_options(backend, el, group).kwargs)
        default.update(Store.lookup_options(backend, bare, group).kwargs)
    return {k: v for k, v in own.items() if k not in default or default[k] is not v}


def _mirror_options(obj: Any) -> None:
    """Copy matplotlib options of ``obj`` and its elements to Bokeh where Bokeh has none."""
    import holoviews as hv
    from holoviews.core.options import Store

    bokeh_opts = Store.options(backend="bokeh")

    def mirror(el: Any) -> None:
        name = type(el).__name__
        if name not in bokeh_opts:
            return
        allowed: set[str] = set()
        for group in ("plot", "style"):
            allowed |= set(bokeh_opts[name].groups[group].allowed_keywords)
        have = _custom_options(el, "bokeh")
        new: dict[str, Any] = {}
        for key, value in _custom_options(el, "matplotlib").items():
            if key not in _SHARED_OPTIONS and key not in _RENAMED_OPTIONS:
                continue
            target, convert = _RENAMED_OPTIONS.get(key, (key, None))
            if target in allowed and target not in have and target not in new:
                try:
                    new[target] = convert(value) if convert else value
                except (TypeError, ValueError):
                    continue
        if new:
            el.opts(backend="bokeh", **new)

    obj.traverse(mirror, [hv.core.Dimensioned])


def interactive(obj: Any, max_pixels: int = INTERACTIVE_MAX_PIXELS) -> Any:
    """The interactive (Bokeh) version of a holoviews/hvplot figure, for display in a notebook.

    Options given for the matplotlib backend (titles, labels, colour maps, ...) carry over where
    the figure sets none for Bokeh; rasters are thinned to ``max_pixels`` on their longest side;
    plots get Bokeh's pan, wheel-zoom, box-zoom, reset and save tools. A matplotlib figure (e.g.
    from :func:`image_grid`) is returned as it is and shows as a static image.

    Returns:
        A :class:`BokehFigure` (displays as a self-contained Bokeh document), or ``obj`` itself
        when it is not a holoviews object.
    """
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401

    if not isinstance(obj, hv.core.Dimensioned):
        return obj
    _bokeh_defaults()
    _mirror_options(obj)
    shown = obj.map(lambda el: _thin(el, max_pixels), [hv.Image])
    return BokehFigure(hv.render(shown, backend="bokeh"), repr(obj).splitlines()[0])


def show(obj: Any, path: str | os.PathLike[str], dpi: int = 110) -> Any:
    """Save ``obj`` as PNG at ``path`` (:func:`save_png`) and return its interactive version.

    The one call a notebook makes for a figure: the PNG is written for static reading and the
    cell displays the Bokeh figure that pans and zooms (see :func:`interactive`).
    """
    save_png(obj, path, dpi=dpi)
    return interactive(obj)


class BokehFigure:
    """A rendered Bokeh model that displays as a standalone, interactive Bokeh document.

    The HTML embeds the figure's data and the script that draws it with BokehJS, which must be
    on the page: :func:`setup_plotting` loads it in a notebook, the book serves it itself.

    Args:
        model: a Bokeh model (figure, grid or layout), e.g. from ``holoviews.render``.
        label: a plain-text description for text-only frontends.
    """

    def __init__(self, model: Any, label: str = "") -> None:
        """Wrap ``model``; see the class docstring for the arguments."""
        self.model = model
        self.label = label

    def tools(self) -> set[str]:
        """Names of the Bokeh tools on the figure's plots (e.g. ``{"PanTool", "WheelZoomTool"}``)."""
        from bokeh.models import Plot

        return {type(t).__name__ for p in self.model.select({"type": Plot})
                for t in p.toolbar.tools}  # fmt: skip

    def html(self) -> str:
        """The ``<div>`` and ``<script>`` that draw the figure."""
        from bokeh.embed import components

        script, div = components(self.model)
        return f'<div class="lulcbook-bokeh">{div}</div>\n{script}'

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html(), "text/plain": f"Interactive figure: {self.label}"}


def confusion_heatmap(
    matrix: np.ndarray | Sequence[Sequence[int]], names: Sequence[str], title: str = ""
) -> Any:
    """Draw a confusion matrix with the reference classes as rows, top to bottom.

    Cells sit on numeric axes with explicit tick labels, so a label can never be paired with
    another class's row or column (categorical axes are ordered by the plotting backend);
    every cell shows its count.

    Args:
        matrix: ``(n, n)`` counts, rows = reference, columns = predicted (as
            :func:`sklearn.metrics.confusion_matrix`).
        names: class names of the rows/columns, in matrix order.
        title: the panel title.

    Returns:
        A holoviews overlay (heat map + count labels).

    Raises:
        ValueError: if the matrix is not square or does not match ``names``.
    """
    import holoviews as hv

    m = np.asarray(matrix)
    n = len(names)
    if m.shape != (n, n):
        raise ValueError(f"confusion matrix of shape {m.shape} does not match {n} class names")
    cells = [(j, n - 1 - i, int(m[i, j])) for i in range(n) for j in range(n)]
    heat = hv.HeatMap(cells, ["predicted", "reference"], "count").opts(
        cmap="Blues",
        colorbar=False,
        xticks=[(j, names[j]) for j in range(n)],
        yticks=[(n - 1 - i, names[i]) for i in range(n)],
        xrotation=45,
        title=title,
    )
    labels = hv.Labels(
        [(j, y, str(c)) for j, y, c in cells if c > 0], ["predicted", "reference"], "count"
    ).opts(hv.opts.Labels(text_font_size="7pt", backend="bokeh"))  # matplotlib: default size
    return heat * labels
