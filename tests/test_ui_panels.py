"""The analysis panels in a real browser (Debian's chromium + chromedriver, selenium) against a real
``turbotrack server`` over runs written by ``turbotrack.init``/``log``: parallel coordinates and a
scatter plot (hover names the run), parameter importance, two runs compared, their media across a
step slider (image, table, histogram, Html in a sandboxed frame, audio, video), the `?` overlay,
saved views, and editing and deleting runs through the browser session (its CSRF token), all on
the analysis page under the UI's CSP with no violation and no script error."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Iterator

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from serverkit import ServerProc, raw  # noqa: E402
from test_ui import (  # noqa: E402
    CHROMEDRIVER,
    CHROMIUM,
    UI_CSP,
    chromium_driver,
    click,
    css,
    no_errors,
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

# Six finished runs of a sweep: the optimiser decides accuracy, the learning rate a little; r3 has
# the highest learning rate and the best accuracy. Each logs media at steps 0..3.
SWEEP = [
    ("r0", 1e-4, "adam", 64, 0.80),
    ("r1", 1e-3, "sgd", 64, 0.55),
    ("r2", 1e-2, "adam", 128, 0.85),
    ("r3", 1e-1, "adam", 128, 0.95),
    ("r4", 1e-3, "sgd", 256, 0.50),
    ("r5", 1e-2, "sgd", 256, 0.60),
]
MAKE_RUNS = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import turbotrack as tt
    ids = {}
    for name, lr, opt, width, acc in json.loads(sys.argv[1]):
        run = tt.init(project="sweep", name=name, config={"lr": lr, "opt": opt, "width": width},
                      settings={"capture_system": False, "capture_git": False})
        rng = np.random.default_rng(width)
        for s in range(4):
            run.log({
                "loss": 1 - acc + 0.1 * (3 - s),
                "sample": tt.Image(rng.random((8, 8, 3))),
                "preds": tt.Table(columns=["k", "v"], data=[[name, s]]),
                "weights": tt.Histogram(rng.normal(size=100) * (1 + s)),
                "page": tt.Html(f"<p class='x'>{name} at step {s}</p>"),
                "voice": tt.Audio(np.sin(np.arange(800) / (3 + s)) * 0.5, sample_rate=8000),
                "clip": tt.Video((rng.random((2, 3, 8, 8)) * 255).astype(np.uint8), fps=2),
            }, step=s)
        run.summary["acc"] = acc
        run.finish()
        ids[name] = run.id
    print(json.dumps(ids))
    """
)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("panels")
    return root, write_runs(root, MAKE_RUNS, json.dumps(SWEEP))


@pytest.fixture(scope="module")
def server(sweep: tuple[Path, dict[str, str]]) -> Iterator[ServerProc]:
    with served(sweep[0]) as s:
        yield s


@pytest.fixture(scope="module")
def browser(server: ServerProc) -> Iterator[Any]:
    driver = chromium_driver(server.login_url, window="1400,1000", csp=True)
    driver.csp = []  # the violations of the pages left so far (checked by the last test)
    try:
        yield driver
    finally:
        driver.quit()


def open_analysis(driver: Any, server: ServerProc) -> None:
    if getattr(driver, "current_url", "").startswith(server.url + "/local/sweep/analysis"):
        driver.csp += driver.execute_script("return window.__csp || []")
    driver.get(server.url + "/local/sweep/analysis")
    wait(driver, lambda d: d.execute_script("return document.body.dataset.ready"))


def data(driver: Any, selector: str, attr: str) -> str:
    return driver.execute_script(
        "const el = document.querySelector(arguments[0]); return el ? el.dataset[arguments[1]] || '' : ''",
        selector,
        attr,
    )


def hover(driver: Any, selector: str, x: float, y: float) -> None:
    """Move the pointer to (x, y) CSS pixels from the element's top-left corner."""
    el = css(driver, selector)[0]
    size = el.size
    ActionChains(driver).move_to_element_with_offset(
        el, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).perform()


