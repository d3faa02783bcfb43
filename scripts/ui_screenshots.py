"""The screenshots in docs/ (docs/ui.md shows them), taken again from the real UI: a `turbotrack server`
over benches/ui.py's cached workspace of 300 runs x 4 metrics x 1,000 steps, and a small sweep of 24
runs with loss curves (written here by turbotrack.init/log: learning rates x optimisers x seeds), in
headless Chromium (selenium) at 1400x900.

    python scripts/ui_screenshots.py            # writes docs/ui-*.png

Each view is set up as a user would leave it (the workspace's remembered settings, then clicks) and
shot once every chart in view is drawn."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benches"))

import ui  # noqa: E402  (benches/ui.py: the data, the server and the browser)

PROJECT = "ws300x4x1000"
SWEEP = "demo-sweep"
WRITE_SWEEP = """
import math, random, sys, turbotrack as tt
off = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
i = 0
for opt in ("adam", "sgd"):
    for lr in (0.001, 0.003, 0.01, 0.03):
        for seed in range(3):
            rnd = random.Random(i)
            speed = {"adam": 1.0, "sgd": 0.55}[opt] * (1 - abs(math.log10(lr / 0.003)) / 2.2)
            run = tt.init(project=sys.argv[1], name=f"{opt}-lr{lr}-s{seed}", group=opt, job_type="train",
                          config={"lr": lr, "optimizer": opt, "seed": seed, "batch_size": 64 * (1 + seed % 2)},
                          settings=off)
            run.define_metric("val/acc", summary="max")
            run.define_metric("val/loss", summary="min")
            loss = 2.3
            for step in range(2000):
                loss = 0.08 + (2.3 - 0.08) * math.exp(-speed * step / 400) * (1 + 0.08 * rnd.gauss(0, 1))
                row = {"train/loss": loss, "train/lr": lr * (0.5 * (1 + math.cos(math.pi * step / 2000)))}
                if step % 20 == 0:
                    val = loss * 1.1 + 0.03 * rnd.random()
                    row.update({"val/loss": val, "val/acc": 1 - val / 2.6})
                run.log(row, step=step)
            run.finish()
            i += 1
"""
DOCS = REPO / "docs"
DRAWN = """
const charts = [...document.querySelectorAll('.section[open] .panel.chart')].filter((el) => {
  const r = el.getBoundingClientRect();
  return r.bottom > 0 && r.top < innerHeight;
});
return charts.length > 0 && charts.every((el) => Number(el.dataset.runs) >= arguments[0]);
"""


OVERLAID = "return [...document.querySelectorAll('.panel.chart')].some((el) => el.lineChart?.shown?.length >= 48)"
GROUPED = (
    "return [...document.querySelectorAll('.section[open] .panel.chart')].some((el) => el.lineChart?.shown?.length)"
)
FIRST_IDS = "return [...document.querySelectorAll('#runs-table tr[data-run]')].slice(0, 3).map((r) => r.dataset.run)"


def write_sweep(root: Path) -> None:
    marker = root / f".done-{SWEEP}"
    if marker.exists():
        return
    env = {**os.environ, "TURBOTRACK_DIR": str(root)}
    subprocess.run([sys.executable, "-c", WRITE_SWEEP, SWEEP], env=env, cwd=root, check=True)
    marker.write_text("")


def open_workspace(driver: Any, settings: dict[str, Any], project: str = PROJECT) -> None:
    driver.get(f"{driver.base}/static/app.css")  # the same origin, so the settings can be stored first
    driver.execute_script(
        "localStorage.clear(); localStorage.setItem(arguments[0], arguments[1])",
        f"turbotrack:workspace:local/{project}",
        json.dumps({"collapsed": {"system": True, "__bar": True}, **settings}),
    )
    driver.get(f"{driver.base}/local/{project}")


def drawn(driver: Any, runs: int) -> None:
    ui.until(driver, DRAWN.replace("arguments[0]", str(runs)), timeout=300)
    time.sleep(0.5)  # the frame after the last draw painted


def shot(driver: Any, name: str) -> None:
    path = DOCS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"wrote {path.relative_to(REPO)}")


def click(driver: Any, css: str) -> None:
    driver.execute_script("document.querySelector(arguments[0]).click()", css)


def main() -> None:
    cache = Path.home() / ".cache" / "turbotrack" / "ui-bench"
    ui.generate(cache, PROJECT, 300, 1000, 4)
    write_sweep(cache)
    proc, login = ui.start_server(cache)
    driver = ui.browser(login)
    try:
        # 300 runs, every one drawn
        open_workspace(driver, {"maxRuns": 500})
        drawn(driver, 300)
        shot(driver, "ui-workspace-300")
        # the sweep: a panel of two metrics overlaid, with its legend
        open_workspace(driver, {"maxRuns": 50}, SWEEP)
        drawn(driver, 24)
        click(driver, '.section[data-group="val"] .add-panel')
        for key in ("val/loss", "val/acc"):
            click(driver, f'.section[data-group="val"] .pa-metric[data-key="{key}"] input')
        click(driver, '.section[data-group="val"] .pa-add')
        driver.execute_script(
            "[...document.querySelectorAll('.section[data-group=\"val\"] .panel.chart')].pop().scrollIntoView()"
        )
        ui.until(driver, OVERLAID)
        time.sleep(1)
        shot(driver, "ui-panels")
        # grouped by optimiser: the table's group rows, each group's mean in its min-max band
        grouped = {"maxRuns": 50, "groupBy": "config.optimizer", "openGroups": {"config.optimizer": ["adam"]}}
        open_workspace(driver, grouped, SWEEP)
        ui.until(driver, "return document.querySelector('#runs-table tr.group-row')")
        ui.until(driver, GROUPED)
        time.sleep(2)
        shot(driver, "ui-grouped")
        # the Parameters section: parallel coordinates, a scatter, importance
        open_workspace(driver, {"maxRuns": 50, "collapsed": {"system": True, "__params": False, "__bar": True}}, SWEEP)
        ui.until(driver, "return document.querySelector('.section[data-group=\"__params\"] canvas')")
        driver.execute_script("document.querySelector('.section[data-group=\"__params\"]').scrollIntoView()")
        time.sleep(2)
        shot(driver, "ui-params")
        # three runs compared side by side
        ids = driver.execute_script(FIRST_IDS)
        compare = {"maxRuns": 50, "compare": ids, "collapsed": {"system": True, "__compare": False, "__bar": True}}
        open_workspace(driver, compare, SWEEP)
        ui.until(driver, "return document.querySelector('.section[data-group=\"__compare\"] table')")
        driver.execute_script("document.querySelector('.section[data-group=\"__compare\"]').scrollIntoView()")
        time.sleep(1)
        shot(driver, "ui-workspace-compare")
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
