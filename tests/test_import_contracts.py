"""The boundary contracts in .importlinter hold on the project, and each one catches the
violation it exists for.

Each case copies the .py files of dsta/ and domains/ to a temporary tree, plants one import the
contract must refuse, runs the real ``lint-imports`` on that tree, and checks that exactly that
contract breaks. A contract that no longer catches its violation (a typo in a module
expression, a wildcard that matches nothing) fails here instead of silently passing in CI.
"""

import configparser
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = REPO_ROOT / ".importlinter"
ROOT_PACKAGES = ("dsta", "domains")
_RESULT_LINE = re.compile(r"^(?P<name>.+?) (?P<status>KEPT|BROKEN)(?: \(.*\))?$", re.MULTILINE)


def _contracts() -> dict[str, str]:
    """Contract id -> contract name, as .importlinter declares them."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    prefix = "importlinter:contract:"
    return {
        section.removeprefix(prefix): parser[section]["name"]
        for section in parser.sections()
        if section.startswith(prefix)
    }


def _source_modules(contract_id: str) -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser[f"importlinter:contract:{contract_id}"]["source_modules"].split()


CONTRACTS = _contracts()


def _lint_imports() -> str:
    sibling = Path(sys.executable).with_name("lint-imports")
    found = str(sibling) if sibling.exists() else shutil.which("lint-imports")
    assert found, "lint-imports is not installed (import-linter, in the dev extra)"
    return found


def run_lint(tree: Path) -> dict[str, str]:
    """Run lint-imports on ``tree`` with the project's contracts: contract name -> status."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run(
        [_lint_imports(), str(CONFIG), "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    statuses = {m["name"]: m["status"] for m in _RESULT_LINE.finditer(result.stdout)}
    assert statuses, f"lint-imports reported no contract:\n{result.stdout}\n{result.stderr}"
    assert result.returncode == (1 if "BROKEN" in statuses.values() else 0), result.stderr
    return statuses


def copy_tree(target: Path) -> Path:
    """The project's root packages, .py files only, under ``target``."""
    for package in ROOT_PACKAGES:
        for source in (REPO_ROOT / package).rglob("*.py"):
            if "__pycache__" in source.parts:
                continue
            destination = target / source.relative_to(REPO_ROOT)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, destination)
    return target


def plant(tree: Path, relative: str, code: str) -> None:
    """Append ``code`` to the module at ``relative``, creating it and its packages if needed."""
    module = tree / relative
    for parent in module.relative_to(tree).parents:
        if parent != Path("."):
            (tree / parent).mkdir(exist_ok=True)
            (tree / parent / "__init__.py").touch()
    with module.open("a") as handle:
        handle.write(f"\n{code}\n")


@dataclass(frozen=True)
class Violation:
    contract: str
    why: str
    # relative path -> code appended to it
    plants: tuple[tuple[str, str], ...]


VIOLATIONS = [
    Violation(
        "domain-boundaries",
        "trading reaches into core's models instead of core.api",
        (
            ("domains/core/models.py", ""),
            ("domains/trading/planted_reach_in.py", "import domains.core.models"),
        ),
    ),
    Violation(
        "domains-see-only-kernel",
        "a domain imports a composition-root module that is not the kernel",
        (
            ("dsta/planted_wiring.py", ""),
            ("domains/data/planted_wiring_user.py", "from dsta import planted_wiring"),
        ),
    ),
    Violation(
        "no-settings-internals",
        "kernel code imports dsta.settings instead of django.conf.settings",
        (("dsta/kernel/planted_config.py", "from dsta import settings"),),
    ),
    Violation(
        "kernel-is-domain-agnostic",
        "the kernel imports a domain",
        (("dsta/kernel/planted_domain_user.py", "import domains.core"),),
    ),
    Violation(
        "quant-is-pure",
        "the quant library imports Django",
        (("dsta/quant/planted_indicator.py", "from django.db import models"),),
    ),
    Violation(
        "events-are-plain-contracts",
        "an events module imports Django",
        (("domains/ml/events.py", "from django.db import models"),),
    ),
    Violation(
        "api-is-transport-agnostic",
        "an api module imports DRF",
        (("domains/core/api.py", "from rest_framework import serializers"),),
    ),
    Violation(
        "domain-internal-layers",
        "models import the services above them",
        (
            ("domains/ml/services/__init__.py", ""),
            ("domains/ml/models.py", "import domains.ml.services"),
        ),
    ),
]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tree; it must keep every contract, or no planted case means anything."""
    tree = copy_tree(tmp_path_factory.mktemp("pristine"))
    statuses = run_lint(tree)
    broken = [name for name, status in statuses.items() if status != "KEPT"]
    assert not broken, f"the project tree itself breaks: {broken} (run .venv/bin/lint-imports)"
    return tree


def test_every_contract_has_a_planted_violation() -> None:
    assert sorted(v.contract for v in VIOLATIONS) == sorted(CONTRACTS)


def test_the_project_keeps_every_contract() -> None:
    # What CI runs: lint-imports from the repository root, on the checked-out tree.
    result = subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


def test_the_pristine_copy_keeps_every_contract(pristine: Path) -> None:
    assert run_lint(pristine) == dict.fromkeys(CONTRACTS.values(), "KEPT")


@pytest.mark.parametrize("violation", VIOLATIONS, ids=lambda v: v.contract)
def test_a_planted_violation_breaks_exactly_its_contract(
    pristine: Path, tmp_path: Path, violation: Violation
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(pristine, tree)
    for relative, code in violation.plants:
        plant(tree, relative, code)

    statuses = run_lint(tree)

    expected = dict.fromkeys(CONTRACTS.values(), "KEPT")
    expected[CONTRACTS[violation.contract]] = "BROKEN"
    assert statuses == expected, violation.why


def test_quant_contracts_cover_quant(tmp_path: Path, pristine: Path) -> None:
    """dsta.quant is named as ``dsta.quant.**`` while it does not exist (a missing module named
    in a contract stops lint-imports); once it exists the package itself must be named too."""
    for contract in ("no-settings-internals", "kernel-is-domain-agnostic", "quant-is-pure"):
        sources = _source_modules(contract)
        assert "dsta.quant.**" in sources
        if (REPO_ROOT / "dsta" / "quant").exists():
            assert "dsta.quant" in sources, f"add dsta.quant to {contract}'s source_modules"
    # The descendants pattern does catch quant code importing a domain.
    tree = tmp_path / "tree"
    shutil.copytree(pristine, tree)
    plant(tree, "dsta/quant/planted_feature.py", "import domains.ml")

    statuses = run_lint(tree)

    assert statuses[CONTRACTS["kernel-is-domain-agnostic"]] == "BROKEN"
