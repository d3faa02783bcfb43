"""The ``turbotrack import`` commands: find the sources, import each into a run with a progress bar
(sync's), leave runs already imported as they are, and name on stderr what could not be carried over."""

from __future__ import annotations

import functools
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, TextIO

from ..store import layout
from ..sync import Bar, Progress
from .writer import IMPORTED_FROM, existing_import


class ImportError_(Exception):
    """Nothing could be imported; ``hint`` says why."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass
class Outcome:
    imported: int = 0
    already: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)
    rows: int = 0


def _one(
    src: Path,
    rp: layout.RunPath,
    make: Callable[[], Any],
    bar: Bar,
    err: TextIO,
    outcome: Outcome,
) -> None:
    found = existing_import(rp.dir)
    if found is not None:
        if found:  # an import of this run (from here, or from a copy of the source elsewhere)
            outcome.already += 1
            err.write(f"{src}: already imported as {rp.path} (from {found.get('path')}); left as it is\n")
        else:
            outcome.failed.append((src, f"a run {rp.path} that is not an import of it already exists"))
            err.write(f"{src}: not imported: {rp.path} already exists and was not imported from it\n")
        return
    progress = Progress(rp.path)

    def update(done: int, total: int, rows: int) -> None:
        progress.total_bytes, progress.sent_bytes, progress.rows = total, done, rows
        bar.update(progress)

    job = make()
    out = job.run(update)
    progress.rows = out.rows
    progress.sent_bytes = progress.total_bytes
    bar.done(progress, f"imported from {src}")
    outcome.imported += 1
    outcome.rows += out.rows
    for what, n in out.lost.items():
        err.write(f"{rp.path}: not carried over: {what}{f' ({n} times)' if n > 1 else ''}\n")


def _summary(outcome: Outcome, what: str, t0: float, err: TextIO) -> int:
    total = outcome.imported + outcome.already + len(outcome.failed)
    err.write(
        f"imported {outcome.imported} of {total} {what} in {time.monotonic() - t0:.1f}s ({outcome.rows:,} rows)"
        f"{f'; {outcome.already} already imported' if outcome.already else ''}\n"
    )
    if outcome.failed:
        src, why = outcome.failed[0]
        err.write(f"error: {len(outcome.failed)} of {total} could not be imported ({src}: {why})\n")
        err.write("hint: fix or remove the run named above and import again (runs already imported are kept)\n")
        return 1
    return 0


def import_wandb(
    paths: list[Path], root: Path, entity: Optional[str], project: Optional[str], err: TextIO = sys.stderr
) -> int:
    from . import from_wandb, wandb_log

    wandb_log._pb()  # the wandb package is needed: ImportError before anything is written
    folders: list[Path] = []
    for p in paths:
        if not p.exists():
            raise ImportError_(f"{p} does not exist", "give wandb run folders (wandb/run-*) or the wandb/ folder")
        found = from_wandb.find_runs(p)
        if not found:
            raise ImportError_(
                f"{p} holds no wandb run (no run-<id>.wandb log in it, its run-* folders or wandb/)",
                "give wandb run folders (wandb/run-*, wandb/offline-run-*) or the wandb/ folder that holds them",
            )
        folders += [f for f in found if f not in folders]
    bar, outcome, t0 = Bar(err), Outcome(), time.monotonic()
    for folder in folders:
        try:
            rp = from_wandb.target(folder, root, entity, project)
            _one(folder, rp, functools.partial(from_wandb.WandbImport, folder, rp), bar, err, outcome)
        except Exception as e:  # one bad source never stops the others; named, no traceback
            outcome.failed.append((folder, _why(e)))
            err.write(f"{folder}: could not import: {_why(e)}\n")
    return _summary(outcome, "wandb runs", t0, err)


def import_tensorboard(
    logdir: Path, root: Path, entity: Optional[str], project: Optional[str], err: TextIO = sys.stderr
) -> int:
    from . import from_tensorboard

    from_tensorboard.tb()  # the tensorboard package is needed
    if not logdir.is_dir():
        raise ImportError_(f"{logdir} is not a folder", "give the logdir that TensorBoard was started on")
    folders = from_tensorboard.find_runs(logdir)
    if not folders:
        raise ImportError_(
            f"no event files (*tfevents*) under {logdir}", "give the logdir that TensorBoard was started on"
        )
    bar, outcome, t0 = Bar(err), Outcome(), time.monotonic()
    for folder in folders:
        try:
            rp, name = from_tensorboard.target(folder, logdir, root, entity, project)
            _one(folder, rp, functools.partial(from_tensorboard.TensorBoardImport, folder, rp, name), bar, err, outcome)
        except Exception as e:  # one bad source never stops the others; named, no traceback
            outcome.failed.append((folder, _why(e)))
            err.write(f"{folder}: could not import: {_why(e)}\n")
    return _summary(outcome, "TensorBoard runs", t0, err)


def _why(e: BaseException) -> str:
    return str(e) if isinstance(e, (OSError, ValueError)) and str(e) else f"{type(e).__name__}: {e}"


__all__ = ["IMPORTED_FROM", "ImportError_", "import_tensorboard", "import_wandb"]
