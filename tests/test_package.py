"""The product installs as a package: the wheel holds kafscale alone, with its shell scripts and the
runtime requirements of requirements.txt, and works from a fresh venv outside the source tree, as
another Pulumi program that installs it (`pip install .` or a git URL) has it.

Everything is offline: the builds use the development venv's setuptools (no build isolation), and
the fresh venvs find the runtime packages in venv-runtime through a .pth file.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import venv
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement

from kafscale.objects.containers import with_shared_helpers
from tests.support import PROJECT_DIR, missing

pytestmark = pytest.mark.package

RUNTIME_VENV_PYTHON = PROJECT_DIR / "venv-runtime" / "bin" / "python"
# Run in a fresh venv: where the product comes from, and one script read as the product reads it.
IMPORT_CHECK = """
import json
import kafscale
from kafscale.edge.component import ManagedEtcd
from kafscale.objects.membership import SCRIPT_NAME, member_script
print(json.dumps({
    "kafscale": kafscale.__file__,
    "component": ManagedEtcd.__module__,
    "script_name": SCRIPT_NAME,
    "script": member_script(),
}))
"""


def _run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _pip(python: Path, *args: str | Path, cwd: Path) -> str:
    """pip, never reaching an index: everything it needs is on this machine."""
    return _run(python, "-m", "pip", *args, "--no-index", "--disable-pip-version-check", cwd=cwd)


def _requirements_txt(source: Path) -> list[Requirement]:
    lines = (source / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in map(str.strip, lines) if line and not line.startswith("#")]


def _site_packages(python: Path, cwd: Path) -> Path:
    return Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=cwd).strip())


def _fresh_venv(path: Path, runtime_site_packages: Path, with_pip: bool) -> Path:
    """A new venv whose only packages (pip aside) are venv-runtime's, through a .pth file."""
    venv.EnvBuilder(with_pip=with_pip).create(path)
    python = path / "bin" / "python"
    (_site_packages(python, path) / "kafscale-runtime-requirements.pth").write_text(
        f"{runtime_site_packages}\n"
    )
    return python


def _script_from(source: Path, name: str) -> str:
    """The script as the pods run it, from the source tree's files: the installed package must
    give the same text (so the shared scripts were installed beside it)."""
    scripts = source / "kafscale" / "scripts"
    return with_shared_helpers((scripts / name).read_text(), lambda shared: (scripts / shared).read_text())


def _import_check(python: Path, venv_dir: Path, outside: Path) -> dict[str, str]:
    """IMPORT_CHECK under `python`, isolated (-I: neither the cwd nor PYTHONPATH on sys.path) and
    from a directory outside the project, so that only what pip installed can answer."""
    report = json.loads(_run(python, "-I", "-c", IMPORT_CHECK, cwd=outside))
    assert Path(report["kafscale"]).is_relative_to(venv_dir), report["kafscale"]
    assert report["component"] == "kafscale.edge.component"
    return report


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree as git would commit it (tracked and new files, nothing ignored), copied and
    committed in a repository of its own: builds write build/ and *.egg-info beside the sources,
    and the work under way is not committed yet."""
    git = shutil.which("git")
    if git is None:
        missing("git is missing")
    listed = _run(git, "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=PROJECT_DIR)
    copy = tmp_path_factory.mktemp("source")
    for name in filter(None, listed.split("\0")):
        path = PROJECT_DIR / name
        if path.is_file():  # a tracked file deleted in the working tree is listed too
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy / name)
    _run(git, "init", "--quiet", cwd=copy)
    _run(git, "add", "--all", cwd=copy)
    identity = ("-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false")
    _run(git, *identity, "commit", "--quiet", "--message", "the working tree", cwd=copy)
    return copy


def _has_bdist_wheel() -> bool:
    """setuptools has its own bdist_wheel from 70.1; before that, the wheel package brings it."""
    return any(importlib.util.find_spec(name) for name in ("setuptools.command.bdist_wheel", "wheel"))


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _has_bdist_wheel():
        missing("no bdist_wheel to build with: the development venv needs setuptools >= 70.1 or wheel")
    dist = tmp_path_factory.mktemp("dist")
    build: list[str | Path] = ["wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", dist, source]
    _pip(Path(sys.executable), *build, cwd=dist)
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def runtime_site_packages() -> Path:
    if not RUNTIME_VENV_PYTHON.exists():
        missing("venv-runtime is missing (make setup builds it from requirements.txt)")
    version = _run(RUNTIME_VENV_PYTHON, "-c", "import sys; print(sys.version_info[:2])", cwd=PROJECT_DIR)
    assert version.strip() == str(sys.version_info[:2]), "venv-runtime's Python is not this one"
    return _site_packages(RUNTIME_VENV_PYTHON, PROJECT_DIR)


def _wheel_names(wheel: Path) -> list[PurePosixPath]:
    with zipfile.ZipFile(wheel) as archive:
        return [PurePosixPath(name) for name in archive.namelist()]


def _wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        return Parser().parsestr(archive.read(name).decode())


def test_the_wheel_requires_exactly_requirements_txt(wheel: Path, source: Path):
    requires = [Requirement(line) for line in _wheel_metadata(wheel).get_all("Requires-Dist", [])]
    assert requires  # requirements.txt's comment lines are skipped, not its requirements
    assert sorted(map(str, requires)) == sorted(map(str, _requirements_txt(source)))


def test_the_wheel_holds_the_product_its_scripts_and_nothing_else(wheel: Path, source: Path):
    names = _wheel_names(wheel)
    dist_info = {name.parts[0] for name in names if name.parts[0].endswith(".dist-info")}
    assert {name.parts[0] for name in names} == {"kafscale", *dist_info}  # no kafscale_lab, tests, bench
    product = (source / "kafscale").rglob("*")
    expected = {path.relative_to(source).as_posix() for path in product if path.suffix in (".py", ".sh")}
    assert any(name.endswith(".sh") for name in expected)
    assert {str(name) for name in names if name.parts[0] == "kafscale"} == expected


def test_the_installed_wheel_works_outside_the_source_tree(
    wheel: Path, source: Path, runtime_site_packages: Path, tmp_path: Path
):
    """The venv's own pip installs the wheel; the component imports, and reads a script from the
    installed package."""
    venv_dir = tmp_path / "venv"
    python = _fresh_venv(venv_dir, runtime_site_packages, with_pip=True)
    _pip(python, "install", "--no-deps", wheel, cwd=tmp_path)
    report = _import_check(python, venv_dir, tmp_path)
    assert report["script"] == _script_from(source, report["script_name"])
    assert report["script"].startswith("#!") and "log() {" in report["script"]


def test_a_git_url_installs_the_product(source: Path, runtime_site_packages: Path, tmp_path: Path):
    """`pip install git+URL`: pip clones the repository and builds it. The development venv's pip
    builds (its setuptools and wheel, no isolation: offline) and installs into the fresh venv."""
    venv_dir = tmp_path / "venv"
    python = _fresh_venv(venv_dir, runtime_site_packages, with_pip=False)
    install: list[str | Path] = [
        "install",
        "--no-deps",
        "--no-build-isolation",
        "--prefix",
        venv_dir,
        f"git+{source.as_uri()}",
    ]
    _pip(Path(sys.executable), *install, cwd=tmp_path)
    report = _import_check(python, venv_dir, tmp_path)
    assert report["script"] == _script_from(source, report["script_name"])
