"""Artifacts: versions, aliases, content-addressed storage, use and download, Api().artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import turbotrack
from turbotrack.artifacts import sha256_file


def blobs(root: Path) -> list[Path]:
    return [p for p in (root / "turbotrack/local/tests/artifacts/.blobs").rglob("*") if p.is_file()]


def test_round_trip_versions_aliases_and_dedup(new_run, root, tmp_path):
    src = tmp_path / "data"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    run = new_run(id="producer")
    art = turbotrack.Artifact("ds", "dataset", description="d", metadata={"rows": 2})
    art.add_dir(str(src))
    with art.new_file("notes/readme.md", mode="w") as fh:
        fh.write("hello")
    logged = run.log_artifact(art, aliases=["first"])
    assert logged is art and art.name == "ds:v0" and art.version == "v0"
    assert art.aliases == ["first", "latest"] and art.qualified_name == "local/tests/ds:v0"
    with pytest.raises(ValueError, match="logged"):
        art.add_file(str(src / "a.txt"), name="again.txt")

    # the same files again: no new version, the alias is added to v0
    same = turbotrack.Artifact("ds", "dataset")
    same.add_dir(str(src))
    with same.new_file("notes/readme.md", mode="w") as fh:
        fh.write("hello")
    assert run.log_artifact(same, aliases=["again"]).version == "v0"

    # one file changed: v1, and only the changed content is stored anew
    (src / "a.txt").write_text("ALPHA")
    changed = turbotrack.Artifact("ds", "dataset")
    changed.add_dir(str(src))
    with changed.new_file("notes/readme.md", mode="w") as fh:
        fh.write("hello")
    run.log_artifact(changed, aliases=["first"])  # the alias moves to v1
    assert changed.version == "v1"
    assert len(blobs(root)) == 4  # alpha, ALPHA, beta, hello
    run.finish()

    consumer = new_run(id="consumer")
    v0 = consumer.use_artifact("ds:again")
    assert v0.version == "v0" and v0.aliases == ["again"] and v0.metadata == {"rows": 2} and v0.description == "d"
    got = Path(v0.download(str(tmp_path / "out0")))
    assert (got / "a.txt").read_text() == "alpha" and (got / "sub" / "b.txt").read_text() == "beta"
    assert (got / "notes" / "readme.md").read_text() == "hello"
    latest = consumer.use_artifact("tests/ds:first", type="dataset")
    assert latest.version == "v1" and sorted(latest.aliases) == ["first", "latest"]
    assert (Path(latest.download(str(tmp_path / "out1"))) / "a.txt").read_text() == "ALPHA"
    with pytest.raises(ValueError, match="type"):
        consumer.use_artifact("ds:latest", type="model")
    with pytest.raises(ValueError, match="no version or alias"):
        consumer.use_artifact("ds:nope")
    consumer.finish()

    api = turbotrack.Api()
    assert api.artifact("local/tests/ds:v1").get_entry("a.txt").digest == sha256_file(src / "a.txt")
    assert [a.version for a in api.artifact_versions("dataset", "tests/ds")] == ["v0", "v1"]
    assert [a.version for a in api.run("tests/producer").logged_artifacts()] == ["v0", "v1"]
    assert [a.name for a in api.run("tests/consumer").used_artifacts()] == ["ds:v0", "ds:v1"]
    records = json.loads((Path(api.run("tests/consumer").dir) / "artifacts.json").read_text())
    assert [r["action"] for r in records] == ["used", "used"]


def test_mutable_and_immutable_files(new_run, tmp_path):
    f = tmp_path / "weights.bin"
    f.write_bytes(b"one")
    mutable = turbotrack.Artifact("m", "model")
    mutable.add_file(str(f), name="w.bin")
    f.write_bytes(b"two")  # copied at add time: the artifact keeps "one"
    run = new_run()
    run.log_artifact(mutable)
    assert (Path(mutable.download(str(tmp_path / "d"))) / "w.bin").read_bytes() == b"one"
    immutable = turbotrack.Artifact("m2", "model")
    immutable.add_file(str(f), policy="immutable")
    f.write_bytes(b"three")
    with pytest.raises(ValueError, match="changed after it was added"):
        run.log_artifact(immutable)


def test_references_and_paths(new_run, tmp_path):
    f = tmp_path / "big.csv"
    f.write_text("1,2\n")
    art = turbotrack.Artifact("refs", "dataset")
    (entry,) = art.add_reference(f.as_uri())
    art.add_reference("s3://bucket/key.parquet")
    run = new_run()
    run.log_artifact(art)
    assert entry.digest == sha256_file(f)
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError, match="s3://"):
        art.download(str(out))
    with pytest.warns(UserWarning, match="s3://"):
        art.download(str(out), allow_missing_references=True)
    assert (out / "big.csv").read_text() == "1,2\n"
    # a path instead of an Artifact: a new one named after the run and the file
    path_art = run.log_artifact(str(f), type="dataset")
    assert path_art.name == f"run-{run.id}-big.csv:v0" and path_art.type == "dataset"
    with pytest.raises(ValueError, match="name"):
        turbotrack.Artifact("bad/name", "model")
    with pytest.raises(ValueError, match="inside an artifact"):
        turbotrack.Artifact("x", "model").new_file("../escape").__enter__()


def test_table_in_an_artifact(new_run):
    run = new_run()
    art = turbotrack.Artifact("tab", "dataset")
    art.add(turbotrack.Table(columns=["a"], data=[[1], [2]]), "scores")
    run.log_artifact(art)
    got = run.use_artifact("tab:latest").get("scores")
    assert got.columns == ["a"] and got.data == [[1], [2]]


@pytest.mark.parametrize("bad", ["../../x/name:latest", "e/../name", "e/p/name:../../v0", "e/p/.hidden"])
def test_artifact_paths_cannot_leave_the_storage_root(root, bad):
    with pytest.raises(ValueError, match=r"not a valid name|not an artifact path"):
        turbotrack.Api(dir=root).artifact(bad)


def test_the_remote_store_answers_artifacts_as_the_local_one(new_run, root, tmp_path):
    """Synced to a real server, the same versions, aliases and bytes come back through
    ``Api(base_url=...)`` (RemoteStore) as through ``Api()`` (LocalStore)."""
    import subprocess
    import sys

    from serverkit import ServerProc, make_key

    src = tmp_path / "f.txt"
    run = new_run(id="maker")
    for text in ("one", "two"):
        src.write_text(text)
        art = turbotrack.Artifact("weights", "model")
        art.add_file(str(src))
        run.log_artifact(art, aliases=[f"is-{text}"])
    run.finish()
    srv = ServerProc(tmp_path / "server")
    key = make_key(tmp_path / "server", "local")[1]
    srv.start()
    try:
        cmd = [sys.executable, "-m", "turbotrack", "sync", str(root), "--base-url", srv.url, "--api-key", key]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        local, remote = turbotrack.Api(dir=root), turbotrack.Api(base_url=srv.url, api_key=key)
        for api in (local, remote):
            versions = api.artifact_versions("model", "tests/weights")
            assert [(a.version, a.aliases) for a in versions] == [("v0", ["is-one"]), ("v1", ["is-two", "latest"])]
            assert api.artifact_versions("dataset", "tests/weights") == []
            got = Path(api.artifact("tests/weights:is-one").download(str(tmp_path / f"out-{id(api)}")))
            assert (got / "f.txt").read_text() == "one"
    finally:
        assert srv.stop() == 0
