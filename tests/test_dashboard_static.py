"""The dashboard is offline by construction: its static files reference only each other.

Every file index.html loads and every module a script imports exists in the static directory,
and no file names a URL elsewhere (a CDN, a web font) — the SVG namespace, a name rather than
a place, is the one exception. The browser tests check the same from the other side: every
resource the loaded page fetched came from the supervisor.
"""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "server/latchwork/server/http/static"
FILES = sorted(p for p in STATIC.rglob("*") if p.is_file())
NAMESPACES = {"http://www.w3.org/2000/svg"}
URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'`)]*""")
IMPORT = re.compile(r"""\bfrom\s+["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']""")
HTML_REF = re.compile(r"""\b(?:src|href)="(/static/[^"]+)\"""")


def test_the_static_directory_holds_the_app() -> None:
    names = {p.relative_to(STATIC).as_posix() for p in FILES}
    assert {"index.html", "app.css", "js/app.js"} <= names


def test_no_file_names_a_url_elsewhere() -> None:
    for path in FILES:
        text = path.read_text()
        urls = {m.group(0) for m in URL.finditer(text) if m.group(0) not in NAMESPACES}
        assert not urls, f"{path.name} refers to {sorted(urls)}"
        assert "@import" not in text and "fonts.g" not in text, path.name


def test_every_reference_resolves_to_a_static_file() -> None:
    index = (STATIC / "index.html").read_text()
    refs = HTML_REF.findall(index)
    assert "/static/js/app.js" in refs and "/static/app.css" in refs
    for ref in refs:
        assert (STATIC / ref.removeprefix("/static/")).is_file(), ref
    for script in STATIC.rglob("*.js"):
        for match in IMPORT.finditer(script.read_text()):
            target = match.group(1) or match.group(2)
            assert target.startswith("./"), f"{script.name} imports {target} (not a local file)"
            assert (script.parent / target).resolve().is_file(), f"{script.name}: {target}"
