"""What operators decided, kept in the state store: paused parts and the log of actions.

`connector pause export` must still hold after a restart and be seen by the running daemon,
by `connector status` and by the console, whichever process wrote it; so a pause is a row
in the state store, not a flag in memory. Every operator action (pause, resume, requeue,
purge, discard, retry, a console upload...) is recorded with who did it and when, the way
admin consoles keep an audit trail; the daemon's own work is in the logs, not here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from connector.state import StateStore

PARTS = ("export", "import")
_PAUSED_KEY = "paused.{part}"
_MAX_DETAIL = 2000
_KEEP = 5000  # actions kept; older ones leave (an audit trail of a few years of clicks)

_DDL = """
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, who TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '');
"""


@dataclass(frozen=True)
class Action:
    id: int
    at: float
    who: str
    action: str
    target: str
    detail: str


@dataclass(frozen=True)
class Pause:
    part: str
    since: float
    who: str


def _schema(store: StateStore) -> None:
    store.ensure_schema("actions", _DDL)


def record_action(store: StateStore, action: str, *, who: str, target: str = "",
                  detail: str = "") -> Action:
    _schema(store)
    at = time.time()
    cur = store.execute("INSERT INTO actions(at, who, action, target, detail) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (at, who[:200], action[:100], target[:500], detail[:_MAX_DETAIL]))
    store.execute("DELETE FROM actions WHERE id <= (SELECT MAX(id) FROM actions) - ?", (_KEEP,))
    return Action(int(cur.lastrowid or 0), at, who[:200], action[:100], target[:500],
                  detail[:_MAX_DETAIL])


def actions(store: StateStore, limit: int = 50) -> list[Action]:
    """The most recent first."""
    _schema(store)
    rows = store.query("SELECT id, at, who, action, target, detail FROM actions "
                       "ORDER BY id DESC LIMIT ?", (max(0, limit),))
    return [Action(r["id"], r["at"], r["who"], r["action"], r["target"], r["detail"])
            for r in rows]


def _check(part: str) -> str:
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}: one of {', '.join(PARTS)}")
    return part


def pause(store: StateStore, part: str, *, who: str) -> bool:
    """Pause one part; False when it was already paused (nothing recorded then)."""
    key = _PAUSED_KEY.format(part=_check(part))
    if store.get(key):
        return False
    store.put(key, f"{time.time():.3f} {who[:200]}")
    record_action(store, "pause", who=who, target=part)
    return True


def resume(store: StateStore, part: str, *, who: str) -> bool:
    """Resume one part; False when it was not paused."""
    key = _PAUSED_KEY.format(part=_check(part))
    if not store.get(key):
        return False
    store.put(key, None)
    record_action(store, "resume", who=who, target=part)
    return True


def paused(store: StateStore) -> dict[str, Pause]:
    """The paused parts, by name."""
    found: dict[str, Pause] = {}
    for part in PARTS:
        value = store.get(_PAUSED_KEY.format(part=part))
        if value:
            since, _, who = value.partition(" ")
            try:
                at = float(since)
            except ValueError:
                at = 0.0
            found[part] = Pause(part, at, who)
    return found


def is_paused(store: StateStore, part: str) -> bool:
    return bool(store.get(_PAUSED_KEY.format(part=_check(part))))
