"""The web UI in a real browser: Debian's chromium + chromedriver driven by selenium against a real
``turbotrack server`` subprocess over runs written by ``turbotrack.init``/``log``.

Screenshots go to ``$TURBOTRACK_ARTIFACTS`` (default ``tests/artifacts/``). Skipped when chromium,
chromedriver or selenium is missing (``scripts/chromium.sh`` installs them).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
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
    import math, os, pathlib, sys, time
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
    # A diverged run beside a healthy one: NaN and infinities in history, summary and config.
    for name, bad in [("healthy", False), ("diverged", True)]:
        run = tt.init(project="nan", name=name, config={"lr": math.inf if bad else 0.1})
        for s in range(50):
            loss = 1 / (1 + s)
            if bad and s >= 30:
                loss = math.nan if s % 2 else math.inf
            run.log({"loss": loss, "dip": -math.inf if bad and s == 10 else float(s)})
        if bad:  # a table file holds them as Python writes them: bare NaN and Infinity tokens
            run.log({"tbl": tt.Table(columns=["k", "v"], data=[["a", math.nan], ["b", -math.inf], ["NaN", 1.5]])})
        run.summary["peak"] = math.inf if bad else 3.0
        run.summary["floor"] = -math.inf if bad else 0.0
        run.finish()
    # Twenty small runs: distinct colours, grouping by a config key, the view in the URL, CSV.
    for i in range(20):
        run = tt.init(project="many", name=f"m-{i:02d}", config={"opt": "adam" if i % 2 else "sgd", "seed": i})
        for s in range(5):
            run.log({"loss": (i + 1) / (s + 1)})
        run.finish()
    # wandb.Html whose script probes what it may reach, beside an SVG image (served as an attachment).
    run = tt.init(project="html", name="with-html")
    probe = os.environ["TT_PROBE"].replace("RUN_ID", run.id)
    pathlib.Path(run.dir, "diagram.svg").write_text(os.environ["TT_SVG"])
    for s in range(2):
        run.log({"page": tt.Html(probe.replace("STEP", str(s))), "diagram": tt.Image(str(pathlib.Path(run.dir, "diagram.svg"))),
                 "loss": 1.0 / (1 + s)})
    run.finish()
    """
)

# The script of the Html media: it tries the site's cookies, storage, parent page and API with the
# session (a read, and a write of its run's summary), and writes what it got into its own page.
PROBE = textwrap.dedent(
    """
    <!doctype html><html><head><title>probe</title></head><body><h1>step STEP</h1><pre id="result">running</pre>
    <script>
    (async () => {
      const out = {origin: String(self.origin)};
      const attempt = async (name, fn) => {
        try { out[name] = await fn(); } catch (e) { out[name] = 'blocked: ' + e.name; }
      };
      await attempt('cookie', () => document.cookie);
      await attempt('storage', () => String(localStorage.length));
      await attempt('parent', () => parent.document.title);
      await attempt('read', async () => {
        const r = await fetch('/api/v1/projects', {credentials: 'include'});
        return r.status + ' ' + (await r.text()).slice(0, 300);
      });
      await attempt('write', async () => {
        const r = await fetch('/api/v1/runs/local/html/RUN_ID/summary', {method: 'POST', mode: 'no-cors',
          credentials: 'include', headers: {'Content-Type': 'text/plain'}, body: JSON.stringify({pwned: 1})});
        return 'sent: ' + r.type;
      });
      document.getElementById('result').textContent = JSON.stringify(out);
      document.title = 'probed';
    })();
    </script></body></html>
    """
)

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30" onload="alert(1)">'
    '<rect width="40" height="30" fill="#1f77b4"/><script>alert(2)</script></svg>'
)

# What the server sends on every UI page (CONTRACT: the UI loads nothing but the server itself).
UI_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
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
    env = {**os.environ, "TURBOTRACK_DIR": str(root), "TT_PROBE": PROBE, "TT_SVG": SVG}
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


#: Recorded on every page a driver opens: its CSP violations, as ``window.__csp``.
_CSP_RECORDER = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) =>"
    " window.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`));"
)


def chromium_driver(login_url: str, window: str = "1400,900", extra: tuple[str, ...] = (), csp: bool = False) -> Any:
    """Debian's Chromium, headless, logged in through ``login_url`` (it sets the session cookie),
    its console kept; with ``csp``, every page records its CSP violations in ``window.__csp``. The
    caller quits it."""
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={window}", *extra):
        opts.add_argument(arg)
    opts.binary_location = CHROMIUM
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(30)
        driver.get(login_url)
        if csp:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_RECORDER})
    except BaseException:
        driver.quit()
        raise
    return driver


