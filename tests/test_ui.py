"""The web UI in a real browser: Debian's chromium + chromedriver driven by selenium against a real
``turbotrack server`` subprocess over runs written by ``turbotrack.init``/``log``.

Screenshots go to ``$TURBOTRACK_ARTIFACTS`` (default ``tests/artifacts/``). Skipped when chromium,
chromedriver or selenium is missing (``scripts/chromium.sh`` installs them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed (scripts/chromium.sh)"
    ),
    pytest.mark.timeout(240),
]

ARTIFACTS = Path(os.environ.get("TURBOTRACK_ARTIFACTS") or Path(__file__).parent / "artifacts")

# Three finished runs with scalars, a summary dict, media, coloured output and a diff.patch.
MAKE_RUNS = textwrap.dedent(
    """
    import math, pathlib, sys, time
    import numpy as np
    import turbotrack as tt
    for i, lr in enumerate([0.1, 0.01, 0.001]):
        run = tt.init(project="demo", name=f"run-{i}", config={"lr": lr, "model": {"depth": 18 + i}},
                      tags=["big"] if i == 0 else ["baseline"], group="sweep")
        run.define_metric("val/acc", summary="max,last")
        for s in range(200):
            run.log({"train/loss": math.exp(-s * lr * 0.1), "val/acc": 1 - 0.9 * math.exp(-s * lr * 0.05)})
            if s % 50 == 0:
                run.log({"weights": tt.Histogram(np.random.randn(200) * (1 + s / 50)),
                         "sample": tt.Image(np.random.rand(8, 8, 3))}, commit=False)
        run.log({"preds": tt.Table(columns=["id", "score"], data=[[1, 0.5], [2, 0.9], [3, 0.1]])})
        print(f"\\x1b[32mOK\\x1b[0m run {i} <b>done</b>")
        pathlib.Path(run.dir, "diff.patch").write_text("diff --git a/x.py b/x.py\\n--- a/x.py\\n+++ b/x.py\\n@@ -1 +1 @@\\n-old\\n+new\\n")
        run.finish()
    # A long run (zoom fetches finer samples) with a step metric (an x-axis choice).
    run = tt.init(project="long", name="long")
    run.define_metric("val/acc", step_metric="epoch")
    for s in range(20000):
        row = {"loss": 1 / (1 + s) + 0.01 * math.sin(s / 7)}
        if s % 1000 == 999:
            row.update({"epoch": s // 1000, "val/acc": s / 20000})
        run.log(row)
    run.finish()
    # A run with system metrics sampled every 0.1 s.
    run = tt.init(project="sys", name="with-system", settings={"capture_system": True, "system_interval": 0.1})
    for s in range(10):
        run.log({"loss": 1 / (1 + s)})
    time.sleep(1.5)
    run.finish()
    """
)

# A run that keeps logging while the page is open.
LIVE_RUN = textwrap.dedent(
    """
    import sys, time
    import turbotrack as tt
    run = tt.init(project="live", name="growing")
    for s in range(int(sys.argv[1])):
        run.log({"loss": 1.0 / (s + 1)})
        print(f"line {s}", flush=True)
        time.sleep(0.1)
    run.finish()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _python(code: str, root: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ui")
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    subprocess.run(_python(MAKE_RUNS, root), env=env, check=True, cwd=root, timeout=120, capture_output=True)
    return root


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[str]:
    """``turbotrack server`` on a free port; yields the login URL it prints."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "turbotrack", "server", "--dir", str(root), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = None
    deadline = time.time() + 30
    assert proc.stdout is not None
    while time.time() < deadline and url is None:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        m = re.search(r"(http://\S+/\?token=\S+)", line)
        url = m.group(1) if m else None
    if url is None:
        proc.kill()
        out = proc.stdout.read()
        proc.stdout.close()
        pytest.fail(f"turbotrack server printed no login URL: {out}")
    # Keep reading what it prints, so a full pipe never blocks it.
    drain = threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True)  # type: ignore[union-attr]
    drain.start()
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    drain.join(timeout=5)
    proc.stdout.close()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900"):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.get(server)  # the login URL sets the session cookie
    driver.base = server.split("/?")[0]
    yield driver
    driver.quit()


def open_page(driver: Any, path: str) -> None:
    driver.get(driver.base + path)
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready"))


def wait(driver: Any, cond: Callable[[Any], Any], timeout: float = 20) -> Any:
    """Poll ``cond`` until it holds. Conditions find their elements afresh on every poll, so an
    element the page replaced between finding and reading it (stale) just means: poll again."""
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(cond)


def click(driver: Any, selector: str, index: int = 0) -> None:
    """Click the element ``selector`` finds now (found again if the page re-rendered it meanwhile)."""

    def attempt(d: Any) -> bool:
        els = css(d, selector)
        if len(els) <= index:
            return False
        els[index].click()
        return True

    wait(driver, attempt)


def reset_settings(driver: Any) -> None:
    """Forget the UI's remembered choices: cleared from a same-origin page that runs no script, so
    no open workspace can write them back."""
    driver.get(driver.base + "/static/app.css")
    driver.execute_script("localStorage.clear()")
    driver.get_log("browser")  # drained: a bare stylesheet page makes Chromium ask for /favicon.ico (404)


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def no_errors(driver: Any) -> None:
    """No JavaScript error was logged on the page."""
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def css(driver: Any, selector: str) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def table_names(driver: Any) -> list[str]:
    """The run names of the table's rows, read in one script (the table may re-render any time)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#runs-table tbody tr[data-run] td.name')].map((td) => td.innerText.trim())"
    )


