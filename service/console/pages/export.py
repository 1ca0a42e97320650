"""The export page (built on the console's skeleton; see service/console/pages/__init__.py)."""

from __future__ import annotations

from starlette.routing import Route


def routes() -> list[Route]:
    return []
