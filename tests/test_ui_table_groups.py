"""Grouped runs in the workspace's runs table, and hidden metrics, in a real browser (Debian's
chromium + chromedriver, selenium) against a real ``turbotrack server`` over runs written by
``turbotrack.init``/``log``: group header rows with their run count, means and colour, a group
opened and its runs listed, a group hidden from the charts by its eye, groups sorted by a column's
aggregate, the open groups kept over a reload; and a ``define_metric(hidden=True)`` metric with no
chart in the workspace or on the run page while its data is still served."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from serverkit import ServerProc  # noqa: E402
from test_ui import (  # noqa: E402
    CHROMEDRIVER,
    CHROMIUM,
    chart_attr,
    click,
    css,
    driving,
    no_errors,
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

# Nine runs of three optimisers, created sgd, adam, rmsprop, sgd, ... (the newest, run 8, is
# rmsprop's): by creation the groups come rmsprop, adam, sgd; by accuracy adam, rmsprop, sgd.
# Each hides the metric "secret" from the charts.
ACC = {"sgd": 0.5, "adam": 0.9, "rmsprop": 0.7}
MAKE_RUNS = textwrap.dedent(
    """
    import json, sys
    import turbotrack as tt
    acc = json.loads(sys.argv[1])
    ids = {}
    for i in range(9):
        opt = ["sgd", "adam", "rmsprop"][i % 3]
        run = tt.init(project="grouped", name=f"g-{i}", config={"opt": opt, "seed": i},
                      settings={"capture_system": False, "capture_git": False, "capture_stdout": False})
        run.define_metric("acc", summary="max")
        run.define_metric("secret", hidden=True)
        for s in range(4):
            run.log({"loss": (i + 1) / (s + 1), "acc": acc[opt] - 0.01 * (i // 3) - 0.1 * (3 - s), "secret": 100 + s})
        run.finish()
        ids[f"g-{i}"] = run.id
    print(json.dumps(ids))
    """
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("tablegroups")
    return root, write_runs(root, MAKE_RUNS, json.dumps(ACC))


@pytest.fixture(scope="module")
def server(runs: tuple[Path, dict[str, str]]) -> Iterator[ServerProc]:
    with served(runs[0]) as s:
        yield s


@pytest.fixture(scope="module")
def browser(server: ServerProc) -> Iterator[Any]:
    with driving(server, window="1400,1000") as driver:
        yield driver


def open_workspace(driver: Any) -> None:
    driver.get(driver.base + "/local/grouped")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready"))


def group_by(driver: Any, col: str) -> None:
    driver.execute_script(
        "const g = document.querySelector('#group-by'); g.value = arguments[0]; g.dispatchEvent(new Event('change'))",
        col,
    )


def table(driver: Any) -> list[dict[str, Any]]:
    """The table's rows in order, read in one script: a group header as its name, count, colour,
    eye and the mean and title of its acc.max cell; a run's row as its id and hidden state."""
    return driver.execute_script(
        """
        return [...document.querySelectorAll('#runs-table tbody tr[data-key]')].map((tr) => {
          if (tr.dataset.group === undefined) return {run: tr.dataset.run, hidden: tr.classList.contains('hidden-run')};
          const acc = tr.querySelector('td[data-col="summary.acc.max"]');
          const eye = tr.querySelector('input.group-eye');
          return {group: tr.dataset.group, count: Number(tr.dataset.count), open: tr.getAttribute('aria-expanded') === 'true',
                  color: tr.querySelector('.swatch').dataset.color, label: tr.querySelector('td.name').innerText,
                  mean: acc ? Number(acc.dataset.mean) : null, text: acc ? acc.innerText : '', title: acc ? acc.title : '',
                  eye: eye.checked, hidden: tr.classList.contains('hidden-run')};
        });
        """
    )


def groups(driver: Any) -> list[str]:
    return [r["group"] for r in table(driver) if "group" in r]


def series(driver: Any, metric: str) -> dict[str, str]:
    """The chart's series shown: label → colour."""
    return driver.execute_script(
        "const c = document.querySelector(`.chart[data-metric='${arguments[0]}']`)?.lineChart;"
        "return c ? Object.fromEntries(c.shown.map((s) => [s.label, s.color])) : {}",
        metric,
    )


def test_grouped_table_headers_open_hide_sort_and_stay_open_after_a_reload(browser: Any, runs: Any) -> None:
    _, ids = runs
    reset_settings(browser)
    open_workspace(browser)
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 9)
    assert not css(browser, "#runs-table tr.group-row")
    group_by(browser, "config.opt")
    # One header per group, collapsed: no run rows; newest group first (the default sort, created).
    wait(browser, lambda d: groups(d) == ["rmsprop", "adam", "sgd"])
    rows = table(browser)
    assert all("group" in r for r in rows) and [r["count"] for r in rows] == [3, 3, 3]
    assert not any(r["open"] for r in rows) and all(r["eye"] for r in rows)
    adam = next(r for r in rows if r["group"] == "adam")
    # acc.max of adam's runs: 0.9, 0.89, 0.88 (their last steps) → mean 0.89, min 0.88, max 0.9.
    assert abs(adam["mean"] - 0.89) < 1e-9 and adam["text"] == "0.89"
    assert "min 0.88" in adam["title"] and "max 0.9" in adam["title"], adam["title"]
    assert adam["label"].startswith("▸") and adam["label"][1:].split() == ["adam", "3"]  # closed, name, count
    # Each header's swatch is its group's colour in the charts (one line a group).
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 3)
    colours = series(browser, "loss")
    assert {r["group"]: r["color"] for r in rows} == {k.split(" (")[0]: v for k, v in colours.items()}
    assert len(set(colours.values())) == 3

    # A click opens adam: its three runs beneath its header, in the table's order (newest first).
    click(browser, '#runs-table tr.group-row[data-group="adam"] td.name')
    wait(browser, lambda d: [r.get("run") for r in table(d)][2:5] == [ids["g-7"], ids["g-4"], ids["g-1"]])
    assert [r.get("group") for r in table(browser)] == ["rmsprop", "adam", None, None, None, "sgd"]

    # Its eye takes the whole group out of the charts (and its runs' rows), then puts it back.
    click(browser, '#runs-table tr.group-row[data-group="adam"] input.group-eye')
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 2)
    assert not any(k.startswith("adam") for k in series(browser, "loss"))
    rows = table(browser)
    assert [r["hidden"] for r in rows if "run" in r] == [True, True, True]
    assert next(r for r in rows if r.get("group") == "adam")["eye"] is False
    click(browser, '#runs-table tr.group-row[data-group="adam"] input.group-eye')
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 3)
    assert not any(r["hidden"] for r in table(browser))

    # Sorted by acc.max (highest first): groups by their mean, and the runs within adam by theirs.
    click(browser, '#runs-table th[data-col="summary.acc.max"]')
    wait(browser, lambda d: groups(d) == ["adam", "rmsprop", "sgd"])
    assert [r.get("run") for r in table(browser)][1:4] == [ids["g-1"], ids["g-4"], ids["g-7"]]
    click(browser, '#runs-table th[data-col="summary.acc.max"]')  # lowest first
    wait(browser, lambda d: groups(d) == ["sgd", "rmsprop", "adam"])
    assert [r.get("run") for r in table(browser)][3:6] == [ids["g-7"], ids["g-4"], ids["g-1"]]
    shot(browser, "workspace-table-groups")

    # A reload keeps the grouping, the sort and adam open (the workspace's settings).
    open_workspace(browser)
    wait(browser, lambda d: groups(d) == ["sgd", "rmsprop", "adam"])
    rows = table(browser)
    assert [r.get("open") for r in rows if "group" in r] == [False, False, True]
    assert [r.get("run") for r in rows][3:] == [ids["g-7"], ids["g-4"], ids["g-1"]]
    # Closed again by a click.
    click(browser, '#runs-table tr.group-row[data-group="adam"] td.name')
    wait(browser, lambda d: len(table(d)) == 3)
    no_errors(browser)


