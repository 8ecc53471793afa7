"""The dashboard is pure frontend: its Python imports no domain (everything it shows comes
through the public API, like any other client)."""

import ast
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent


def _imported_modules(source: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_no_dashboard_module_imports_a_domain() -> None:
    offenders = {
        f"{path.relative_to(APP_DIR)}: {module}"
        for path in APP_DIR.rglob("*.py")
        for module in _imported_modules(path.read_text())
        if module == "domains" or module.startswith("domains.")
    }
    assert offenders == set()


def test_the_import_scan_sees_both_import_forms() -> None:
    found = _imported_modules("import domains.core.api\nfrom domains.data import api\n")
    assert found == {"domains.core.api", "domains.data"}
