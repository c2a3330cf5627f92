"""The haze study of notebook 07-maps: a multi-temporal haze test on the Exeter series.

The scene classification of the Exeter L2A dates leaves haze and thin cloud, and the maps change
class under it. :func:`haze_study` gathers what notebook 07 shows of
:class:`lulcbook.haze.HazeTest`: how its two conditions treat the clouds the SCL does flag
(:func:`haze_evidence`); the Exeter change with thresholds chosen on the HLS series of the
sample against its own Fmask, not on the series the maps are judged on
(:func:`lulcbook.experiments.haze_select.haze_selection`); the Exeter change as
each threshold varies (:func:`haze_sensitivity`); and what the test does to a series it was not
set on (:func:`haze_other_series`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import xarray as xr

from lulcbook import haze, mapcheck, viz
from lulcbook.experiments.exeter import (
    ExeterStability,
    hazed_scenes,
    pair_changes,
    product_setting,
    series_maps,
)
from lulcbook.experiments.haze_select import HazeSelection, haze_selection
from lulcbook.experiments.maps import HAZE, SERIES_SEGMENTS, classify
from lulcbook.models import spectral
from lulcbook.sources import sample
from lulcbook.targets import verdict

SCL_CLOUDS: dict[str, tuple[int, ...]] = {
    "cloud, medium probability (8)": (8,),
    "cloud, high probability (9)": (9,),
    "thin cirrus (10)": (10,),
}
"""The SCL cloud classes whose spectra :func:`haze_evidence` describes."""


def haze_evidence(sample_dir: Path, test: haze.HazeTest) -> pd.DataFrame:
    """How the haze test's two conditions treat the clouds the SCL flags on the Exeter dates.

    One row per SCL cloud class (:data:`SCL_CLOUDS`), from :func:`lulcbook.haze.cloud_ratios`
    on the unmasked dates (:func:`lulcbook.sources.sample.read_exeter_scl`).
    """
    refl, scl = sample.read_exeter_scl(sample_dir)
    data = np.stack([np.asarray(a.values) for a in refl])
    bands = [str(b) for b in refl[0].band.values]
    ratios = haze.cloud_ratios(data, scl, bands, SCL_CLOUDS, test)
    return pd.DataFrame(ratios).T


HAZE_GRID: dict[str, tuple[float, ...]] = {
    "blue_rise": (0.02, 0.03, 0.04),
    "red_ratio": (1.0, 1.5, 2.0),
    "dilation_m": (0.0, 20.0, 40.0, 120.0),
}
"""Values of each threshold that :func:`haze_sensitivity` varies, one threshold at a time."""


def haze_sensitivity(
    exeter: Sequence[xr.DataArray],
    model: spectral.SpectralClassifier,
    pair: tuple[int, int],
    test: haze.HazeTest,
    grid: Mapping[str, Sequence[float]] = HAZE_GRID,
) -> pd.DataFrame:
    """The Exeter change of a clear pair as the haze test's thresholds vary.

    Each threshold takes the values of ``grid`` with the others at ``test``'s; ``blue_rise`` and
    ``red_ratio`` are crossed (their interplay decides what is haze). Every row maps the
    dates with per-date superpixels (``lulcbook predict``) and with series superpixels
    (``lulcbook series``).

    Returns:
        One row per setting: the thresholds, the flagged share of the two dates, and the
        changed share on per-date and on series superpixels.
    """
    settings = {
        dataclasses.replace(test, blue_rise=r, red_ratio=q)
        for r in grid["blue_rise"]
        for q in grid["red_ratio"]
    } | {dataclasses.replace(test, dilation_m=m) for m in grid["dilation_m"]}
    rows = [
        haze_row(exeter, model, pair, t) | {"default": t == test}
        for t in sorted(settings, key=lambda t: (t.blue_rise, t.red_ratio, t.dilation_m))
    ]
    return pd.DataFrame(rows)


def haze_row(
    exeter: Sequence[xr.DataArray],
    model: spectral.SpectralClassifier,
    pair: tuple[int, int],
    test: haze.HazeTest,
) -> dict[str, float]:
    """The Exeter change of a pair of dates with one setting of the haze test.

    Returns:
        The thresholds, the flagged share of the two dates, and the changed share on per-date
        superpixels (``lulcbook predict``) and on series superpixels (``lulcbook series``).
    """
    dates = [d.attrs["datetime"][:10] for d in exeter]
    i, j = pair
    hazed, flags = hazed_scenes(exeter, test)
    per_date = [classify(model, hazed[k].values) for k in pair]
    series = series_maps(hazed, model)
    return dataclasses.asdict(test) | {
        f"flagged {dates[i]}": float(flags[i].mean()),
        f"flagged {dates[j]}": float(flags[j].mean()),
        "per-date superpixels": mapcheck.change_share(*per_date)["changed_share"],
        "series superpixels": mapcheck.change_share(series[i], series[j])["changed_share"],
    }


SELECTED = HAZE + " chosen on HLS"
"""Suffix of the Exeter rows mapped with the thresholds of :func:`haze_selection`."""


def selection_figure(selection: HazeSelection) -> Any:
    """Detection of Fmask cloud against false alarms on Fmask-clear pixels, per threshold pair."""
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    pts = selection.points.assign(
        false_alarm_pct=lambda d: 100 * d["false_alarm"],
        detection_pct=lambda d: 100 * d["detection"],
    )
    x, y = ("false_alarm_pct", "false alarms on Fmask-clear pixels (%)"), (
        "detection_pct", "Fmask cloud detected (%)")  # fmt: skip
    curves = [
        hv.Curve(part.sort_values("blue_rise"), x, y, label=f"red_ratio {q:g}")
        for q, part in pts.groupby("red_ratio")
    ]
    marks = [
        hv.Scatter(pts[pts[name]], x, y, label=f"{name}: {text}").opts(
            color=colour, size=11, backend="bokeh").opts(color=colour, s=90, backend="matplotlib")
        for name, colour, t in (
            ("default", "black", selection.default),
            ("chosen", "#d62728", selection.chosen),
        )
        for text in [f"blue_rise {t.blue_rise:g}, red_ratio {t.red_ratio:g}"]
    ]  # fmt: skip
    budget = hv.VLine(100 * selection.max_false_alarm).opts(color="grey", backend="matplotlib")
    budget = budget.opts(color="grey", backend="bokeh")
    lo, hi = pts["blue_rise"].min(), pts["blue_rise"].max()
    x_max = 5 * 100 * selection.max_false_alarm
    title = (f"Haze test thresholds on {selection.series}\neach line a red_ratio, blue_rise "
             f"{hi:g}–{lo:g} from left to right (grey: the {selection.max_false_alarm:.0%} budget; "
             f"false alarms up to {x_max:g}%)")  # fmt: skip
    opts = {"title": title, "xlim": (0, x_max)}
    overlay = (
        hv.Overlay([*curves, *marks, budget])
        .opts(
            fig_inches=(9, 4.5), aspect=1.5, legend_position="right", backend="matplotlib", **opts
        )
        .opts(width=760, height=440, legend_position="bottom_right", backend="bokeh", **opts)
    )
    return overlay


def haze_other_series(
    files: Sequence[Path],
    read_kw: Mapping[str, Any],
    model: Any,
    model_res: float,
    test: haze.HazeTest,
    clear_max_masked: float,
) -> dict[str, Any]:
    """The haze test on a series it was not set on: what it flags and what it does to the change.

    The series is read as ``lulcbook series`` reads it (with its own mask, e.g. Fmask), mapped
    on series superpixels without and with the test, and the change between consecutive clear
    dates (by its own mask) is measured on both.

    Args:
        files: the series' files.
        read_kw: how to read them (:func:`lulcbook.series_predict.read_series`).
        model: the map model; its segments are scaled from ``model_res`` to the series' grid.
        model_res: the resolution (m) the model's segment size refers to.
        test: the haze test.
        clear_max_masked: a date is clear when its own mask masks at most this share.

    Returns:
        ``{"dates", "masked_share", "flagged_share", "change": {"own mask"|"own mask + haze
        test": {"d1→d2": changed share}}}``.
    """
    from lulcbook import clear_series, series_predict, temporal

    cs = clear_series.read_clear(files, read_kw, model, model_res, clear_max_masked, haze_test=test)
    change = {}
    for name, s in (("own mask", cs.series), ("own mask + haze test", cs.hazed())):
        proba = series_predict.series_probabilities(cs.model, s)
        change[name] = pair_changes(list(temporal.raw_classes(proba)), s.dates, cs.pairs)
    return {
        "dates": cs.series.dates,
        "masked_share": cs.masked,
        "flagged_share": cs.flagged_share(),
        "change": change,
    }


def haze_sensitivity_frame(sensitivity: pd.DataFrame, test: haze.HazeTest) -> pd.DataFrame:
    """:func:`haze_sensitivity` in long form: one row per threshold value and segmentation.

    For each threshold, the rows where the other two are at ``test``'s values.
    """
    rows = []
    for name in HAZE_GRID:
        others = [k for k in HAZE_GRID if k != name]
        at = np.logical_and.reduce([np.isclose(sensitivity[k], getattr(test, k)) for k in others])
        for _, r in sensitivity[at].iterrows():
            for seg in ("per-date superpixels", "series superpixels"):
                rows.append({"threshold": name, "value": r[name], "superpixels": seg,
                             "changed share": r[seg], "default": bool(r["default"])})  # fmt: skip
    return pd.DataFrame(rows)


def haze_sensitivity_figure(
    sensitivity: pd.DataFrame, test: haze.HazeTest, target: float = 0.10
) -> Any:
    """The Exeter change against each threshold of the haze test (the others at their default)."""
    import holoviews.plotting.bokeh  # noqa: F401  (register both backends for their options)
    import holoviews.plotting.mpl  # noqa: F401

    frame = haze_sensitivity_frame(sensitivity, test)
    colours = {"per-date superpixels": "#1f77b4", "series superpixels": "#d62728"}
    panels = []
    for k, name in enumerate(HAZE_GRID):
        y = "pixels changing class"
        part = frame[frame["threshold"] == name].rename(columns={"value": name, "changed share": y})
        labels = {"xlabel": name, "title": f"varying {name}"}
        layers: list[Any] = []
        for seg, colour in colours.items():
            d = part[part["superpixels"] == seg].sort_values(name)
            layers += [
                hv.Curve(d, name, y, label=seg).opts(
                    color=colour, show_legend=k == len(HAZE_GRID) - 1, **labels),
                hv.Scatter(d[d["default"]], name, y).opts(
                    color=colour, size=9, backend="bokeh").opts(color=colour, s=60,
                                                                backend="matplotlib"),
            ]  # fmt: skip
        line = hv.HLine(target).opts(color="grey", line_dash="dashed", backend="bokeh")
        overlay = hv.Overlay([*layers, line.opts(color="grey", linestyle="dashed",
                                                 backend="matplotlib")])  # fmt: skip
        overlay = overlay.opts(show_legend=k == len(HAZE_GRID) - 1, legend_position="top_right",
                               **labels)  # fmt: skip
        panels.append(overlay.opts(fig_inches=(3.6, 3.0), backend="matplotlib").opts(
            width=330, height=280, backend="bokeh"))  # fmt: skip
    title = (f"Exeter clear pair: change as each haze-test threshold varies "
             f"(dots: default; dashed: {target:.0%})")  # fmt: skip
    layout = hv.Layout(panels).cols(3).opts(shared_axes=False, title=title)
    return layout.opts(sublabel_format="", backend="matplotlib")


def haze_sentence(
    test: haze.HazeTest,
    evidence: pd.DataFrame,
    stab: ExeterStability,
    sensitivity: pd.DataFrame,
    other: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """One line on the haze test: what it flags, what it finds of the SCL clouds, its effect.

    ``other`` holds, by label, :func:`haze_other_series` of series the test was not set on.
    """
    setting = product_setting("s2-4")
    series_row = setting + SERIES_SEGMENTS
    clear = stab.runs["clear"]
    dates = [stab.dates[k] for k in stab.clear]
    flagged = ", ".join(f"{d} {stab.haze_flagged[d]:.1%}" for d in dates)
    found = ", ".join(f"{name} {row['flagged']:.0%}" for name, row in evidence.iterrows())
    effect = "; ".join(
        f"{pair}: per-date superpixels {clear[setting][pair]:.1%} → "
        f"{clear[setting + HAZE][pair]:.1%}, series superpixels {clear[series_row][pair]:.1%} → "
        f"{clear[series_row + HAZE][pair]:.1%}"
        for pair in clear[setting]
    )
    lo, hi = sensitivity["series superpixels"].min(), sensitivity["series superpixels"].max()
    others = [
        f"on {label}, a series it was not set on, it flags "
        f"{min(o['flagged_share'].values()):.1%}–{max(o['flagged_share'].values()):.1%} of each "
        "date besides its own mask, and the change between its clear dates on series "
        "superpixels goes "
        + ", ".join(
            f"{pair}: {o['change']['own mask'][pair]:.1%} → "
            f"{o['change']['own mask + haze test'][pair]:.1%}"
            for pair in o["change"]["own mask"]
        )
        for label, o in (other or {}).items()
    ]
    return "; ".join(
        [
            f"Haze test (blue rise > {test.blue_rise}, red rise ≤ {test.red_ratio} × blue rise, "
            f"widened {test.dilation_m:g} m) flags, besides the SCL mask, {flagged} of the "
            f"clear dates' pixels; without widening it finds of the SCL's own clouds: {found}; "
            f"the change between clear dates {effect}; over the thresholds varied, series "
            f"superpixels {lo:.1%}–{hi:.1%}",
            *others,
        ]
    )


def budget_rows(
    selection: HazeSelection,
    exeter: Sequence[xr.DataArray],
    model: spectral.SpectralClassifier,
    pair: tuple[int, int],
) -> pd.DataFrame:
    """The test chosen under each budget, its operating point, and the Exeter change with it."""
    pts = selection.points
    rows = []
    for budget, t in selection.by_budget.items():
        at = np.isclose(pts["blue_rise"], t.blue_rise) & np.isclose(pts["red_ratio"], t.red_ratio)
        point = pts[at].iloc[0]
        rows.append(
            {"budget": budget, "false_alarm": point["false_alarm"], "detection": point["detection"]}
            | haze_row(exeter, model, pair, t)
        )
    return pd.DataFrame(rows)


def selection_sentence(
    selection: HazeSelection,
    selected: Mapping[str, Mapping[str, float]],
    budgets: pd.DataFrame | None = None,
) -> str:
    """A clause on the thresholds chosen on another series and the Exeter change with them.

    ``selected`` holds :func:`haze_row` of the chosen test by pair of clear dates; ``budgets``
    is :func:`budget_rows`.
    """
    c, d = selection.chosen, selection.default
    pts = selection.points

    def rates(name: str) -> str:
        row = pts[pts[name]].iloc[0]
        return f"{row['detection']:.1%} of Fmask cloud at {row['false_alarm']:.2%} false alarms"

    effect = "; ".join(
        f"{pair}: series superpixels {row['series superpixels']:.1%}, per-date superpixels "
        f"{row['per-date superpixels']:.1%} (besides the SCL mask it flags "
        + ", ".join(f"{k[8:]} {v:.1%}" for k, v in row.items() if k.startswith("flagged "))
        + ")"
        for pair, row in selected.items()
    )
    interp = [v["interpolated"] for v in selection.labels.values()]
    labels = (
        f" (its Fmask was warped with interpolation: {min(interp):.0%}–{max(interp):.0%} of the "
        "pixels of a date lie strictly between the values of two opposite neighbours, so labels "
        "are used only "
        "where the 3 × 3 neighbourhood holds one value)"
        if interp
        else ""
    )
    other = ""
    if budgets is not None and len(budgets):
        other = "; under other budgets: " + ", ".join(
            f"{r['budget']:.1%}: {r['blue_rise']:g}, {r['red_ratio']:g} → series superpixels "
            f"{r['series superpixels']:.1%}"
            for _, r in budgets.iterrows()
        )
    return (
        f"thresholds chosen instead on {selection.series}{labels}, without the Sentinel-2 "
        f"series: the pair that detects most Fmask cloud while flagging at most "
        f"{selection.max_false_alarm:.0%} of Fmask-clear pixels (after a {d.dilation_m:g} m "
        f"widening) is blue rise > {c.blue_rise:g}, red rise ≤ {c.red_ratio:g} × blue rise "
        f"({rates('chosen')}; the default {d.blue_rise:g}, {d.red_ratio:g}: "
        f"{rates('default')}); with it the Exeter change between clear dates is {effect}{other}"
    )


def haze_figure(
    scene: xr.DataArray,
    flags: np.ndarray,
    maps: Sequence[np.ndarray],
    date: str,
) -> Any:
    """RGB of a date with the haze test's flags, and its map without and with the test."""
    fig = viz.rgb_class_rows(
        [np.asarray(scene.values)],
        [str(b) for b in scene.band.values],
        [list(maps)],
        ["map, SCL mask (series superpixels)", "map, SCL mask + haze test"],
        row_titles=[f"{date} RGB (magenta: haze test; black: SCL)"],
        tile_inches=4.0,
        suptitle=f"Exeter L2A {date}: haze and thin cloud that the SCL leaves",
    )
    overlay = np.zeros((*flags.shape, 4), dtype=np.float32)
    overlay[flags] = (1.0, 0.0, 1.0, 0.55)
    fig.axes[0].imshow(overlay, interpolation="nearest")
    return fig


@dataclass(frozen=True)
class HazeStudy:
    """The haze-test section of notebook 07 (:func:`haze_study`).

    Attributes:
        evidence: :func:`haze_evidence`.
        sensitivity: :func:`haze_sensitivity` of the first clear pair.
        other_series: :func:`haze_other_series` by label.
        selection: :func:`haze_selection`.
        selected: :func:`haze_row` of the chosen test, by pair of consecutive clear dates.
        budgets: :func:`budget_rows` of the first clear pair.
        text: :func:`haze_sentence`.
        figure: :func:`haze_figure` of the second date of the first clear pair.
        metrics: the record for ``maps.json`` (test and flagged shares, evidence, sensitivity,
            other series, selection, text).
    """

    evidence: pd.DataFrame
    sensitivity: pd.DataFrame
    other_series: dict[str, dict[str, Any]]
    selection: HazeSelection
    selected: dict[str, dict[str, float]]
    budgets: pd.DataFrame
    text: str
    figure: Any
    metrics: dict[str, Any]


def haze_study(
    sample_dir: Path,
    exeter: Sequence[xr.DataArray],
    stab: ExeterStability,
    model: spectral.SpectralClassifier,
    test: haze.HazeTest,
    clear_max_masked: float,
    max_false_alarm: float,
    other: Mapping[str, tuple[Sequence[Path], Mapping[str, Any]]] | None = None,
    selection: HazeSelection | None = None,
) -> HazeStudy:
    """Every check of the haze test on the Exeter dates, and on series it was not set on.

    Args:
        sample_dir: the offline sample (for the unmasked dates and their SCL).
        exeter: the Exeter dates on one grid, SCL-masked.
        stab: :func:`exeter_stability` run with ``test``.
        model: the shipped four-band model as trained (segments sized at 10 m).
        test: the haze test.
        clear_max_masked: a date of another series is clear when its own mask masks at most
            this share.
        max_false_alarm: the budget of :func:`haze_selection`.
        selection: :func:`haze_selection` already made with ``test`` and ``max_false_alarm``
            (made here when not given).
        other: ``{label: (files, read options)}`` of other series; by default the sample's
            HLS S30 Exeter series of 2021 with its Fmask
            (:func:`lulcbook.experiments.temporal.exeter_series`).

    Raises:
        ValueError: fewer than two clear Exeter dates.
    """
    if len(stab.clear) < 2:
        raise ValueError(f"the haze study needs two clear dates; clear: {stab.clear}")
    if other is None:
        from lulcbook.experiments import temporal

        series = temporal.exeter_series(sample_dir / "s2-hls-exeter")
        other = {temporal.SELECT_SERIES: series[temporal.SELECT_SERIES]}
    pair = (stab.clear[0], stab.clear[1])
    shipped = stab.candidates[product_setting("s2-4")]
    evidence = haze_evidence(sample_dir, test)
    sensitivity = haze_sensitivity(exeter, shipped, pair, test)
    others = {
        label: haze_other_series(files, kw, model, 10.0, test, clear_max_masked)
        for label, (files, kw) in other.items()
    }
    if selection is None:
        selection = haze_selection(sample_dir, test, max_false_alarm)
    elif selection.default != test or selection.max_false_alarm != max_false_alarm:
        raise ValueError(
            f"the selection was made for {selection.default} under {selection.max_false_alarm}; "
            f"the study is of {test} under {max_false_alarm}"
        )
    clear_pairs = list(zip(stab.clear[:-1], stab.clear[1:], strict=True))
    selected = {
        f"{stab.dates[i]}→{stab.dates[j]}": haze_row(exeter, shipped, (i, j), selection.chosen)
        for i, j in clear_pairs
    }
    budgets = budget_rows(selection, exeter, shipped, pair)
    text = "; ".join(
        [
            haze_sentence(test, evidence, stab, sensitivity, others),
            selection_sentence(selection, selected, budgets),
        ]
    )
    hazed, flags = hazed_scenes(exeter, test)
    second = stab.dates[pair[1]]
    maps = [stab.series[second], series_maps(hazed, shipped)[pair[1]]]
    figure = haze_figure(exeter[pair[1]], flags[pair[1]], maps, second)
    metrics = {
        "test": test.record(flags, stab.dates),
        "scl_clouds": evidence.to_dict(orient="index"),
        "sensitivity": sensitivity.to_dict(orient="records"),
        "other_series": others,
        "selection": {
            "series": selection.series,
            "max_false_alarm": max_false_alarm,
            "chosen": dataclasses.asdict(selection.chosen),
            "points": selection.points.to_dict(orient="records"),
            "labels": selection.labels,
            "exeter": selected,
            "budgets": budgets.to_dict(orient="records"),
        },
        "text": text,
    }
    return HazeStudy(
        evidence, sensitivity, others, selection, selected, budgets, text, figure, metrics
    )


def selection_verdict(study: HazeStudy, target: float = 0.10) -> tuple[str, bool]:
    """The Exeter verdict of the series maps with the thresholds chosen on another series."""
    worst = max(row["series superpixels"] for row in study.selected.values())
    c = study.selection.chosen
    what = (
        f"Exeter change between consecutive clear dates, worst pair ({product_setting('s2-4')}"
        f"{SERIES_SEGMENTS}{HAZE}, thresholds {c.blue_rise:g}, {c.red_ratio:g} chosen on "
        f"{study.selection.series})"
    )
    return verdict(worst, target, "<=", what)
