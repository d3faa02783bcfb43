"""The workspace's saved views in a real browser (Debian's chromium + chromedriver, selenium) against a
real ``turbotrack server`` over the runs of tests/test_ui_workspace_panels.py: a view saved from the
toolbar's Views menu with a panel moved, a panel added, a line hidden from a legend, a filter and
log scale; everything changed; the view loaded back and all of it restored (panel order, the panel,
the filter box, the log scale checkbox, the charts drawn again); loaded in a second browser with
nothing remembered; a read-only key lists and loads views but cannot save them (the server refuses,
the menu says so); the view deleted."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Iterator, Optional

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from serverkit import ServerProc, make_key  # noqa: E402
from test_ui import (  # noqa: E402
    CHROMEDRIVER,
    CHROMIUM,
    chromium_driver,
    click,
    css,
    driving,
    no_errors,
    open_page,
    reset_settings,
    served,
    wait,
    write_runs,
)
from test_ui_workspace_panels import MAKE_RUNS, NAMES, WS, add_panel, fresh, in_sight, info, order, panel  # noqa: E402

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER), reason="chromium/chromedriver not installed (scripts/chromium.sh)"
    ),
    pytest.mark.timeout(240),
]

VIEW = "my view"
READ_ONLY_NOTE = "read-only: you can load views, not save or delete them"  # components/views.js


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProc]:
    root = tmp_path_factory.mktemp("wsviews")
    write_runs(root, MAKE_RUNS, json.dumps(NAMES))
    with served(root) as s:
        yield s


@pytest.fixture(scope="module")
def read_only(server: ServerProc) -> str:
    """A read-only API key of entity ``local``."""
    return make_key(server.root, "local", read_only=True)[1]


@pytest.fixture(scope="module")
def write_key(server: ServerProc) -> str:
    """An API key that writes entity ``local``."""
    return make_key(server.root, "local")[1]


def new_browser(server: ServerProc) -> Any:
    """A Chromium of its own profile (nothing remembered), logged in; the caller quits it."""
    driver = chromium_driver(server.login_url, window="1400,1000")
    driver.base = server.url
    return driver


@pytest.fixture(scope="module")
def browser(server: ServerProc) -> Iterator[Any]:
    with driving(server, window="1400,1000") as driver:
        yield driver


def api(server: ServerProc, method: str, path: str, key: str, body: Optional[bytes] = None) -> tuple[int, Any]:
    """One request with an API key: its status and JSON answer."""
    req = urllib.request.Request(server.url + path, data=body, method=method)
    req.add_header("Authorization", f"Bearer {key}")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def open_views(driver: Any) -> None:
    """The toolbar's Views menu open, its list and the key's rights known."""
    if not driver.execute_script("return document.querySelector('#views-menu').open"):
        click(driver, "#views-menu > summary")
    wait(driver, lambda d: d.execute_script("return document.querySelector('#views-menu .an-views').dataset.ready"))


def status(driver: Any) -> str:
    return driver.execute_script("return document.querySelector('#views-menu .vw-status').textContent")


def load_view(driver: Any, name: str) -> None:
    open_views(driver)
    wait(driver, lambda d: name in [o.text for o in css(d, "#views-menu .vw-select option")])
    driver.execute_script(
        "const s = document.querySelector('#views-menu .vw-select'); s.value = arguments[0];"
        " s.dispatchEvent(new Event('change'));",
        name,
    )
    wait(driver, lambda d: "applied" in status(d))


def set_filter(driver: Any, text: str) -> None:
    driver.execute_script(
        "const i = document.querySelector('#run-filter'); i.value = arguments[0]; i.dispatchEvent(new Event('input'));",
        text,
    )


def legend_click(driver: Any, pid: str, label: str) -> None:
    in_sight(driver, pid)
    driver.execute_script(
        "[...document.querySelectorAll(arguments[0])].find((b) => b.textContent === arguments[1]).click()",
        f"{panel(pid)} .legend-item",
        label,
    )


def drawn(driver: Any, pid: str) -> dict[str, Any]:
    in_sight(driver, pid)
    return info(driver, pid)


def assert_restored(driver: Any, pid: str) -> None:
    """What the view holds is on the page: the panels' order and the panel added, the filter and
    log scale in the toolbar, the URL and the charts (drawn again for the two runs kept, on a log
    scale, with alpha-0 hidden in train/loss's legend)."""
    wait(driver, lambda d: order(d) == ["key:train/loss", "key:train/acc", pid])
    assert driver.execute_script("return document.querySelector('#run-filter').value") == "alpha"
    assert css(driver, "#log-scale")[0].is_selected()
    wait(driver, lambda d: css(d, "#run-count")[0].text.startswith("2 of 3 runs"))
    wait(driver, lambda d: drawn(d, "key:loss")["runs"] == 2 and drawn(d, "key:loss")["log"] == "true")
    wait(driver, lambda d: drawn(d, pid)["runs"] == 4 and drawn(d, pid)["log"] == "true")
    wait(driver, lambda d: drawn(d, "key:train/loss")["off"] == ["alpha-0"])
    assert "log=1" in driver.current_url and "filter=alpha" in driver.current_url


def test_a_saved_view_restores_the_panels_filter_and_log_scale_in_this_browser_and_another(
    browser: Any, server: ServerProc, read_only: str
) -> None:
    fresh(browser)
    open_views(browser)
    assert [o.text for o in css(browser, "#views-menu .vw-select option")] == ["no saved views"]
    # The choices: a default panel moved, a panel of two metrics added, a line hidden, a filter, log scale.
    click(browser, f"{panel('key:train/acc')} .panel-right")
    wait(browser, lambda d: order(d) == ["key:train/loss", "key:train/acc"])
    pid = add_panel(browser, "train", ["train/loss", "loss"])
    wait(browser, lambda d: info(d, pid)["runs"] == 6)
    legend_click(browser, "key:train/loss", "alpha-0")
    wait(browser, lambda d: drawn(d, "key:train/loss")["off"] == ["alpha-0"])
    set_filter(browser, "alpha")
    wait(browser, lambda d: drawn(d, "key:loss")["runs"] == 2)
    click(browser, "#log-scale")
    wait(browser, lambda d: drawn(d, "key:loss")["log"] == "true")
    # Saved under a name: the server keeps the whole Settings.
    open_views(browser)
    css(browser, "#views-menu .vw-name")[0].send_keys(VIEW)
    click(browser, "#views-menu .vw-save")
    wait(browser, lambda d: status(d) == f"saved \u201c{VIEW}\u201d")
    code, got = api(server, "GET", "/api/v1/views/local/ws/my%20view", read_only)
    assert code == 200 and got["view"]["page"] == "workspace"
    saved = got["view"]["settings"]
    assert saved["filter"] == "alpha" and saved["log"] is True
    assert [p["id"] for p in saved["panels"]["train"]["panels"]] == ["key:train/loss", "key:train/acc", pid]

    # Everything changed back: the filter, log scale, the panels' order, the panel, the line.
    set_filter(browser, "")
    click(browser, "#log-scale")
    legend_click(browser, "key:train/loss", "alpha-0")
    click(browser, f"{panel('key:train/acc')} .panel-left")
    in_sight(browser, pid)
    click(browser, f"{panel(pid)} .panel-remove")
    wait(browser, lambda d: order(d) == ["key:train/acc", "key:train/loss"])
    wait(browser, lambda d: drawn(d, "key:loss")["runs"] == 3 and drawn(d, "key:loss")["log"] == "false")
    wait(browser, lambda d: drawn(d, "key:train/loss")["off"] == [])
    assert "log=1" not in browser.current_url
    # Loaded back: all of it again, as if chosen here.
    load_view(browser, VIEW)
    assert_restored(browser, pid)
    # And kept as the browser's own choices: a reload shows the same.
    open_page(browser, WS)
    assert_restored(browser, pid)
    no_errors(browser)

    # Another browser, nothing remembered: the defaults, then the view from the server.
    other = new_browser(server)
    try:
        reset_settings(other)
        open_page(other, WS)
        wait(other, lambda d: order(d) == ["key:train/acc", "key:train/loss"] and drawn(d, "key:loss")["runs"] == 3)
        open_views(other)
        assert status(other) == ""  # a session may save
        load_view(other, VIEW)
        assert_restored(other, pid)
        no_errors(other)

        # The same browser on a read-only key (sent with every request): it loads views, not saves them.
        other.execute_cdp_cmd("Network.enable", {})
        other.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": f"Bearer {read_only}"}})
        reset_settings(other)
        open_page(other, WS)
        wait(other, lambda d: order(d) == ["key:train/acc", "key:train/loss"])
        open_views(other)
        assert status(other) == READ_ONLY_NOTE
        assert not css(other, "#views-menu .vw-save")[0].is_enabled()
        assert not css(other, "#views-menu .vw-delete")[0].is_enabled()
        load_view(other, VIEW)
        assert_restored(other, pid)
        # A save tried anyway (the button enabled by hand) is refused by the server, and the menu says so.
        other.execute_script(
            "for (const el of document.querySelectorAll('#views-menu button, #views-menu input')) el.disabled = false;"
            " document.querySelector('#views-menu .vw-name').value = 'not mine';"
        )
        click(other, "#views-menu .vw-save")
        wait(other, lambda d: "read-only" in status(d) and status(d) != READ_ONLY_NOTE)
        assert "error" in css(other, "#views-menu .vw-status")[0].get_attribute("class")
    finally:
        other.quit()
    code, got = api(server, "PUT", "/api/v1/views/local/ws/not%20mine", read_only, b'{"page": "workspace"}')
    assert code == 403 and "read-only" in got["error"]
    code, got = api(server, "DELETE", "/api/v1/views/local/ws/my%20view", read_only)
    assert code == 403
    assert [v["name"] for v in api(server, "GET", "/api/v1/views/local/ws", read_only)[1]["views"]] == [VIEW]

    # Deleted from the first browser's menu: gone from the server and the list.
    load_view(browser, VIEW)
    click(browser, "#views-menu .vw-delete")
    wait(browser, lambda d: status(d) == f"deleted \u201c{VIEW}\u201d")
    assert api(server, "GET", "/api/v1/views/local/ws", read_only) == (200, {"views": []})
    wait(browser, lambda d: [o.text for o in css(d, "#views-menu .vw-select option")] == ["no saved views"])
    no_errors(browser)


def test_a_view_saved_on_the_analysis_page_is_refused_by_the_workspace(
    browser: Any, server: ServerProc, write_key: str
) -> None:
    fresh(browser)
    code, _ = api(server, "PUT", "/api/v1/views/local/ws/analysis%20one", write_key, b'{"picked": []}')
    assert code == 200
    try:
        open_views(browser)
        click(browser, "#views-menu > summary")  # closed and opened again: the list asked again
        open_views(browser)
        wait(browser, lambda d: "analysis one" in [o.text for o in css(d, "#views-menu .vw-select option")])
        browser.execute_script(
            "const s = document.querySelector('#views-menu .vw-select'); s.value = 'analysis one';"
            " s.dispatchEvent(new Event('change'));"
        )
        wait(browser, lambda d: "not a workspace view" in status(d))
        assert order(browser) == ["key:train/acc", "key:train/loss"]
        assert browser.execute_script("return document.querySelector('#run-filter').value") == ""
    finally:
        assert api(server, "DELETE", "/api/v1/views/local/ws/analysis%20one", write_key)[0] == 200
