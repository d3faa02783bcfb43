"""One name rule for entity, project and run id (store/names.py): what wandb's SDK accepts, checked
against the installed wandb package, and enforced the same at ``init()``, in the layout, by sync's
run discovery and by the server: a run named with spaces syncs, is listed by the server and reads
back through the remote Api and the UI's URLs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import NO_CAPTURE, run_child
from serverkit import ServerProc, make_key, raw

import turbotrack
from turbotrack.store import layout, names

#: Names wandb's SDK refuses, accepts, or that only a folder refuses; the same for every kind.
SAMPLES = [
    "Jane Doe",
    "my project",
    "run 1",
    "a%b",
    "a#b",
    "a?b",
    "a:b",
    "a;b",
    "a,b",
    "it's",
    "a/b",
    "a\\b",
    " lead",
    "trail ",
    "café",
    "数据",
    "x" * 128,
    "x" * 129,
    "-dash",
    "a.b",
    "UPPER",
    "a\tb",
    ".hidden",
    "..",
    "",
    "\ufeffbom",
    "ideographic\u3000",
    "\u00a0nbsp",
    "\x7fdel",
    "\u0085nel",
    "e\u0301",  # a combining mark: 2 code points
    "😀" * 64,  # 64 characters, 256 bytes
    "😀" * 63,
    "é" * 128,
    "é" * 129,
]


def _wandb_accepts(kind: str, value: str) -> bool:
    wandb_settings = pytest.importorskip("wandb.sdk.wandb_settings")
    field = {"project": "project", "entity": "project", "run id": "run_id"}[kind]
    try:
        wandb_settings.Settings(**{field: value})
    except Exception:
        return False
    return True


def _folder_refuses(value: str) -> bool:
    """What only a folder (not wandb) refuses: empty, hidden, control characters, too long in bytes."""
    return (
        not value
        or value.startswith(".")
        or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value)
        or len(value.encode()) > names.MAX_BYTES
        or "\\" in value
    )


@pytest.mark.parametrize("kind", ["entity", "project", "run id"])
def test_the_rule_is_wandbs(kind: str) -> None:
    """Everything wandb refuses is refused; everything it accepts is accepted unless a folder cannot
    hold it. (wandb does not check an entity: the project's rule stands for it.)"""
    for value in SAMPLES:
        ours, theirs = names.is_valid_name(kind, value), _wandb_accepts(kind, value)
        if not theirs:
            assert not ours, (kind, value)
        else:
            assert ours == (not _folder_refuses(value)), (kind, value)
    assert names.is_valid_name(kind, "Jane Doe") and not names.is_valid_name(kind, "a/b")


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_uis_router_applies_the_same_rule() -> None:
    """The UI spells the rule again (static/lib/route.js, the browser cannot ask Python): the same
    answer for every sample and kind, and a run page's URL of a name with spaces routes to the run."""
    samples = [*SAMPLES, "x" * 256, "x" * 255, "a b c", "%2e%2e", "tab\t"]
    script = textwrap.dedent(
        """
        import { isValidName, parseRoute, runHref } from 'ROUTE_JS';
        const samples = JSON.parse(process.argv[1]);
        const out = {};
        for (const kind of ['entity', 'project', 'run id']) out[kind] = samples.map((v) => isValidName(kind, v));
        out.route = parseRoute(runHref('Jane Doe', 'my project', 'run 1%', 'files'));
        out.refused = ['/Jane%20Doe/a%23b', '/e/p/runs/r%3B1', '/e/%2Ehidden'].map((p) => parseRoute(p).page);
        console.log(JSON.stringify(out));
        """
    ).replace("ROUTE_JS", (Path(names.__file__).parents[1] / "server" / "static" / "lib" / "route.js").as_uri())
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", script, json.dumps(samples)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for kind in ("entity", "project", "run id"):
        want = [names.is_valid_name(kind, v) for v in samples]
        assert out[kind] == want, [(v, w) for v, w, got in zip(samples, want, out[kind]) if w != got]
    assert out["route"] == {
        "page": "run",
        "entity": "Jane Doe",
        "project": "my project",
        "run": "run 1%",
        "tab": "files",
    }
    assert out["refused"] == ["notfound"] * 3


def test_a_refusal_names_the_argument_and_why() -> None:
    with pytest.raises(ValueError, match=r"project 'a#b' is not a valid name: it holds '#'"):
        names.check_name("project", "a#b")
    with pytest.raises(ValueError, match=r"run id ' r' is not a valid name: it starts or ends with whitespace"):
        names.check_name("run id", " r")
    with pytest.raises(ValueError, match=r"entity 3 is not a valid name: it must be a string"):
        names.check_name("entity", 3)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"project": "a/b"}, "project 'a/b'"),
        ({"project": "p?"}, "project 'p\\?'"),
        ({"entity": "x:y"}, "entity 'x:y'"),
        ({"id": "r;1"}, "run id 'r;1'"),
        ({"id": ".r"}, "run id '.r'"),
    ],
)
def test_init_refuses_a_bad_name_with_a_value_error_naming_it(tmp_path: Path, kwargs, named) -> None:
    with pytest.raises(ValueError, match=named):
        turbotrack.init(dir=tmp_path, mode="offline", settings=NO_CAPTURE, **kwargs)
    assert not any((tmp_path / "turbotrack").glob("*/*/*/run.json")), "nothing was written"


