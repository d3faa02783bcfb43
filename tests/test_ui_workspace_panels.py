"""The workspace's chart panels in a real browser (Debian's chromium + chromedriver, selenium) against a
real ``turbotrack server`` over runs written by ``turbotrack.init``/``log``: a panel of two metrics
added (both drawn, the legend naming run and metric), removed, moved (buttons, a drag of its title
bar, the keyboard) and resized, all kept over a reload; full screen and Escape; a panel's own log
scale, smoothing, x-axis and runs changing that panel alone; a line hidden from the legend; a
panel's data downloaded as CSV; a metric appearing while the page is open gets its default panel, the
other panels keeping their state."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from serverkit import ServerProc  # noqa: E402
from test_ui import (  # noqa: E402
    CHROMEDRIVER,
    CHROMIUM,
    chart_attr,
    click,
    css,
    driving,
    no_errors,
    open_page,
    reset_settings,
    served,
    shot,
    wait,
    write_runs,
)

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed (scripts/chromium.sh)"
    ),
    pytest.mark.timeout(240),
]

NAMES = ["alpha-0", "alpha-1", "beta-2"]
# Three runs, ten steps each: `loss` (no prefix), `train/loss` = (i + 1) / (step + 1), `train/acc`.
MAKE_RUNS = textwrap.dedent(
    """
    import json, sys
    import turbotrack as tt
    ids = {}
    for i, name in enumerate(json.loads(sys.argv[1])):
        run = tt.init(project="ws", name=name, settings={"capture_system": False, "capture_git": False})
        for s in range(10):
            run.log({"loss": 1 / (s + 1 + i), "train/loss": (i + 1) / (s + 1), "train/acc": s * 0.1 * (i + 1)})
        run.finish()
        ids[name] = run.id
    print(json.dumps(ids))
    """
)

# A run that logs `loss` until the test drops a flag file, then `train/new` too (a metric appearing
# while the page is open), then finishes.
GROWING_RUN = textwrap.dedent(
    """
    import pathlib, sys, time
    import turbotrack as tt
    flag = pathlib.Path(sys.argv[1])
    run = tt.init(project="grow", name="growing", settings={"capture_system": False, "capture_git": False})
    s = 0
    deadline = time.time() + 90
    while not flag.exists() and time.time() < deadline:
        run.log({"loss": 1 / (s + 1)})
        s += 1
        time.sleep(0.1)
    for _ in range(20):
        run.log({"loss": 1 / (s + 1), "train/new": s})
        s += 1
        time.sleep(0.1)
    run.finish()
    """
)

WS = "/local/ws"
TRAIN = '.chart-grid[data-section="train"]'


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wspanels")


@pytest.fixture(scope="module")
def server(root: Path) -> Iterator[ServerProc]:
    write_runs(root, MAKE_RUNS, json.dumps(NAMES))
    with served(root) as s:
        yield s


@pytest.fixture(scope="module")
def browser(server: ServerProc) -> Iterator[Any]:
    with driving(server, window="1400,1000") as driver:
        yield driver


def panel(pid: str) -> str:
    return f'.panel[data-panel="{pid}"]'


def fresh(driver: Any) -> None:
    """The workspace with nothing remembered, every default panel drawn with its three runs."""
    reset_settings(driver)
    open_page(driver, WS)
    wait(driver, lambda d: all(chart_attr(d, k, "runs") == 3 for k in ("loss", "train/loss", "train/acc")))


def order(driver: Any, grid: str = TRAIN) -> list[str]:
    return driver.execute_script(
        "return [...document.querySelectorAll(arguments[0] + ' > .panel')].map((e) => e.dataset.panel)", grid
    )


def info(driver: Any, pid: str) -> dict[str, Any]:
    """What a panel draws now, read in one script: its uPlot series, legend, view and size."""
    return driver.execute_script(
        """
        const el = document.querySelector(`.panel[data-panel="${arguments[0]}"]`);
        if (!el) return null;
        const c = el.lineChart, p = c.plot;
        return {
          series: p ? p.series.length - 1 : 0, shown: p ? p.series.slice(1).map((s) => s.show) : [],
          ids: c.shown.map((s) => s.id), legend: [...el.querySelectorAll('.legend-item')].map((b) => b.textContent),
          off: [...el.querySelectorAll('.legend-item.off')].map((b) => b.textContent),
          runs: Number(el.dataset.runs || 0), log: el.dataset.log, smoothing: el.dataset.smoothing, xKey: c.xKey,
          width: el.getBoundingClientRect().width, plotWidth: p ? p.width : 0, plotHeight: p ? p.height : 0,
          size: el.dataset.size, overlay: !!el.closest('.panel-overlay'),
        };
        """,
        pid,
    )


def in_sight(driver: Any, pid: str) -> None:
    driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", panel(pid))


def open_menu(driver: Any, pid: str) -> None:
    in_sight(driver, pid)
    if not driver.execute_script("return document.querySelector(arguments[0]).open", f"{panel(pid)} .panel-menu"):
        click(driver, f"{panel(pid)} .panel-menu > summary")
    wait(driver, lambda d: css(d, f"{panel(pid)} .panel-menu .pm-log"))


def choose(driver: Any, pid: str, cls: str, value: str) -> None:
    """Set a control of a panel's gear menu as a user does (its value, then its change event)."""
    open_menu(driver, pid)
    driver.execute_script(
        "const i = document.querySelector(arguments[0]); i.value = arguments[1];"
        " i.dispatchEvent(new Event('change', {bubbles: true}))",
        f"{panel(pid)} .panel-menu .{cls}",
        value,
    )