def write_runs(root: Path, script: str, *args: str, timeout: float = 180) -> Any:
    """Run ``script`` (Python that logs runs with turbotrack) in a child whose runs go under
    ``root``; what it printed last, as JSON (None when it printed nothing)."""
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        cwd=root,
        check=True,
        timeout=timeout,
        capture_output=True,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


@contextlib.contextmanager
def served(root: Path) -> Iterator[Any]:
    """A ``turbotrack server`` over ``root`` (tests/serverkit.py's ServerProc), stopped after, cleanly."""
    from serverkit import ServerProc

    s = ServerProc(root)
    s.start()
    try:
        yield s
    finally:
        assert s.stop() == 0


@contextlib.contextmanager
def driving(server: Any, **kw: Any) -> Iterator[Any]:
    """A logged-in :func:`chromium_driver` of ``server`` (a ServerProc; ``kw`` as chromium_driver's),
    ``driver.base`` its URL; quit after."""
    driver = chromium_driver(server.login_url, **kw)
    driver.base = server.url
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    driver = chromium_driver(server)
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
    # A bare stylesheet page makes Chromium ask for /favicon.ico (a 404), whenever it gets round to it:
    # severe() leaves that line out (the app's pages ask for no favicon: index.html has its own icon).
    driver.get_log("browser")


