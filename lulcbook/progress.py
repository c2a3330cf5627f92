"""Progress reporting that suits where the code runs.

* In JupyterLab (an IPython kernel started by a Jupyter server): a ``tqdm`` widget bar.
* In a terminal: a text ``tqdm`` bar on stderr.
* Under papermill, nbmake, DVC stages and CI: no bar at all, but one summary line per finished
  loop on stdout (``folds: 4/4 in 72.3 s (18.1 s/it)``), so executed notebooks stay readable and
  carry no stderr output. Loops started with ``leave=False`` (inner loops) print nothing.

:func:`progress` takes the same arguments as ``tqdm`` (``iterable``, ``desc``, ``total``,
``disable``, ``leave``, ``unit``, ...) and returns an object with the same use: iterate over it,
call ``update``/``set_postfix``, use it as a context manager.

The choice is made by the environment variable ``LULCBOOK_PROGRESS`` (``widget``, ``bar``,
``summary`` or ``off``; the DVC stage runner and ``make test`` set ``summary``). Without it:
a kernel whose server named the notebook (``JPY_SESSION_NAME``, set by Jupyter Server for the
kernels it starts, never by papermill or nbmake) gets widgets, another kernel gets summary lines,
a terminal gets a text bar and anything else (pipes, logs) summary lines.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, Literal

Mode = Literal["widget", "bar", "summary", "off"]
MODES: tuple[str, ...] = ("widget", "bar", "summary", "off")
ENV = "LULCBOOK_PROGRESS"


def _in_kernel() -> bool:
    """Return whether this process is an IPython kernel (notebook, papermill, nbmake)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    get_ipython = getattr(shell, "get_ipython", None)
    ip = get_ipython() if get_ipython is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def mode() -> Mode:
    """Return how progress is shown here (see the module docstring for the rules).

    Raises:
        ValueError: if ``LULCBOOK_PROGRESS`` holds something other than one of :data:`MODES`.
    """
    value = os.environ.get(ENV, "").strip().lower()
    if value:
        if value not in MODES:
            raise ValueError(f"{ENV}={value!r} is not one of {', '.join(MODES)}")
        return value  # type: ignore[return-value]
    if _in_kernel():
        return "widget" if os.environ.get("JPY_SESSION_NAME") else "summary"
    stream = sys.stderr
    return "bar" if stream is not None and stream.isatty() else "summary"


def _format_seconds(seconds: float) -> str:
    """``72.3 s``, ``3 min 05 s`` or ``1 h 02 min``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class SummaryProgress:
    """A silent stand-in for a tqdm bar that prints one line when the loop ends.

    Args:
        iterable: what to iterate over (optional when driven with :meth:`update`).
        desc: the loop's name, first in the summary line.
        total: the expected count (default: ``len(iterable)`` where it has one).
        leave: ``False`` for inner loops, which print nothing.
        disable: print nothing at all.
        unit: the unit of one step (``it``, ``tile``, ...).
        file: where the line goes (default: stdout, so notebooks get no stderr output).
        **_: other tqdm arguments (``mininterval``, ``position``, ...), accepted and ignored.
    """

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        desc: str | None = None,
        total: float | None = None,
        leave: bool | None = True,
        disable: bool | None = False,
        unit: str = "it",
        file: Any = None,
        **_: Any,
    ) -> None:
        """Start the clock; see the class docstring for the arguments."""
        self.iterable = iterable
        self.desc = desc or ""
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total = total
        self.leave = leave is not False
        self.disable = bool(disable)
        self.unit = unit
        self.file = file
        self.n = 0
        self.postfix: dict[str, Any] = {}
        self.start = time.perf_counter()
        self.closed = False

    def __iter__(self) -> Iterator[Any]:
        """Yield the items of the iterable, counting them; print the summary at the end."""
        if self.iterable is None:
            raise TypeError(f"progress {self.desc!r} has no iterable to iterate over")
        try:
            for item in self.iterable:
                yield item
                self.n += 1
        finally:
            self.close()

    def __len__(self) -> int:
        """The expected count (0 when unknown)."""
        return int(self.total or 0)

    def __enter__(self) -> SummaryProgress:
        """Use as a context manager; the summary is printed on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Print the summary line."""
        self.close()

    def update(self, n: float = 1) -> None:
        """Count ``n`` more steps."""
        self.n += int(n)

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, refresh: bool = True,
                    **kwargs: Any) -> None:  # fmt: skip
        """Remember values (e.g. the loss) to append to the summary line."""
        self.postfix.update(ordered_dict or {})
        self.postfix.update(kwargs)

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Rename the loop."""
        self.desc = desc or ""

    def refresh(self) -> None:
        """Nothing to redraw (tqdm compatibility)."""

    def write(self, text: str) -> None:
        """Print ``text`` as tqdm.write would, without disturbing anything."""
        print(text, file=self.file or sys.stdout)

    def summary(self) -> str:
        """The summary line, e.g. ``folds: 4/4 in 72.3 s (18.1 s/it), loss=0.28``."""
        elapsed = time.perf_counter() - self.start
        count = f"{self.n}/{int(self.total)}" if self.total is not None else f"{self.n}"
        rate = ""
        if self.n:
            per = elapsed / self.n
            rate = (
                f" ({per:.2f} s/{self.unit})"
                if per >= 1
                else f" ({self.n / max(elapsed, 1e-9):.1f} {self.unit}/s)"
            )
        extra = ", ".join(f"{k}={v}" for k, v in self.postfix.items())
        name = f"{self.desc}: " if self.desc else ""
        return f"{name}{count} {self.unit} in {_format_seconds(elapsed)}{rate}" + (
            f", {extra}" if extra else ""
        )

    def close(self) -> None:
        """Print the summary line once (unless disabled or an inner loop)."""
        if self.closed:
            return
        self.closed = True
        if self.leave and not self.disable:
            stream = self.file or sys.stdout
            print(self.summary(), file=stream, flush=True)


def progress(
    iterable: Iterable[Any] | None = None,
    desc: str | None = None,
    total: float | None = None,
    **kwargs: Any,
) -> Any:
    """A progress bar for ``iterable`` (or a manual one with ``total``) that suits the runtime.

    Takes tqdm's arguments and returns a tqdm bar (widget in JupyterLab, text in a terminal),
    a :class:`SummaryProgress` (papermill, nbmake, CI), or a disabled tqdm bar (``off``).

    Args:
        iterable: what to iterate over (``None`` for a bar driven with ``update``).
        desc: the loop's name.
        total: the expected count.
        **kwargs: other tqdm arguments (``leave``, ``disable``, ``unit``, ...).

    Returns:
        A tqdm bar or a :class:`SummaryProgress`; both iterate, ``update``, ``set_postfix`` and
        work as context managers.
    """
    how = mode()
    if how == "summary":
        return SummaryProgress(iterable, desc=desc, total=total, **kwargs)
    if how == "off":
        kwargs["disable"] = True
    if how == "widget":
        from tqdm.auto import tqdm as widget_tqdm

        return widget_tqdm(iterable, desc=desc, total=total, **kwargs)
    from tqdm.std import tqdm

    return tqdm(iterable, desc=desc, total=total, **kwargs)