def pick(driver: Any, run_id: str) -> None:
    click(driver, f'.an-run-table tr[data-run="{run_id}"] input.an-pick')


def test_parallel_coordinates_and_scatter_draw_every_run_and_hover_names_it(browser, server) -> None:
    open_analysis(browser, server)
    wait(browser, lambda d: data(d, ".pc-canvas", "lines") == "6")
    assert data(browser, ".pc-canvas", "axes") == "4"  # config.lr, config.opt, config.width, summary.acc
    # The first axis is config.lr: its top end (y = 30) is r3's, the highest learning rate.
    hover(browser, ".pc-canvas", 60, 30)
    wait(browser, lambda d: [e.text for e in css(d, ".pcoords .pc-tip-run")] == ["r3"])
    tip = css(browser, ".pcoords .an-tip")[0].text
    assert "config.opt: adam" in tip and "acc: 0.95" in tip
    # Scatter: x = config.lr, y = the first summary field, acc; r3 is the top-right point.
    wait(browser, lambda d: data(d, ".sc-canvas", "points") == "6")
    assert browser.execute_script(
        "return [document.querySelector('.sc-x').value, document.querySelector('.sc-y').value]"
    ) == [
        "config.lr",
        "summary.acc",
    ]
    width = css(browser, ".sc-canvas")[0].size["width"]
    hover(browser, ".sc-canvas", width - 12, 12)
    wait(browser, lambda d: [e.text for e in css(d, ".scatter .sc-tip-run")] == ["r3"])
    assert "acc: 0.95" in css(browser, ".scatter .an-tip")[0].text
    shot(browser, "analysis-panels")  # docs/ui-analysis.png is this one
    # Brushing: a drag along the first axis keeps its top end (r3 only); the scatter and the
    # importance take the kept runs; a click on the axis clears the brush. No run page opens.
    el = css(browser, ".pc-canvas")[0]
    size = el.size
    ActionChains(browser).move_to_element_with_offset(
        el, int(60 - size["width"] / 2), int(25 - size["height"] / 2)
    ).click_and_hold().move_by_offset(0, 20).move_by_offset(0, 20).release().perform()
    wait(browser, lambda d: data(d, ".pc-canvas", "kept") == "1")
    assert "1 of 6 runs in the brushed ranges" in css(browser, ".pcoords .pc-status")[0].text
    wait(browser, lambda d: data(d, ".sc-canvas", "points") == "1")
    assert "/analysis" in browser.current_url
    hover(browser, ".pc-canvas", 60, 200)
    ActionChains(browser).click().perform()
    wait(browser, lambda d: data(d, ".pc-canvas", "kept") == "6" and data(d, ".sc-canvas", "points") == "6")
    assert "/analysis" in browser.current_url
    # A categorical axis: y = config.opt still places every run; log x keeps them.
    browser.execute_script(
        "const s = document.querySelector('.sc-y'); s.value = 'config.opt'; s.dispatchEvent(new Event('change'));"
    )
    click(browser, "input.sc-logX")
    wait(browser, lambda d: data(d, ".sc-canvas", "points") == "6")
    no_errors(browser)


def test_parameter_importance_puts_the_optimiser_first(browser, server) -> None:
    open_analysis(browser, server)
    rows = wait(
        browser,
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('.imp-table tbody tr')].map((tr) => [tr.dataset.param,"
            " [...tr.cells].map((c) => c.innerText.trim())])"
        ),
    )
    assert rows[0][0] == "config.opt"
    assert {r[0] for r in rows} == {"config.opt", "config.lr", "config.width"}
    lr = dict(rows)["config.lr"]
    assert float(lr[2]) > 0 and float(lr[3]) > 0  # Pearson and Spearman of lr with acc: positive
    assert dict(rows)["config.opt"][2] == "—"  # no correlation for a categorical parameter
    assert css(browser, '.imp-table tr[data-param="config.opt"] .imp-bar')


