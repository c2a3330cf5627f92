"""Verdict sentences: a target judged on its estimate, and what the estimate's interval adds.

A target is stated on an estimate ("forest recall ≥ 0.8", "≤ 10 % of pixels change"), so it is
judged on the estimate; given its 95 % interval, the sentence also says whether all of the
interval lies on the side of the target the estimate is on, so that an estimate that meets a
target on little data is not read as a sure pass. Used by the map checks of notebook 07-maps and
by the series product of notebook 10-temporal.
"""

from __future__ import annotations

from collections.abc import Sequence


def verdict(
    value: float,
    target: float,
    op: str,
    what: str,
    ci95: Sequence[float] | None = None,
    support: str = "",
) -> tuple[str, bool]:
    """A sentence saying whether ``value`` meets ``target`` (``op`` is ``">="`` or ``"<="``).

    The target is judged on the estimate, as it is stated. With ``ci95`` the sentence also
    shows the interval and says whether all of it lies on the side of the target the estimate
    is on, so an estimate that meets the target on a few polygons is not read as a sure pass.

    Args:
        value: the estimate.
        target: the threshold.
        op: ``">="`` or ``"<="``.
        what: what the estimate is, the start of the sentence.
        ci95: the estimate's 95 % interval, if it has one.
        support: what the interval rests on (e.g. ``"10 polygons"``), shown with it.
    """
    ok = value >= target if op == ">=" else value <= target
    shown = f"{value:.3f}"
    if float(shown) == target and value != target:  # 0.9498 would print as the target
        shown = f"{value:.4f}"
    tail = f"{'meets' if ok else 'MISSES'} the target {op} {target}"
    if ci95 is not None:
        lo, hi = (float(v) for v in ci95)
        shown += f" [{lo:.3f}, {hi:.3f}]" + (f", {support}" if support else "")
        above, below = lo >= target, hi <= target
        sure = (above if op == ">=" else below) if ok else (below if op == ">=" else above)
        tail += (
            "; the whole interval is on that side" if sure else "; the interval holds the target"
        )
    return f"{what}: {shown} ({tail})", bool(ok)


__all__ = ["verdict"]