def chart_attr(driver: Any, metric: str, attr: str) -> int:
    """A chart panel's ``data-<attr>`` (0 when there is no such panel yet), read in one script."""
    value = driver.execute_script(
        'const el = document.querySelector(`.chart[data-metric="${arguments[0]}"]`); return el && el.dataset[arguments[1]]',
        metric,
        attr,
    )
    return int(value or 0)


def test_projects_page(browser: Any) -> None:
    open_page(browser, "/")
    row = wait(browser, lambda d: css(d, '#projects tr[data-project="local/demo"]'))[0]
    assert "demo" in row.text and " 3 " in f" {row.text} "
    shot(browser, "projects")
    no_errors(browser)


def test_workspace_sorts_filters_and_draws(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/demo")
    wait(browser, lambda d: len(table_names(d)) == 3)
    # Every run drawn in every chart; the summary dict's words are columns.
    wait(browser, lambda d: chart_attr(d, "train/loss", "runs") == 3 and chart_attr(d, "val/acc", "runs") == 3)
    assert chart_attr(browser, "train/loss", "points") >= 3 * 100
    best = '#runs-table th[data-col="summary.val/acc.max"]'
    wait(browser, lambda d: css(d, best)[0].text.startswith("val/acc.max"))
    # Sort by best accuracy: descending first, then ascending.
    click(browser, best)
    wait(browser, lambda d: table_names(d) == ["run-0", "run-1", "run-2"])
    shot(browser, "workspace")  # docs/ui-workspace.png is this one
    click(browser, best)
    wait(browser, lambda d: table_names(d) == ["run-2", "run-1", "run-0"])
    # The bar chart of that summary metric has one bar per run.
    assert len(css(browser, "#bar-chart .bar-row")) == 3
    # Filters: expressions and plain words.
    box = css(browser, "#run-filter")[0]  # the filter box itself is never re-rendered
    for text, expect in [
        ("val/acc.max > 0.5", ["run-0"]),
        ("config.lr = 0.01", ["run-1"]),
        ("tags = baseline and lr < 0.01", ["run-2"]),
        ("run-1", ["run-1"]),
    ]:
        box.clear()
        box.send_keys(text)
        wait(browser, lambda d, e=expect: table_names(d) == e)
    wait(browser, lambda d: chart_attr(d, "train/loss", "runs") == 1)
    box.clear()
    box.send_keys("acc >")
    wait(browser, lambda d: "Filter:" in css(d, "#filter-error")[0].text)
    box.clear()
    box.send_keys(" ")
    wait(browser, lambda d: len(table_names(d)) == 3)
    no_errors(browser)


def test_workspace_hover_zoom_hide_and_remembered_choices(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/demo")
    wait(browser, lambda d: chart_attr(d, "train/loss", "runs") == 3)
    over = css(browser, '.chart[data-metric="train/loss"] .u-over')[0]
    ActionChains(browser).move_to_element(over).move_by_offset(10, 0).perform()
    tip = '.chart[data-metric="train/loss"] .chart-tip'
    wait(browser, lambda d: css(d, tip)[0].is_displayed() and len(css(d, f"{tip} .tip-row")) == 3)
    # Drag to zoom: the chart asks the server for that range (test_zoom_fetches_finer_samples: finer).
    ActionChains(browser).move_to_element_with_offset(over, -100, 0).click_and_hold().move_by_offset(
        120, 0
    ).release().perform()
    wait(browser, lambda d: "zoomed" in css(d, '.chart[data-metric="train/loss"] .chart-status')[0].text)
    # Hide a run: it leaves the charts, and stays hidden after a reload (localStorage per project).
    click(browser, "#runs-table tr[data-run] td.eye input")
    wait(browser, lambda d: chart_attr(d, "val/acc", "runs") == 2)
    # Pin a config column from the columns menu.
    click(browser, "#columns-menu summary")
    click(browser, '#columns-menu .col-item[data-col="config.lr"] .pin')
    wait(browser, lambda d: css(d, '#runs-table th[data-col="config.lr"]'))
    open_page(browser, "/local/demo")
    wait(browser, lambda d: css(d, '#runs-table th[data-col="config.lr"]'))
    wait(browser, lambda d: chart_attr(d, "val/acc", "runs") == 2)
    click(browser, "#runs-table tr.hidden-run td.eye input")
    wait(browser, lambda d: chart_attr(d, "val/acc", "runs") == 3)
    # Smoothing and log scale redraw (the panel says how it was last drawn) without errors.
    browser.execute_script(
        "const s = document.getElementById('smoothing'); s.value = 0.9; s.dispatchEvent(new Event('input'))"
    )
    click(browser, "#log-scale")
    wait(browser, lambda d: css(d, '.chart[data-metric="train/loss"][data-log="true"][data-smoothing="0.9"]'))
    shot(browser, "workspace-smoothed-log")
    no_errors(browser)
    reset_settings(browser)


def test_zoom_fetches_finer_samples(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/long")
    wait(browser, lambda d: chart_attr(d, "loss", "points") > 0)
    chart = '.chart[data-metric="loss"]'
    # The x values drawn before the zoom, kept in the page.
    browser.execute_script(
        "window.__before = Array.from(document.querySelector(arguments[0]).lineChart.plot.data[0])", chart
    )
    over = css(browser, f"{chart} .u-over")[0]
    ActionChains(browser).move_to_element_with_offset(over, -60, 0).click_and_hold().move_by_offset(
        80, 0
    ).release().perform()
    wait(browser, lambda d: "zoomed" in css(d, f"{chart} .chart-status")[0].text)
    got = browser.execute_script(
        """const c = document.querySelector(arguments[0]).lineChart;
        const {min, max} = c.zoom;
        const asked = performance.getEntriesByType('resource').map((e) => e.name)
          .filter((u) => u.includes('/history?') && u.includes('min=') && u.includes('max='));
        return {min, max, before: window.__before.filter((x) => x >= min && x <= max).length,
                after: c.pointsIn(min, max), asked};""",
        chart,
    )
    assert got["asked"], "the zoom asked the server for no x range"
    assert 0 < got["min"] < got["max"] < 20000
    # About 4,000 steps in range: drawn before at the whole run's density, now at the chart's width.
    assert got["after"] >= 2 * got["before"], got
    # Double-click: back to the whole run.
    ActionChains(browser).double_click(css(browser, f"{chart} .u-over")[0]).perform()
    wait(browser, lambda d: "zoomed" not in css(d, f"{chart} .chart-status")[0].text)
    no_errors(browser)


def test_x_axis_offers_the_step_metrics_runs_defined(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/long")
    # define_metric("val/acc", step_metric="epoch") is in metrics.json and so among the choices. The
    # options are re-rendered as run details arrive: read them in one script (no stale elements).
    options_js = "return Array.from(document.querySelectorAll('#x-axis option'), (o) => o.value)"
    wait(browser, lambda d: "epoch" in d.execute_script(options_js))
    assert browser.execute_script(options_js)[:4] == ["_step", "_runtime", "_timestamp", "epoch"]
    browser.execute_script(
        "const s = document.getElementById('x-axis'); s.value = 'epoch'; s.dispatchEvent(new Event('change'))"
    )
    # val/acc over epoch: its 20 points, each at its epoch (0..19). Wait for those x values themselves:
    # 20 points over _step (an answer asked before the change) would also count 20.
    xs_js = (
        "const c = document.querySelector('.chart[data-metric=\"val/acc\"]');"
        " return c && c.lineChart.plot ? Array.from(c.lineChart.plot.data[0]) : null"
    )
    wait(browser, lambda d: d.execute_script(xs_js) == list(range(20)))
    assert chart_attr(browser, "val/acc", "points") == 20
    # Metrics logged every step keep every point's own row (not only the rows holding val/acc too).
    browser.execute_script(
        "const s = document.getElementById('x-axis'); s.value = '_step'; s.dispatchEvent(new Event('change'))"
    )
    wait(browser, lambda d: chart_attr(d, "loss", "points") > 100)
    shot(browser, "workspace-step-metric")
    no_errors(browser)
    reset_settings(browser)


def test_system_metrics_are_drawn(browser: Any, root: Path) -> None:
    rid = _run_id(root, "with-system", "sys")
    open_page(browser, f"/local/sys/runs/{rid}/system")
    wait(browser, lambda d: chart_attr(d, "system.cpu", "points") >= 5)
    assert chart_attr(browser, "system.memory", "points") >= 5
    assert len(css(browser, ".run-content .chart")) >= 5
    shot(browser, "run-system")
    # The workspace's system section, opened, draws them too.
    reset_settings(browser)
    open_page(browser, "/local/sys")
    click(browser, '.section[data-group="system"] > summary')
    wait(browser, lambda d: chart_attr(d, "system.cpu", "runs") == 1 and chart_attr(d, "system.cpu", "points") >= 5)
    no_errors(browser)
    reset_settings(browser)


def _run_id(root: Path, name: str, project: str = "demo") -> str:
    import json

    for p in (root / "turbotrack" / "local" / project).glob("*/run.json"):
        if json.loads(p.read_text())["name"] == name:
            return p.parent.name
    raise AssertionError(name)


def test_run_page_overview_and_media(browser: Any, root: Path) -> None:
    rid = _run_id(root, "run-1")
    open_page(browser, f"/local/demo/runs/{rid}")
    wait(browser, lambda d: "lr" in css(d, "#run-config")[0].text)
    assert "0.01" in css(browser, "#run-config")[0].text
    assert "val/acc.max" in css(browser, "#run-summary")[0].text
    assert "command" in css(browser, "#run-facts")[0].text
    wait(browser, lambda d: chart_attr(d, "train/loss", "points") > 50)
    # Media: an image with a step slider, a histogram heat map, a sortable table.
    img = wait(browser, lambda d: css(d, '.media[data-metric="sample"] img'))[0]
    wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", img) == 8)
    assert css(browser, '.media[data-metric="sample"] .step-slider')
    wait(browser, lambda d: css(d, '.media[data-metric="weights"] canvas[data-histograms="4"]'))
    cells = lambda d: [td.text for td in css(d, '.media[data-metric="preds"] tbody tr td:first-child')]  # noqa: E731
    wait(browser, lambda d: cells(d) == ["1", "2", "3"])
    css(browser, '.media[data-metric="preds"] th')[1].click()
    wait(browser, lambda d: cells(d) == ["3", "1", "2"])
    browser.set_window_size(1400, 2200)
    shot(browser, "run-overview")
    browser.set_window_size(1400, 900)
    no_errors(browser)


def test_logs_and_files(browser: Any, root: Path) -> None:
    rid = _run_id(root, "run-0")
    open_page(browser, f"/local/demo/runs/{rid}/logs")
    line = wait(
        browser,
        lambda d: d.execute_script(
            "const el = [...document.querySelectorAll('#log .log-line')].find((el) => el.innerText.includes('run 0'));"
            "const span = el && el.querySelector('span');"
            "return el && span && {text: el.innerText, span: span.innerText, style: span.getAttribute('style')}"
        ),
    )
    assert "<b>done</b>" in line["text"]  # shown as text, not markup
    assert line["span"] == "OK" and "color" in line["style"]
    css(browser, "#log-search")[0].send_keys("no such text")
    wait(browser, lambda d: all(not el.is_displayed() for el in css(d, "#log .log-line")))
    shot(browser, "logs")
    open_page(browser, f"/local/demo/runs/{rid}/files")
    names = [tr.get_attribute("data-file") for tr in wait(browser, lambda d: css(d, "#files tbody tr"))]
    assert {"output.log", "diff.patch", "config.json"} <= set(names)
    assert any(n.startswith("media/images/") for n in names)
    click(browser, '#files tr[data-file="diff.patch"] a.file-link')
    wait(browser, lambda d: css(d, "#file-preview .diff-add"))
    assert css(browser, "#file-preview .diff-del")[0].text == "-old"
    link = css(browser, '#files tr[data-file="diff.patch"] a.download')[0].get_attribute("href")
    assert link.endswith("/files/diff.patch?download=1")
    click(browser, '#files tr[data-file="config.json"] a.file-link')
    # The diff's preview stays until config.json's arrives and replaces it: found afresh each poll.
    wait(browser, lambda d: '"lr"' in css(d, "#file-preview pre")[0].text)
    shot(browser, "files")
    open_page(browser, f"/local/demo/runs/{rid}/system")
    assert css(browser, ".tabs a.active")[0].text.lower() == "system"
    wait(browser, lambda d: css(d, ".run-content .empty, .run-content .chart"))
    no_errors(browser)


def test_live_run_grows_without_reload(browser: Any, root: Path) -> None:
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    proc = subprocess.Popen(_python(LIVE_RUN, root, "250"), env=env, cwd=root, stdout=subprocess.DEVNULL)
    try:
        run_dir = lambda: next((root / "turbotrack" / "local" / "live").glob("*/run.json"), None)  # noqa: E731
        deadline = time.time() + 30
        while run_dir() is None and time.time() < deadline:
            time.sleep(0.2)
        assert run_dir() is not None, "the live run did not start"
        open_page(browser, "/local/live")
        wait(browser, lambda d: chart_attr(d, "loss", "points") > 0, timeout=30)
        first = chart_attr(browser, "loss", "points")
        marker = browser.execute_script("return window.__marker = Math.random()")
        wait(browser, lambda d: chart_attr(d, "loss", "points") > first + 10, timeout=30)
        assert browser.execute_script("return window.__marker") == marker, "the page reloaded"
        assert css(browser, "#live")[0].is_displayed()
        shot(browser, "live-workspace")
        rid = run_dir().parent.name
        open_page(browser, f"/local/live/runs/{rid}/logs")
        count = lambda d: len([el for el in css(d, "#log .log-line") if el.text.strip()])  # noqa: E731
        wait(browser, lambda d: count(d) > 0, timeout=30)
        n0 = count(browser)
        wait(browser, lambda d: count(d) > n0 + 5, timeout=30)
        no_errors(browser)
    finally:
        proc.wait(timeout=60)