def add_panel(driver: Any, section: str, keys: list[str]) -> str:
    before = set(driver.execute_script("return [...document.querySelectorAll('.panel')].map((e) => e.dataset.panel)"))
    click(driver, f'.section[data-group="{section}"] .add-panel')
    for k in keys:
        click(driver, f'.section[data-group="{section}"] .pa-metric[data-key="{k}"] input')
    click(driver, f'.section[data-group="{section}"] .pa-add')
    new = wait(
        driver,
        lambda d: (
            set(d.execute_script("return [...document.querySelectorAll('.panel')].map((e) => e.dataset.panel)"))
            - before
        ),
    )
    (pid,) = new
    in_sight(driver, pid)
    return pid


def test_a_panel_of_two_metrics_draws_both_names_them_hides_one_and_downloads_its_csv(browser: Any) -> None:
    fresh(browser)
    pid = add_panel(browser, "train", ["train/loss", "train/acc"])
    assert order(browser)[-1] == pid
    wait(browser, lambda d: info(d, pid)["runs"] == 6)
    got = info(browser, pid)
    assert got["series"] == 6, got  # 2 metrics x 3 runs, each one uPlot series
    assert sorted(got["legend"]) == sorted(f"{n} · {k}" for n in NAMES for k in ("train/loss", "train/acc"))
    # The legend hides and shows a line of this panel alone.
    hide = "alpha-0 · train/acc"
    browser.execute_script(
        "[...document.querySelectorAll(arguments[0])].find((b) => b.textContent === arguments[1]).click()",
        f"{panel(pid)} .legend-item",
        hide,
    )
    wait(browser, lambda d: info(d, pid)["off"] == [hide])
    got = info(browser, pid)
    assert got["shown"].count(False) == 1 and got["shown"][got["legend"].index(hide)] is False
    assert all(info(browser, "key:train/acc")["shown"])
    # Its CSV: one row per step, a column per line drawn (the hidden one left out), the values as logged.
    browser.execute_script(
        "window.__csv = []; const make = URL.createObjectURL.bind(URL);"
        " URL.createObjectURL = (b) => { window.__csv.push(b); return make(b); };"
        " window.__names = []; document.addEventListener('click', (e) => {"
        "  if (e.target instanceof HTMLAnchorElement && e.target.download) window.__names.push(e.target.download); }, true);"
    )
    open_menu(browser, pid)
    click(browser, f"{panel(pid)} .pm-csv")
    wait(browser, lambda d: d.execute_script("return window.__csv.length") == 1)
    text = browser.execute_async_script("const done = arguments[0]; window.__csv[0].text().then(done)")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert header[0] == "_step"
    assert sorted(header[1:]) == sorted(
        f"{n} · {k}" for n in NAMES for k in ("train/loss", "train/acc") if f"{n} · {k}" != hide
    )
    assert len(rows) == 1 + 10
    at2 = dict(zip(header, next(r for r in rows[1:] if r[0] == "2")))
    assert float(at2["alpha-1 · train/loss"]) == pytest.approx(2 / 3)
    assert float(at2["beta-2 · train/acc"]) == pytest.approx(0.6)
    assert browser.execute_script("return window.__names") == ["ws-train_acc+train_loss.csv"]
    shot(browser, "workspace-panel-two-metrics")
    # The line hidden is the panel's spec: still hidden after a reload.
    stored = browser.execute_script(
        "return JSON.parse(localStorage.getItem('turbotrack:workspace:local/ws')).panels.train.panels.at(-1)"
    )
    assert stored["id"] == pid and len(stored["hidden"]) == 1 and stored["hidden"][0].endswith("\x00train/acc")
    open_page(browser, WS)
    in_sight(browser, pid)
    wait(browser, lambda d: info(d, pid)["runs"] == 6 and info(d, pid)["off"] == [hide])
    assert info(browser, pid)["shown"].count(False) == 1
    no_errors(browser)


