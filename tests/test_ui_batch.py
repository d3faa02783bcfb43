"""The workspace fetches its charts' histories in batches (``GET /api/v1/histories/...``): 60 runs
draw every chart with all of them in far fewer history requests than runs; a downsampled chart of a
few runs draws each run's min-max band (the uPlot instance behind the panel), on the workspace and on
the run page. Real server on loopback, real Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import Any, Iterator

import pytest
from serverkit import ServerProc
from test_ui import CHROMEDRIVER, CHROMIUM, chromium_driver, no_errors, open_page, reset_settings, wait

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed (scripts/chromium.sh)"
    ),
    pytest.mark.timeout(240),
]

RUNS = 60
MAKE_RUNS = textwrap.dedent(
    f"""
    import math
    import turbotrack as tt
    QUIET = {{"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}}
    for i in range({RUNS}):  # three charts of sixty runs
        run = tt.init(project="wide", name=f"w-{{i:02d}}", settings=QUIET)
        for s in range(50):
            run.log({{"loss": (i + 1) / (s + 1), "acc": s / 50, "lr": 0.1 * i}})
        run.finish()
    for i in range(2):  # two runs of 5,000 noisy steps: downsampled to a chart's width
        run = tt.init(project="noisy", name=f"n-{{i}}", settings=QUIET)
        for s in range(5000):
            run.log({{"y": math.sin(s / 300) + (1.0 if s % 7 == 0 else 0.0) + i}})
        run.finish()
    """
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("ui-batch")
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    subprocess.run([sys.executable, "-c", MAKE_RUNS], env=env, check=True, cwd=root, timeout=180, capture_output=True)
    with ServerProc(root) as srv:
        driver = chromium_driver(srv.login_url, window="1400,2400")  # every chart in sight
        driver.base = srv.url
        try:
            yield driver
        finally:
            driver.quit()


def _drawn(driver: Any) -> dict[str, int]:
    """Each chart panel's runs drawn, read in one script."""
    return driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('.chart[data-metric]')]"
        ".map((el) => [el.dataset.metric, Number(el.dataset.runs || 0)]))"
    )


def test_sixty_runs_draw_every_chart_in_a_few_history_requests(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, f"/local/wide?runs={RUNS}")
    wait(browser, lambda d: (got := _drawn(d)) and all(got.get(k) == RUNS for k in ("loss", "acc", "lr")), 60)
    asked = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
        ".filter((u) => u.includes('/history?') || u.includes('/api/v1/histories/'))"
    )
    batches = [u for u in asked if "/api/v1/histories/" in u]
    assert batches, asked
    assert len(asked) <= RUNS // 4, asked  # 60 runs, three charts: a dozen requests, not 60 or 180
    assert "%2C" not in batches[0]  # the first chart after the smallest answer: one run
    # every run was asked for every chart's key, and each batch names many runs
    named = [u.split("runs=")[1].split("&")[0].split("%2C") for u in batches]
    assert max(len(ids) for ids in named) >= 8, named
    assert not any("bands=1" in u for u in batches[-3:])  # many runs drawn: no bands asked
    no_errors(browser)


def _band(driver: Any, metric: str) -> Any:
    """The uPlot behind a chart panel: its bands, and the min and max series of the first band."""
    return driver.execute_script(
        """const el = document.querySelector(`.chart[data-metric="${arguments[0]}"]`);
        const plot = el && el.lineChart && el.lineChart.plot;
        if (!plot || !plot.bands || !plot.bands.length) return null;
        const [hi, lo] = plot.bands[0].series;
        const line = plot.data[hi - 1], max = plot.data[hi], min = plot.data[lo];
        let inside = 0, n = 0, wide = 0;
        for (let i = 0; i < line.length; i++) {
          if (line[i] == null || max[i] == null || min[i] == null) continue;
          n++;
          if (min[i] <= line[i] && line[i] <= max[i]) inside++;
          if (max[i] - min[i] > 0.5) wide++;
        }
        return {bands: plot.bands.length, points: line.length, n, inside, wide};""",
        metric,
    )


def test_a_downsampled_chart_of_few_runs_draws_their_bands(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/noisy")
    got = wait(browser, lambda d: (b := _band(d, "y")) and b["bands"] == 2 and b)
    # each run's line lies in its band; a bucket holds the spikes of every 7th step: a wide band
    assert got["n"] > 50 and got["inside"] == got["n"] and got["wide"] > got["n"] // 2, got
    assert got["points"] < 5000 * 2  # downsampled, not every step
    # with smoothing the line is smoothed, the band is not: the same band
    read = "const p = document.querySelector('.chart[data-metric=\"y\"]').lineChart.plot; return [p.data[1], p.data[2]]"
    before = browser.execute_script(read)
    open_page(browser, "/local/noisy?smooth=0.9")
    wait(browser, lambda d: (b := _band(d, "y")) and b["bands"] == 2)
    after = browser.execute_script(read)
    assert after[1] == before[1] and after[0] != before[0]  # the band as it came, the line smoothed
    no_errors(browser)


def test_the_run_page_draws_a_band_for_a_downsampled_line(browser: Any) -> None:
    reset_settings(browser)
    open_page(browser, "/local/noisy")
    href = wait(
        browser,
        lambda d: d.execute_script(
            "const a = document.querySelector('a[href*=\"/runs/\"]'); return a && a.getAttribute('href')"
        ),
    )
    open_page(browser, href)
    got = wait(browser, lambda d: (b := _band(d, "y")) and b["bands"] == 1 and b)
    assert got["n"] > 50 and got["inside"] == got["n"], got
    no_errors(browser)
