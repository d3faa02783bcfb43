"""The run page's smaller fixes in a real browser (Debian's chromium + chromedriver, selenium) against a
real ``turbotrack server`` over runs written by ``turbotrack.init``/``log``: Html, audio and video media
on the overview, the files list beside its preview, system charts with units, epoch-second fields as
dates, a failed run's exit code, reason and error, a live run's summary updated in place, the
workspace's sidebar widened to show its pinned columns, and a chart's "zoomed" label gone with the
zoom."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402
from serverkit import ServerProc  # noqa: E402
from test_ui import CHROMEDRIVER, CHROMIUM, chromium_driver, click, css, no_errors, shot, wait  # noqa: E402

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed (scripts/chromium.sh)"
    ),
    pytest.mark.timeout(240),
]

LONG_NAME = "a_result_file_whose_name_is_long_enough_to_be_wider_than_the_list_column_" + "x" * 60 + ".txt"

# Finished runs of one project: media (Html, audio, video) with a long-named file, one with system
# metrics, one that fails, and one with many config keys (to pin in the sidebar).
MAKE_RUNS = textwrap.dedent(
    """
    import json, math, pathlib, sys, time
    import numpy as np
    import turbotrack as tt
    ids = {}
    off = {"capture_system": False, "capture_git": False}
    run = tt.init(project="rp", name="media", settings=off,
                  config={f"a_rather_long_config_key_{i}": 1000 + i for i in range(6)})
    rng = np.random.default_rng(0)
    for s in range(2):
        run.log({
            "page": tt.Html(f"<p id='says'>html at step {s}</p>"),
            "voice": tt.Audio(np.sin(np.arange(8000) / (3 + s)) * 0.5, sample_rate=8000),
            "clip": tt.Video((rng.random((3, 3, 16, 16)) * 255).astype(np.uint8), fps=2),
        }, step=s)
    for s in range(2, 300):
        run.log({"loss": 1 / (1 + s)}, step=s)
    (pathlib.Path(run.dir) / "files").mkdir(exist_ok=True)
    (pathlib.Path(run.dir) / "files" / sys.argv[1]).write_text("long\\n")
    run.finish()
    ids["media"] = run.id
    run = tt.init(project="rp", name="sys", settings={"capture_system": True, "system_interval": 0.1, "capture_git": False})
    run.log({"loss": 1.0})
    time.sleep(1.5)
    run.finish()
    ids["sys"] = run.id
    print(json.dumps(ids))
    """
)

FAILING = textwrap.dedent(
    """
    import turbotrack as tt
    run = tt.init(project="rp", name="boom", settings={"capture_system": False, "capture_git": False})
    print(run.id, flush=True)
    run.log({"loss": 1.0})
    raise RuntimeError("exploded at step 1")
    """
)

# A run that keeps logging (its summary changes) until the test writes its stop file.
LIVE = textwrap.dedent(
    """
    import pathlib, sys, time
    import turbotrack as tt
    run = tt.init(project="live", name="growing", settings={"capture_system": False, "capture_git": False})
    print(run.id, flush=True)
    stop = pathlib.Path(sys.argv[1])
    s = 0
    while not stop.exists() and s < 3000:
        run.log({"loss": 1.0 / (s + 1), "count": s})
        s += 1
        time.sleep(0.05)
    run.finish()
    """
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("runpage")
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", MAKE_RUNS, LONG_NAME],
        env=env,
        cwd=root,
        check=True,
        timeout=180,
        capture_output=True,
        text=True,
    )
    ids = json.loads(out.stdout.strip().splitlines()[-1])
    failed = subprocess.run(
        [sys.executable, "-c", FAILING], env=env, cwd=root, timeout=120, capture_output=True, text=True
    )
    assert failed.returncode == 1, failed.stderr
    ids["boom"] = failed.stdout.split()[0]
    return root, ids


@pytest.fixture(scope="module")
def server(runs: tuple[Path, dict[str, str]]) -> Iterator[ServerProc]:
    s = ServerProc(runs[0])
    s.start()
    try:
        yield s
    finally:
        assert s.stop() == 0


@pytest.fixture(scope="module")
def browser(server: ServerProc) -> Iterator[Any]:
    driver = chromium_driver(server.login_url, extra=("--autoplay-policy=no-user-gesture-required",), csp=True)
    try:
        yield driver
    finally:
        driver.quit()


def open_page(driver: Any, server: ServerProc, path: str) -> None:
    driver.get(server.url + path)
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready"))


def kv(driver: Any, table: str) -> dict[str, str]:
    """A key-value table of the run page as {key: shown text}, read in one script."""
    return driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll(`#${arguments[0]} tr`)].map((tr) =>"
        " [tr.cells[0].innerText.trim(), tr.cells[1].innerText.trim()]))",
        table,
    )


DATE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")


def test_html_audio_and_video_media_are_shown(browser: Any, server: ServerProc, runs: Any) -> None:
    open_page(browser, server, f"/local/rp/runs/{runs[1]['media']}")
    # Html: in a sandboxed frame (scripts, no same origin) from the server's ?view=1.
    frame = wait(browser, lambda d: css(d, '#media .media[data-metric="page"] iframe.media-html'))[0]
    assert frame.get_attribute("sandbox") == "allow-scripts"
    assert "view=1" in frame.get_attribute("src")
    browser.switch_to.frame(frame)
    try:
        wait(browser, lambda d: "html at step 1" in d.find_element("id", "says").text)
    finally:
        browser.switch_to.default_content()
    # Audio: a player whose file the browser loaded and decoded (a duration of 1 s: 8000 samples at 8 kHz).
    wait(browser, lambda d: css(d, '#media .media[data-metric="voice"] audio.media-audio'))
    dur = wait(
        browser,
        lambda d: d.execute_script(
            "const a = document.querySelector('#media .media[data-metric=\"voice\"] audio');"
            " return a && a.readyState >= 1 && a.duration"
        ),
    )
    assert abs(dur - 1.0) < 0.05, dur
    # Video logged from frames: a GIF the browser decoded (16 x 16).
    size = wait(
        browser,
        lambda d: d.execute_script(
            "const v = document.querySelector('#media .media[data-metric=\"clip\"] .media-video');"
            " return v && v.complete && v.naturalWidth ? [v.naturalWidth, v.naturalHeight] : null"
        ),
    )
    assert size == [16, 16]
    # The step slider shows the other step's Html.
    slider = css(browser, '#media .media[data-metric="page"] .step-slider')[0]
    browser.execute_script("arguments[0].value = 0; arguments[0].dispatchEvent(new Event('input'))", slider)
    frame = wait(browser, lambda d: css(d, '#media .media[data-metric="page"] iframe.media-html'))[0]
    browser.switch_to.frame(frame)
    try:
        wait(browser, lambda d: "html at step 0" in d.find_element("id", "says").text)
    finally:
        browser.switch_to.default_content()
    assert browser.execute_script("return window.__csp") == []
    browser.execute_script("document.getElementById('media').scrollIntoView()")
    shot(browser, "runpage-media")
    no_errors(browser)


def test_file_preview_stays_beside_the_file_list(browser: Any, server: ServerProc, runs: Any) -> None:
    open_page(browser, server, f"/local/rp/runs/{runs[1]['media']}/files")
    link = wait(browser, lambda d: [a for a in css(d, "#files a.file-link") if LONG_NAME in a.text])[0]
    link.click()
    wait(browser, lambda d: "long" in d.find_element("id", "file-preview").text)
    box = browser.execute_script(
        "const r = (el) => el.getBoundingClientRect();"
        " const list = document.querySelector('#files').parentElement, cell = document.querySelector(`#files tr.selected td`);"
        " const pre = document.getElementById('file-preview');"
        " const hit = document.elementFromPoint(r(pre).left + 20, r(pre).top + 20);"
        " return {list: r(list).right, pre: r(pre).left, hitInPreview: pre.contains(hit), cell: r(cell).right}"
    )
    assert box["list"] <= box["pre"], box  # the list's box ends where the preview starts
    assert box["hitInPreview"], box  # nothing of the list is drawn over the preview
    shot(browser, "runpage-files")
    no_errors(browser)


def test_system_charts_name_their_units(browser: Any, server: ServerProc, runs: Any) -> None:
    open_page(browser, server, f"/local/rp/runs/{runs[1]['sys']}/system")
    wait(browser, lambda d: css(d, '.chart[data-metric="system.cpu"] .u-axis'))
    units = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('.chart[data-metric]')].map((c) =>"
        " [c.dataset.metric, c.querySelector('.panel-title').innerText]))"
    )
    assert units["system.cpu"].endswith("(%)"), units
    assert units["system.memory"].endswith("(%)"), units
    assert units["system.proc.memory.rssMB"].endswith("(MB)"), units
    # The y axis' numbers carry the unit too (uPlot draws them on its canvas: the texts it drew).
    ticks = wait(
        browser,
        lambda d: d.execute_script(
            "const c = document.querySelector('.chart[data-metric=\"system.cpu\"]').lineChart;"
            " return c.plot && c.plot.axes[1]._values && c.plot.axes[1]._values.filter(Boolean)"
        ),
    )
    assert ticks and all(t.endswith("%") for t in ticks), ticks
    rss = browser.execute_script(
        "return document.querySelector('.chart[data-metric=\"system.proc.memory.rssMB\"]').lineChart.plot.axes[1]._values"
    )
    assert rss and all(t.endswith(" MB") for t in rss if t), rss
    # The workspace's system section too.
    open_page(browser, server, "/local/rp")
    click(browser, '.section[data-group="system"] > summary')
    title = wait(
        browser,
        lambda d: d.execute_script(
            "const c = document.querySelector('.charts .chart[data-metric=\"system.disk\"]');"
            " return c && c.querySelector('.panel-title').innerText"
        ),
    )
    assert title.endswith("(%)"), title
    no_errors(browser)


def test_epoch_fields_show_as_dates(browser: Any, server: ServerProc, runs: Any) -> None:
    open_page(browser, server, f"/local/rp/runs/{runs[1]['media']}")
    summary = wait(browser, lambda d: kv(d, "run-summary") or None)
    assert DATE.match(summary["_timestamp"]), summary
    assert "e+" not in summary["_timestamp"]
    assert summary["_step"] == "299"


def test_failed_run_shows_exit_code_reason_and_error(browser: Any, server: ServerProc, runs: Any) -> None:
    open_page(browser, server, f"/local/rp/runs/{runs[1]['boom']}")
    facts = wait(browser, lambda d: kv(d, "run-facts") or None)
    assert facts["state"] == "failed"
    assert facts["exit code"] == "1", facts
    assert "exited with code 1" in facts["reason"], facts
    err = wait(browser, lambda d: css(d, "#run-error pre"))[0].text
    assert "Traceback (most recent call last)" in err and "RuntimeError: exploded at step 1" in err, err
    shot(browser, "runpage-failed")
    no_errors(browser)


def test_live_summary_updates_in_place(browser: Any, server: ServerProc, runs: Any, spawn: Any, tmp_path: Path) -> None:
    env = {**os.environ, "TURBOTRACK_DIR": str(runs[0])}
    stop = tmp_path / "stop"
    proc = spawn([sys.executable, "-c", LIVE, str(stop)], env=env, cwd=runs[0], stdout=subprocess.PIPE, text=True)
    rid = proc.stdout.readline().strip()
    assert rid, "the live run did not start"
    run_json = runs[0] / "turbotrack" / "local" / "live" / rid / "run.json"
    deadline = time.time() + 30
    while not (runs[0] / "turbotrack" / "local" / "live" / rid / "summary.json").exists() and time.time() < deadline:
        time.sleep(0.1)
    assert run_json.exists()
    open_page(browser, server, f"/local/live/runs/{rid}")
    first = wait(browser, lambda d: kv(d, "run-summary").get("count"))
    # The same row element, marked, gets the new values: updated in place, not rebuilt or reloaded.
    browser.execute_script(
        "document.querySelector('#run-summary tr[data-key=\"count\"]').dataset.marker = 'kept'; window.__marker = 1"
    )
    wait(browser, lambda d: int(kv(d, "run-summary").get("count") or 0) >= int(first) + 5, timeout=40)
    assert (
        browser.execute_script(
            "return window.__marker === 1 && document.querySelector('#run-summary tr[data-key=\"count\"]').dataset.marker"
        )
        == "kept"
    )
    stop.write_text("")
    assert proc.wait(timeout=60) == 0
    # Its end shows too: the state and the last count.
    wait(browser, lambda d: kv(d, "run-facts").get("state") == "finished", timeout=30)
    final = json.loads((runs[0] / "turbotrack" / "local" / "live" / rid / "summary.json").read_text())["count"]
    wait(browser, lambda d: kv(d, "run-summary").get("count") == str(final), timeout=30)
    no_errors(browser)


def test_sidebar_widens_to_show_its_pinned_columns(browser: Any, server: ServerProc, runs: Any) -> None:
    open_page(browser, server, "/local/rp")
    wait(browser, lambda d: css(d, "#runs-table tbody tr[data-run]"))
    keys = ["created", "runtime"] + [f"config.a_rather_long_config_key_{i}" for i in range(2)]
    click(browser, ".sidebar .menu summary")
    for k in keys:
        click(browser, f'.col-item[data-col="{k}"] .pin')
    click(browser, ".sidebar .menu summary")
    last = f'#runs-table thead th[data-col="{keys[-1]}"]'
    wait(browser, lambda d: css(d, last))

    def geometry(d: Any) -> dict[str, float]:
        return d.execute_script(
            "const s = document.querySelector('.sidebar').getBoundingClientRect();"
            " const th = document.querySelector(arguments[0]).getBoundingClientRect();"
            " const wrap = document.querySelector('.table-wrap');"
            " return {right: s.right, bottom: s.bottom, width: s.width, th: th.right,"
            " scroll: wrap.scrollWidth - wrap.clientWidth}",
            last,
        )

    before = geometry(browser)
    assert before["th"] > before["right"], before  # the pinned columns run past the sidebar
    # Drag the sidebar's bottom-right corner (its resize grip) to the right.
    side = css(browser, ".sidebar")[0]
    w, hgt = side.size["width"], side.size["height"]
    dx = int(before["th"] - before["right"]) + 60
    ActionChains(browser).move_to_element_with_offset(side, w / 2 - 3, hgt / 2 - 3).click_and_hold().move_by_offset(
        dx // 2, 0
    ).move_by_offset(dx - dx // 2, 0).release().perform()
    after = wait(browser, lambda d: (g := geometry(d))["width"] > before["width"] + dx / 2 and g)
    assert after["th"] <= after["right"] + 1, after  # every pinned column in view
    # The charts keep the rest of the page.
    charts = browser.execute_script("return document.querySelector('.charts').getBoundingClientRect().width")
    assert charts >= 300
    shot(browser, "runpage-sidebar")
    no_errors(browser)


def test_zoomed_label_goes_when_the_x_axis_changes(browser: Any, server: ServerProc, runs: Any) -> None:
    open_page(browser, server, "/local/rp")
    chart = '.chart[data-metric="loss"]'
    wait(browser, lambda d: css(d, f"{chart} .u-over"))
    wait(browser, lambda d: int(d.execute_script(f"return document.querySelector('{chart}').dataset.points || 0")) > 0)
    over = css(browser, f"{chart} .u-over")[0]
    ActionChains(browser).move_to_element_with_offset(
        over, -over.size["width"] // 4, 0
    ).click_and_hold().move_by_offset(over.size["width"] // 3, 0).release().perform()
    status = f"{chart} .chart-status"
    wait(browser, lambda d: "zoomed" in css(d, status)[0].text)
    Select(css(browser, "#x-axis")[0]).select_by_value("_runtime")
    wait(browser, lambda d: "zoomed" not in css(d, status)[0].text)
    # and it stays gone once the new x-axis' data is drawn
    wait(browser, lambda d: d.execute_script(f"return document.querySelector('{chart}').lineChart.xKey") == "_runtime")
    assert "zoomed" not in css(browser, status)[0].text
    Select(css(browser, "#x-axis")[0]).select_by_value("_step")
    # On the run page too: a zoom shows the label, a double-click takes it away.
    open_page(browser, server, f"/local/rp/runs/{runs[1]['media']}")
    over = wait(browser, lambda d: css(d, f"{chart} .u-over"))[0]
    ActionChains(browser).move_to_element_with_offset(
        over, -over.size["width"] // 4, 0
    ).click_and_hold().move_by_offset(over.size["width"] // 3, 0).release().perform()
    wait(browser, lambda d: "zoomed" in css(d, status)[0].text)
    ActionChains(browser).double_click(css(browser, f"{chart} .u-over")[0]).perform()
    wait(browser, lambda d: "zoomed" not in css(d, status)[0].text)
    no_errors(browser)