def severe(logged: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The SEVERE lines of a browser log, but for the 404 of the bare stylesheet page's favicon."""
    return [e for e in logged if e["level"] == "SEVERE" and "/favicon.ico" not in e["message"]]


def shot(driver: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def no_errors(driver: Any) -> None:
    """No JavaScript error was logged on the page."""
    errors = [e["message"] for e in severe(driver.get_log("browser"))]
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


def test_live_run_grows_without_reload(browser: Any, root: Path, spawn: Any) -> None:
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    proc = spawn(_python(LIVE_RUN, root, "250"), env=env, cwd=root, stdout=subprocess.DEVNULL)
    # killed and reaped by the spawn fixture if the test fails
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
    assert proc.wait(timeout=60) == 0


def _get(driver: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` outside the browser with the browser's cookies: status, headers (lower-case), body."""
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    req = urllib.request.Request(driver.base + path, headers={"Cookie": cookies})
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            return res.status, {k.lower(): v for k, v in res.headers.items()}, res.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def _directives(csp: str) -> dict[str, set[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = set(words[1:])
    return out


def _table_cells(driver: Any) -> dict[str, dict[str, str]]:
    """The runs table as {run name: {column key: shown text}}, read in one script."""
    return driver.execute_script(
        """const cols = [...document.querySelectorAll('#runs-table thead th')].map((th) => th.dataset.col);
        const out = {};
        for (const tr of document.querySelectorAll('#runs-table tbody tr[data-run]')) {
          const tds = [...tr.children];
          const row = {};
          cols.forEach((c, i) => { if (c) row[c] = tds[i].innerText.trim(); });
          out[row.name] = row;
        }
        return out;"""
    )


def test_nan_and_infinity_render_as_numbers(browser: Any, root: Path) -> None:
    """One diverged run (NaN and infinities in history, summary and config) blanks nothing: the
    server sends them as the strings "NaN", "Infinity", "-Infinity" and the UI reads them as numbers."""
    reset_settings(browser)
    shown = ["state", "config.lr", "summary.loss", "summary.peak", "summary.floor"]
    browser.execute_script(
        "localStorage.setItem(arguments[0], arguments[1])",
        "turbotrack:workspace:local/nan",
        json.dumps({"pinned": shown, "shown": shown, "bar": "summary.peak"}),
    )
    open_page(browser, "/local/nan")
    wait(browser, lambda d: sorted(table_names(d)) == ["diverged", "healthy"])
    # Every run in every chart, every point with it: the infinite ones too (drawn as gaps; /history
    # sends a NaN as a gap, null, already).
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 2 and chart_attr(d, "dip", "runs") == 2)
    assert chart_attr(browser, "loss", "points") >= 50 + 30 + 10
    assert chart_attr(browser, "dip", "points") == 100
    cells = _table_cells(browser)
    assert {k: cells["diverged"][k] for k in shown[1:]} == {
        "config.lr": "∞",
        "summary.loss": "NaN",
        "summary.peak": "∞",
        "summary.floor": "\u2212∞",
    }, cells
    assert {k: cells["healthy"][k] for k in shown[1:]} == {
        "config.lr": "0.1",
        "summary.loss": "0.02",
        "summary.peak": "3",
        "summary.floor": "0",
    }, cells
    # Infinity sorts as the largest number; the bar chart has a (full) bar for it too.
    click(browser, '#runs-table th[data-col="summary.floor"]')
    wait(browser, lambda d: table_names(d) == ["healthy", "diverged"])
    click(browser, '#runs-table th[data-col="summary.floor"]')
    wait(browser, lambda d: table_names(d) == ["diverged", "healthy"])
    bars = browser.execute_script(
        "return [...document.querySelectorAll('#bar-chart .bar-row')].map((r) => r.innerText.replace(/\\s+/g, ' ').trim())"
    )
    assert bars == ["diverged ∞", "healthy 3"], bars
    box = css(browser, "#run-filter")[0]
    box.send_keys("peak > 1000")
    wait(browser, lambda d: table_names(d) == ["diverged"])
    box.clear()
    box.send_keys(" ")
    wait(browser, lambda d: len(table_names(d)) == 2)
    shot(browser, "workspace-nan")
    no_errors(browser)
    # The run page: its summary and config say NaN, ∞ and −∞; its charts are drawn.
    open_page(browser, f"/local/nan/runs/{_run_id(root, 'diverged', 'nan')}")
    wait(browser, lambda d: chart_attr(d, "loss", "points") >= 40 and chart_attr(d, "dip", "points") == 50)
    kv = lambda sel: dict(  # noqa: E731
        (tr.find_element(By.CSS_SELECTOR, "th").text, tr.find_element(By.CSS_SELECTOR, "td").text)
        for tr in css(browser, f"{sel} tr")
    )
    summary = kv("#run-summary")
    assert (summary["loss"], summary["peak"], summary["floor"]) == ("NaN", "∞", "\u2212∞"), summary
    assert kv("#run-config")["lr"] == "∞"
    cells = lambda d: [td.text for td in css(d, '.media[data-metric="tbl"] tbody td')]  # noqa: E731
    wait(browser, lambda d: cells(d) == ["a", "NaN", "b", "\u2212∞", "NaN", "1.5"])
    # Hovering step 30 (loss = inf, a gap in the line) names its value.
    tip = browser.execute_script(
        """const c = document.querySelector('.chart[data-metric="loss"]').lineChart;
        c.plot.setCursor({left: c.plot.valToPos(30, 'x'), top: 10});
        return [...c.el.querySelectorAll('.chart-tip .tip-val')].map((e) => e.textContent);"""
    )
    assert tip == ["∞"], tip
    no_errors(browser)
    reset_settings(browser)


def test_html_media_runs_sandboxed(browser: Any, root: Path) -> None:
    """wandb.Html is shown in a sandboxed frame (scripts, no same origin): its script runs, and can
    read neither the site's cookies nor its API with the session, nor write a summary with it."""
    rid = _run_id(root, "with-html", "html")
    reset_settings(browser)
    # A cookie that any script of the site's origin could read.
    browser.add_cookie({"name": "probe", "value": "site-secret", "path": "/"})
    try:
        open_page(browser, f"/local/html/runs/{rid}")
        frame = wait(browser, lambda d: css(d, '.media[data-metric="page"] iframe'))[0]
        assert frame.get_attribute("sandbox") == "allow-scripts"
        src = frame.get_attribute("src")
        assert re.search(r"/files/media/html/page_1_[0-9a-f]+\.html\?view=1$", src), src
        assert not css(browser, '.chart[data-metric="page"]'), "an Html media is not a chart"
        assert css(browser, '.media[data-metric="page"] .step-slider')
        browser.switch_to.frame(frame)
        try:
            result = wait(
                browser, lambda d: d.execute_script("return document.title") == "probed" and css(d, "#result")[0].text
            )
            heading = css(browser, "h1")[0].text
        finally:
            browser.switch_to.default_content()
        got = json.loads(result)
        assert heading == "step 1"
        assert got["origin"] == "null", got  # an opaque origin
        for what in ("cookie", "storage", "parent"):
            assert got[what].startswith("blocked: "), got
        assert "site-secret" not in result
        # The read never reached the API as the user: refused by the browser, or answered 401.
        assert got["read"].startswith("blocked: ") or got["read"].split()[0] in ("401", "403"), got
        assert "projects" not in got["read"], got
        # The write came back (the script awaited it) and changed nothing.
        after = browser.execute_async_script(
            "fetch(arguments[0]).then((r) => r.json()).then(arguments[arguments.length - 1])",
            f"/api/v1/runs/local/html/{rid}",
        )
        assert "pwned" not in after["summary"], after["summary"]
        # The SVG media is an <img> of its file (served as an attachment, so it never runs as a page).
        img = wait(browser, lambda d: css(d, '.media[data-metric="diagram"] img'))[0]
        wait(browser, lambda d: d.execute_script("return arguments[0].naturalWidth", img) == 40)
        svg_path = img.get_attribute("src").split(browser.base, 1)[1]
        shot(browser, "run-html-media")
    finally:
        browser.delete_cookie("probe")
    browser.get_log("browser")  # drained: the probe's refused requests are logged as errors
    # What the frame and the <img> rely on from the server.
    html_path = src.split(browser.base, 1)[1]
    status, headers, _body = _get(browser, html_path)
    assert status == 200 and headers["content-type"].startswith("text/html"), headers
    assert "attachment" not in headers.get("content-disposition", ""), headers
    sandbox = _directives(headers["content-security-policy"])["sandbox"]
    assert "allow-scripts" in sandbox and "allow-same-origin" not in sandbox, headers
    assert headers["x-content-type-options"] == "nosniff"
    for path in (html_path.split("?")[0], svg_path):
        status, headers, _ = _get(browser, path)
        assert status == 200, (path, status)
        assert headers.get("content-disposition", "").startswith("attachment"), (path, headers)
        assert _directives(headers["content-security-policy"]) == {"sandbox": set()}, (path, headers)
        assert headers["x-content-type-options"] == "nosniff"


# Records the page's CSP violations (a script the browser runs before the page's own, not subject to it).
_CSP_RECORDER = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) =>"
    " window.__csp.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"
)


def test_pages_keep_to_the_content_security_policy(browser: Any, root: Path) -> None:
    """Every UI page is sent with the CSP and nosniff, and does nothing the policy forbids: no inline
    script or handler, no eval, nothing from elsewhere (a violation would be reported and logged)."""
    rid = _run_id(root, "run-0")
    sid = _run_id(root, "with-system", "sys")
    run = f"/local/demo/runs/{rid}"
    checks: list[tuple[str, Callable[[Any], Any]]] = [
        ("/", lambda d: css(d, '#projects tr[data-project="local/demo"]')),
        ("/local/demo", lambda d: chart_attr(d, "train/loss", "runs") == 3 and css(d, "#bar-chart .bar-row")),
        (
            run,
            lambda d: (
                chart_attr(d, "train/loss", "points") > 50
                and d.execute_script(
                    "const i = document.querySelector('.media[data-metric=\"sample\"] img'); return i && i.naturalWidth"
                )
                and css(d, '.media[data-metric="weights"] canvas[data-histograms]')
                and css(d, '.media[data-metric="preds"] tbody tr')
            ),
        ),
        (f"{run}/files", lambda d: css(d, "#files tbody tr")),
        (f"{run}/logs", lambda d: css(d, "#log .log-line")),
        (f"/local/sys/runs/{sid}/system", lambda d: chart_attr(d, "system.cpu", "points") >= 5),
    ]
    for path, _ in checks:
        status, headers, _body = _get(browser, path)
        assert status == 200, (path, status)
        assert _directives(headers.get("content-security-policy", "")) == _directives(UI_CSP), (path, headers)
        assert headers.get("x-content-type-options") == "nosniff", (path, headers)
    for path, ctype in [
        ("/static/app.js", "javascript"),
        ("/static/lib/nonfinite.js", "javascript"),
        ("/static/vendor/uplot.iife.min.js", "javascript"),
        ("/static/app.css", "text/css"),
    ]:
        status, headers, _body = _get(browser, path)
        assert status == 200 and ctype in headers["content-type"], (path, headers)
        assert headers.get("x-content-type-options") == "nosniff", (path, headers)
    reset_settings(browser)
    recorder = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_RECORDER})
    try:
        for path, ready in checks:
            open_page(browser, path)
            wait(browser, ready)
            if path.endswith("/files"):  # previews: an image, a diff, JSON
                for name in ("diff.patch", "config.json"):
                    click(browser, f'#files tr[data-file="{name}"] a.file-link')
                    wait(browser, lambda d, n=name: any(n in e.text for e in css(d, "#file-preview .preview-head")))
                image = next(
                    n
                    for n in (tr.get_attribute("data-file") for tr in css(browser, "#files tbody tr"))
                    if n.endswith(".png")
                )
                click(browser, f'#files tr[data-file="{image}"] a.file-link')
                wait(
                    browser,
                    lambda d: d.execute_script(
                        "const i = document.querySelector('#file-preview img'); return i && i.naturalWidth"
                    ),
                )
            if path == "/local/demo":  # hover, smoothing: the tooltip and redraws
                over = css(browser, '.chart[data-metric="train/loss"] .u-over')[0]
                ActionChains(browser).move_to_element(over).perform()
                wait(browser, lambda d: css(d, '.chart[data-metric="train/loss"] .chart-tip .tip-row'))
            violations = browser.execute_script("return window.__csp")
            assert violations == [], (path, violations)
            logged = browser.get_log("browser")
            assert not [e for e in logged if "Content Security Policy" in e["message"]], (path, logged)
            assert not severe(logged), (path, logged)
        # The policy is in force, and the recorder sees a breach: an inline script is refused.
        browser.execute_script(
            "const s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.head.append(s)"
        )
        wait(browser, lambda d: d.execute_script("return window.__csp.length") == 1)
        assert browser.execute_script("return window.__inline") is None
        assert any("Content Security Policy" in e["message"] for e in browser.get_log("browser"))
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": recorder["identifier"]})
    reset_settings(browser)


def _series_colors(driver: Any, metric: str) -> dict[str, str]:
    return driver.execute_script(
        "const c = document.querySelector(`.chart[data-metric='${arguments[0]}']`)?.lineChart;"
        "return c ? Object.fromEntries(c.shown.map((s) => [s.id, s.color])) : {}",
        metric,
    )


def test_twenty_runs_get_distinct_colours_and_a_chosen_one_stays(browser: Any, root: Path) -> None:
    reset_settings(browser)
    open_page(browser, "/local/many")
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    colors = _series_colors(browser, "loss")
    assert len(colors) == 20 and len(set(colors.values())) == 20, colors
    swatches = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#runs-table tr[data-run]')]"
        ".map((tr) => [tr.dataset.run, tr.querySelector('.pick').dataset.color]))"
    )
    assert swatches and all(colors[rid] == c for rid, c in swatches.items()), (swatches, colors)
    # The same colours whatever the sort.
    click(browser, '#runs-table th[data-col="name"]')
    wait(browser, lambda d: "sorted" in css(d, '#runs-table th[data-col="name"]')[0].get_attribute("class"))
    assert _series_colors(browser, "loss") == colors
    rid = _run_id(root, "m-03", "many")
    click(browser, f'#runs-table tr[data-run="{rid}"] span.pick')  # the swatch becomes a colour input
    browser.execute_script(
        "const i = document.querySelector(`#runs-table tr[data-run='${arguments[0]}'] input.pick`);"
        "i.value = '#123456'; i.dispatchEvent(new Event('change', {bubbles: true}));",
        rid,
    )
    wait(browser, lambda d: _series_colors(d, "loss").get(rid) == "#123456")
    after = _series_colors(browser, "loss")
    assert len(set(after.values())) == 20, after
    open_page(browser, "/local/many")  # remembered
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    assert _series_colors(browser, "loss").get(rid) == "#123456"
    assert (
        wait(browser, lambda d: css(d, f'#runs-table tr[data-run="{rid}"] .pick'))[0].get_attribute("data-color")
        == "#123456"
    )
    shot(browser, "workspace-colours")
    no_errors(browser)


def test_the_view_is_in_the_url_and_a_link_shows_it(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/many?x=_runtime&smooth=0.5&log=1&runs=10&sort=-name&filter=opt%20%3D%20adam")
    wait(browser, lambda d: len(table_names(d)) == 10)
    assert table_names(browser) == [f"m-{i:02d}" for i in range(19, 0, -2)]
    assert browser.execute_script(
        "return [document.querySelector('#x-axis').value, document.querySelector('#smoothing').value,"
        " document.querySelector('#log-scale').checked, document.querySelector('#max-runs').value,"
        " document.querySelector('#run-filter').value]"
    ) == ["_runtime", "0.5", True, "10", "opt = adam"]
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 10)
    assert css(browser, '.chart[data-metric="loss"]')[0].get_attribute("data-log") == "true"
    # A change rewrites the address: that link, opened with nothing remembered, shows the same view.
    browser.execute_script(
        "const i = document.querySelector('#smoothing'); i.value = '0.25'; i.dispatchEvent(new Event('input'))"
    )
    wait(browser, lambda d: "smooth=0.25" in d.current_url)
    link = browser.current_url
    assert "sort=-name" in link and "filter=opt" in link and "log=1" in link
    reset_settings(browser)
    browser.get(link)
    wait(browser, lambda d: d.execute_script("return document.body.dataset.ready"))
    wait(browser, lambda d: len(table_names(d)) == 10)
    assert browser.execute_script("return document.querySelector('#smoothing').value") == "0.25"
    assert table_names(browser)[0] == "m-19"
    no_errors(browser)


def test_runs_table_exports_csv(browser: Any, tmp_path: Path) -> None:
    reset_settings(browser)
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    open_page(browser, "/local/many?sort=%2Bname&filter=opt%20%3D%20sgd")
    wait(browser, lambda d: len(table_names(d)) == 10)
    click(browser, "#export-csv")
    target = tmp_path / "many-runs.csv"
    wait(browser, lambda d: target.exists() and target.read_text().count("\n") == 11)
    import csv

    with target.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == [f"m-{i:02d}" for i in range(0, 20, 2)]
    assert all(r["config.opt"] == "sgd" for r in rows)
    assert [int(r["config.seed"]) for r in rows] == list(range(0, 20, 2))
    assert rows[0]["state"] == "finished" and rows[0]["created"].endswith("Z") and rows[0]["id"]
    assert float(rows[0]["summary.loss"]) == 0.2  # run m-00 logged 1/5 last
    no_errors(browser)


def test_dark_mode_follows_the_system(browser: Any) -> None:
    reset_settings(browser)
    light = "return getComputedStyle(document.documentElement).backgroundColor"
    axis = (
        "const p = document.querySelector('.chart[data-metric=\"loss\"]')?.lineChart?.plot; if (!p) return null;"
        "const s = p.axes[0].stroke; return typeof s === 'function' ? s(p, 0) : s"
    )
    open_page(browser, "/local/many")
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    assert browser.execute_script(light) == "rgb(246, 247, 249)" and browser.execute_script(axis) == "#555"
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    )
    try:
        open_page(browser, "/local/many")
        wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
        assert browser.execute_script(light) == "rgb(15, 18, 23)"
        assert browser.execute_script(
            "return getComputedStyle(document.querySelector('.sidebar')).backgroundColor"
        ) == ("rgb(23, 27, 34)")
        assert browser.execute_script(axis) == "#9ca3af"
        shot(browser, "workspace-dark")
        no_errors(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_grouped_runs_draw_a_mean_line_in_a_min_max_band(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/many")
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    opts = browser.execute_script("return [...document.querySelectorAll('#group-by option')].map((o) => o.value)")
    assert opts[:3] == ["", "group", "job_type"] and "config.opt" in opts
    browser.execute_script(
        "const g = document.querySelector('#group-by'); g.value = 'config.opt'; g.dispatchEvent(new Event('change'))"
    )
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 2)
    got = browser.execute_script(
        "const c = document.querySelector('.chart[data-metric=\"loss\"]').lineChart;"
        "return {labels: c.plot.series.slice(1).map((s) => s.label), data: c.plot.data, bands: c.bands.length}"
    )
    # sgd: runs 0, 2, ..., 18 logged (i + 1) / (s + 1); adam: the odd ones. Groups in table order
    # (created, newest first: m-19 is adam's).
    assert got["labels"] == [f"{g} (10 runs){part}" for g in ("adam", "sgd") for part in ("", " max", " min")]
    xs, adam, adam_max, adam_min, sgd, sgd_max, sgd_min = got["data"]
    assert xs == [0, 1, 2, 3, 4] and got["bands"] == 2
    assert sgd[0] == 10 and sgd_min[0] == 1 and sgd_max[0] == 19
    assert adam[0] == 11 and adam_min[0] == 2 and adam_max[0] == 20
    assert abs(adam[4] - 11 / 5) < 1e-9 and adam_max[4] == 4
    assert "group=config.opt" in browser.current_url
    shot(browser, "workspace-grouped")
    # Back to one line per run.
    browser.execute_script(
        "const g = document.querySelector('#group-by'); g.value = ''; g.dispatchEvent(new Event('change'))"
    )
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    no_errors(browser)


def test_compare_runs_side_by_side_with_the_differences_marked(browser: Any, root: Path) -> None:
    reset_settings(browser)
    open_page(browser, "/local/many")
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    section = 'details[data-group="__compare"]'
    click(browser, f"{section} > summary")
    wait(browser, lambda d: len(css(d, "#compare-pick option")) == 20)
    assert "pick 2 to 5 runs" in css(browser, f"{section} .compare .empty")[0].text
    ids = [_run_id(root, n, "many") for n in ("m-00", "m-02", "m-04")]
    browser.execute_script(
        "const sel = document.querySelector('#compare-pick');"
        "for (const o of sel.options) o.selected = arguments[0].includes(o.value);"
        "sel.dispatchEvent(new Event('change'));",
        ids,
    )
    wait(browser, lambda d: css(d, f"{section} .cmp-table"))

    def lines(d: Any) -> dict[str, Any]:
        return d.execute_script(
            "return Object.fromEntries([...document.querySelectorAll(arguments[0] + ' .cmp-table tbody tr')].map((tr) =>"
            " [tr.dataset.key, [tr.classList.contains('cmp-diff'), [...tr.querySelectorAll('td:not(.cmp-key)')]"
            ".map((td) => td.innerText)]]))",
            section,
        )

    got = lines(browser)
    heads = browser.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' .cmp-table th.cmp-run')].map((th) =>"
        " [th.dataset.run, th.innerText.trim(), th.querySelector('.swatch').style.background])",
        section,
    )
    assert [name for _id, name, _c in heads] == ["m-04", "m-02", "m-00"]  # in the table's order (newest first)
    # Each run's column in the colour the charts draw it in.
    colors = _series_colors(browser, "loss")
    assert all(swatch == _css_color(browser, colors[rid]) for rid, _n, swatch in heads)
    assert got["config.opt"] == [False, ["sgd", "sgd", "sgd"]]
    assert got["config.seed"] == [True, ["4", "2", "0"]]
    assert got["summary.loss"][0] is True
    click(browser, f"{section} input.cmp-only")
    wait(browser, lambda d: "config.opt" not in lines(d))
    assert "config.seed" in lines(browser)
    open_page(browser, "/local/many")  # the runs picked and the open section are remembered
    wait(browser, lambda d: css(d, f"{section} .cmp-table"))
    assert list(lines(browser)) == ["config.opt", "config.seed", "summary.loss"]
    shot(browser, "workspace-compare")
    no_errors(browser)


