"""The import graph points down (docs/architecture.md): a domain imports only what sits below
it; the use cases on top wire domains together; a router never imports another router.

Vocabulary may cross upward — an enum, ``Actor``, a table class read by a neighbour — and
every such import is listed in ``VOCABULARY`` below, by the exact name imported. A new import
that points up fails this test until it is either turned around (a hook handed in from above)
or added here as vocabulary, with its reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("service", "schemas", "mobile_api")

# Bottom to top. A module belongs to the first group whose prefix it starts with; modules
# named router.py / *_router.py belong to the "routers" layer whatever their folder.
LAYERS: list[tuple[str, ...]] = [
    (
        "schemas",
        "service.config",
        "service.db",
        # Statements the scan path runs straight on the driver.
        "service.direct_sql",
        "service.errors",
        # Body limits and security headers: ASGI middlewares below every route.
        "service.http",
        # Metrics, JSON logs and the request id: every layer counts and logs through them.
        "service.observability",
        "service.pagination",
        "service.deps",
        "service.jurisdictions",
        # Distances on the Earth, for every rule that reads positions.
        "service.geo",
        # QR symbols and the drawing shared by label sheets and manifests.
        "service.qr",
        "service.printing",
        "service.audit_context",
        "service.migrate",
        # Which process runs the background jobs (a PostgreSQL advisory lock).
        "service.leader",
        # Backups copy the database and the data directory's files, knowing no domain.
        "service.backup",
    ),
    ("service.organizations",),
    ("service.auth",),
    ("service.labels", "service.audit"),
    ("service.custody",),
    # The transparency log: every custody event a leaf (reads the events, nothing above).
    ("service.tlog",),
    ("service.manifests",),
    # Trip tracks: the positions a driver's phone records while a manifest is open.
    ("service.tracks",),
    ("service.anomalies",),
    ("service.scanning", "service.reports", "service.evidence"),
    # GS1 EPCIS: capture records each event through the scan use case, so it sits above it.
    ("service.epcis",),
    ("routers", "mobile_api", "service.web"),
    # The application, the command line, and the registry of every table (for migrations).
    ("service.app", "service.cli", "service.demo", "service.models"),
]

# (importing folder, imported module, name): an upward import that is only vocabulary.
VOCABULARY: set[tuple[str, str, str]] = {
    # Request and response models name the domains' enums.
    ("schemas", "service.custody.machine", "Action"),
    ("schemas", "service.custody.machine", "CorrectionReason"),
    ("schemas", "service.custody.machine", "DisposalMethod"),
    ("schemas", "service.custody.machine", "Incident"),
    ("schemas", "service.auth.roles", "Role"),
    ("schemas", "service.manifests.models", "ManifestState"),
    ("schemas", "service.manifests.models", "Party"),
    ("schemas", "service.organizations.models", "OrgKind"),
    # Every domain reads who is acting.
    ("service.organizations", "service.auth.actor", "Actor"),
    # A driver sees the containers on their company's trips: the scope reads the trip table.
    ("service.custody", "service.manifests.models", "Manifest"),
}


def _folder(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "service" or len(parts) < 2:
        return parts[0]
    return ".".join(parts[:2])


def _is_router(module: str) -> bool:
    last = module.rsplit(".", 1)[-1]
    return last == "router" or last.endswith("_router")


def _layer(module: str) -> int:
    if _is_router(module):
        return next(i for i, group in enumerate(LAYERS) if "routers" in group)
    for i, group in enumerate(LAYERS):
        if any(module == p or module.startswith(p + ".") for p in group):
            return i
    raise AssertionError(f"{module} is in no layer: place it in LAYERS")


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    name: str
    line: int


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports() -> list[Import]:
    found: list[Import] = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = _module_of(path)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    if node.module.split(".")[0] not in PACKAGES:
                        continue
                    for alias in node.names:
                        target = node.module
                        # `from service.custody import ledger` imports a module.
                        if (ROOT / Path(*target.split("."), f"{alias.name}.py")).exists():
                            target = f"{target}.{alias.name}"
                        found.append(Import(source, target, alias.name, node.lineno))
                elif isinstance(node, ast.Import):
                    for alias in node.names:
                        if alias.name.split(".")[0] in PACKAGES:
                            found.append(Import(source, alias.name, "*", node.lineno))
    return found


IMPORTS = _imports()


def _node(module: str) -> str:
    """A folder, or the routers of a folder (which sit in the routers layer)."""
    return _folder(module) + (":router" if _is_router(module) else "")


def _upward(imp: Import) -> bool:
    if _node(imp.source) == _node(imp.target):
        return False
    if _is_router(imp.source) and _folder(imp.source) == _folder(imp.target):
        return False  # a router calls its own domain
    source, target = _layer(imp.source), _layer(imp.target)
    # The kernel at the bottom (settings, database, errors, ...) and the entry points at the
    # top are each one layer whose modules may use one another.
    if source == target and source in (0, len(LAYERS) - 1):
        return False
    return target >= source


def test_the_graph_was_read() -> None:
    # The walk must see the imports it judges (a broken walk would pass everything).
    assert len(IMPORTS) > 300
    assert any(i.source == "service.scanning.record" and i.target == "service.custody.containers"
               for i in IMPORTS)  # fmt: skip


def test_every_import_points_down_or_is_listed_vocabulary() -> None:
    bad = [
        f"{i.source}:{i.line} imports {i.name} from {i.target}"
        for i in IMPORTS
        if _upward(i) and (_folder(i.source), i.target, i.name) not in VOCABULARY
    ]
    assert not bad, "imports that point up:\n" + "\n".join(bad)


def test_no_router_imports_another_router() -> None:
    bad = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if _is_router(i.target) and i.source != i.target and not i.source.startswith("service.app")
    ]
    assert not bad, "\n".join(bad)


def test_no_two_folders_import_each_other_beyond_vocabulary() -> None:
    # A folder's routers count apart from it: they sit in the routers layer on top.
    edges: dict[tuple[str, str], list[Import]] = {}
    for i in IMPORTS:
        if (_folder(i.source), i.target, i.name) in VOCABULARY:
            continue
        a, b = _node(i.source), _node(i.target)
        if a != b:
            edges.setdefault((a, b), []).append(i)
    cycles = sorted({tuple(sorted(pair)) for pair in edges if (pair[1], pair[0]) in edges})
    assert not cycles, f"folders importing each other: {cycles}"


@pytest.mark.parametrize("entry", sorted(VOCABULARY))
def test_every_vocabulary_entry_is_still_used(entry: tuple[str, str, str]) -> None:
    folder, target, name = entry
    assert any(
        _folder(i.source) == folder and i.target == target and i.name == name for i in IMPORTS
    ), f"{entry} is no longer imported: remove it from VOCABULARY"