def test_two_runs_compared_side_by_side_with_differences_marked(browser, server, sweep) -> None:
    _, ids = sweep
    open_analysis(browser, server)
    assert "pick 2 to 5 runs" in css(browser, ".compare")[0].text
    pick(browser, ids["r0"])
    pick(browser, ids["r2"])
    wait(browser, lambda d: len(css(d, ".cmp-table th.cmp-run")) == 2)
    heads = [e.text.strip() for e in css(browser, ".cmp-table th.cmp-run")]
    assert heads == ["r0", "r2"]
    marks = browser.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('.cmp-table tbody tr')].map((tr) => [tr.dataset.key,"
        " tr.className]))"
    )
    assert (
        marks["config.lr"] == "cmp-diff" and marks["config.width"] == "cmp-diff" and marks["summary.acc"] == "cmp-diff"
    )
    assert marks["config.opt"] == "cmp-same"
    # Any number may be picked (bulk actions); the first five are compared.
    click(browser, "button.an-all")
    wait(browser, lambda d: css(d, ".an-picked")[0].text == "6 picked (the first 5 compared)")
    wait(browser, lambda d: len(css(d, ".cmp-table th.cmp-run")) == 5)
    assert [e.text.strip() for e in css(browser, ".cmp-table th.cmp-run")][:2] == ["r0", "r2"]
    click(browser, "button.an-clear")
    pick(browser, ids["r0"])
    pick(browser, ids["r2"])
    wait(browser, lambda d: len(css(d, ".cmp-table th.cmp-run")) == 2)
    browser.execute_script("document.querySelector('.compare').scrollIntoView()")
    shot(browser, "analysis-compare")  # docs/ui-compare.png is this one
    click(browser, "input.cmp-only")
    wait(browser, lambda d: not css(d, '.cmp-table tr[data-key="config.opt"]'))
    assert css(browser, '.cmp-table tr[data-key="config.lr"]')
    no_errors(browser)


def choose_media(driver: Any, key: str) -> None:
    driver.execute_script(
        "const s = document.querySelector('.mc-key'); s.value = arguments[0]; s.dispatchEvent(new Event('change'));",
        key,
    )


def test_media_compared_across_runs_with_one_step_slider(browser, server, sweep) -> None:
    _, ids = sweep
    open_analysis(browser, server)
    pick(browser, ids["r0"])
    pick(browser, ids["r3"])
    wait(browser, lambda d: len(css(d, ".mc-col")) == 2)
    keys = browser.execute_script("return [...document.querySelectorAll('.mc-key option')].map((o) => o.value)")
    assert keys == ["clip", "page", "preds", "sample", "voice", "weights"]
    col = '.mc-col[data-run="{}"] .media-view'
    # image: each run's own file at the last step, then step 1 for both with the slider
    choose_media(browser, "sample")
    wait(browser, lambda d: all(css(d, col.format(ids[r]) + " img") for r in ("r0", "r3")))
    srcs = [css(browser, col.format(ids[r]) + " img")[0].get_attribute("src") for r in ("r0", "r3")]
    assert f"/{ids['r0']}/files/" in srcs[0] and f"/{ids['r3']}/files/" in srcs[1]
    assert [data(browser, col.format(ids[r]), "step") for r in ("r0", "r3")] == ["3", "3"]
    browser.execute_script(
        "const s = document.querySelector('.mc-slider'); s.value = '1'; s.dispatchEvent(new Event('input'));"
    )
    wait(browser, lambda d: [data(d, col.format(ids[r]), "step") for r in ("r0", "r3")] == ["1", "1"])
    assert css(browser, ".mc-step")[0].text == "step 1"
    after = [css(browser, col.format(ids[r]) + " img")[0].get_attribute("src") for r in ("r0", "r3")]
    assert after != srcs
    # table: each run's own rows
    choose_media(browser, "preds")
    wait(browser, lambda d: all(css(d, col.format(ids[r]) + " table.media-table td") for r in ("r0", "r3")))
    assert css(browser, col.format(ids["r3"]) + " table.media-table td")[0].text == "r3"
    # histogram: the step's bars
    choose_media(browser, "weights")
    wait(browser, lambda d: data(d, col.format(ids["r0"]) + " .hist-bars", "bins") != "")
    # Html: a sandboxed frame with scripts but never the site's origin
    choose_media(browser, "page")
    wait(browser, lambda d: len(css(d, ".mc-col iframe.media-html")) == 2)
    frame = css(browser, col.format(ids["r3"]) + " iframe")[0]
    assert frame.get_attribute("sandbox") == "allow-scripts" and "view=1" in frame.get_attribute("src")
    # audio and video players
    choose_media(browser, "voice")
    wait(browser, lambda d: len(css(d, ".mc-col audio[controls]")) == 2)
    choose_media(browser, "clip")  # a Video logged from frames is a GIF: shown as an image, which plays it
    wait(browser, lambda d: len(css(d, ".mc-col img.media-video")) == 2)
    assert css(browser, ".mc-col img.media-video")[0].get_attribute("src").endswith(".gif")
    choose_media(browser, "sample")
    wait(browser, lambda d: len(css(d, ".mc-col img")) == 2)
    browser.execute_script("document.querySelector('.mediacompare').scrollIntoView()")
    shot(browser, "analysis-media")
    no_errors(browser)


def test_question_mark_lists_the_shortcuts(browser, server) -> None:
    open_analysis(browser, server)
    body = css(browser, "body")[0]
    assert not css(browser, ".kbd-overlay")[0].is_displayed()
    css(browser, ".vw-name")[0].send_keys("?")  # typing in a field is not a shortcut
    assert not css(browser, ".kbd-overlay")[0].is_displayed()
    body.send_keys("?")
    wait(browser, lambda d: css(d, ".kbd-overlay")[0].is_displayed())
    text = css(browser, ".kbd-overlay")[0].text
    for line in ("show this help", "reload the runs", "go to the run comparison", "delete the picked runs"):
        assert line in text
    shot(browser, "analysis-shortcuts")
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    wait(browser, lambda d: not css(d, ".kbd-overlay")[0].is_displayed())
    no_errors(browser)


def _api(server: ServerProc, path: str, cookie: str) -> Any:
    status, body, _ = raw(server.url, "GET", path, headers={"Cookie": cookie})
    assert status == 200, body
    return json.loads(body)


def _cookie(browser: Any) -> str:
    return "tt_session=" + browser.get_cookie("tt_session")["value"]


def test_saved_views_keep_the_panels_choices(browser, server, sweep) -> None:
    _, ids = sweep
    open_analysis(browser, server)
    pick(browser, ids["r1"])
    browser.execute_script(
        "const s = document.querySelector('.sc-y'); s.value = 'summary.loss'; s.dispatchEvent(new Event('change'));"
    )
    css(browser, ".vw-name")[0].send_keys("loss view")
    click(browser, "button.vw-save")
    wait(browser, lambda d: "saved" in css(d, ".vw-status")[0].text)
    got = _api(server, "/api/v1/views/local/sweep/loss%20view", _cookie(browser))
    assert got["view"]["scatter"]["y"] == "summary.loss" and got["view"]["picked"] == [ids["r1"]]
    open_analysis(browser, server)
    assert browser.execute_script("return document.querySelector('.sc-y').value") == "summary.acc"
    wait(browser, lambda d: "loss view" in [o.text for o in css(d, ".vw-select option")])
    browser.execute_script(
        "const s = document.querySelector('.vw-select'); s.value = 'loss view'; s.dispatchEvent(new Event('change'));"
    )
    wait(browser, lambda d: d.execute_script("return document.querySelector('.sc-y').value") == "summary.loss")
    assert css(browser, f'.an-run-table tr[data-run="{ids["r1"]}"] input.an-pick')[0].is_selected()
    click(browser, "button.vw-delete")
    wait(browser, lambda d: "deleted" in css(d, ".vw-status")[0].text)
    assert _api(server, "/api/v1/views/local/sweep", _cookie(browser)) == {"views": []}
    no_errors(browser)


def test_edit_and_delete_runs_from_the_browser(browser, server, sweep) -> None:
    root, ids = sweep
    open_analysis(browser, server)
    click(browser, f'.an-run-table tr[data-run="{ids["r1"]}"] button.an-edit')
    name = wait(browser, lambda d: css(d, "dialog.ed-dialog input.ed-name"))[0]
    name.clear()
    name.send_keys("r1 renamed")
    tags = css(browser, "dialog.ed-dialog input.ed-tags")[0]
    tags.clear()
    tags.send_keys("keep, best")
    css(browser, "dialog.ed-dialog textarea.ed-notes")[0].send_keys("tried a lower lr")
    click(browser, "dialog.ed-dialog button.ed-save")
    wait(browser, lambda d: not css(d, "dialog.ed-dialog"))
    wait(browser, lambda d: "r1 renamed" in css(d, f'.an-run-table tr[data-run="{ids["r1"]}"]')[0].text)
    on_disk = json.loads((root / "turbotrack" / "local" / "sweep" / ids["r1"] / "run.json").read_text())
    assert (on_disk["name"], on_disk["tags"], on_disk["notes"]) == ("r1 renamed", ["keep", "best"], "tried a lower lr")
    listed = _api(server, "/api/v1/runs/local/sweep?filters=" + '{"tags":"best"}'.replace('"', "%22"), _cookie(browser))
    assert [r["name"] for r in listed["runs"]] == ["r1 renamed"]
    # Delete two runs: asked first; cancel keeps them, yes moves them to the trash.
    pick(browser, ids["r4"])
    pick(browser, ids["r5"])
    click(browser, "button.an-delete")
    dialog = wait(browser, lambda d: css(d, "dialog.del-dialog"))[0]
    assert "Delete 2 runs?" in dialog.text and "r4" in dialog.text and "r5" in dialog.text
    click(browser, "dialog.del-dialog button.del-no")
    wait(browser, lambda d: not css(d, "dialog.del-dialog"))
    assert (root / "turbotrack" / "local" / "sweep" / ids["r4"]).is_dir()
    click(browser, "button.an-delete")
    click(browser, "dialog.del-dialog button.del-yes")
    wait(browser, lambda d: not css(d, "dialog.del-dialog"))
    wait(browser, lambda d: len(css(d, ".an-run-table tr[data-run]")) == 4)
    for r in ("r4", "r5"):
        assert not (root / "turbotrack" / "local" / "sweep" / ids[r]).exists()
    trash = sorted(p.name.split(".")[0] for p in (root / "turbotrack" / ".trash" / "local" / "sweep").iterdir())
    assert trash == sorted([ids["r4"], ids["r5"]])
    assert _api(server, "/api/v1/runs/local/sweep", _cookie(browser))["total"] == 4
    open_analysis(browser, server)  # a fresh page lists what the server holds
    wait(browser, lambda d: data(d, ".pc-canvas", "lines") == "4")
    no_errors(browser)


def test_the_analysis_page_keeps_to_the_csp(browser, server) -> None:
    status, _, headers = raw(server.url, "GET", "/local/sweep/analysis", headers={"Cookie": _cookie(browser)})
    assert status == 200 and headers["content-security-policy"] == UI_CSP
    open_analysis(browser, server)
    browser.csp += browser.execute_script("return window.__csp || []")
    assert browser.csp == []
