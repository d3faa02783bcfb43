"""The object store's write path in process (server/replica.py): two replicas (ObjectIngest, each with
its own cache folder) over one database and one object store (a shared folder, ``file://``): appends
through both at once are taken once each, in order, never interleaved or doubled; each replica's cache
reads back what the database holds; a run deleted through one is dropped by the other.

The same through real server processes, S3 (moto) and PostgreSQL is tests/test_replicas.py."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import drop_postgres_schema, postgres_schema_url

from turbotrack.server.db import Database
from turbotrack.server.ingest import IngestError, part_name
from turbotrack.server.objects import Objects, StoreError
from turbotrack.server.replica import COMPACT_AT, ObjectIngest
from turbotrack.store import layout


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.sqlite'}"
        return
    url = postgres_schema_url("replica_commit")
    try:
        yield url
    finally:
        drop_postgres_schema(url)


@pytest.fixture
def replicas(db_url: str, tmp_path: Path) -> Iterator[list[ObjectIngest]]:
    store = f"file://{tmp_path / 'bucket'}"
    made: list[tuple[ObjectIngest, Database]] = []
    for name in ("a", "b"):
        db = Database(db_url, "index")
        made.append((ObjectIngest(tmp_path / name, db, Objects(store)), db))
    try:
        yield [r for r, _ in made]
    finally:
        for r, db in made:
            r.close()
            db.close()


def _run_dir(ing: ObjectIngest) -> Path:
    return ing.root / "ent" / "proj" / "run1"


def test_concurrent_appends_through_two_replicas_are_taken_once_each_in_order(replicas: list[ObjectIngest]) -> None:
    a, b = replicas
    lines_per_writer, writers = 40, 6
    conflicts = [0]
    count_lock = threading.Lock()

    def writer(k: int) -> None:
        ing = replicas[k % 2]
        path = _run_dir(ing) / layout.OUTPUT
        size, _ = ing.held(path, layout.APPEND)
        for j in range(lines_per_writer):
            body = f"writer {k} line {j}\n".encode()
            while True:  # as a client does: append at the length held, on 409 go on from the length answered
                try:
                    size = ing.append(path, layout.APPEND, size, body)
                    break
                except IngestError as e:
                    assert e.status == 409 and e.size is not None
                    size = e.size
                    with count_lock:
                        conflicts[0] += 1

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    for ing in (a, b):
        run = _run_dir(ing)
        assert ing.pull(run)
        text = (run / layout.OUTPUT).read_text()
        lines = text.splitlines()
        assert len(lines) == writers * lines_per_writer  # nothing lost, nothing doubled
        for k in range(writers):  # each writer's lines once, in its order
            assert [ln for ln in lines if ln.startswith(f"writer {k} ")] == [
                f"writer {k} line {j}" for j in range(lines_per_writer)
            ]
    assert (_run_dir(a) / layout.OUTPUT).read_bytes() == (_run_dir(b) / layout.OUTPUT).read_bytes()
    assert conflicts[0] > 0  # the writers did race for the same offsets


def test_a_stale_offset_gets_the_length_and_hash_held(replicas: list[ObjectIngest]) -> None:
    a, b = replicas
    pa, pb = _run_dir(a) / layout.OUTPUT, _run_dir(b) / layout.OUTPUT
    assert a.append(pa, layout.APPEND, 0, b"first\n") == 6
    with pytest.raises(IngestError) as got:
        b.append(pb, layout.APPEND, 0, b"other\n")  # b's cache has nothing yet: the database refuses
    assert got.value.status == 409 and got.value.size == 6
    assert got.value.extra["sha256"] == hashlib.sha256(b"first\n").hexdigest()
    assert b.append(pb, layout.APPEND, 6, b"second\n") == 13
    assert a.held(pa, layout.APPEND) == (13, hashlib.sha256(b"first\nsecond\n").hexdigest())
    assert pa.read_bytes() == b"first\nsecond\n"


def test_whole_files_follow_the_newest_version_and_a_deleted_run_leaves_every_cache(
    replicas: list[ObjectIngest],
) -> None:
    a, b = replicas
    ra, rb = _run_dir(a), _run_dir(b)
    a.replace(ra / layout.RUN, b'{"id": "run1"}')
    a.replace(ra / layout.SUMMARY, b'{"loss": 1}')
    assert b.pull(rb)
    assert (rb / layout.SUMMARY).read_bytes() == b'{"loss": 1}'
    b.replace(rb / layout.SUMMARY, b'{"loss": 0.5}')
    a.pull(ra)
    assert (ra / layout.SUMMARY).read_bytes() == b'{"loss": 0.5}'
    assert a.signature("ent/proj/run1") == b.signature("ent/proj/run1")

    a.forget(ra)
    assert not b.pull(rb)
    assert not rb.exists()  # dropped from b's cache: the run is gone from the store


def test_a_whole_file_in_one_put_is_checked_stored_and_leaves_no_part(replicas: list[ObjectIngest]) -> None:
    """The one-request path of put_part (a live run's summary.json): a wrong hash is a 400 and
    stores nothing; a right one is the other replica's at once; an earlier upload's part is gone."""
    a, b = replicas
    ra, rb = _run_dir(a), _run_dir(b)
    a.replace(ra / layout.RUN, b'{"id": "run1"}')
    body = b'{"loss": 0.25}'
    digest = hashlib.sha256(body).hexdigest()
    broken = hashlib.sha256(b"x" * 100).hexdigest()
    a.put_part(ra / layout.SUMMARY, 0, b'{"lo', 100, broken)  # an upload that stopped part way
    assert (ra / part_name(layout.SUMMARY, broken)).exists()
    with pytest.raises(IngestError) as err:
        a.put_part(ra / layout.SUMMARY, 0, body, len(body), "0" * 64)
    assert err.value.status == 400
    assert b.pull(rb) and not (rb / layout.SUMMARY).exists()
    assert a.put_part(ra / layout.SUMMARY, 0, body, len(body), digest) == len(body)
    assert sorted(p.name for p in ra.iterdir()) == sorted([layout.RUN, layout.SUMMARY])  # no part left
    assert (ra / layout.SUMMARY).read_bytes() == body
    assert b.pull(rb) and (rb / layout.SUMMARY).read_bytes() == body
    assert a.signature("ent/proj/run1") == b.signature("ent/proj/run1")


def test_the_cache_never_claims_a_folder_of_runs(tmp_path: Path, db_url: str) -> None:
    root = tmp_path / "runs"
    run = root / "ent" / "proj" / "abc"
    run.mkdir(parents=True)
    (run / layout.RUN).write_text('{"id": "abc"}')
    db = Database(db_url, "index")
    try:
        with pytest.raises(StoreError, match="holds runs"):
            ObjectIngest(root, db, Objects(f"file://{tmp_path / 'bucket'}"))
    finally:
        db.close()


def test_small_segments_merge_and_a_fresh_replica_reads_the_same_bytes(
    replicas: list[ObjectIngest], db_url: str, tmp_path: Path
) -> None:
    a, _ = replicas
    path = _run_dir(a) / layout.OUTPUT
    size = 0
    for j in range(COMPACT_AT + 6):
        size = a.append(path, layout.APPEND, size, f"line {j}\n".encode())
    expected = path.read_bytes()
    assert len(a._segments("ent/proj/run1", layout.OUTPUT)) == COMPACT_AT + 6
    a.compact(path, "ent/proj/run1", layout.OUTPUT)
    assert len(a._segments("ent/proj/run1", layout.OUTPUT)) == 1  # merged (by this call, or a pull's before it)
    assert a.append(path, layout.APPEND, size, b"after\n") == size + 6

    db = Database(db_url, "index")
    c = ObjectIngest(tmp_path / "c", db, Objects(f"file://{tmp_path / 'bucket'}"))
    try:
        assert c.pull(_run_dir(c))
        assert (_run_dir(c) / layout.OUTPUT).read_bytes() == expected + b"after\n"
    finally:
        c.close()
        db.close()


def test_the_sweep_deletes_only_objects_no_row_names(replicas: list[ObjectIngest], tmp_path: Path) -> None:
    a, _ = replicas
    path = _run_dir(a) / layout.OUTPUT
    size = 0
    for j in range(COMPACT_AT + 2):
        size = a.append(path, layout.APPEND, size, f"line {j}\n".encode())
    a.replace(_run_dir(a) / layout.SUMMARY, b'{"v": 1}')
    a.replace(_run_dir(a) / layout.SUMMARY, b'{"v": 2}')  # the first version's pack is named no more
    a.compact(path, "ent/proj/run1", layout.OUTPUT)
    a.objects.put("packs/orphan", b"a pack a killed replica never committed")
    assert a.sweep(older_than=3600) == 0  # all young
    before = {k for k, _ in a.objects.list("")}
    gone = a.sweep(older_than=-1)
    after = {k for k, _ in a.objects.list("")}
    assert "packs/orphan" in before - after and gone == len(before - after) >= COMPACT_AT
    c_root = tmp_path / "c"
    db = Database(a.db.url, "index")
    c = ObjectIngest(c_root, db, Objects(a.objects.url))
    try:  # what is left reads whole
        assert c.pull(_run_dir(c))
        assert (_run_dir(c) / layout.OUTPUT).read_bytes() == path.read_bytes()
        assert (_run_dir(c) / layout.SUMMARY).read_bytes() == b'{"v": 2}'
    finally:
        c.close()
        db.close()


def test_a_pooled_connection_the_database_dropped_is_replaced_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections idle in the pool longer than IDLE_CHECK are checked before use: one that
    PostgreSQL terminated meanwhile is replaced, and the query after it succeeds."""
    import turbotrack.server.db as dbmod

    url = postgres_schema_url("pool_check")
    try:
        db = Database(url, "index")
        try:
            assert db.query("SELECT 1") == [(1,)]
            mine = db.query("SELECT pg_backend_pid()")[0][0]
            monkeypatch.setattr(dbmod, "IDLE_CHECK", 0.0)  # every connection counts as idle
            admin = Database(url, "index")
            try:
                assert admin.query("SELECT pg_terminate_backend(?)", (mine,)) == [(True,)]
            finally:
                admin.close()
            assert db.query("SELECT 2") == [(2,)]
            assert db.query("SELECT pg_backend_pid()")[0][0] != mine
        finally:
            db.close()
    finally:
        drop_postgres_schema(url)


def test_one_batch_of_many_runs_appends_and_summaries_is_what_each_alone_would_be(
    replicas: list[ObjectIngest],
) -> None:
    """A lane's batch (one commit): each run's append and its summary sent whole, a file with two
    appends, a stale offset, a summary replacing an earlier one; each item's answer is what it
    would have been alone, and the other replica reads the same bytes."""
    a, b = replicas
    dirs = [a.root / "ent" / "proj" / f"r{k}" for k in range(6)]
    a.append(dirs[2] / layout.OUTPUT, layout.APPEND, 0, b"held\n")
    a.replace(dirs[3] / layout.SUMMARY, b'{"old": 1}')
    items, want = [], []
    for k, d in enumerate(dirs):
        line = f"log of {k}\n".encode()
        at = 5 if k == 2 else 0
        items.append(a.append_item(d / layout.OUTPUT, layout.APPEND, at, line))
        want.append((at + len(line), False))
        summary = f'{{"k": {k}}}'.encode()
        items.append(a.whole_item(d / layout.SUMMARY, summary))
        want.append((len(summary), False))
    items.append(a.append_item(dirs[0] / layout.OUTPUT, layout.APPEND, len(b"log of 0\n"), b"more\n"))  # its 2nd
    want.append((len(b"log of 0\nmore\n"), False))
    items.append(a.append_item(dirs[4] / layout.OUTPUT, layout.APPEND, 0, b"stale\n"))  # 4's other item is at 0
    want.append((len(b"log of 4\n"), True))
    alone: list[str] = []  # items recorded one by one: only those sharing a file with another
    real = a.committer._apply
    a.committer._apply = lambda tx, it, *rest: alone.append(it.dir) or real(tx, it, *rest)  # type: ignore[method-assign]
    a.committer.commit(items)
    assert [(it.result, it.conflict) for it in items] == want
    assert sorted(alone) == ["ent/proj/r0", "ent/proj/r0", "ent/proj/r4", "ent/proj/r4"]  # the rest in runs
    for it, d in zip(items, [d for d in dirs for _ in (0, 1)]):
        if not it.conflict and it.offset is None:
            a.put_whole(d / layout.SUMMARY, it)
    for k in range(len(dirs)):
        rb = b.root / "ent" / "proj" / f"r{k}"
        assert b.pull(rb)
        expect = {0: b"log of 0\nmore\n", 2: b"held\nlog of 2\n"}.get(k, f"log of {k}\n".encode())
        assert (rb / layout.OUTPUT).read_bytes() == expect, k
        assert (rb / layout.SUMMARY).read_bytes() == f'{{"k": {k}}}'.encode(), k
        assert a.signature(f"ent/proj/r{k}") == b.signature(f"ent/proj/r{k}")
