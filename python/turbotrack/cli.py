"""The command line: ``turbotrack ls``, ``verify``, ``run``, ``bench``, ``import``, ... Data goes to stdout, messages to
stderr; a failure prints ``error:`` and a ``hint:`` from its actual cause (:func:`explain`, the one mapping
from exceptions to messages) and exits non-zero, never with a traceback."""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Any, NoReturn, Optional, Sequence

from . import _core
from .api import Api
from .errors import CommError, ServerError, UsageError
from .settings import ENV
from .store.layout import storage_root
from .store.local import HISTORY_GLOB, SYSTEM_GLOB, LocalRun, list_runs

DEBUG_ENV = "TURBOTRACK_DEBUG"  # set: an unexpected error shows its traceback too


class CliError(UsageError):
    """A command that cannot do what it was asked, with what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message, hint=hint)


#: What to do about an OSError, by errno.
_ERRNO_HINTS = {
    errno.ENOENT: "check the path: it does not exist",
    errno.ENOTDIR: "check the path: a part of it is a file, not a folder",
    errno.EISDIR: "check the path: it is a folder, not a file",
    errno.EACCES: "check the files' permissions (or run as a user who may write there)",
    errno.EPERM: "check the files' permissions (or run as a user who may write there)",
    errno.EROFS: "that file system is read-only: pass --dir on a writable one",
    errno.ENOSPC: "the disk is full: free some space (or pass --dir on another disk)",
    errno.EDQUOT: "the disk quota is used up: free some space (or pass --dir on another disk)",
    errno.EMFILE: "too many open files: raise the limit ('ulimit -n')",
    errno.EADDRINUSE: "another program listens on that port: pick another --port (0 picks a free one), or stop it",
    errno.EADDRNOTAVAIL: "that address is not this machine's: pass a --host it has (127.0.0.1, 0.0.0.0)",
}


def explain(e: BaseException) -> tuple[str, str]:
    """The ``error:`` and ``hint:`` lines for an exception, from its actual cause: the error's own
    hint (turbotrack's errors carry one), else its HTTP status, errno or type."""
    hint = getattr(e, "hint", "")
    if isinstance(e, (UsageError, CommError)) or hint:
        return str(e), hint or "see 'turbotrack --help'"
    if isinstance(e, socket.gaierror):
        return f"cannot resolve the host name: {e.strerror or e}", "check the host name (or pass an IP address)"
    if isinstance(e, OSError):
        where = f": {e.filename}" if e.filename else ""
        what = f"{e.strerror}{where}" if e.strerror else str(e)
        return what, _ERRNO_HINTS.get(e.errno or 0, "check the path and the files' permissions")
    if isinstance(e, _core.Error):
        return str(e), "a run's files may be damaged: 'turbotrack verify RUN' shows what can be read"
    if isinstance(e, ValueError):
        return str(e), "check the arguments (see 'turbotrack COMMAND --help')"
    return (
        f"unexpected {type(e).__name__}: {e}",
        f"this is a bug in turbotrack: run again with {DEBUG_ENV}=1 for the traceback, and report it",
    )


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def cmd_ls(args: argparse.Namespace) -> int:
    root = storage_root(args.dir)
    if not root.is_dir():
        raise CliError(
            f"no runs under {root}",
            f"run from the folder that holds 'turbotrack/', or pass --dir (or set ${ENV['dir']})",
        )
    if args.project:
        bits = args.project.strip("/").split("/")
        projects = [root / bits[0] / bits[1]] if len(bits) == 2 else sorted(root.glob(f"*/{bits[0]}"))
    else:
        projects = sorted(p for e in root.iterdir() if e.is_dir() for p in e.iterdir() if p.is_dir())
    # A damaged file of one run is named on stderr; that run shows as it can, the others as usual.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runs = list_runs(projects, {}, "-created_at")
        rows = [_run_row(r) for r in runs]
    for w in dict.fromkeys(str(w.message) for w in caught):
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not runs:
        print(f"no runs{' in ' + args.project if args.project else ''} under {root}", file=sys.stderr)
        return 0
    header = ["path", "name", "state", "steps", "created", "summary"]
    table = [[r["path"], r["name"], r["state"], str(r["steps"]), r["created"], r["summary"]] for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(header[:-1])]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  " + header[-1])
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths)) + "  " + t[-1])
    return 0


