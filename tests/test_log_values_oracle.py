"""What log() stores for each kind of value wandb scripts log (CONTRACT, log), checked against the
oracle: the same script runs under the real wandb 0.31 (offline, its transaction log read back with
``importers.wandb_log.read_run``) and under ``import turbotrack as wandb``, each value logged on a
step of its own, and the stored values must match; a value wandb refuses must be refused too.

wandb's own writer turns a stored dict into nested keys (``h._type``, ``h.values``) and a float
with an integral value into an int (``1.0`` → ``1``); :func:`unflatten` and :func:`same` undo that,
and nothing else."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cached_env import child_env, site_packages
from conftest import rows_of

import turbotrack
from turbotrack.importers.wandb_log import read_run

HAVE_WANDB = importlib.util.find_spec("wandb") is not None

# The values, made by the same code under both libraries (`wandb` is either).
VALUES = """
import dataclasses, datetime as dt, decimal, enum, pathlib, uuid
import numpy as np

class Color(enum.Enum):
    RED = 1

@dataclasses.dataclass
class Point:
    x: int = 1
    y: float = 0.5

def callback():
    pass

utc2 = dt.timezone(dt.timedelta(hours=2))
VALUES = {
    # lists and tuples of builtins, nested, with None, NaN, dicts, NumPy scalars, datetimes
    "l_floats": [0.1, 0.2, 0.3], "l_ints": [1, 2, 3], "l_long": [float(i) for i in range(40)],
    "l_tuple": (1, "a", None, True), "l_nested": [[1, 2], [3, [4.5, None]]], "l_empty": [],
    "l_none": [None, None], "l_nan": [float("nan"), float("inf"), -float("inf"), 1.5],
    "l_bools": [True, False], "l_strings": ["a", "é", ""], "l_dicts": [{"a": 1}, {"b": [1, 2], "c": None}],
    "l_int_keys": [{1: "one", 2.5: "x", True: "t"}], "l_np": [np.float32(0.5), np.int64(3), np.bool_(True)],
    "l_np_long": [np.float32(i) for i in range(40)], "l_dt": [dt.datetime(2024, 1, 2, 3, 4, 5), dt.date(2024, 5, 6)],
    "l_array_big": [np.arange(40.0)], "l_array_small": [np.arange(3), np.array(2.5)], "l_bigint": [2**70],
    "l_sets": [{1}, frozenset()], "l_bytes": [b"ab"],
    # NumPy arrays: one element a scalar, 2-32 a (nested) list, more a 32-bin histogram
    "a_0d": np.array(3.5), "a_1": np.array([7]), "a_1x1": np.array([[4.0]]), "a_2": np.array([1.0, 2.0]),
    "a_2d": np.arange(6).reshape(2, 3), "a_32": np.arange(32.0), "a_33": np.arange(33.0), "a_40i": np.arange(40),
    "a_f32": np.linspace(0, 1, 100, dtype=np.float32), "a_f64": np.linspace(-3, 7, 1000) ** 2,
    "a_bool": np.array([True, False]), "a_bool40": np.ones(40, dtype=bool), "a_str": np.array(["a", "b"]),
    "a_obj": np.array([1, "a", None], dtype=object), "a_complex": np.array([1 + 1j, 2]),
    "a_dt64": np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]"), "a_empty": np.array([]),
    "a_f16": np.array([0.5, 1.5], dtype=np.float16), "a_u64": np.array([2**64 - 1, 0], dtype=np.uint64),
    "np_hist": np.histogram(np.arange(10), bins=3), "np_hist_big": np.histogram(np.arange(100), bins=40),
    # NumPy scalars that are not numbers
    "s_f16": np.float16(0.5), "s_str": np.str_("s"), "s_bytes": np.bytes_(b"x"), "s_dt64": np.datetime64("2024-01-02"),
    "s_td64": np.timedelta64(90, "s"), "s_void": np.void(b"ab"), "s_complex": np.complex64(1 + 2j),
    # dates and times, bytes, sets
    "dt": dt.datetime(2024, 1, 2, 3, 4, 5, 123456), "dt_tz": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc2),
    "dt_utc": dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc), "date": dt.date(2024, 1, 2), "time": dt.time(1, 2, 3),
    "td": dt.timedelta(seconds=5), "td_long": dt.timedelta(days=400, hours=5, microseconds=1500),
    "td_neg": dt.timedelta(seconds=-1.5), "bytes": b"hello", "bytearray": bytearray(b"ab"),
    "set": {3, 1, 2}, "set_mixed": {1, "a"}, "fset": frozenset(["x"]),  # one order in both: PYTHONHASHSEED=0
    # other values public scripts log
    "enum": Color.RED, "path": pathlib.Path("/data/run1"), "decimal": decimal.Decimal("1.5"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"), "complex": 1 + 2j, "point": Point(),
    "callback": callback, "cls": int, "gen": (i * i for i in range(3)),
    "h_np": wandb.Histogram(np_histogram=np.histogram([1, 2, 3], bins=2)),
    "h_seq": wandb.Histogram([1, 2, 3, 4], num_bins=3), "h_list": [wandb.Histogram([1, 2], num_bins=4)],
    # refused by both
    "x_object": object(), "x_slice": slice(1, 2), "x_range": range(3), "x_bad_utf8": b"\\xff\\xfe",
    "x_in_list": [1, object()], "x_media_and_number": [wandb.Html("<b>x</b>"), 3],
}
"""

SCRIPT = """
import json, sys
wandb = __import__(sys.argv[1])
exec(compile(sys.argv[3], "values", "exec"))
extra = {}
if sys.argv[1] == "turbotrack":
    extra["settings"] = {"capture_stdout": False, "capture_system": False, "capture_git": False,
                         "capture_requirements": False}
