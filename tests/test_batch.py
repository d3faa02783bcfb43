"""Several uploads of one run in one request (``POST .../files``, store/batch.py): the framing, the
server's answers part by part (a file-store server; a replica's lane is tests/test_lane.py's), and
RunSync sending a pass's small files in one request, to a server that takes batches and to one that
does not."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from serverkit import keyed_server
from test_sync import _same_on_server

from turbotrack.store import batch
from turbotrack.store.client import Client, ServerError
from turbotrack.sync import core


def _whole(name: str, body: bytes) -> batch.Part:
    return batch.Part(name, 0, body, len(body), hashlib.sha256(body).hexdigest())


def test_a_batch_reads_back_as_it_was_written() -> None:
    parts = [
        batch.Part("history.ttrk", 4096, b"\x00\x01" * 10),
        _whole("summary.json", b"{}"),
        batch.Part("o.log", 0, b""),
    ]
    assert batch.decode(batch.encode(parts)) == parts
    assert batch.decode(batch.encode([])) == []


@pytest.mark.parametrize(
    "body, why",
    [
        (b"", "JSON line"),
        (b'{"parts": []', "JSON line"),
        (b"[1]\n", '{"parts"'),
        (b'{"parts": [1]}\n', "part 0"),
        (b'{"parts": [{"name": "a", "offset": -1, "length": 0}]}\n', "'offset'"),
        (b'{"parts": [{"name": "a", "offset": true, "length": 0}]}\n', "'offset'"),
        (b'{"parts": [{"name": "a", "offset": 0, "length": 5}]}\nabc', "past the body's end"),
        (b'{"parts": [{"name": "a", "offset": 0, "length": 1}]}\nabc', "2 bytes after"),
        (b'{"parts": [{"name": "a", "offset": 0, "length": 0}, {"name": "a", "offset": 0, "length": 0}]}\n', "twice"),
        (b'{"parts": [{"name": "a", "offset": 0, "length": 0, "sha256": 5}]}\n', "sha256"),
        (b'{"parts": [{"name": "a", "offset": 0, "length": 0, "size": "x"}]}\n', "'size'"),
        (
            json.dumps({"parts": [{"name": str(i), "offset": 0, "length": 0} for i in range(257)]}).encode() + b"\n",
            "256",
        ),
    ],
)
def test_a_body_that_is_no_batch_says_what_is_wrong(body: bytes, why: str) -> None:
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace("[", r"\[")):
        batch.decode(body)


@pytest.fixture
def server(tmp_path: Path) -> Any:
    s = keyed_server(tmp_path / "server")
    yield s
    s.stop()


def test_a_file_store_server_answers_each_part_on_its_own(server: Any) -> None:
    client = Client(server.url, server.key)
    url = "/api/v1/runs/local/p/r1/files"
    info = json.dumps({"id": "r1", "name": "one", "state": "running", "created_at": 1.0}).encode()
    body = batch.encode([batch.Part("output.log", 0, b"abc"), _whole("run.json", info)])
    assert client.json("POST", url, body, {"heartbeat": 30}) == {
        "parts": [{"size": 3}, {"size": len(info)}],
        "heartbeat": True,
    }
    stale = batch.encode(
        [
            batch.Part("output.log", 0, b"xyz"),  # the server holds 3 bytes
            batch.Part("history.ttrk", 0, b"not blocks"),
            _whole("summary.json", b"{not json"),
            batch.Part("../escape", 0, b"?"),
            _whole("config.json", b'{"a": 1}'),
        ]
    )
    got = client.json("POST", url, stale)["parts"]
    assert [p.get("status", 200) for p in got] == [409, 400, 400, 400, 200], got
    assert got[0]["size"] == 3 and got[0]["sha256"] == hashlib.sha256(b"abc").hexdigest()
    d = server.root / "turbotrack" / "local" / "p" / "r1"
    assert (d / "output.log").read_bytes() == b"abc" and not (d / "summary.json").exists()
    assert json.loads((d / "config.json").read_bytes()) == {"a": 1}
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) == [
        "config.json",
        "output.log",
        "run.json",
    ]
    manifest = client.json("GET", "/api/v1/runs/local/p/r1/manifest")
    assert manifest["batch"] == 64 << 10 and manifest["files"]["output.log"]["size"] == 3
    client.close()


class _Calls(Client):
    """Keeps each request's method and path; ``batches=False``: a server from before batches (its
    manifest offers none, and it has no such route: 405)."""

    def __init__(self, *a: Any, batches: bool = True, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.calls: list[str] = []
        self.batches = batches

    def request(self, method: str, path: str, body: Any = None, query: Any = None, headers: Any = None) -> Any:
        self.calls.append(f"{method} {path.rsplit('/', 1)[-1]}")
        if not self.batches and method == "POST" and path.endswith("/files"):
            return 405, {}, b'{"error": "POST is not allowed here"}'
        return super().request(method, path, body, query, headers)

    def json(self, method: str, path: str, body: Any = None, query: Any = None) -> Any:
        out = super().json(method, path, body, query)
        if not self.batches and path.endswith("/manifest"):
            out.pop("batch", None)
        return out


def _small_run(new_run: Any) -> Any:
    run = new_run(config={"lr": 0.1})
    for i in range(50):
        run.log({"loss": 1.0 / (i + 1)})
    run.summary["best"] = 3
    run.finish()
    return run


def test_a_run_s_small_files_go_in_one_request(new_run: Any, server: Any) -> None:
    run = _small_run(new_run)
    client = _Calls(server.url, server.key)
    progress = core.RunSync(client, Path(run.dir)).sync()
    # every file in one batch, run.json in it; sent as a new run's: no manifest asked first
    assert client.calls == ["POST files"]
    assert progress.files == len([p for p in Path(run.dir).iterdir() if not p.name.startswith(".")])
    assert progress.rows == 50
    client.close()
    _same_on_server(run, server)


def test_a_server_without_batches_gets_a_request_a_file(new_run: Any, server: Any) -> None:
    run = _small_run(new_run)
    client = _Calls(server.url, server.key, batches=False)
    core.RunSync(client, Path(run.dir)).sync()
    files = [p.name for p in Path(run.dir).iterdir() if not p.name.startswith(".")]
    # the first batch, sent as a new run's, refused: then the manifest, and a request a file
    assert client.calls[:2] == ["POST files", "GET manifest"] and "POST files" not in client.calls[2:]
    assert sorted(c.split(" ", 1)[1] for c in client.calls[2:]) == sorted(files)
    assert client.calls[-1] == "PUT run.json"  # last, as ever
    client.close()
    _same_on_server(run, server)


def test_a_refused_part_is_named_and_the_rest_of_the_batch_is_on_the_server(new_run: Any, server: Any) -> None:
    run = _small_run(new_run)
    (Path(run.dir) / "config.json").write_text("{damaged")  # the server refuses a state file that is no JSON
    client = _Calls(server.url, server.key)
    with pytest.raises(core.FilesFailed, match=r"config\.json") as e:
        core.RunSync(client, Path(run.dir)).sync()
    assert [rel for rel, _ in e.value.failed] == ["config.json"]
    assert client.calls == ["POST files"]
    remote = server.root / "turbotrack" / run.path
    assert (remote / "run.json").read_bytes() == (Path(run.dir) / "run.json").read_bytes()
    assert not (remote / "config.json").exists()
    client.close()


def test_a_part_the_server_holds_more_of_goes_on_from_there(new_run: Any, server: Any, monkeypatch: Any) -> None:
    """A live pass plans from what the server acknowledged; when the server holds more of a file
    (another uploader sent it), that part's 409 sends the file on its own from the server's length,
    once its bytes there are checked to be this folder's."""
    monkeypatch.setattr(core, "REPLACE_GAP", 0.0)  # the summary goes with every live pass
    run = _small_run(new_run)
    d = Path(run.dir)
    client = _Calls(server.url, server.key)
    rs = core.RunSync(client, d)
    log = d / "output.log"
    log.write_bytes(b"first\n")
    rs.sync()
    remote = server.root / "turbotrack" / run.path
    with open(log, "ab") as fh:
        fh.write(b"second\n")
    with open(remote / "output.log", "ab") as fh:  # as another uploader of this run would have
        fh.write(b"second\n")
    (d / "summary.json").write_text(json.dumps({"best": 4}))
    client.calls.clear()
    rs.sync(live=True)
    assert client.calls == ["POST files", "PUT output.log"]  # the 409'd part alone, moved to the end
    assert (remote / "output.log").read_bytes() == b"first\nsecond\n"
    assert json.loads((remote / "summary.json").read_bytes()) == {"best": 4}
    client.close()


