"""The rendered book: built from the executed notebooks, opened in headless Chromium.

Every page must render without script errors and load nothing from another host, every image
must load, no page may show a warning or error box or a stderr/traceback output, and the maps
notebook must hold a Bokeh map that really pans.

Builds from ``reports/notebooks`` and ``reports/metrics`` (``LULCBOOK_BOOK_NOTEBOOKS`` and
``LULCBOOK_BOOK_METRICS`` point it at other executed notebooks, e.g. a smoke run). Needs Debian's
``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skips, saying so, without them.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = "install them with `apt-get install -y chromium chromium-driver` (Debian/Ubuntu)"
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,1600",
)  # fmt: skip
# Text that Python prints for a warning, or a logging warning, in an output cell.
WARNING_TEXT = re.compile(
    r"(\b[A-Z]\w*Warning: |^WARNING[:\s]|^Traceback \(most recent call)", re.M
)


def _load_builder() -> Any:
    spec = importlib.util.spec_from_file_location("book_build", ROOT / "book" / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["book_build"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build = _load_builder()


def _browser_paths() -> tuple[str, str]:
    browser = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        # .ci/run installs them: in CI a missing browser is a failure, not a skip
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium or chromedriver missing in CI: {INSTALL_HINT}")
        pytest.skip(
            f"Headless Chromium and chromedriver are needed for the book test: {INSTALL_HINT}"
        )
    return browser, driver


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The book, built once into a temporary folder."""
    _browser_paths()
    pytest.importorskip("selenium", reason="selenium is in the dev extra: pip install -e '.[dev]'")
    notebooks = Path(os.environ.get("LULCBOOK_BOOK_NOTEBOOKS", ROOT / "reports" / "notebooks"))
    metrics = Path(os.environ.get("LULCBOOK_BOOK_METRICS", ROOT / "reports" / "metrics"))
    from lulcbook.config import sample_dir

    out = tmp_path_factory.mktemp("book")
    return build.build(out, notebooks, metrics, ROOT / "lulcbook" / "zoo", sample_dir())


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    """The site served over HTTP on localhost (as a reader's browser would get it)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def browser(site: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def _pages(site: Path) -> list[str]:
    skip = {"genindex.html", "search.html"}
    return sorted(p.name for p in site.glob("*.html") if p.name not in skip)


def test_book_has_landing_notebooks_and_cards(site: Path) -> None:
    pages = _pages(site)
    notebooks = sorted(p.stem for p in Path(os.environ.get(
        "LULCBOOK_BOOK_NOTEBOOKS", ROOT / "reports" / "notebooks")).glob("[0-9][0-9]-*.ipynb"))  # fmt: skip
    assert {"index.html", "data.html", "reproduce.html"} <= set(pages)
    assert [p for p in pages if p[:2].isdigit()] == [f"{n}.html" for n in notebooks]
    landing = (site / "index.html").read_text()
    for name in notebooks:  # the notebooks are listed in order on the landing page
        assert f'href="{name}.html"' in landing
    positions = [landing.index(f'href="{n}.html"') for n in notebooks]
    assert positions == sorted(positions)
    data = (site / "data.html").read_text()
    assert "EuroSAT" in data and "Licen" in data


def test_every_headline_number_is_in_the_committed_metrics() -> None:
    """The landing page shows every number ``headlines.yaml`` asks for (none left out)."""
    import yaml

    spec = yaml.safe_load((ROOT / "book" / "headlines.yaml").read_text())
    notebooks = build.find_notebooks(ROOT / "reports" / "notebooks")
    problems: list[str] = []
    text = build.headline_markdown(spec, ROOT / "reports" / "metrics", notebooks, problems)
    assert problems == []
    for entry in spec.values():
        for item in entry.get("numbers", []):
            assert f"| {item['label']} |" in text


def _wait_ready(driver: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def test_every_page_renders_offline_without_warnings(site: Path, server: str, browser: Any) -> None:
    problems: list[str] = []
    for page in _pages(site):
        browser.get(f"{server}/{page}")
        _wait_ready(browser)
        browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")  # lazy images
        browser.implicitly_wait(0)
        state = browser.execute_script(
            """
            const imgs = Array.from(document.images);
            const sel = (q) => Array.from(document.querySelectorAll(q));
            return {
              title: document.title,
              text: (document.querySelector('main') || document.body).innerText.length,
              broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80)),
              images: imgs.length,
              boxes: sel('.admonition.warning, .admonition.error, .admonition.danger, .admonition.caution, .admonition.attention, div.system-message').map(e => e.innerText.slice(0, 120)),
              stderr: sel('.output.stderr, .output.traceback, .output.error').map(e => e.innerText.slice(0, 200)),
              outputs: sel('.cell_output').map(e => e.innerText),
              foreign: performance.getEntriesByType('resource').map(r => r.name)
                .filter(n => !n.startsWith(location.origin) && !n.startsWith('data:')),
            };
            """
        )
        errors = [e["message"] for e in browser.get_log("browser")
                  if e["level"] == "SEVERE" and "favicon" not in e["message"]]  # fmt: skip
        where = f"{page}:"
        if not state["title"] or state["text"] < 200:
            problems.append(f"{where} did not render (title {state['title']!r})")
        problems += [f"{where} image did not load: {s}" for s in state["broken"]]
        problems += [f"{where} warning/error box: {b}" for b in state["boxes"]]
        problems += [f"{where} stderr/error output: {s}" for s in state["stderr"]]
        problems += [f"{where} warning text in an output: {m.group(0)!r}"
                     for text in state["outputs"] for m in [WARNING_TEXT.search(text)] if m]  # fmt: skip
        problems += [f"{where} loaded from another host: {n}" for n in state["foreign"]]
        problems += [f"{where} script error: {e[:200]}" for e in errors]
    assert not problems, "\n".join(problems)


def test_maps_notebook_has_a_pannable_bokeh_map(site: Path, server: str, browser: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = next((p for p in _pages(site) if re.match(r"\d\d-maps\.html$", p)), None)
    if page is None:
        pytest.fail("The book has no maps notebook (NN-maps.html)")
    browser.get(f"{server}/{page}")
    _wait_ready(browser)
    # Bokeh draws each figure as a custom element with a canvas in its shadow root.
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "return window.Bokeh !== undefined && Bokeh.index && Bokeh.index.roots.length > 0"))  # fmt: skip
    ranges_js = """
        const name = (m) => m.type || m.constructor.__name__;
        return Array.from(Bokeh.index.all_views())
          .filter(v => v.model && v.model.x_range && v.model.toolbar)
          .map(v => {
            const box = v.el.getBoundingClientRect();
            return {
              id: v.model.id,
              tools: v.model.toolbar.tools.map(name),
              images: v.model.renderers.filter(r => r.glyph && name(r.glyph) === 'Image').length,
              x0: v.model.x_range.start, x1: v.model.x_range.end,
              top: box.top + window.scrollY, left: box.left, w: box.width, h: box.height,
            };
          });
    """
    plots = browser.execute_script(ranges_js)
    maps = [p for p in plots if p["images"] > 0]
    assert maps, f"no Bokeh map (image plot) on {page}; plots: {plots}"
    target = maps[0]
    assert {"PanTool", "WheelZoomTool"} <= set(target["tools"]), target["tools"]
    # Pan: drag inside the map and check that its x range moved.
    browser.execute_script("window.scrollTo(0, arguments[0] - 200)", target["top"])
    body = browser.find_element(By.TAG_NAME, "body")
    x = target["left"] + target["w"] * 0.4
    y = (
        browser.execute_script("return arguments[0] - window.scrollY", target["top"])
        + target["h"] * 0.5
    )
    actions = ActionChains(browser)
    actions.move_to_element_with_offset(body, 0, 0)  # body's centre, then absolute moves below
    actions.w3c_actions.pointer_action.move_to_location(int(x), int(y))
    actions.w3c_actions.pointer_action.click_and_hold()
    actions.w3c_actions.pointer_action.move_to_location(int(x) + 120, int(y) + 20)
    actions.w3c_actions.pointer_action.release()
    actions.perform()
    after = {p["id"]: p for p in browser.execute_script(ranges_js)}[target["id"]]
    assert (after["x0"], after["x1"]) != (target["x0"], target["x1"]), "the map did not pan"
    assert after["x1"] - after["x0"] == pytest.approx(target["x1"] - target["x0"], rel=1e-6)