run = wandb.init(project="values", dir=sys.argv[2], **extra)
errors = {}
for key, value in VALUES.items():
    try:
        run.log({key: value, "marker": 1})
    except Exception as e:
        errors[key] = type(e).__name__
run.finish()
print(json.dumps({"errors": errors, "path": run.path if sys.argv[1] == "turbotrack" else ""}))
"""


def run_script(module: str, folder: Path, values: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), module, str(folder), textwrap.dedent(values)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=folder,
        env={
            **(env or dict(__import__("os").environ)),
            "WANDB_MODE": "offline",
            "WANDB_SILENT": "true",
            "PYTHONHASHSEED": "0",
        },
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """wandb's row with its nested keys (``h._type``) made dicts again, automatic keys left out."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key.startswith("_") or key == "marker":
            continue
        *parents, last = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def same(a: Any, b: Any) -> bool:
    """Equal as stored JSON: numbers by value (wandb writes 1.0 as 1), NaN equal to NaN, bools only bools."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return (math.isnan(a) and math.isnan(b)) if isinstance(a, float) and math.isnan(a) else a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def stored(folder: Path, module: str, values: str, env: dict[str, str] | None = None) -> tuple[dict, dict]:
    """Run the script under ``module``; ``(values stored by key, errors by key)``."""
    result = run_script(module, folder, values, env)
    if module == "wandb":
        (run_folder,) = (folder / "wandb").glob("offline-run-*")
        rows = [unflatten(r) for r in read_run(run_folder).history]
    else:
        api_run = turbotrack.Api(dir=folder).run(result["path"])
        rows = [{k: v for k, v in r.items() if not k.startswith("_") and k != "marker"} for r in api_run.scan_history()]
    by_key = {}
    for row in rows:
        (key,) = row  # one value per row
        by_key[key] = row[key]
    return by_key, result["errors"]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    if not HAVE_WANDB:
        pytest.skip("the oracle needs wandb 0.31 (the test extra)")
    oracle = stored(tmp_path_factory.mktemp("wandb"), "wandb", VALUES)
    ours = stored(tmp_path_factory.mktemp("turbotrack"), "turbotrack", VALUES)
    return oracle, ours


#: Where turbotrack stores more than wandb, on purpose: wandb's writer rounds integers in a list to
#: float64 (2**64 - 1 becomes 2**64); turbotrack keeps them exact.
INTENDED = {"a_u64": "integers in lists are kept exact"}


def test_values_are_stored_as_wandb_stores_them(both):
    (want, want_errors), (got, got_errors) = both
    assert got_errors == want_errors
    assert set(want_errors) == {"x_object", "x_slice", "x_range", "x_bad_utf8", "x_in_list", "x_media_and_number"}
    assert got.keys() == want.keys()
    differ = {k: (got[k], want[k]) for k in want if not same(got[k], want[k])}
    assert set(differ) == set(INTENDED)
    assert [float(x) for x in got["a_u64"]] == want["a_u64"]


def test_the_stored_shapes_are_the_contract(both):
    """The contract's words, on what was stored (the oracle test above says wandb agrees)."""
    _, (got, _) = both
    assert got["l_tuple"] == [1, "a", None, True] and got["l_nested"] == [[1, 2], [3, [4.5, None]]]
    assert got["a_1"] == 7 and isinstance(got["a_0d"], float) and got["a_2d"] == [[0, 1, 2], [3, 4, 5]]
    assert got["a_32"] == list(range(32)) and got["a_33"]["_type"] == "histogram"
    assert len(got["a_33"]["values"]) == 32 and sum(got["a_33"]["values"]) == 33
    assert got["a_f32"]["bins"] == np.histogram(np.linspace(0, 1, 100, dtype=np.float32), bins=32)[1].tolist()
    assert got["dt"] == "2024-01-02T03:04:05.123456" and got["dt_tz"] == "2024-01-02T03:04:05+02:00"
    assert got["dt_utc"] == "2024-01-02T00:00:00Z" and got["td"] == "PT5S" and got["td_long"] == "P1Y35DT5H0.0015S"
    assert got["bytes"] == "hello" and got["set"] == [1, 2, 3] and got["fset"] == ["x"]
    assert got["np_hist"] == [[3, 3, 4], [0.0, 3.0, 6.0, 9.0]]  # as wandb: a tuple of arrays, not a Histogram
    assert got["a_u64"] == [2**64 - 1, 0] and got["l_bigint"] == [2**70]  # exact, inside a list


