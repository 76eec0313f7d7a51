"""The phone app opens offline only if the service worker caches every module it imports: the
cache list in web/app/sw.js must name each file reachable from app.js, and nothing missing."""

from __future__ import annotations

import posixpath
import re

from service.web.router import DEFAULT_WEB_DIR

IMPORT = re.compile(
    r"""(?:^|\s)(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']|import\s*["']([^"']+)["']"""
)


def _file_of(url: str) -> str:
    """The file in web/ served at an /app/ URL path (see service/web/router.py)."""
    rel = url.removeprefix("/app/")
    return f"shared/{rel.removeprefix('shared/')}" if rel.startswith("shared/") else f"app/{rel}"


def _imported_urls(entry: str) -> set[str]:
    seen: set[str] = set()
    todo = [entry]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        source = (DEFAULT_WEB_DIR / _file_of(url)).read_text(encoding="utf-8")
        for match in IMPORT.finditer(source):
            spec = match.group(1) or match.group(2)
            assert spec.startswith("."), f"{url} imports {spec!r}: only relative modules are served"
            todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(url), spec)))
    return seen


def _cached_urls() -> set[str]:
    source = (DEFAULT_WEB_DIR / "app" / "sw.js").read_text(encoding="utf-8")
    block = re.search(r"const SHELL = \[(.*?)\];", source, re.S)
    assert block is not None, "sw.js has no SHELL list"
    return {f"/app/{name}" for name in re.findall(r'"([^"]+)"', block.group(1))}


def test_every_module_the_phone_app_imports_is_in_the_offline_cache() -> None:
    modules = _imported_urls("/app/app.js")
    assert {"/app/app.js", "/app/shared/api.js", "/app/views/scan.js"} <= modules
    missing = sorted(modules - _cached_urls())
    assert not missing, f"sw.js does not cache {missing}: the app would not open offline"


def test_every_cached_file_exists() -> None:
    for url in _cached_urls() - {"/app/./", "/app/vendor/jsQR.js"}:
        assert (DEFAULT_WEB_DIR / _file_of(url)).is_file(), (
            f"sw.js caches {url}, which is not there"
        )