def test_a_hidden_metric_has_no_chart_but_its_data_is_served(browser: Any, runs: Any) -> None:
    _, ids = runs
    reset_settings(browser)
    open_workspace(browser)
    wait(browser, lambda d: chart_attr(d, "loss", "runs") == 9)
    # Once the run details say it is hidden, "secret" has no chart; the others stay.
    wait(
        browser,
        lambda d: d.execute_script("return document.querySelector('.workspace').dataset.hiddenMetrics") == "secret",
    )
    assert not css(browser, '.chart[data-metric="secret"]')
    assert css(browser, '.chart[data-metric="loss"]') and css(browser, '.chart[data-metric="acc"]')
    # Still a column of the table's summary (the summary keeps it, as wandb's does).
    assert "summary.secret" in browser.execute_script(
        "return [...document.querySelectorAll('#columns-menu .col-item')].map((e) => e.dataset.col)"
    )

    # The run page: no chart for it either, while the summary shows it and the history serves it.
    rid = ids["g-0"]
    browser.get(f"{browser.base}/local/grouped/runs/{rid}")
    wait(browser, lambda d: chart_attr(d, "loss", "points") == 4)
    assert not css(browser, '.chart[data-metric="secret"]')
    assert "secret" in css(browser, "#run-summary")[0].text
    got = browser.execute_script(
        "const r = await fetch(arguments[0], {credentials: 'include'}); return [r.status, await r.json()]",
        f"/api/v1/runs/local/grouped/{rid}/history?keys=secret&each=1",
    )
    assert got[0] == 200 and got[1]["keys"]["secret"]["columns"]["secret"] == [100, 101, 102, 103]
    detail = browser.execute_script(
        "const r = await fetch(arguments[0], {credentials: 'include'}); return await r.json()",
        f"/api/v1/runs/local/grouped/{rid}",
    )
    assert ["secret", None, None, None, True] in detail["metrics"]
    no_errors(browser)