def test_remove_move_and_resize_are_kept_over_a_reload(browser: Any) -> None:
    fresh(browser)
    assert order(browser) == ["key:train/acc", "key:train/loss"]
    pid = add_panel(browser, "train", ["train/loss", "loss"])
    wait(browser, lambda d: info(d, pid)["runs"] == 6)
    assert order(browser) == ["key:train/acc", "key:train/loss", pid]
    # Move: a button, then a drag of the title bar onto another panel's place, then the keyboard.
    click(browser, f"{panel('key:train/acc')} .panel-right")
    wait(browser, lambda d: order(d) == ["key:train/loss", "key:train/acc", pid])
    browser.execute_script(
        """
        const [from, to] = [arguments[0], arguments[1]].map((s) => document.querySelector(s));
        const dt = new DataTransfer();
        const fire = (el, type) => el.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: dt}));
        fire(from.querySelector('.panel-bar'), 'dragstart');
        fire(to, 'dragover');
        fire(to, 'drop');
        fire(from.querySelector('.panel-bar'), 'dragend');
        """,
        panel(pid),
        panel("key:train/loss"),
    )
    wait(browser, lambda d: order(d) == [pid, "key:train/loss", "key:train/acc"])
    title = css(browser, f"{panel(pid)} .panel-bar")[0]
    browser.execute_script("arguments[0].focus()", title)
    ActionChains(browser).key_down(Keys.ALT).send_keys(Keys.ARROW_RIGHT).key_up(Keys.ALT).perform()
    wait(browser, lambda d: order(d) == ["key:train/loss", pid, "key:train/acc"])
    # Remove a default panel.
    in_sight(browser, "key:train/acc")
    click(browser, f"{panel('key:train/acc')} .panel-remove")
    wait(browser, lambda d: order(d) == ["key:train/loss", pid])
    assert css(browser, '.section[data-group="train"] > summary .count')[0].text == "(2)"
    # Resize through the gear menu: two columns wide, tall.
    before = info(browser, "key:train/loss")
    choose(browser, "key:train/loss", "pm-height", "l")  # taller, as wide: the plot is sized again
    wait(browser, lambda d: info(d, "key:train/loss")["plotHeight"] == 320)
    assert info(browser, "key:train/loss")["width"] == before["width"]
    choose(browser, "key:train/loss", "pm-width", "2")
    wait(browser, lambda d: info(d, "key:train/loss")["width"] > 1.8 * before["width"])
    wait(browser, lambda d: info(d, "key:train/loss")["plotWidth"] > 1.8 * before["plotWidth"])
    # All of it after a reload (the workspace settings, localStorage).
    open_page(browser, WS)
    wait(browser, lambda d: order(d) == ["key:train/loss", pid])
    wait(browser, lambda d: info(d, "key:train/loss")["size"] == "2l" and info(d, "key:train/loss")["runs"] == 3)
    stored = browser.execute_script("return JSON.parse(localStorage.getItem('turbotrack:workspace:local/ws')).panels")
    assert [p["id"] for p in stored["train"]["panels"]] == ["key:train/loss", pid]
    assert stored["train"]["removed"] == ["train/acc"]
    assert stored["train"]["panels"][1]["keys"] == ["loss", "train/loss"]
    assert "panels" not in browser.current_url and len(browser.current_url) < 200  # the URL stays small
    no_errors(browser)


def test_resize_handle_and_full_screen_with_escape(browser: Any) -> None:
    fresh(browser)
    pid = "key:loss"
    in_sight(browser, pid)
    wait(browser, lambda d: info(d, pid)["plotWidth"] > 0)
    before = info(browser, pid)
    # The corner handle: dragged one column to the right and down, the panel spans two columns, tall.
    handle = css(browser, f"{panel(pid)} .panel-resize")[0]
    ActionChains(browser).click_and_hold(handle).move_by_offset(int(before["width"]), 130).release().perform()
    wait(browser, lambda d: info(d, pid)["size"] == "2l")
    wait(browser, lambda d: info(d, pid)["width"] > 1.8 * before["width"])
    choose(browser, pid, "pm-width", "1")
    choose(browser, pid, "pm-height", "m")
    wait(browser, lambda d: info(d, pid)["size"] == "1m" and abs(info(d, pid)["plotWidth"] - before["plotWidth"]) < 6)
    click(browser, f"{panel(pid)} .panel-full")
    inner = browser.execute_script("return [innerWidth, innerHeight]")
    wait(browser, lambda d: info(d, pid)["overlay"] and info(d, pid)["plotWidth"] > inner[0] * 0.8)
    wait(browser, lambda d: info(d, pid)["plotHeight"] > inner[1] * 0.6)
    shot(browser, "workspace-panel-fullscreen")
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait(browser, lambda d: not info(d, pid)["overlay"] and info(d, pid)["plotHeight"] == 200)
    wait(browser, lambda d: abs(info(d, pid)["plotWidth"] - before["plotWidth"]) < 6)
    assert order(browser, '.chart-grid[data-section=""]') == [pid]
    assert not css(browser, ".panel-overlay")
    # The button closes it too.
    click(browser, f"{panel(pid)} .panel-full")
    wait(browser, lambda d: info(d, pid)["overlay"])
    click(browser, f"{panel(pid)} .panel-full")
    wait(browser, lambda d: not info(d, pid)["overlay"] and info(d, pid)["plotHeight"] == 200)
    no_errors(browser)


