"""The package people install: a wheel built from this checkout holds every module, the data the engine
reads at run time (not the screenshots) and the `swa-demo` command, and once installed it runs from any
folder, finding its data inside the package.

The full trial from nothing (a fresh venv, `pip install .`, then `swa-demo walkthrough` elsewhere) needs
the dependencies' downloads; the README's "Install it" section describes it as a manual check.
"""

import json
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the sources: an in-tree build would leave build/ behind, whose stale modules
    a later build packs too."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("swa_demo", "assets"):
        shutil.copytree(ROOT / folder, src / folder, ignore=junk)
    for name in ("pyproject.toml", "README.md", *(p.name for p in ROOT.glob("requirements*.txt"))):
        shutil.copy(ROOT / name, src / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("swa_demo-*.whl")
    return path


def test_the_wheel_holds_every_module_and_the_run_time_data_only(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "swa_demo").rglob("*.py")}
    assert modules <= names, f"modules missing from the wheel (add their package to pyproject.toml): " \
                             f"{sorted(modules - names)}"
    assets = {n.removeprefix("swa_demo/assets/") for n in names if n.startswith("swa_demo/assets/")}
    shipped = {p.relative_to(ROOT / "assets").as_posix() for p in (ROOT / "assets").rglob("*") if p.is_file()}
    assert {p for p in shipped if p.startswith("tiny/")} <= assets  # every tiny model's weights
    assert {p for p in shipped if p.startswith("bench/") and p.endswith(".json")} <= assets  # recorded runs
    assert not {p for p in assets if p.startswith("screenshots/") or p.endswith(".html")}


def test_the_wheel_declares_the_command_and_the_requirements_files(wheel):
    z = zipfile.ZipFile(wheel)
    info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    meta = Parser().parsestr(z.read(info).decode())
    entry = z.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert "swa-demo = swa_demo.cli:main" in entry

    def requirements(name: str) -> list[str]:
        lines = (ROOT / name).read_text().splitlines()
        return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]

    declared = meta.get_all("Requires-Dist")
    assert [d for d in declared if "extra ==" not in d] == requirements("requirements.txt")
    for extra in ("test", "gpu"):
        assert sorted(d.split(";")[0].strip() for d in declared if f'extra == "{extra}"' in d) == \
            sorted(requirements(f"requirements-{extra}.txt"))
    dynamic = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dynamic"]
    assert set(dynamic) == {"dependencies", "optional-dependencies"}  # nothing listed twice


def test_installed_the_command_runs_from_another_folder_on_the_packaged_data(wheel, tmp_path):
    """Installed into a venv that sees this machine's packages (no downloads), without the checkout on
    the path: `swa-demo walkthrough` loads the tiny weights from the installed package."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True,
                   timeout=120)
    bindir = venv / ("Scripts" if sys.platform == "win32" else "bin")
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    command = shutil.which("swa-demo", path=str(bindir))
    assert command, "pip installed no swa-demo command"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": str(bindir), "HOME": str(tmp_path)}

    def swa_demo(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([command, *args], cwd=elsewhere, env=env, capture_output=True, text=True,
                              timeout=300)

    where = subprocess.run([str(bindir / "python"), "-c", "import swa_demo.paths as p; print(p.ASSETS)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(venv)) and where.stdout.strip().endswith("swa_demo/assets")
    walk = swa_demo("walkthrough", "--lang", "en", "--json")
    assert walk.returncode == 0, walk.stderr
    assert json.loads(walk.stdout)["generated"] == ["D", "E", "F"]
    costs = swa_demo("costs", "--preset", "mistral-7b", "--context", "4k")
    assert costs.returncode == 0 and "512 MiB" in costs.stdout, costs.stderr
    bad = swa_demo("costs", "--context", "²")
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
