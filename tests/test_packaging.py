"""What an installed turbotrack needs beside its Python modules ships with it: the ``wandb`` bootstrap
package and its ``wandb-<version>.dist-info`` (``turbotrack run``, ``as_wandb()``), and the web UI's
static files with the vendored uPlot and its licence (``turbotrack server``).

The always-on tests look at the installed package through ``importlib.resources`` and at the build
configuration; the slow one builds a wheel with maturin, lists it, installs it into a fresh virtualenv
(no system site-packages) and runs ``turbotrack run`` and ``turbotrack server`` from there."""

from __future__ import annotations

import http.cookiejar
import importlib.metadata
import importlib.resources
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest

import turbotrack
from turbotrack.compat import WANDB_VERSION

REPO = Path(__file__).resolve().parent.parent
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    tomllib = None

#: Files (under the turbotrack package) that are not Python modules and that the package needs at run time.
DATA_FILES = [
    "py.typed",
    "_core.pyi",
    "compat/bootstrap/README.md",
    f"compat/bootstrap/wandb-{WANDB_VERSION}.dist-info/METADATA",
    f"compat/bootstrap/wandb-{WANDB_VERSION}.dist-info/top_level.txt",
    f"compat/bootstrap/wandb-{WANDB_VERSION}.dist-info/INSTALLER",
    "compat/bootstrap/wandb/__init__.py",
    "server/static/index.html",
    "server/static/app.js",
    "server/static/app.css",
    "server/static/analysis.html",
    "server/static/analysis-page.js",
    "server/static/components/panels.css",
    "server/static/vendor/uplot.iife.min.js",
    "server/static/vendor/uplot.min.css",
    "server/static/vendor/LICENSE.uPlot",
]


def package_files() -> list[str]:
    """Every file git tracks under python/turbotrack, relative to the package (what a wheel must hold)."""
    out = subprocess.run(["git", "ls-files", "python/turbotrack"], cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [p[len("python/turbotrack/") :] for p in out.stdout.split()]


@pytest.mark.parametrize("rel", DATA_FILES)
def test_installed_package_has_its_data_files(rel):
    res = importlib.resources.files("turbotrack").joinpath(*rel.split("/"))
    assert res.is_file(), f"{rel} is missing from the installed turbotrack ({turbotrack.__file__})"
    assert res.read_bytes() or rel == "py.typed"


def test_bootstrap_dist_info_reports_the_shim_version():
    info = importlib.resources.files("turbotrack") / "compat" / "bootstrap" / f"wandb-{WANDB_VERSION}.dist-info"
    dist = importlib.metadata.PathDistribution(Path(str(info)))
    assert (dist.metadata["Name"], dist.version) == ("wandb", WANDB_VERSION)
    assert dist.read_text("top_level.txt").split() == ["wandb"]


@pytest.mark.parametrize("page", ["index.html", "analysis.html"])
def test_ui_references_only_shipped_static_files(page):
    static = importlib.resources.files("turbotrack") / "server" / "static"
    html = (static / page).read_text()
    refs = re.findall(r"""(?:src|href)=["']/static/([^"'?#]+)""", html)
    assert refs, f"{page} names no /static/ file"
    for ref in refs:
        assert static.joinpath(*ref.split("/")).is_file(), f"{page} loads /static/{ref}, which is not shipped"


def test_build_config_keeps_data_files():
    """maturin ships what is under ``python-source``'s package unless ``exclude``d or git-ignored (the sdist
    honours .gitignore): none of the package's data files may be either."""
    if tomllib is None:
        pytest.skip("tomllib needs Python 3.11")
    maturin = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["maturin"]
    assert maturin["python-source"] == "python" and maturin["module-name"] == "turbotrack._core"
    assert not maturin.get("exclude"), "an exclude in [tool.maturin]: check it keeps the package data files"
    tracked = set(package_files())
    missing = [rel for rel in DATA_FILES if rel not in tracked]
    assert not missing, f"not tracked by git (so not in an sdist): {missing}"
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *(f"python/turbotrack/{rel}" for rel in DATA_FILES)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert ignored.stdout == "", f"git-ignored, so left out of an sdist: {ignored.stdout}"


# ------------------------------------------------------------------------------------------------
# A real wheel in a fresh virtualenv (minutes: it builds the Rust core).


@pytest.fixture(scope="module")
def wheel(tmp_path_factory, request) -> Path:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("builds a wheel (minutes): run with -m slow")
    maturin = shutil.which("maturin")
    if maturin is None:
        pytest.skip("maturin is not installed")
    out = tmp_path_factory.mktemp("wheels")
    build = subprocess.run(
        [maturin, "build", "--release", "-o", str(out)], cwd=REPO, capture_output=True, text=True, timeout=1800
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (whl,) = out.glob("turbotrack-*.whl")
    return whl


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_wheel_holds_every_package_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(rel for rel in package_files() if f"turbotrack/{rel}" not in names)
    assert not missing, f"{wheel.name} lacks {missing}"
    assert any(re.fullmatch(r"turbotrack/_core\..*(so|pyd)", n) for n in names)


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_wheel_in_a_fresh_virtualenv(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    install = subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if install.returncode != 0 and re.search(r"No matching distribution|Could not find|connection", install.stderr):
        pytest.skip(f"installing the wheel's dependencies needs a package index: {install.stderr[-300:]}")
    assert install.returncode == 0, install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "TURBOTRACK_", "WANDB_"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", TURBOTRACK_DIR=str(tmp_path / "runs"))
    code = "import wandb, importlib.metadata as m; print(wandb.__turbotrack__, m.version('wandb'), wandb.__file__)"
    ran = subprocess.run(
        ["turbotrack", "run", "--", "python", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    shim, version, where = ran.stdout.split()
    assert (shim, version) == ("True", WANDB_VERSION)
    assert Path(where).is_relative_to(venv)  # the installed copy, not this checkout

    server = subprocess.Popen(
        ["turbotrack", "server", "--port", "0", "--dir", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        login = ""
        for line in server.stdout:
            if line.startswith("http://"):
                login = line.strip()
                break
        assert login, "the server printed no login URL"
        base = login.split("/?")[0]
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(login, timeout=10) as resp:
            assert resp.status == 200
        for rel in [r for r in DATA_FILES if r.startswith("server/static/") and r != "server/static/index.html"]:
            with opener.open(f"{base}/{rel[len('server/') :]}", timeout=10) as resp:
                shipped = (next(venv.glob("lib/python*/site-packages/turbotrack")) / rel).read_bytes()
                assert (resp.status, resp.read()) == (200, shipped)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
