"""`connector status`, import section: per stream its lastID mark, last import, records
imported, dead letters (with their reasons) and malformed items; read from the journal."""

from __future__ import annotations

from typing import Any

from connector.config import Config
from connector.errors import in_words
from connector.i18n import _
from connector.importing.journal import Journal
from connector.model import STREAMS
from connector.state import StateStore
from connector.timefmt import fmt_time, fmt_when

MAX_LISTED = 20


def collect(cfg: Config, store: StateStore) -> dict[str, Any]:
    journal = Journal(store)
    counts = journal.counts()
    facts = journal.stream_facts()
    streams: dict[str, Any] = {}
    for s in STREAMS:
        c = counts.get(s, {})
        f = facts.get(s)
        streams[s] = {
            "mark": f.last_id if f else 0,
            "last_import_at": f.last_import_at if f else None,
            "imported": c.get("delivered", 0),
            "pending": c.get("pending", 0),
            "failing": c.get("failing", 0),
            "dead": c.get("dead", 0),
            "duplicates": c.get("duplicate", 0),
            "malformed": c.get("quarantined", 0),
            "warned": c.get("warned", 0),
            "error": in_words(f.last_error) if f and f.last_error else None,
            "error_at": f.last_error_at if f else None,
        }
    dead = [{"key": e.key, "stream": e.stream, "queue_id": e.last_queue_id,
             "state": e.state, "attempts": e.attempts, "reason": in_words(e.last_error),
             "next_retry_at": e.next_retry_at, "received_at": e.received_at}
            for e in journal.dead_letters()[:MAX_LISTED]]
    bad = [{"stream": q.stream, "queue_id": q.queue_id, "error": q.error, "field": q.field,
            "at": q.at} for q in journal.quarantined(limit=MAX_LISTED)]
    warned = [{"key": w.key, "stream": w.stream, "queue_id": w.queue_id,
               "warning": w.warning, "at": w.at} for w in journal.warnings(limit=MAX_LISTED)]
    return {"enabled": cfg.import_.enabled, "source": cfg.import_.source,
            "sink": cfg.import_.erp.sink, "streams": streams, "dead_letters": dead,
            "malformed": bad, "warnings": warned}


def render(section: dict[str, Any]) -> list[str]:
    lines = [f"import: {'enabled' if section.get('enabled') else 'disabled'}, source "
             f"{section.get('source')}, ERP sink {section.get('sink')}"]
    for name, s in section.get("streams", {}).items():
        line = (f"  {name:<15} mark {s['mark']:<7} last import {fmt_time(s['last_import_at'])}  "
                f"imported {s['imported']}  dead {s['dead']}  failing {s['failing']}  "
                f"malformed {s['malformed']}")
        if s.get("pending"):
            line += f"  pending {s['pending']}"
        if s.get("warned"):
            line += f"  with warnings {s['warned']}"
        lines.append(line)
        if s.get("error"):
            lines.append(f"    STOPPED/FAILING since {fmt_when(s['error_at'])}: {s['error']}")
    dead = section.get("dead_letters") or []
    lines.append(f"  dead letters: {len(dead) if dead else 'none'}"
                 + (" (retry now with `connector retry`)" if dead else ""))
    for d in dead:
        lines.append(f"    {d['key']} (queue id {d['queue_id']}, {d['state']}, attempts "
                     f"{d['attempts']}, next retry {fmt_time(d['next_retry_at'])}): {d['reason']}")
        if d.get("received_at"):
            lines.append("      " + _("received {when}").format(when=fmt_when(d["received_at"])))
    bad = section.get("malformed") or []
    lines.append(f"  malformed items: {len(bad) if bad else 'none'}")
    for b in bad:
        lines.append(f"    {b['stream']} queue id {b['queue_id']} at {fmt_time(b['at'])}: {b['error']}")
    warned = section.get("warnings") or []
    if warned:
        lines.append(f"  latest warnings ({len(warned)}; the records were delivered):")
        for w in warned:
            lines.append(f"    {w['key']} (queue id {w['queue_id']}) at {fmt_time(w['at'])}: "
                         f"{w['warning']}")
    return lines