def _run_row(r: LocalRun) -> dict[str, Any]:
    summary = dict(r.summary)
    steps = summary.get("_step")
    shown = [f"{k}={_fmt(v)}" for k, v in summary.items() if not k.startswith("_")][:4]
    return {
        "path": r.path,
        "id": r.id,
        "name": r.name,
        "state": r.state,
        "steps": steps + 1 if isinstance(steps, int) else 0,
        "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)) if r.created_at else "",
        "summary": " ".join(shown),
    }


def _resolve_run_dir(path: str, dir: Optional[str]) -> Path:
    """A run folder given as such, or as a run path that Api understands."""
    if Path(path).is_dir():
        return Path(path)
    try:
        return Path(Api(dir=storage_root(dir).parent).run(path).dir)
    except ValueError:
        raise CliError(
            f"no run at {path!r}",
            f"give a run folder, or entity/project/run_id as 'turbotrack ls' lists it (storage: {storage_root(dir)})",
        ) from None


def cmd_verify(args: argparse.Namespace) -> int:
    run_dir = _resolve_run_dir(args.run_path, args.dir)
    files = sorted(run_dir.glob(HISTORY_GLOB)) + sorted(run_dir.glob(SYSTEM_GLOB))
    if not files:
        raise CliError(f"{run_dir} holds no history files", "is this a turbotrack run folder?")
    bad = 0
    for f in files:
        try:
            r = _core.verify_file(f)
        except _core.Error as e:
            print(f"{f.name}: DAMAGED: {e}")
            bad += 1
            continue
        status = "DAMAGED" if r["damaged"] else "TORN TAIL" if r["torn"] is not None else "ok"
        print(
            f"{f.name}: {status}: {r['blocks']} blocks, {r['rows']} rows, "
            f"{r['valid_bytes']}/{r['file_bytes']} bytes readable"
        )
        for start, end, why in r["damaged"]:
            print(f"  damaged bytes {start}-{end} ({end - start} bytes, skipped; whole blocks after them read): {why}")
        if r["torn"]:
            print(f"  torn tail {r['torn']}")
        if r["damaged"] or r["torn"]:
            bad += 1
    state = LocalRun(run_dir).state
    print(f"run state: {state}")
    return 1 if bad else 0


def cmd_bench(args: argparse.Namespace, rest: Sequence[str]) -> int:
    from .bench import main as bench_main

    return bench_main(list(rest))