def test_refusals_name_the_key_and_record_nothing_of_the_call(new_run):
    run = new_run()
    cases = [
        ({"ok": 1.0, "bad": object()}, TypeError, r"[\"']bad[\"'].*object"),
        ({"ok": 1.0, "bad": [1, {"a": slice(1)}]}, TypeError, r"'bad' \(at \[1\]\['a'\]\).*slice"),
        ({"ok": 1.0, "bad": np.array(["x"] * 40)}, TypeError, r"[\"']bad[\"'].*40 <U1 values.*histogram"),
        ({"ok": 1.0, "bad": b"\xff"}, UnicodeDecodeError, r"cannot log 'bad'"),
        ({"ok": 1.0, "bad": [turbotrack.Html("<b/>"), 1]}, TypeError, r"'bad' \(at \[0\]\)"),
        ({"ok": 1.0, "bad": [np.longdouble("1e4000")]}, OverflowError, r"'bad' \(at \[0\]\).*float64"),
        ({"ok": 1.0, "bad": ["ok\ud800"]}, ValueError, r"[\"']bad[\"'].*surrogate"),
    ]
    loop: list[Any] = [1]
    loop.append(loop)
    cases.append(({"ok": 1.0, "bad": loop}, ValueError, r"[\"']bad[\"'].*contains itself"))
    for data, exc, match in cases:
        with pytest.raises(exc, match=match):
            run.log(data)
    assert run.step == 0
    run.log({"after": 2.0})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "after": 2.0}]


def test_media_lists(new_run):
    """A list of one media kind is a media list (as today); a mix of kinds, or histograms, a list of each
    one's JSON (as wandb)."""
    run = new_run()
    img = turbotrack.Image(np.zeros((2, 2), dtype=np.uint8))
    html = turbotrack.Html("<b>x</b>")
    run.log({"images": [img, img], "mixed": (img, html), "hists": [turbotrack.Histogram([1, 2], num_bins=2)]})
    run.finish()
    (row,) = rows_of(run)
    assert row["images"]["_type"] == "images/separated" and row["images"]["count"] == 2
    assert [m["_type"] for m in row["mixed"]] == ["image-file", "html-file"]
    assert all((Path(run.dir) / m["path"]).is_file() for m in row["mixed"])
    assert row["hists"] == [{"_type": "histogram", "bins": [1.0, 1.5, 2.0], "values": [1, 1]}]


