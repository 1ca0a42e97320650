"""The geocoding code keeps the target architecture's directions (ARCHITECTURE.md):
the adapter imports neither the configuration model nor an engine; the engine imports
no adapter and no service."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def imports(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / folder).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        found[str(path.relative_to(REPO))] = names
    return found


@pytest.mark.parametrize("folder,allowed", [
    # connector.logsetup: support, for the one masking rule of secrets (mask_secrets)
    ("adapters/geocode", ("connector.errors", "connector.ports", "connector.logsetup",
                          "adapters.geocode")),
    ("connector/geocode", ("connector", "formats")),
])
def test_import_directions(folder: str, allowed: tuple[str, ...]) -> None:
    ours = ("connector", "adapters", "formats", "service")
    for module, names in imports(folder).items():
        for name in names:
            if name.split(".")[0] not in ours:
                continue
            assert name.startswith(allowed), f"{module} imports {name}"
            assert not name.startswith(("adapters", "service")) or folder.startswith("adapters"), (
                f"{module} imports {name}")
            assert not name.startswith(("connector.export", "connector.importing",
                                        "connector.extract", "connector.legacy",
                                        "connector.app", "service.commands")), (
                f"{module} imports {name}")


def test_geopy_stays_in_the_adapter() -> None:
    for folder in ("connector", "formats", "service"):
        for module, names in imports(folder).items():
            assert not any(n.split(".")[0] == "geopy" for n in names), module
