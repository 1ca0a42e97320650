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
    head = (_("import: enabled, source {source}, ERP sink {sink}") if section.get("enabled")
            else _("import: disabled, source {source}, ERP sink {sink}"))
    lines = [head.format(source=section.get("source"), sink=section.get("sink"))]
    for name, s in section.get("streams", {}).items():
        line = f"  {name:<15} " + _(
            "mark {mark:<7} last import {last}  imported {imported}  dead {dead}  failing "
            "{failing}  malformed {malformed}").format(
            mark=s["mark"], last=fmt_time(s["last_import_at"]), imported=s["imported"],
            dead=s["dead"], failing=s["failing"], malformed=s["malformed"])
        if s.get("pending"):
            line += "  " + _("pending {n}").format(n=s["pending"])
        if s.get("warned"):
            line += "  " + _("with warnings {n}").format(n=s["warned"])
        lines.append(line)
        if s.get("error"):
            lines.append("    " + _("STOPPED/FAILING since {when}: {error}").format(
                when=fmt_when(s["error_at"]), error=s["error"]))
    dead = section.get("dead_letters") or []
    lines.append("  " + (_("dead letters: {n} (retry now with `connector retry`)").format(
        n=len(dead)) if dead else _("dead letters: none")))
    for d in dead:
        lines.append("    " + _("{key} (queue id {queue_id}, {state}, attempts {attempts}, next "
                                "retry {next}): {reason}").format(
            key=d["key"], queue_id=d["queue_id"], state=d["state"], attempts=d["attempts"],
            next=fmt_time(d["next_retry_at"]), reason=d["reason"]))
        if d.get("received_at"):
            lines.append("      " + _("received {when}").format(when=fmt_when(d["received_at"])))
    bad = section.get("malformed") or []
    lines.append("  " + (_("malformed items: {n}").format(n=len(bad)) if bad
                         else _("malformed items: none")))
    for b in bad:
        lines.append("    " + _("{stream} queue id {queue_id} at {when}: {error}").format(
            stream=b["stream"], queue_id=b["queue_id"], when=fmt_time(b["at"]), error=b["error"]))
    warned = section.get("warnings") or []
    if warned:
        lines.append("  " + _("latest warnings ({n}; the records were delivered):").format(
            n=len(warned)))
        for w in warned:
            lines.append("    " + _("{key} (queue id {queue_id}) at {when}: {warning}").format(
                key=w["key"], queue_id=w["queue_id"], when=fmt_time(w["at"]),
                warning=w["warning"]))
    return lines
