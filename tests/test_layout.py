"""The product (what `pulumi up` imports) stands apart from the lab, and needs only requirements.txt."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import PROJECT_DIR, missing, run_cli

PRODUCT = PROJECT_DIR / "kafscale"
RUNTIME_VENV_PYTHON = PROJECT_DIR / "venv-runtime" / "bin" / "python"
# Import name -> distribution name, for the product's third-party imports.
DISTRIBUTIONS = {
    "pulumi": "pulumi",
    "pulumi_kubernetes": "pulumi-kubernetes",
    "pulumi_random": "pulumi-random",
    "yaml": "PyYAML",
}


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _product_imports() -> dict[str, set[str]]:
    files = [*PRODUCT.rglob("*.py"), PROJECT_DIR / "__main__.py"]
    return {str(path.relative_to(PROJECT_DIR)): _top_level_imports(path) for path in files}


def _requirements(name: str) -> list[Requirement]:
    lines = (PROJECT_DIR / name).read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith(("#", "-"))]


def test_the_product_never_imports_the_lab():
    importers = sorted(path for path, names in _product_imports().items() if "kafscale_lab" in names)
    assert importers == []


# The product's subpackages, lowest first: a module imports from its own and lower ones only
# (docs/architecture.md, "Layout").
LAYERS = ("config", "objects", "edge", "offline")


def _kafscale_imports(path: Path) -> set[str]:
    """The `kafscale.*` modules a file imports, anywhere in it (inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("kafscale."))
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if not module.startswith("kafscale"):
                continue
            names.update(f"{module}.{alias.name}" if module == "kafscale" else module for alias in node.names)
    return names


def test_each_subpackage_imports_only_from_itself_and_the_ones_below_it():
    upward = {}
    for layer in LAYERS:
        for path in (PRODUCT / layer).rglob("*.py"):
            for module in _kafscale_imports(path):
                target = module.split(".")[1]
                if target in LAYERS and LAYERS.index(target) > LAYERS.index(layer):
                    upward.setdefault(str(path.relative_to(PROJECT_DIR)), []).append(module)
    assert upward == {}
    assert {path.name for path in PRODUCT.iterdir() if path.suffix == ".py"} == {
        "__init__.py",
        "__main__.py",
        "component.py",  # `from kafscale.component import ManagedEtcd`, as programs import it
        "package_version.py",
    }


def test_the_product_imports_only_the_standard_library_itself_and_its_runtime_requirements():
    allowed = set(sys.stdlib_module_names) | {"kafscale"} | set(DISTRIBUTIONS)
    outside = {path: sorted(names - allowed) for path, names in _product_imports().items() if names - allowed}
    assert outside == {}


def test_requirements_txt_holds_exactly_the_runtime_distributions_in_ranges():
    runtime = _requirements("requirements.txt")
    assert sorted(r.name for r in runtime) == sorted(DISTRIBUTIONS.values())
    for requirement in runtime:
        operators = {spec.operator for spec in requirement.specifier}
        assert operators == {">=", "<"}, requirement  # a compatible range, never one pinned version


def test_every_runtime_range_admits_the_version_the_suite_pins():
    pins = {canonicalize_name(r.name): r for r in _requirements("requirements-dev.txt")}
    for requirement in _requirements("requirements.txt"):
        (pin,) = pins[canonicalize_name(requirement.name)].specifier
        assert pin.operator == "==" and requirement.specifier.contains(pin.version), (requirement, pin)


@pytest.mark.package  # venv-runtime: `make setup` builds it, `make test-fast` does not
def test_the_program_runs_with_only_the_runtime_requirements_installed():
    """`make setup` builds venv-runtime from requirements.txt alone: there the component imports,
    no development package is to be found, and `python -m kafscale render` (the same `main`)
    prints exactly what it prints with every development package installed."""
    if not RUNTIME_VENV_PYTHON.exists():
        missing("venv-runtime is missing (make setup builds it from requirements.txt)")
    program = (
        "import importlib.util, sys\n"
        "from kafscale.edge.component import ManagedEtcd\n"
        "assert importlib.util.find_spec('matplotlib') is None, 'a development package is installed'\n"
        "from kafscale.offline.cli import main\n"
        "sys.exit(main(['render', '--stack', 'dev']))\n"
    )
    runtime = subprocess.run(
        [str(RUNTIME_VENV_PYTHON), "-c", program],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert runtime.returncode == 0, runtime.stderr
    assert runtime.stdout == run_cli("render", "--stack", "dev").stdout
