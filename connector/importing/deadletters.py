"""What an operator does with dead letters: list them, read one, discard one. Shared by
`connector deadletters ...` and the console; `connector retry` writes them again.

A dead letter is a journaled record the ERP refused (state "dead") or whose ERP write keeps
failing (state "pending" after an attempt); both are retried with backoff. Discarding one
sets its state to "discarded": it is never retried nor delivered again (the same record
sent again by AppManager only counts a sighting, as any journaled key), and it stays in the
journal, payload and reason included, listed by `deadletters list --all`. The action is
recorded with who did it.

An ID is the journal key, `<stream>/<unique id>`; the unique id alone does when only one
dead letter has it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass

import structlog

from connector.controls import record_action
from connector.errors import ConnectorError
from connector.i18n import _
from connector.importing.journal import schema
from connector.state import StateStore

log = structlog.get_logger(__name__)

_DEAD = "(state = 'dead' OR (state = 'pending' AND attempts > 0))"
_SHOW_LIMIT = 64_000  # characters of a payload shown


class DeadLetterError(ConnectorError):
    """An operator's request that cannot be done (unknown ID, not a dead letter): nothing
    was changed."""

    exit_code = 1


@dataclass(frozen=True)
class DeadLetter:
    id: str  # the journal key, <stream>/<unique id>
    stream: str
    record_id: str
    state: str  # dead | failing | discarded
    at: float  # the last attempt (discarded: when it was discarded)
    received_at: float
    attempts: int
    reason: str  # the ERP's reason, on one line
    next_retry_at: float | None


@dataclass(frozen=True)
class Shown:
    letter: DeadLetter
    reason: str  # whole, control characters escaped
    payload: str  # pretty-printed JSON, bounded
    truncated: bool


def _letter(row: sqlite3.Row) -> DeadLetter:
    state = str(row["state"])
    if state == "pending" and row["attempts"]:
        state = "failing"  # tried and failed: a dead letter too (never tried: pending)
    return DeadLetter(id=row["key"], stream=row["stream"], record_id=row["unique_id"],
                      state=state, at=float(row["updated_at"]),
                      received_at=float(row["received_at"]), attempts=int(row["attempts"]),
                      reason=_one_line(row["last_error"]),
                      next_retry_at=None if state == "discarded" else row["next_retry_at"])


def letters(store: StateStore, *, include_discarded: bool = False,
            stream: str | None = None) -> list[DeadLetter]:
    """The dead letters, the most recently tried first (with the discarded ones: `--all`)."""
    schema.ensure(store)
    where = f"({_DEAD} OR state = 'discarded')" if include_discarded else _DEAD
    params: tuple[object, ...] = ()
    if stream is not None:
        where += " AND stream = ?"
        params = (stream,)
    return [_letter(r) for r in store.query(
        f"SELECT * FROM import_journal WHERE {where} ORDER BY updated_at DESC, key", params)]


def find(store: StateStore, ident: str) -> DeadLetter:
    schema.ensure(store)
    wanted = ident.strip()
    row = store.query_one("SELECT * FROM import_journal WHERE key = ?", (wanted,))
    if row is None and "/" not in wanted:
        rows = store.query(f"SELECT * FROM import_journal WHERE unique_id = ? AND "
                           f"({_DEAD} OR state = 'discarded')", (wanted,))
        if len(rows) > 1:
            raise DeadLetterError(_("several dead letters have the id {ident}: give it with its "
                                    "stream, as `connector deadletters list` shows it").format(
                                        ident=_one_line(wanted)))
        row = rows[0] if rows else None
    if row is None:
        raise DeadLetterError(_("no record {ident} in the import journal (`connector "
                                "deadletters list` shows the dead letters)").format(
                                    ident=_one_line(wanted)))
    letter = _letter(row)
    if letter.state not in ("dead", "failing", "discarded"):
        raise DeadLetterError(_("{ident} is not a dead letter (it is {state})").format(
            ident=letter.id, state=letter.state))
    return letter


def show(store: StateStore, ident: str, limit: int = _SHOW_LIMIT) -> Shown:
    letter = find(store, ident)
    row = store.query_one("SELECT payload FROM import_payload WHERE key = ?", (letter.id,))
    raw = row["payload"] if row else b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
    try:
        pretty = json.dumps(json.loads(text), indent=2, ensure_ascii=False, sort_keys=False)
    except ValueError:
        pretty = text
    reason = store.query_one("SELECT last_error FROM import_journal WHERE key = ?", (letter.id,))
    return Shown(letter, _escape(str(reason["last_error"] or "") if reason else ""),
                 _escape(pretty[:limit]), len(pretty) > limit)


def discard(store: StateStore, ident: str, *, who: str) -> DeadLetter:
    """Never retry this record again; it stays in the journal, visible with `list --all`."""
    letter = find(store, ident)
    if letter.state == "discarded":
        raise DeadLetterError(_("{ident} was already discarded").format(ident=letter.id))
    now = time.time()
    with store.transaction() as conn:
        changed = conn.execute(
            f"UPDATE import_journal SET state = 'discarded', next_retry_at = NULL, "
            f"updated_at = ? WHERE key = ? AND {_DEAD}", (now, letter.id)).rowcount
    if not changed:  # delivered by a retry meanwhile
        raise DeadLetterError(_("{ident} is no longer a dead letter (a retry wrote it "
                                "meanwhile): nothing was discarded").format(ident=letter.id))
    record_action(store, "deadletter.discard", who=who, target=letter.id,
                  detail=f"{letter.attempts} attempt(s); reason: {letter.reason}")
    log.info("dead letter discarded", key=letter.id, who=who, attempts=letter.attempts)
    return find(store, letter.id)


def _escape(text: str) -> str:
    out = []
    for ch in text:
        code = ord(ch)
        if ch in "\n\t" or (code >= 0x20 and not 0x7f <= code < 0xa0):
            out.append(ch)
        else:
            out.append(f"\\x{code:02x}")
    return "".join(out)


def _one_line(text: object, limit: int = 200) -> str:
    if not text:
        return ""
    flat = " ".join(_escape(str(text)).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