def _css_color(driver: Any, color: str) -> str:
    """A CSS colour as the browser writes it back (`rgb(...)`), to compare colours written apart."""
    return driver.execute_script(
        "const e = document.createElement('i'); e.style.background = arguments[0]; return e.style.background", color
    )


def test_keyboard_shortcuts_listed_on_question_mark(browser: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    reset_settings(browser)
    open_page(browser, "/local/many")
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    overlay = ".kbd-overlay"
    assert len(css(browser, overlay)) == 1 and not css(browser, overlay)[0].is_displayed()
    body = css(browser, "body")[0]
    body.send_keys("?")
    wait(browser, lambda d: css(d, overlay)[0].is_displayed())
    listed = [k.text for k in css(browser, f"{overlay} kbd")]
    assert listed[:2] == ["?", "Escape"] and {"/", "l", "e", "g", "c"} <= set(listed)
    assert "log scale on or off" in css(browser, overlay)[0].text
    assert "Alt+←/→" in listed and "move the panel whose title bar is focused" in css(browser, overlay)[0].text
    body.send_keys(Keys.ESCAPE)
    wait(browser, lambda d: not css(d, overlay)[0].is_displayed())
    body.send_keys("l")
    wait(browser, lambda d: css(d, '.chart[data-metric="loss"]')[0].get_attribute("data-log") == "true")
    body.send_keys("/")
    assert browser.execute_script("return document.activeElement.id") == "run-filter"
    browser.switch_to.active_element.send_keys("l")  # typed into the filter: no shortcut
    assert css(browser, "#run-filter")[0].get_attribute("value") == "l"
    assert css(browser, '.chart[data-metric="loss"]')[0].get_attribute("data-log") == "true"
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)  # leaves the field
    assert browser.execute_script("return document.activeElement === document.body")
    click(browser, ".crumbs a")  # another page: one overlay still, without the workspace's keys
    wait(browser, lambda d: d.execute_script("return document.body.dataset.page") == "projects")
    body.send_keys("?")
    wait(browser, lambda d: css(d, overlay)[0].is_displayed())
    assert len(css(browser, overlay)) == 1 and "/" not in [k.text for k in css(browser, f"{overlay} kbd")]
    no_errors(browser)