def test_a_batch_sent_as_a_new_run_s_to_a_server_holding_the_run_is_refused_whole(server: Any) -> None:
    client = Client(server.url, server.key)
    url = "/api/v1/runs/local/p/r2/files"
    assert client.json("POST", url, batch.encode([batch.Part("output.log", 0, b"a")]), {"new": 1}) == {
        "parts": [{"size": 1}]
    }
    again = batch.encode([batch.Part("output.log", 1, b"b"), _whole("config.json", b"{}")])
    with pytest.raises(ServerError) as e:
        client.json("POST", url, again, {"new": 1})
    assert e.value.status == 409 and "manifest" in str(e.value)
    d = server.root / "turbotrack" / "local" / "p" / "r2"
    assert (d / "output.log").read_bytes() == b"a" and not (d / "config.json").exists()
    assert client.json("POST", url, again) == {"parts": [{"size": 2}, {"size": 2}]}  # as an ordinary batch
    client.close()


def test_a_first_pass_cut_off_by_a_server_away_goes_as_a_new_run_s_again(new_run: Any, server: Any) -> None:
    run = _small_run(new_run)
    away = Client("http://127.0.0.1:9", server.key, timeout=5)  # nothing listens on the discard port
    rs = core.RunSync(away, Path(run.dir))
    with pytest.raises(Exception, match=r"127\.0\.0\.1:9"):
        rs.sync()
    rs.client = client = _Calls(server.url, server.key)
    rs.sync()
    assert client.calls == ["POST files"]
    client.close()
    _same_on_server(run, server)