def cmd_run(args: argparse.Namespace) -> int:
    """Run COMMAND with ``import wandb`` giving turbotrack (in it and every Python process it starts)."""
    import os

    from .compat import child_env

    command = list(args.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise CliError("run needs a command", "turbotrack run -- python train.py")
    env = child_env()
    if args.dir:
        env[ENV["dir"]] = str(Path(args.dir).resolve())
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as e:
        raise CliError(
            f"cannot run {command[0]!r}: {e.strerror}", "check that the command exists and is on PATH"
        ) from None
    return 0  # not reached: exec replaced this process


def cmd_server(args: argparse.Namespace) -> int:
    from .server import serve
    from .server.db import DatabaseError
    from .server.objects import StoreError
    from .server.replica import CacheRefused

    if args.workers < 1:
        raise CliError(f"--workers {args.workers}: at least 1", "pass --workers N with N >= 1")
    try:
        return serve(
            args.dir,
            args.host,
            args.port,
            args.db,
            max_body=args.max_body,
            workers=args.workers,
            log_level=args.log_level,
            idle_timeout=args.idle_timeout,
            store=args.store,
        )
    except DatabaseError as e:
        raise CliError(e.args[0], e.hint) from None
    except StoreError as e:
        if isinstance(e, CacheRefused):
            hint = "give each replica an empty --dir (its cache), or leave out --store to serve these runs"
        elif (args.store or "").startswith("file:"):
            hint = "check the folder --store names exists and is writable"
        else:
            hint = "check the bucket exists and AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION"
        raise CliError(str(e), hint) from None
    except socket.gaierror as e:
        raise CliError(
            f"cannot listen on {args.host}:{args.port}: {e.strerror or e}",
            "pass a --host this machine has (127.0.0.1, 0.0.0.0, or one of its addresses)",
        ) from None
    except OSError as e:  # the port taken, the address not this machine's, a port below 1024
        if e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            hint = (
                "ports below 1024 need root: pick a --port above 1023"
                if e.errno == errno.EACCES
                else _ERRNO_HINTS[e.errno]
            )
            raise CliError(f"cannot listen on {args.host}:{args.port}: {e.strerror}", hint) from None
        raise
    except ValueError as e:  # a --db or --store URL of no kind the server knows
        if str(e).startswith("--store"):
            hint = "--store takes s3://BUCKET[/PREFIX], gs://BUCKET, az://CONTAINER or file:///PATH"
            raise CliError(str(e), hint) from None
        raise CliError(str(e), "--db takes sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None


def _keys(args: argparse.Namespace) -> Any:
    """The keys in the auth store beside the index (``auth.sqlite``; made if missing, so keys can be
    made before the server first starts)."""
    from .server.auth import Keys
    from .server.db import DatabaseError, open_auth_database

    root = storage_root(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    try:
        return Keys(open_auth_database(args.db, root))
    except DatabaseError as e:
        raise CliError(str(e.args[0]), e.hint) from None
    except ValueError as e:
        raise CliError(str(e), "--db takes sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None


def cmd_keys(args: argparse.Namespace) -> int:
    from .store.layout import check_part
    from .store.names import suggest_name

    keys = _keys(args)
    if args.keys_command == "create":
        try:
            check_part("entity", args.entity)
        except ValueError as e:
            better = suggest_name("entity", args.entity)
            raise CliError(str(e), f"an entity is one name, as the runs' folders use: try {better!r}") from None
        key_id, key = keys.create(args.entity, read_only=args.read_only)
        mode = "read-only" if args.read_only else "read-write"
        print(f"created {mode} key {key_id} for entity {args.entity} (shown once; the server keeps its hash):")
        print(key)
        return 0
    if args.keys_command == "list":
        for k in keys.list():
            state = "revoked" if k["revoked"] else ("read-only" if k["read_only"] else "read-write")
            created = time.strftime("%Y-%m-%d %H:%M", time.localtime(k["created"]))
            print(f"{k['id']}  {k['entity']}  {state}  {created}")
        return 0
    if not keys.revoke(args.key_id):
        raise CliError(f"no live key with id {args.key_id!r}", "'turbotrack keys list' shows the keys and their ids")
    print(f"revoked key {args.key_id}")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from .sync import sync_paths

    paths = [Path(p) for p in args.paths] or [storage_root(args.dir)]
    return sync_paths(paths, _base_url(args.base_url) if args.base_url else None, args.api_key)


def _base_url(given: str) -> str:
    """``--base-url`` as the client takes it; one without a scheme gets ``http://``, said on stderr."""
    from .store.client import check_base_url

    try:
        url, added = check_base_url(given)
    except ValueError as e:
        raise CliError(str(e), "pass --base-url http://HOST:PORT (the address 'turbotrack server' printed)") from None
    if added:
        print(f"note: {given!r} has no scheme: using {url}", file=sys.stderr)
    return url


def cmd_login(args: argparse.Namespace) -> int:
    """Check the key against the server, then save it; a server that cannot be reached: saved unchecked."""
    from .store.client import Client, save_key

    url = _base_url(args.base_url)
    client = Client(url, args.key, timeout=30)
    checked = True
    try:
        client.json("GET", "/api/v1/projects")
    except ServerError as e:
        if e.status in (401, 403):
            raise CliError(
                f"{url} refused the key (HTTP {e.status}); nothing was saved",
                "copy the key 'turbotrack keys create ENTITY' printed on the server (the whole last line)",
            ) from None
        raise CliError(
            f"{url} answered HTTP {e.status} to a check of the key; nothing was saved",
            f"is {url} a turbotrack server? ('turbotrack server' prints its address)",
        ) from None
    except CommError as e:
        print(f"warning: could not check the key: {e}; saving it unchecked", file=sys.stderr)
        checked = False
    finally:
        client.close()
    path = save_key(url, args.key)
    print(f"saved the {'' if checked else 'unchecked '}key for {url} in {path}", file=sys.stderr)
    return 0


_IMPORT_NEEDS = {
    "wandb": "its protobuf classes read the run-<id>.wandb log",
    "tensorboard": "its event reader reads the tfevents files; no TensorFlow needed",
}


def cmd_import(args: argparse.Namespace) -> int:
    from .importers.command import ImportError_, import_tensorboard, import_wandb

    root = storage_root(args.dir)
    try:
        if args.source == "wandb":
            return import_wandb([Path(p) for p in args.paths], root, args.entity, args.project)
        return import_tensorboard(Path(args.logdir), root, args.entity, args.project)
    except ImportError_ as e:
        raise CliError(str(e), e.hint) from None
    except ImportError as e:
        package = "wandb" if args.source == "wandb" else "tensorboard"
        raise CliError(
            f"importing from {args.source} needs the {package} package: {e}",
            f"pip install {package} ({_IMPORT_NEEDS[package]})",
        ) from None


class _Parser(argparse.ArgumentParser):
    """argparse's parser, failing as every turbotrack command does: ``error:`` then a ``hint:``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\nhint: see '{self.prog} --help'\n")


def _port(text: str) -> int:
    """A TCP port, 0 to 65535 (argparse says what else it got)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number: ports go from 0 (any free one) to 65535")
    return port


def _subparsers(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command's parser under ``p`` (``keys create`` and ``import wandb`` included)."""
    out: list[argparse.ArgumentParser] = []
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sp in dict.fromkeys(action.choices.values()):
                out += [sp, *_subparsers(sp)]
    return out


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="turbotrack", description="turbotrack: experiment tracking with a Rust logging core")
    p.add_argument("--version", action="version", version=f"turbotrack {__version__}")
    p.add_argument("--dir", help=f"the folder that holds turbotrack/ (default ${ENV['dir']} or the current folder)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    ls = sub.add_parser("ls", help="list local runs")
    ls.add_argument("project", nargs="?", help="PROJECT or ENTITY/PROJECT (default: every project)")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(func=cmd_ls)
    v = sub.add_parser("verify", help="check a run's files block by block and report any torn tail")
    v.add_argument("run_path", help="a run folder, or entity/project/run_id")
    v.set_defaults(func=cmd_verify)
    r = sub.add_parser(
        "run",
        help="run COMMAND with `import wandb` giving turbotrack (WANDB_* variables read as TURBOTRACK_*)",
        description="Run COMMAND (python train.py, torchrun ..., accelerate launch ...) so that `import wandb` in it "
        "and in every Python process it starts gives turbotrack.",
    )
    r.add_argument("cmd", nargs=argparse.REMAINDER, metavar="[--] COMMAND ...", help="the command and its arguments")
    r.set_defaults(func=cmd_run)
    srv = sub.add_parser("server", help="serve runs over HTTP (API and web UI) with an index of runs")
    srv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    srv.add_argument("--port", type=_port, default=8080, help="port (default 8080; 0 picks a free one)")
    srv.add_argument(
        "--db", help="index database: sqlite:///PATH (default: inside the storage root) or postgresql://..."
    )
    srv.add_argument(
        "--store",
        help="where run files and artifacts live: file://ROOT (default: the files under --dir) or an object "
        "store, s3://BUCKET[/PREFIX] (AWS_* variables), gs://, az://; --dir is then this replica's cache",
    )
    srv.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (default 1; see docs/server.md)"
    )
    srv.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="stderr log: 'info' writes a line per request and every error with its traceback (default info)",
    )
    srv.add_argument(
        "--idle-timeout",
        type=float,
        default=10.0,
        help="seconds a connection may stay idle or take to send a request head (default 10)",
    )
    srv.add_argument(
        "--max-body", type=int, default=64 << 20, help="the largest request body in bytes (default 64 MiB)"
    )
    srv.set_defaults(func=cmd_server)
    keys = sub.add_parser("keys", help="create, list and revoke the server's API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    kc = keys_sub.add_parser("create", help="make a key for ENTITY (printed alone on the last line)")
    kc.add_argument("entity")
    kc.add_argument("--read-only", action="store_true", help="a key that reads but writes nothing")
    kl = keys_sub.add_parser("list", help="list keys (ids, entities, state)")
    kr = keys_sub.add_parser("revoke", help="revoke a key by its id")
    kr.add_argument("key_id")
    for k in (keys, kc, kl, kr):
        k.add_argument("--db", default=argparse.SUPPRESS if k is not keys else None, help="index database URL")
    keys.set_defaults(func=cmd_keys)
    sy = sub.add_parser("sync", help="upload local runs to a server (only what it lacks)")
    sy.add_argument("paths", nargs="*", help="run folders or storage roots (default: every local run)")
    sy.add_argument("--base-url", help="the server (default $TURBOTRACK_BASE_URL or the last 'turbotrack login')")
    sy.add_argument("--api-key", help="default $TURBOTRACK_API_KEY or the key saved by 'turbotrack login'")
    sy.set_defaults(func=cmd_sync)
    lg = sub.add_parser("login", help="save an API key for a server in ~/.config/turbotrack/credentials")
    lg.add_argument("--base-url", required=True)
    lg.add_argument("key")
    lg.set_defaults(func=cmd_login)
    imp = sub.add_parser(
        "import",
        help="import runs from wandb run folders or a TensorBoard logdir",
        description="Make turbotrack runs under the local root from another tracker's files. A run imported before "
        "is left as it is; what could not be carried over is named on stderr. See docs/import.md.",
    )
    imp_sub = imp.add_subparsers(dest="source", metavar="SOURCE", required=True)
    iw = imp_sub.add_parser(
        "wandb",
        help="wandb run folders (wandb/run-*, wandb/offline-run-*) or folders holding them",
        description="Each wandb run folder (its run-<id>.wandb log and files/) becomes a turbotrack run with the same "
        "id: history with its steps, config, summary, media, files, metadata, system metrics, name, tags, group, "
        "job type, notes and state. Needs the wandb package (its protobuf classes).",
    )
    iw.add_argument("paths", nargs="+", metavar="PATH", help="a run folder, or a folder holding run folders (wandb/)")
    itb = imp_sub.add_parser(
        "tensorboard",
        help="a TensorBoard logdir: each folder of event files becomes a run",
        description="Each folder under LOGDIR holding event files (*tfevents*) becomes a run: scalars, histograms, "
        "images and text, with their steps. Needs the tensorboard package (no TensorFlow).",
    )
    itb.add_argument("logdir", metavar="LOGDIR")
    for k in (iw, itb):
        k.add_argument("--entity", help="entity of the new runs (default: the source's, else 'local')")
        k.add_argument(
            "--project", help="project of the new runs (default: the source's; for TensorBoard the logdir's name)"
        )
    imp.set_defaults(func=cmd_import)
    b = sub.add_parser(
        "bench", help="measure logging overhead beside other trackers (see 'turbotrack bench --help')", add_help=False
    )
    b.set_defaults(func=None)
    for sp in _subparsers(p):  # a global option may stand after the command too (CONTRACT)
        if sp is not b:  # bench takes its own options
            sp.add_argument("--dir", default=argparse.SUPPRESS, help="the folder that holds turbotrack/")
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if "bench" in argv:
        i = argv.index("bench")
        args = parser.parse_args(argv[: i + 1])
        if args.command == "bench":
            try:
                return cmd_bench(args, argv[i + 1 :])
            except KeyboardInterrupt:
                return 130
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(args.func(args))
        sys.stdout.flush()  # a reader that went away fails here, not at exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        if isinstance(e, OSError) and e.errno == errno.EPIPE and _stdout_gone():
            return _stdout_closed()
        if os.environ.get(DEBUG_ENV) and not isinstance(e, UsageError):
            import traceback

            traceback.print_exc()
        message, hint = explain(e)
        print(f"error: {message}\nhint: {hint}", file=sys.stderr)
        return 2


def _stdout_gone() -> bool:
    try:
        sys.stdout.flush()
    except OSError:
        return True
    return False


def _stdout_closed() -> int:
    """The reader of stdout went away (``turbotrack ls | head -1``): stop quietly, as ``ls`` does,
    with the status of a process ended by SIGPIPE (128 + 13)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing more is flushed into the closed pipe at exit
    except (OSError, ValueError):
        pass
    return 128 + 13


if __name__ == "__main__":
    sys.exit(main())