def test_converting_imports_nothing_the_program_did_not(tmp_path):
    code = """
        import datetime, sys, turbotrack
        run = turbotrack.init(dir=sys.argv[1], settings={"capture_system": False, "capture_git": False,
                              "capture_requirements": False, "capture_stdout": False})
        run.log({"a": [1, None, datetime.date(2024, 1, 1)], "b": {1, 2}, "c": b"x", "d": (1.5, "s")})
        run.finish()
        print(sorted(m for m in ("numpy", "torch", "pandas", "PIL", "matplotlib", "uuid", "decimal") if m in sys.modules))
    """
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.timeout(1800)  # may install matplotlib into the cached environment (scripts/torch-env.sh)
def test_image_of_pyplot_is_its_current_figure(tmp_path):
    """``wandb.Image(plt)`` (the module: its current figure) and a figure logged as a value are images."""
    code = """
        import sys, matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import turbotrack
        run = turbotrack.init(dir=sys.argv[1], settings={"capture_system": False, "capture_git": False,
                              "capture_requirements": False, "capture_stdout": False})
        fig = plt.figure(figsize=(2, 1), dpi=50)
        plt.plot([1, 2, 3])
        run.log({"chart": turbotrack.Image(plt), "fig": fig})
        run.finish()
        print(run.path)
    """
    env = child_env(site_packages("matplotlib"), OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (row,) = turbotrack.Api(dir=tmp_path).run(out.stdout.split()[-1]).history(pandas=False)
    for key in ("chart", "fig"):
        assert row[key]["_type"] == "image-file" and (row[key]["width"], row[key]["height"]) == (100, 50)
        assert (tmp_path / "turbotrack" / out.stdout.split()[-1] / row[key]["path"]).is_file()


# The same with PyTorch tensors: the oracle's values for what it logs, and what it refuses that
# turbotrack logs on purpose (CONTRACT: tensor subclasses as tensors; bfloat16 read as float32).
TORCH_VALUES = """
import torch

class Sub(torch.Tensor):
    pass

VALUES = {
    "t_0d": torch.tensor(2.5), "t_1": torch.tensor([3]), "t_2d": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
    "t_grad": torch.tensor([1.0, 2.0], requires_grad=True), "t_40": torch.arange(40.0), "t_bool": torch.tensor([True, False]),
    "t_list": [torch.tensor(1.0), torch.tensor([1, 2])], "t_empty": torch.tensor([]), "t_bf16_0d": torch.tensor(1.5, dtype=torch.bfloat16),
    "x_param": torch.nn.Parameter(torch.ones(3)), "t_int_1x1": torch.tensor([[7]]),
    "x_bf16": torch.tensor([1.5, 2.5], dtype=torch.bfloat16), "x_sub": torch.arange(3.0).as_subclass(Sub),
    "x_sub_0d": torch.tensor(4.0).as_subclass(Sub), "x_sub_40": torch.arange(40.0).as_subclass(Sub),
}
"""


@pytest.mark.timeout(1800)  # may install PyTorch (scripts/torch-env.sh)
def test_tensors_are_stored_as_wandb_stores_them(tmp_path):
    if not HAVE_WANDB:
        pytest.skip("the oracle needs wandb 0.31 (the test extra)")
    env = child_env(site_packages(), OMP_NUM_THREADS="1")
    (tmp_path / "w").mkdir()
    (tmp_path / "t").mkdir()
    want, want_errors = stored(tmp_path / "w", "wandb", TORCH_VALUES, env)
    got, got_errors = stored(tmp_path / "t", "turbotrack", TORCH_VALUES, env)
    assert set(want_errors) == {"x_bf16", "x_param", "x_sub", "x_sub_0d", "x_sub_40"}  # wandb refuses these
    assert got_errors == {}
    differ = {k: (got[k], want[k]) for k in want if not same(got[k], want[k])}
    assert not differ
    assert got["x_bf16"] == [1.5, 2.5] and got["x_sub"] == [0.0, 1.0, 2.0] and got["x_sub_0d"] == 4.0
    assert got["x_sub_40"] == got["t_40"] and got["t_40"]["_type"] == "histogram" and got["x_param"] == [1.0] * 3
