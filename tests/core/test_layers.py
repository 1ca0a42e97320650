"""The layers of ARCHITECTURE.md hold: every import of ours goes in an allowed direction,
and no module reaches itself again through its imports.

Layers (docs/architecture.md draws them):
- kernel: connector.errors, connector.model (with the JSON bounds, model.jsonguard),
  connector.ports: imports only the kernel;
- support: connector.fsutil, retry, metrics, logsetup, state, i18n, oslock, timefmt, inbox:
  the kernel and support;
- formats: formats and connector.errors only;
- engines: connector.export, importing, legacy, extract, geocode: the kernel, support,
  formats, the configuration model and engines; never an adapter, the wiring or service;
- adapters: the kernel, support, formats and their own package; never the configuration
  model, an engine, the wiring, another adapter package or service;
- connector.app (the one wiring site) and the rest of connector: anything but service;
- service: anything.

Every import counts, also one inside a function. KNOWN lists the violations the
re-layering has not removed yet: removing one from the code must remove it from KNOWN
(the test fails on a stale entry), and no new one may appear.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("connector", "adapters", "formats", "service")

KERNEL = ("connector.errors", "connector.model", "connector.ports")
SUPPORT = ("connector.fsutil", "connector.retry", "connector.metrics", "connector.logsetup",
           "connector.state", "connector.i18n", "connector.oslock", "connector.timefmt",
           "connector.inbox", "connector.controls")
ENGINES = ("connector.export", "connector.importing", "connector.legacy", "connector.extract",
           "connector.geocode")
CONFIG = ("connector.config",)

# (importer, imported) pairs still to be removed by the re-layering (issue 14).
KNOWN: set[tuple[str, str]] = set()

# `python -m connector` is a launcher at the top of the stack (it runs service.cli.main, as
# the `connector` console script does); nothing imports it, so it is outside the layers.
LAUNCHERS = ("connector.__main__",)

# Import circles still to be broken (the same rule: a fixed one leaves this list).
KNOWN_CYCLES: list[list[str]] = []


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (resolved to the longest known module)."""
    files = [p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))]
    modules = {_module_name(p): p for p in files}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = name.split(".")
                    parent = parent[:len(parent) - node.level + (1 if is_pkg else 0)]
                    base = ".".join(parent + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                if t and t.split(".")[0] in PACKAGES and t != name:
                    found.add(t)
        graph[name] = found
    return graph


def allowed(importer: str, imported: str) -> bool:
    if _under(importer, KERNEL):
        return _under(imported, KERNEL)
    if _under(importer, SUPPORT):
        return _under(imported, KERNEL + SUPPORT)
    if _under(importer, ("formats",)):
        return _under(imported, ("formats", "connector.errors"))
    if _under(importer, ENGINES):
        return imported == "connector" or _under(imported, KERNEL + SUPPORT + ENGINES + CONFIG
                                                 + ("formats",))
    if _under(importer, ("adapters",)):
        own = ".".join(importer.split(".")[:2])
        return imported == "connector" or _under(imported, KERNEL + SUPPORT + ("formats", own))
    if importer in LAUNCHERS:
        return True
    if _under(importer, ("connector",)):
        return not _under(imported, ("service",))
    return True


def violations() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for importer, names in import_graph().items():
        for imported in names:
            if imported == "connector" and not _under(importer, ("connector",)):
                continue  # the package itself holds only the version
            if not allowed(importer, imported):
                found.add((importer, imported))
    return found


def cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def test_every_import_goes_in_an_allowed_direction() -> None:
    found = violations()
    new = sorted(found - KNOWN)
    assert not new, "imports against the layers:\n" + "\n".join(f"  {a} -> {b}" for a, b in new)
    stale = sorted(KNOWN - found)
    assert not stale, "fixed, remove from KNOWN:\n" + "\n".join(f"  {a} -> {b}" for a, b in stale)


def test_no_import_circles() -> None:
    found = sorted(cycles())
    assert [c for c in found if c not in KNOWN_CYCLES] == [], "new import circles"
    assert [c for c in KNOWN_CYCLES if c not in found] == [], "fixed, remove from KNOWN_CYCLES"


def test_the_rules_catch_each_forbidden_direction() -> None:
    """The checker itself: each direction ARCHITECTURE.md forbids is refused."""
    assert not allowed("adapters.erp.sql_sink", "connector.config")
    assert not allowed("adapters.erp.sql_sink", "connector.importing.journal")
    assert not allowed("adapters.erp.sql_sink", "adapters.appmanager.client")
    assert not allowed("adapters.erp.sql_sink", "service.runner")
    assert not allowed("connector.importing.poller", "adapters.appmanager.client")
    assert not allowed("connector.export.pipeline", "connector.app")
    assert not allowed("connector.app", "service.runner")
    assert not allowed("connector.status", "service.cli")
    assert not allowed("connector.model.order", "connector.state")
    assert not allowed("connector.ports", "connector.config")
    assert not allowed("formats.validate", "connector.fsutil")
    assert not allowed("connector.state", "connector.config")
    assert allowed("adapters.erp.sql_sink", "connector.model.order")
    assert allowed("adapters.erp.sql_sink", "adapters.erp.sql_schema")
    assert allowed("connector.importing.poller", "connector.ports")
    assert allowed("connector.app", "adapters.erp.sql_sink")
    assert allowed("service.runner", "connector.app")
    assert allowed("service.commands.run", "service.runner")
