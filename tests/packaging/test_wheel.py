"""The built wheel is the whole harness: installed into a fresh venv, it runs a drill from anywhere.

`pip install .` once gave a harness with no drills (the experiments were not in the wheel) and put
generic top-level packages (`probes`, `actions`, `reports`) into site-packages, where a team's own
`probes.py` or `reports/` beside its experiments shadowed them. These tests build the wheel from a
copy of the source tree, install it with pip into a new venv whose only other content is the locked
dependencies, and run `drills` from a directory holding exactly such look-alikes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "drills", "probes", "actions", "reports", "experiments")
SCENARIOS = sorted(p.stem for p in (REPO / "experiments").glob("*.yaml"))
LOOK_ALIKES = {  # a team's own modules beside its experiments, named like ours
    "probes.py": "raise ImportError('the working directory probes.py was imported')\n",
    "actions.py": "raise ImportError('the working directory actions.py was imported')\n",
    "reports/__init__.py": "raise ImportError('the working directory reports/ was imported')\n",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of the tree (a build writes build/ and *.egg-info beside it)."""
    tree = tmp_path_factory.mktemp("tree")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(tree),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = out.glob("drills-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv with the wheel installed by pip; the locked dependencies come from this venv's
    site-packages through a .pth file (never the source tree: its .pth is not read from there)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "locked-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    yield env_dir


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """An unrelated working directory with a team's own `probes.py`, `actions.py` and `reports/`."""
    for name, text in LOOK_ALIKES.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def drills(env_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DRILLS_", "PYTHON"))}
    environ["DRILLS_HOME"] = str(cwd / "home")
    environ["PYTHONPATH"] = str(cwd)  # the way `chaos run` users keep their own modules importable
    return subprocess.run(
        [str(env_dir / "bin" / "drills"), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )


def measured_verdict(run_dir: Path) -> str:
    """The verdict of a run whose four reports were all written."""
    for name in ("report.json", "report.md", "report.html", "junit.xml", "journal.json"):
        assert (run_dir / name).is_file(), name
    return str(json.loads((run_dir / "report.json").read_text())["verdict"])


def test_the_wheel_holds_the_experiments_and_nothing_generic(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"drills", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    for scenario in SCENARIOS:
        assert f"drills/experiments/{scenario}.yaml" in names
    for module in (
        "drills/probes/http.py",
        "drills/actions/components.py",
        "drills/reports/html.py",
    ):
        assert module in names
    assert any(name.startswith("drills/reports/templates/") for name in names)
    assert "drills/reports/schema/drills.report.v1.json" in names


def test_installed_drills_lists_every_scenario_from_another_directory(
    installed: Path, elsewhere: Path
) -> None:
    done = drills(installed, elsewhere, "list")
    assert done.returncode == 0, done.stderr
    for scenario in SCENARIOS:
        assert scenario in done.stdout
    where = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import drills.probes; print(drills.probes.__file__)",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(installed) in where and str(REPO) not in where


@pytest.mark.integration
@pytest.mark.slow
def test_installed_drills_runs_a_drill_beside_look_alike_modules(
    installed: Path, elsewhere: Path
) -> None:
    out = elsewhere / "run"
    done = drills(installed, elsewhere, "run", "complete-outage", "--out", str(out))
    # met or missed: a verdict (a busy machine can miss the steady-state error rate); not 2/3/4
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert measured_verdict(out) in ("met", "missed")
    for name in ("report.json", "report.md", "report.html", "junit.xml", "journal.json"):
        assert (out / name).is_file(), name


@pytest.mark.integration
@pytest.mark.slow
def test_plain_chaos_run_of_an_installed_experiment_ignores_look_alike_modules(
    installed: Path, elsewhere: Path
) -> None:
    """Chaos Toolkit's walkthrough keeps a team's `probes.py` beside the experiment; ours must not
    be shadowed by it under plain `chaos run` either."""
    state = elsewhere / "sandbox"
    up = drills(installed, elsewhere, "sandbox", "up", "--state-dir", str(state))
    assert up.returncode == 0, up.stderr
    try:
        python = installed / "bin" / "python"
        experiment = drills(installed, elsewhere, "path", "complete-outage").stdout.strip()
        assert experiment.startswith(str(installed)), experiment
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("DRILLS_", "PYTHON"))}
        environ |= {
            "PYTHONPATH": str(elsewhere),
            "DRILLS_HOME": str(elsewhere / "home"),
            "DRILLS_TARGET": f"sandbox:{state}",
            "DRILLS_OUT": str(elsewhere / "chaos-run"),
        }
        done = subprocess.run(
            [str(python), "-m", "chaostoolkit", "--no-version-check", "run", experiment],
            cwd=elsewhere,
            env=environ,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode in (0, 1), done.stdout + done.stderr  # chaos run: 1 = deviated
        assert measured_verdict(elsewhere / "chaos-run") in ("met", "missed"), done.stderr
    finally:
        drills(installed, elsewhere, "sandbox", "down", "--state-dir", str(state))
