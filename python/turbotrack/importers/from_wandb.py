"""``turbotrack import wandb PATH...``: wandb run folders (``wandb/run-*``, ``wandb/offline-run-*``)
into turbotrack runs, read from their ``run-<id>.wandb`` transaction log (see :mod:`.wandb_log`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Optional

from ..store import layout
from . import wandb_log
from .writer import SOURCE_RUNTIME, SOURCE_TIMESTAMP, ImportedRun, Rich

#: wandb's system metric names → turbotrack's (capture/system.py); others keep wandb's name under ``system.``.
SYSTEM_NAMES = {
    "cpu": "system.cpu",
    "memory": "system.memory",
    "memory_percent": "system.memory",
    "proc.memory.rssMB": "system.proc.memory.rssMB",
    "proc.memory.percent": "system.proc.memory.percent",
    "proc.memory.availableMB": "system.proc.memory.availableMB",
    "proc.cpu.threads": "system.proc.cpu.threads",
    "network.sent": "system.network.sent",
    "network.recv": "system.network.recv",
    "disk.in": "system.disk.in",
    "disk.out": "system.disk.out",
}
_GPU = re.compile(r"^gpu\.(\d+)\.(.+)$")
_DISK_IO = re.compile(r"^disk\.[^.]+\.(in|out)$")
_DISK_USE = re.compile(r"^disk\.(.+)\.usagePercent$")
#: Files of wandb's ``files/`` folder and where they go in a turbotrack run (others go to ``files/``).
FILES = {
    "output.log": layout.OUTPUT,
    "requirements.txt": layout.REQUIREMENTS,
    "diff.patch": layout.DIFF,
}
#: Files of ``files/`` whose content the import takes from the log instead (or builds from it).
_FROM_LOG = {"wandb-metadata.json", "wandb-summary.json", "config.yaml"}
_GOALS = {1: "minimize", 2: "maximize"}


def is_run_folder(path: Path) -> bool:
    return path.is_dir() and any(path.glob("run-*.wandb"))


def find_runs(path: Path) -> list[Path]:
    """The wandb run folders at ``path``: the folder itself, the run folders in it (a ``wandb/``
    folder), or those of its ``wandb/`` subfolder."""
    if is_run_folder(path):
        return [path]
    for base in (path, path / "wandb"):
        if base.is_dir():
            found = sorted(
                p for p in base.iterdir() if p.name.startswith(("run-", "offline-run-")) and is_run_folder(p)
            )
            if found:
                return found
    return []


def _identity(folder: Path) -> wandb_log.WandbRun:
    """The run's identity from the first records of its log (the run record comes early)."""
    run = wandb_log.WandbRun()
    for r in wandb_log.records(wandb_log.log_path(folder)):
        if r.WhichOneof("record_type") == "run":
            wandb_log._read_run_record(run, r.run)
            break
    if not run.id:
        run.id = wandb_log.log_path(folder).stem[len("run-") :]
    return run


def target(folder: Path, root: Path, entity: Optional[str], project: Optional[str]) -> layout.RunPath:
    who = _identity(folder)
    return layout.RunPath(root, entity or who.entity or "local", project or who.project or "uncategorized", who.id)


