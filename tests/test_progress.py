import sys

import pytest

from lulcbook import progress as P


@pytest.fixture
def summary_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(P.ENV, "summary")


def test_summary_mode_prints_one_line_on_stdout(
    summary_mode: None, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = [x for x in P.progress(range(4), desc="folds")]
    out, err = capsys.readouterr()
    assert seen == [0, 1, 2, 3]
    assert err == ""
    assert out.count("\n") == 1 and out.startswith("folds: 4/4 it in ")


def test_summary_inner_loops_and_disabled_bars_are_silent(
    summary_mode: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in P.progress(range(3), desc="outer"):
        for _ in P.progress(range(5), desc="inner", leave=False):
            pass
    list(P.progress(range(2), desc="hidden", disable=True))
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("outer: 3/3") and len(out.splitlines()) == 1
    assert err == ""


def test_summary_manual_updates_and_postfix(
    summary_mode: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with P.progress(total=6, desc="predict map.tif", unit="tile") as bar:
        for _ in range(6):
            bar.update(1)
        bar.set_postfix(loss="0.2847", refresh=False)
    line = capsys.readouterr().out.strip()
    assert line.startswith("predict map.tif: 6/6 tile in ") and line.endswith("loss=0.2847")
    with pytest.raises(TypeError, match="no iterable"):
        iter(P.SummaryProgress(None, desc="x")).__next__()


def test_summary_counts_an_interrupted_loop(
    summary_mode: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in P.progress(range(10), desc="early stop"):
        if i == 2:
            break
    del i
    import gc

    gc.collect()
    assert "early stop: 2/10" in capsys.readouterr().out


def test_mode_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in P.MODES:
        monkeypatch.setenv(P.ENV, value.upper())
        assert P.mode() == value
    monkeypatch.setenv(P.ENV, "fancy")
    with pytest.raises(ValueError, match="fancy"):
        P.mode()
    monkeypatch.delenv(P.ENV)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert P.mode() == "summary"  # not a kernel, not a terminal (CI logs)


def test_kernel_without_jupyter_server_gets_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(P.ENV, raising=False)
    monkeypatch.setattr(P, "_in_kernel", lambda: True)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert P.mode() == "summary"  # papermill, nbmake
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/02-gnn.ipynb")
    assert P.mode() == "widget"  # JupyterLab


def test_bar_and_off_modes_return_tqdm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tqdm.std import tqdm

    monkeypatch.setenv(P.ENV, "off")
    bar = P.progress(range(3), desc="quiet")
    assert isinstance(bar, tqdm) and bar.disable and list(bar) == [0, 1, 2]
    monkeypatch.setenv(P.ENV, "bar")
    bar = P.progress(range(2), desc="text")
    assert isinstance(bar, tqdm) and not bar.disable
    list(bar)
    assert "text" in capsys.readouterr().err