def _hover(driver: Any, selector: str, x: float, y: float) -> None:
    """Move the pointer to (x, y) CSS pixels from the element's top-left corner (the element
    scrolled to the middle of the window first, clear of the sticky bars)."""
    el = css(driver, selector)[0]
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    size = el.size
    ActionChains(driver).move_to_element_with_offset(
        el, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).perform()


def _tip(driver: Any, panel: str) -> list[str]:
    """The hover tip of a panel: [run name, its swatch's colour]; [] when none is shown."""
    return driver.execute_script(
        "const t = document.querySelector(arguments[0] + ' .an-tip');"
        "if (!t || t.hidden) return []; return [t.querySelector('b').innerText, t.querySelector('.swatch').style.background]",
        panel,
    )


def test_parallel_coordinates_and_parameter_importance(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/many")
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 20)
    section = 'details[data-group="__params"]'
    click(browser, f"{section} > summary")
    pc = f"{section} .pc-canvas"
    wait(browser, lambda d: d.execute_script("return document.querySelector(arguments[0])?.dataset.lines", pc) == "20")
    axes = browser.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' .pc-field input:checked')].map((i) => i.value)", section
    )
    assert axes == ["config.opt", "config.seed", "summary.loss"]
    assert browser.execute_script("return document.querySelector(arguments[0]).dataset.axes", pc) == "3"
    colors = _series_colors(browser, "loss")
    names = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#runs-table tbody tr[data-run]')]"
        ".map((tr) => [tr.querySelector('td.name').innerText.trim(), tr.dataset.run]))"
    )
    # The middle axis is config.seed: its top end is m-19's; the line is in m-19's chart colour.
    width = css(browser, pc)[0].size["width"]
    _hover(browser, pc, width / 2, 30)
    wait(browser, lambda d: _tip(d, f"{section} .pcoords")[:1] == ["m-19"])
    assert _tip(browser, f"{section} .pcoords")[1] == _css_color(browser, colors[names["m-19"]])
    # m-i has seed i and loss (i + 1) / 5: seed correlates with loss exactly.
    ranks = browser.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' .imp-table tbody tr')].map((tr) => [tr.dataset.param,"
        " tr.cells[2].innerText])",
        section,
    )
    assert ranks[0] == ["config.seed", "1.000"] and [c for c, _ in ranks] == ["config.seed", "config.opt"]
    # The scatter: a config column against a summary one at first; seed against loss on a line.
    sc = f"{section} .sc-canvas"
    assert browser.execute_script("return document.querySelector(arguments[0]).dataset.points", sc) == "20"
    browser.execute_script(
        "const x = document.querySelector(arguments[0] + ' .sc-x'); x.value = 'config.seed'; x.dispatchEvent(new Event('change'));"
        "const y = document.querySelector(arguments[0] + ' .sc-y'); y.value = 'summary.loss'; y.dispatchEvent(new Event('change'))",
        section,
    )
    width = css(browser, sc)[0].size["width"]
    _hover(browser, sc, width - 12, 12)  # the top right: the highest seed, the highest loss
    wait(browser, lambda d: _tip(d, f"{section} .scatter")[:1] == ["m-19"])
    assert _tip(browser, f"{section} .scatter")[1] == _css_color(browser, colors[names["m-19"]])
    height = css(browser, sc)[0].size["height"]
    _hover(browser, sc, 56, height - 36)  # the bottom left: the lowest of both
    wait(browser, lambda d: _tip(d, f"{section} .scatter")[:1] == ["m-00"])
    shot(browser, "workspace-params")
    # Brushing the seed axis' top end (seed 19 at y = 30, 18 some 14 px below) keeps m-19 only: the
    # scatter takes the runs kept.
    el = css(browser, pc)[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", el)
    ActionChains(browser).move_to_element_with_offset(
        el, 0, int(26 - el.size["height"] / 2)
    ).click_and_hold().move_by_offset(0, 4).move_by_offset(0, 4).release().perform()
    wait(browser, lambda d: d.execute_script("return document.querySelector(arguments[0]).dataset.points", sc) == "1")
    assert "/local/many" in browser.current_url  # a brush opens no run
    # The choices are kept: the scatter's axes and the brush, after a reload.
    open_page(browser, "/local/many")
    wait(browser, lambda d: d.execute_script("return document.querySelector(arguments[0])?.dataset.points", sc) == "1")
    assert (
        browser.execute_script("return document.querySelector(arguments[0] + ' .sc-x').value", section) == "config.seed"
    )
    no_errors(browser)


# The table's filter in the page and the same filter compiled for the server (lib/filter.js toMongo)
# pick the same runs: one filter language.
SAME_RUNS = """
const done = arguments[arguments.length - 1];
(async () => {
  const f = await import('/static/lib/filter.js');
  const c = await import('/static/lib/columns.js');
  const all = (await (await fetch('/api/v1/runs/local/many')).json()).runs;
  const rows = all.map(c.runRow);
  const known = new Set(c.dataColumns(rows));
  const out = {};
  for (const text of arguments[0]) {
    const query = f.toMongo(text, known);
    const test = f.compileFilter(text, known).test;
    const page = rows.filter(test).map((r) => r.name).sort();
    const res = await fetch('/api/v1/runs/local/many?filters=' + encodeURIComponent(JSON.stringify(query)));
    const server = ((await res.json()).runs || []).map((r) => r.name).sort();
    out[text] = [page, server, query !== null];
  }
  done(out);
})().catch((e) => done(String(e)));
"""


def test_the_filter_means_the_same_in_the_page_and_on_the_server(browser: Any) -> None:
    open_page(browser, "/local/many")
    filters = [
        "opt = adam",
        "opt = ADAM and seed >= 10",
        "seed < 3 or seed > 17",
        "not opt ~ da",
        "name ~ m-1 and loss <= 3",
        "m-0 finished",
        "group = null",
        "opt != sgd and seed != 5",
    ]
    browser.set_script_timeout(60)
    got = browser.execute_async_script(SAME_RUNS, filters)
    assert isinstance(got, dict), got
    for text in filters:
        page, server, compiled = got[text]
        assert compiled, text
        assert page and page == server, (text, page, server)
    # A filter in the URL is asked of the server for the first page, then all runs are read.
    reset_settings(browser)
    open_page(browser, "/local/many?filter=config.opt%20%3D%20adam")
    wait(browser, lambda d: css(d, "#run-count")[0].text == "10 of 20 runs")
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name).filter((u) => u.includes('/api/v1/runs/local/many?'))"
    )
    assert "filters=" in asked[0] and all("filters=" not in u for u in asked[1:]), asked
    assert sorted(table_names(browser)) == [f"m-{i:02d}" for i in range(1, 20, 2)]
    no_errors(browser)