class WandbImport:
    """One wandb run folder → one turbotrack run at ``rp``."""

    def __init__(self, folder: Path, rp: layout.RunPath) -> None:
        self.folder = folder
        self.rp = rp
        self.out: Optional[ImportedRun] = None
        self.files_dir = folder / "files"

    def run(self, on_progress: Optional[Callable[[int, int, int], None]] = None) -> ImportedRun:
        progress = None
        if on_progress is not None:
            progress = lambda done, total: on_progress(done, total, self.out.rows if self.out else 0)  # noqa: E731
        try:
            src = wandb_log.read_run(self.folder, on_row=self._row, on_progress=progress)
            out = self._writer(src)
            self._finish(src, out)
        except BaseException:
            if self.out is not None:
                self.out.abort()
            raise
        return out

    def _writer(self, src: wandb_log.WandbRun) -> ImportedRun:
        if self.out is None:
            source = {"tool": "wandb", "path": str(self.folder.resolve()), "id": src.id}
            self.out = ImportedRun(self.rp, source, src.start_time)
        return self.out

    def _row(self, src: wandb_log.WandbRun, row: dict[str, Any]) -> None:
        out = self.out or self._writer(src)
        step = row.pop("_step", None)
        if not isinstance(step, int):
            out.lost["a history row without an integer _step"] += 1
            return
        ts = row.pop("_timestamp", None)
        rt = row.pop("_runtime", None)
        for key, value in row.items():
            if value.__class__ is dict:
                row[key] = Rich(self.media(out, key, step, value))
        if ts is not None:
            row[SOURCE_TIMESTAMP] = ts
        if rt is not None:
            row[SOURCE_RUNTIME] = rt
        out.log(row, step)

    def media(self, out: ImportedRun, key: str, step: int, value: dict[str, Any]) -> dict[str, Any]:
        """A wandb media value with its file copied into the run (turbotrack's media JSON is wandb's)."""
        value = dict(value)
        path = value.get("path")
        if isinstance(path, str):
            rel = self._copy(out, path, key, step)
            if rel is None:
                out.lost[f"media file {path} of {key!r} (missing from files/)"] += 1
            else:
                value["path"] = rel
        names = value.get("filenames")
        if value.get("_type") == "images/separated" and isinstance(names, list):
            items = []
            for i, name in enumerate(names):
                rel = self._copy(out, str(name), f"{key}.{i}", step)
                if rel is None:
                    out.lost[f"media file {name} of {key!r} (missing from files/)"] += 1
                else:
                    items.append({"_type": "image-file", "path": rel})
            value["items"] = items
        return value

    def _copy(self, out: ImportedRun, path: str, key: str, step: int) -> Optional[str]:
        base = self.files_dir.resolve()
        src = (base / path).resolve()
        if base not in src.parents or not src.is_file():
            return None
        parts = Path(path).parts
        kind = parts[1] if len(parts) > 2 and parts[0] == "media" else "files"
        return out.copy_media(src, kind, key, step)

    def _finish(self, src: wandb_log.WandbRun, out: ImportedRun) -> None:
        out.write_json(layout.CONFIG, src.config)
        defs = self._metrics(src)
        if defs:
            out.write_json(layout.METRICS, defs)
        self._system(src, out)
        self._files(src, out)
        self._metadata(src, out)
        if src.alerts:
            alerts = [
                {"title": a.title, "text": a.text, "level": _alert_level(a.level), "time": src.start_time}
                for a in src.alerts
            ]
            out.write_json(layout.ALERTS, alerts)
        for kind, n in src.unread.items():
            out.lost[
                f"{n} '{kind}' record(s) of the log (not imported: turbotrack has no such thing to hold them)"
            ] += 1
        summary = self._summary(src, out, out.keys)
        if src.exit_code is None:
            state = "crashed"
        else:
            state = "failed" if src.exit_code else "finished"
        end = None
        if src.start_time is not None:
            runtime = src.runtime if src.runtime is not None else summary.get("_runtime")
            end = src.start_time + float(runtime) if isinstance(runtime, (int, float)) else None
        out.finish(
            {
                "name": src.name or src.id,
                "group": src.group or None,
                "job_type": src.job_type or None,
                "tags": list(src.tags),
                "notes": src.notes or None,
                "state": state,
                "exit_code": src.exit_code,
                "end_time": end,
                "host": src.host or None,
            },
            summary if src.summary else None,  # no summary record: keep the one the core folded from history
        )

    def _metrics(self, src: wandb_log.WandbRun) -> list[list[Any]]:
        """metrics.json from the define_metric records: [name, summary, objective, step_metric, hidden] each."""
        defs: dict[str, list[Any]] = {}
        for m in src.metrics:
            name = m.name or m.glob_name
            if not name or m.expanded_from_glob:
                continue
            words = [w for w in ("min", "max", "mean", "first", "last", "best", "none") if getattr(m.summary, w)]
            hidden = bool(m.options.hidden) if m.HasField("options") else False
            defs[name] = [name, ",".join(words) or None, _GOALS.get(m.goal), m.step_metric or None, hidden]
        return list(defs.values())

    def _system(self, src: wandb_log.WandbRun, out: ImportedRun) -> None:
        for row in src.system:
            mapped: dict[str, Any] = {}
            uses = [k for k in row if _DISK_USE.match(k)]
            for key, value in row.items():
                if key == "_timestamp":
                    mapped[SOURCE_TIMESTAMP] = value
                    if src.start_time is not None:
                        mapped[SOURCE_RUNTIME] = value - src.start_time
                    continue
                gpu = _GPU.match(key)
                name = SYSTEM_NAMES.get(key) or (f"system.gpu.{gpu[1]}.{gpu[2]}" if gpu else None)
                if name is None and len(uses) == 1 and key == uses[0]:
                    name = "system.disk"
                io = _DISK_IO.match(key)
                if io and isinstance(value, (int, float)):
                    total = f"system.disk.{io[1]}"
                    mapped[total] = mapped.get(total, 0.0) + value
                mapped[name or f"system.{key}"] = value
            out.system(mapped)

    def _files(self, src: wandb_log.WandbRun, out: ImportedRun) -> None:
        files = self.files_dir
        have_output = False
        if files.is_dir():
            for p in sorted(files.rglob("*")):
                if not p.is_file() or p.is_symlink():
                    continue
                rel = p.relative_to(files).as_posix()
                if rel.startswith("media/") or rel in _FROM_LOG:
                    continue
                dest = FILES.get(rel)
                out.copy_file(p, dest or f"{layout.FILES_DIR}/{rel}")
                have_output = have_output or dest == layout.OUTPUT
        if src.output and not have_output:
            (out.dir / layout.OUTPUT).write_text("".join(text for _stream, text in src.output))

    def _metadata(self, src: wandb_log.WandbRun, out: ImportedRun) -> None:
        meta: dict[str, Any] = {}
        given = self.files_dir / "wandb-metadata.json"
        if given.is_file():
            try:
                meta = json.loads(given.read_text())
            except ValueError:
                out.lost["files/wandb-metadata.json (not JSON)"] += 1
        env = {**meta, **src.environment}
        git: dict[str, Any] = env["git"] if isinstance(env.get("git"), dict) else {}
        gpus = [g.get("name") for g in env.get("gpu_nvidia") or [] if isinstance(g, dict)]
        if not gpus and env.get("gpu"):
            gpus = [env["gpu"]] * int(env.get("gpu_count") or 1)
        if not gpus and env.get("gpu_type"):
            gpus = [env["gpu_type"]] * int(env.get("gpu_count") or 1)
        out.write_json(
            layout.METADATA,
            {
                "os": env.get("os"),
                "python": env.get("python"),
                "host": env.get("host") or src.host or None,
                "executable": env.get("executable"),
                "program": env.get("program") or env.get("code_path"),
                "args": list(env.get("args") or []),
                "cwd": env.get("root"),
                "startedAt": env.get("started_at") or env.get("startedAt"),
                "git": {
                    "commit": git.get("commit"),
                    "branch": git.get("branch"),
                    "remote": git.get("remote_url") or git.get("remote"),
                },
                "cpu_count": env.get("cpu_count"),
                "cpu_count_logical": env.get("cpu_count_logical"),
                "memory": env.get("memory"),
                "gpu": gpus,
                "gpu_count": len(gpus),
                "wandb": env,
            },
        )

    def _summary(self, src: wandb_log.WandbRun, out: ImportedRun, logged: set[str]) -> dict[str, Any]:
        """The source's final summary as turbotrack keeps it: a logged nested metric under its dotted
        name (``nest.a``, as log() flattens it), a hand-set value as the source has it, media
        pointing at the run's copies."""
        step = src.summary.get("_step")
        step = step if isinstance(step, int) else 0
        summary: dict[str, Any] = {}

        def walk(tree: dict[str, Any], prefix: str) -> None:
            for k, v in tree.items():
                name = prefix + k
                if isinstance(v, dict) and "_type" in v:
                    summary[name] = self.media(out, name, step, v)
                elif isinstance(v, dict) and v and name not in logged and any(x.startswith(name + ".") for x in logged):
                    walk(v, name + ".")
                else:
                    summary[name] = v

        walk(src.summary, "")
        return summary


def _alert_level(level: str) -> str:
    return str(level or "INFO").upper()
