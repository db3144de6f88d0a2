"""A wheel, installed into a fresh virtual environment, runs nnfs without the checkout."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("nnfs_lab-*.whl"))


def test_wheel_ships_content_inside_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops <= {"nnfs_cli", next(n.split("/")[0] for n in names if ".dist-info" in n)}, tops
    for required in ("nnfs_cli/catalog.toml", "nnfs_cli/content/graders/01_foundations/perceptron.py",
                     "nnfs_cli/content/solutions/01_foundations/perceptron.py",
                     "nnfs_cli/content/exercises/01_foundations/perceptron.py"):  # fmt: skip
        assert required in names, required


@pytest.mark.slow
def test_installed_wheel_runs_init_next_and_check(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # Reuse this environment's dependencies (numpy, torch, typer...) without re-downloading them;
    # a plain path in a .pth file is not itself scanned for .pth files, so no editable hook leaks in.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "-q",
        str(wheel),
    ]
    subprocess.run(pip, check=True)
    nnfs = str(venv / "bin" / "nnfs")
    env = {k: v for k, v in os.environ.items() if k not in ("NNFS_WORKSPACE", "PYTHONPATH")} | {
        "NO_COLOR": "1"
    }
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import nnfs_cli.catalog as c; print(c.content_root())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert where.startswith(str(venv)), where
    ws = tmp_path / "ws"
    for args in (["init", str(ws)], ["next", "-w", str(ws)], ["check", "perceptron", "--solution"]):
        r = subprocess.run(
            [nnfs, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )
        assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
    assert list(ws.glob("01_foundations/*.py"))