def test_a_run_named_with_spaces_syncs_and_reads_back_everywhere(tmp_path: Path) -> None:
    local_dir = tmp_path / "local"
    run = turbotrack.init(
        dir=local_dir, entity="Jane Doe", project="my project", id="run 1%", mode="offline", settings=NO_CAPTURE
    )
    for i in range(5):
        run.log({"val/acc": i / 10})
    run.finish()
    assert run.path == "Jane Doe/my project/run 1%"
    local = turbotrack.Api(dir=local_dir)
    assert [r.path for r in local.runs("Jane Doe/my project")] == ["Jane Doe/my project/run 1%"]
    assert [r.path for r in layout.iter_run_dirs(layout.storage_root(local_dir))] == [run.path]

    srv = ServerProc(tmp_path / "server")
    key = make_key(tmp_path / "server", "Jane Doe")[1]
    srv.start()
    try:
        out = subprocess.run(
            [sys.executable, "-m", "turbotrack", "sync", str(local_dir), "--base-url", srv.url, "--api-key", key],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "synced 1 of 1 runs" in out.stdout + out.stderr, out.stderr
        remote = turbotrack.Api(base_url=srv.url, api_key=key)
        assert [(p["entity"], p["project"], p["run_count"]) for p in remote.projects()] == [
            ("Jane Doe", "my project", 1)
        ]
        (found,) = remote.runs("Jane Doe/my project")
        assert found.path == run.path and found.state == "finished"
        for spelling in (run.path, "Jane Doe/my project/runs/run 1%"):
            back = remote.run(spelling)
            assert [r["val/acc"] for r in back.history(pandas=False)] == [0.0, 0.1, 0.2, 0.3, 0.4]
            assert [r["val/acc"] for r in back.scan_history()] == [0.0, 0.1, 0.2, 0.3, 0.4]
        assert back.url == f"{srv.url}/Jane%20Doe/my%20project/runs/run%201%25"
        # the UI's pages and the API under the quoted path; an unquoted '/' or a refused name is not a run
        page = "/" + "/".join(quote(p, safe="") for p in ("Jane Doe", "my project", "runs", "run 1%"))
        status, body, _ = raw(srv.url, "GET", page, key)
        assert status == 200 and b"<html" in body.lower()
        status, _, _ = raw(srv.url, "GET", "/api/v1/runs/Jane%20Doe/my%20project/run%201%25", key)
        assert status == 200
        status, body, _ = raw(srv.url, "GET", "/api/v1/runs/Jane%20Doe/my%20project/run%3B1", key)
        assert status == 400 and b"run id 'run;1' is not a valid name" in body
    finally:
        assert srv.stop() == 0


def test_an_online_run_named_with_spaces_uploads(tmp_path: Path) -> None:
    """The online uploader sends such a run as it runs; once ``finish()`` returns it is all there."""
    srv = ServerProc(tmp_path / "server")
    key = make_key(tmp_path / "server", "Jane Doe")[1]
    srv.start()
    try:
        code = f"""
            import turbotrack
            run = turbotrack.init(dir={str(tmp_path / "local")!r}, entity="Jane Doe", project="my project",
                                  id="run 2", settings={{**{NO_CAPTURE!r}, "mode": "online", "sync_interval": 0.2,
                                  "sync_timeout": 60}})
            for i in range(50):
                run.log({{"x": i}})
            print(run.url)
            run.finish()
            """
        env = {"TURBOTRACK_BASE_URL": srv.url, "TURBOTRACK_API_KEY": key}
        out = run_child(code, env=env)
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == [f"{srv.url}/Jane%20Doe/my%20project/runs/run%202"]
        assert "error" not in out.stderr.lower() and "sync" not in out.stderr.lower(), out.stderr
        back = turbotrack.Api(base_url=srv.url, api_key=key).run("Jane Doe/my project/run 2")
        assert back.state == "finished"
        assert [r["x"] for r in back.scan_history()] == list(range(50))
    finally:
        assert srv.stop() == 0


def test_a_suggested_name_passes_the_rule() -> None:
    assert names.suggest_name("entity", "Jane:Doe") == "Jane-Doe"
    assert names.suggest_name("project", ".a/b#c") == "a-b-c"
    assert names.suggest_name("run id", " x;y ") == "x-y"
    assert names.suggest_name("entity", "::") == "my-team"
    for kind in ("entity", "project", "run id"):
        for value in SAMPLES:
            assert names.is_valid_name(kind, names.suggest_name(kind, value)), (kind, value)