def test_a_panels_own_settings_change_that_panel_alone(browser: Any) -> None:
    fresh(browser)
    mine, other = "key:train/loss", "key:train/acc"
    choose(browser, mine, "pm-log", "on")
    wait(browser, lambda d: info(d, mine)["log"] == "true")
    assert info(browser, other)["log"] == "false" and info(browser, "key:loss")["log"] == "false"
    choose(browser, mine, "pm-smoothing", "0.5")
    wait(browser, lambda d: info(d, mine)["smoothing"] == "0.5")
    assert info(browser, other)["smoothing"] == "0"
    choose(browser, mine, "pm-x", "_runtime")
    wait(browser, lambda d: info(d, mine)["xKey"] == "_runtime" and info(d, mine)["runs"] == 3)
    assert info(browser, other)["xKey"] == "_step"
    xs = browser.execute_script(f"return document.querySelector('{panel(mine)}').lineChart.plot.data[0]")
    assert max(xs) < 60 and any(x != int(x) for x in xs)  # seconds since each run began, not steps 0..9
    choose(browser, mine, "pm-runs", "beta")
    wait(browser, lambda d: info(d, mine)["runs"] == 1 and info(d, mine)["legend"] == ["beta-2"])
    assert info(browser, other)["runs"] == 3
    # The toolbar's log scale: the others follow it, the panel keeps its own.
    browser.execute_script("const b = document.querySelector('#log-scale'); b.click()")
    wait(browser, lambda d: info(d, other)["log"] == "true")
    choose(browser, mine, "pm-log", "off")
    wait(browser, lambda d: info(d, mine)["log"] == "false" and info(d, other)["log"] == "true")
    # Kept over a reload; unset again, it follows the toolbar.
    open_page(browser, WS)
    in_sight(browser, mine)
    wait(browser, lambda d: info(d, mine)["xKey"] == "_runtime" and info(d, mine)["runs"] == 1)
    assert info(browser, mine)["log"] == "false" and info(browser, mine)["smoothing"] == "0.5"
    for cls in ("pm-log", "pm-x", "pm-smoothing", "pm-runs"):
        choose(browser, mine, cls, "")
    wait(browser, lambda d: info(d, mine)["log"] == "true" and info(d, mine)["xKey"] == "_step")
    wait(browser, lambda d: info(d, mine)["runs"] == 3 and info(d, mine)["smoothing"] == "0")
    assert browser.execute_script(f"return document.querySelector('{panel(mine)}').dataset.own") == ""
    no_errors(browser)


def test_a_metric_appearing_gets_a_default_panel_and_the_others_keep_their_state(
    browser: Any, root: Path, server: ServerProc, spawn: Any
) -> None:
    flag = root / "grow.flag"
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    proc = spawn([sys.executable, "-c", GROWING_RUN, str(flag)], env=env, cwd=root, stdout=subprocess.DEVNULL)
    run_json = lambda: next((root / "turbotrack" / "local" / "grow").glob("*/run.json"), None)  # noqa: E731
    wait(browser, lambda d: run_json() is not None, timeout=30)
    reset_settings(browser)
    open_page(browser, "/local/grow")
    wait(browser, lambda d: info(d, "key:loss") and info(d, "key:loss")["runs"] == 1, timeout=30)
    click(browser, f"{panel('key:loss')} .legend-item")
    wait(browser, lambda d: info(d, "key:loss")["off"] == ["growing"])
    choose(browser, "key:loss", "pm-width", "2")
    wait(browser, lambda d: info(d, "key:loss")["size"] == "2m")
    browser.execute_script("document.querySelector(arguments[0]).__marker = 'kept'", panel("key:loss"))
    flag.write_text("go")
    # The new metric arrives with the live runs list: a section of its own with its default panel.
    wait(browser, lambda d: order(d) == ["key:train/new"], timeout=30)
    wait(browser, lambda d: info(d, "key:train/new")["runs"] == 1, timeout=30)
    got = info(browser, "key:loss")
    assert got["off"] == ["growing"] and got["size"] == "2m" and got["shown"] == [False], got
    assert browser.execute_script("return document.querySelector(arguments[0]).__marker", panel("key:loss")) == "kept"
    assert proc.wait(timeout=60) == 0
    no_errors(browser)
