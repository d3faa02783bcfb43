"""``define_metric(name, hidden=True)``: kept in metrics.json (a fifth entry; files of four entries,
written before it was kept, read as not hidden), served by the server's run detail, and the
metric's data stays: the summary keeps it (as wandb's does) and history serves it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import NO_CAPTURE
from serverkit import ServerProc, make_key, raw

import turbotrack


def _hidden_run(project: str = "p") -> Path:
    run = turbotrack.init(project=project, settings=NO_CAPTURE)
    run.define_metric("secret", hidden=True)
    run.define_metric("acc", summary="max")
    run.define_metric("train/*", hidden=True, step_metric="epoch")
    for s in range(3):
        run.log({"secret": s * 10, "acc": s / 10, "train/loss": 1 / (s + 1), "epoch": s})
    run.finish()
    return Path(run.dir)


def test_hidden_is_the_fifth_entry_of_metrics_json_and_the_data_stays(root: Path) -> None:
    run_dir = _hidden_run()
    defs = json.loads((run_dir / "metrics.json").read_text())
    assert ["secret", None, None, None, True] in defs
    assert ["acc", "max", None, None, False] in defs
    assert ["train/*", None, None, "epoch", True] in defs
    api_run = turbotrack.Api().run(f"p/{run_dir.name}")
    assert api_run.summary["secret"] == 20  # wandb keeps a hidden metric in the summary
    assert api_run.summary["acc"] == {"max": 0.2}
    assert [r["secret"] for r in api_run.scan_history(keys=["secret"])] == [0, 10, 20]


def test_a_later_definition_without_hidden_keeps_it_hidden_and_overwrite_clears_it(root: Path) -> None:
    run = turbotrack.init(project="p", settings=NO_CAPTURE)
    run.define_metric("a", hidden=True)
    run.define_metric("a", summary="min")  # merged into the earlier definition, as wandb does
    run.define_metric("b", hidden=True)
    run.define_metric("b", summary="min", overwrite=True)
    run.log({"a": 1, "b": 2})
    run.finish()
    defs = json.loads((Path(run.dir) / "metrics.json").read_text())
    assert ["a", "min", None, None, True] in defs and ["b", "min", None, None, False] in defs


def test_a_resumed_run_keeps_old_four_entry_definitions_beside_new_ones(root: Path) -> None:
    run = turbotrack.init(project="p", id="old", settings=NO_CAPTURE)
    run.log({"loss": 1.0})
    run.finish()
    metrics = Path(run.dir) / "metrics.json"
    metrics.write_text(json.dumps([["loss", "min", None, None]]))  # as written before hidden was kept
    run = turbotrack.init(project="p", id="old", resume="must", settings=NO_CAPTURE)
    run.define_metric("secret", hidden=True)
    run.log({"loss": 0.5, "secret": 3})
    run.finish()
    assert json.loads(metrics.read_text()) == [["loss", "min", None, None], ["secret", None, None, None, True]]


def test_a_shared_run_reads_entries_of_three_four_and_five_without_damage(root: Path) -> None:
    for rank in (0, 1):
        run = turbotrack.init(project="p", id="s", settings={**NO_CAPTURE, "shared": True, "rank": rank})
        run.log({"loss": 1.0 + rank, "secret": rank})
        run.log({"loss": 0.5 + rank, "secret": rank})
        run.finish()
    run_dir = root / "turbotrack" / "local" / "p" / "s"
    (run_dir / "metrics.json").write_text(
        json.dumps([["loss", "min", None], ["secret", "max", None, None, True], ["x", None, None, None]])
    )
    r = turbotrack.Api().run("p/s")
    assert r.summary["loss"] == {"min": 0.5} and r.summary["secret"] == {"max": 1}
    assert r.damaged == []
    (run_dir / "metrics.json").write_text(json.dumps([["secret", "max", None, None, "yes"]]))
    with pytest.warns(UserWarning, match="metrics.json is damaged"):
        r = turbotrack.Api().run("p/s")
    assert [Path(p).name for p in r.damaged] == ["metrics.json"]


def test_the_server_run_detail_names_hidden_metrics_and_serves_their_data(root: Path) -> None:
    run_dir = _hidden_run()
    key = make_key(root, "local")[1]
    with ServerProc(root) as server:
        status, body, _ = raw(server.url, "GET", f"/api/v1/runs/local/p/{run_dir.name}", key=key)
        assert status == 200, body
        detail = json.loads(body)
        assert ["secret", None, None, None, True] in detail["metrics"]
        assert ["acc", "max", None, None, False] in detail["metrics"]
        assert "secret" in detail["keys"]["history"] and detail["summary"]["secret"] == 20
        status, body, _ = raw(
            server.url, "GET", f"/api/v1/runs/local/p/{run_dir.name}/history?keys=secret&each=1", key=key
        )
        assert status == 200, body
        assert json.loads(body)["keys"]["secret"]["columns"]["secret"] == [0, 10, 20]
