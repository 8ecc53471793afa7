"""The dashboard's static files: every one a template references exists, every ES module
import resolves to a file, and nothing points outside the server (no CDN, no external URL)."""

import re
from pathlib import Path

from django.contrib.staticfiles import finders

APP_DIR = Path(__file__).resolve().parent.parent
TEMPLATES = APP_DIR / "templates" / "dashboard"
STATIC = APP_DIR / "static" / "dashboard"
STATIC_TAG = re.compile(r"""{%\s*static\s+['"]([^'"]+)['"]\s*%}""")
# `import ... from "./x.js"`, `export ... from "./x.js"`, `import("./x.js")`, `import "./x.js"`.
JS_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")
EXTERNAL = re.compile(r"https?://|(?:src|href)\s*=\s*[\"']//|url\(\s*[\"']?//|//cdn", re.I)
# XML namespace names identify a vocabulary; nothing is ever fetched from them.
NAMESPACES = ("http://www.w3.org/2000/svg",)


def _files(root: Path, *suffixes: str) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in suffixes)


def test_every_static_file_a_template_references_exists() -> None:
    referenced = {
        name
        for template in _files(TEMPLATES, ".html")
        for name in STATIC_TAG.findall(template.read_text())
    }
    assert "dashboard/js/main.js" in referenced
    missing = sorted(name for name in referenced if finders.find(name) is None)
    assert missing == []


def test_every_es_module_import_resolves_to_a_file() -> None:
    scripts = _files(STATIC, ".js")
    assert len(scripts) >= 10
    broken = []
    for script in scripts:
        for target in JS_IMPORT.findall(script.read_text()):
            if not target.startswith((".", "/")):
                broken.append(f"{script.name}: bare specifier {target!r} (no build step here)")
                continue
            resolved = (script.parent / target).resolve()
            if not resolved.is_file():
                broken.append(f"{script.relative_to(STATIC)}: {target}")
    assert broken == []


def test_main_reaches_every_module() -> None:
    """Every script is part of the page's module graph (no dead files)."""
    scripts = {p.resolve() for p in _files(STATIC, ".js")}
    reached: set[Path] = set()
    pending = [STATIC / "js" / "main.js"]
    while pending:
        script = pending.pop().resolve()
        if script in reached:
            continue
        reached.add(script)
        pending.extend(script.parent / t for t in JS_IMPORT.findall(script.read_text()))
    assert sorted(str(p.relative_to(STATIC)) for p in scripts - reached) == []


def test_nothing_points_outside_the_server() -> None:
    offenders = []
    for path in _files(APP_DIR, ".html", ".js", ".css", ".svg"):
        text = path.read_text()
        for namespace in NAMESPACES:
            text = text.replace(namespace, "")
        for number, line in enumerate(text.splitlines(), start=1):
            if EXTERNAL.search(line):
                offenders.append(f"{path.relative_to(APP_DIR)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_external_url_check_itself_catches_urls() -> None:
    for line in (
        '<script src="https://cdn.example.com/x.js">',
        '<link href="//fonts.example.com/a.css">',
        "import x from 'http://example.com/x.js';",
        "background: url(//example.com/a.png);",
    ):
        assert EXTERNAL.search(line), line
    assert not EXTERNAL.search('fetch("/api/v1/jobs/")  // a comment')
