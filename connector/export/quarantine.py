"""A refused file: moved into quarantine (connector.inbox) with a report that says every
problem and what to do, journaled, counted, and told (log, events, `connector status`)."""

from __future__ import annotations

import time

import structlog

from connector import metrics
from connector.config import ExportConfig
from connector.export import formats_bridge as fb
from connector.export.journal import ExportJournal, Outcome
from connector.i18n import _, ngettext, number
from connector.inbox import Inbox
from connector.state import StateStore

# One burst, one logger: its lines (and notification keys) keep the pipeline's name.
log = structlog.get_logger("connector.export.pipeline")


class Quarantine:
    def __init__(self, ex: ExportConfig, inbox: Inbox, journal: ExportJournal,
                 store: StateStore) -> None:
        self.ex = ex
        self.inbox = inbox
        self.journal = journal
        self.store = store

    def refuse(self, rel: str, verdict: fb.Judgement, started: float, *,
               culprit: str | None = None, copy: bool = True) -> Outcome:
        """Move the refused name (`culprit`: the link itself when a link was the problem,
        never what it points to) into quarantine with a report; the rest of the burst goes on."""
        parts = [_("Nothing of this file was published.")]
        if verdict.warnings:  # their "published as written" says what a valid file gets
            parts.append(ngettext(
                "The warning above did not refuse the file: once the errors are fixed, that "
                "value is published as written.",
                "The warnings above did not refuse the file: once the errors are fixed, those "
                "values are published as written.", verdict.warnings))
        if verdict.bad_lines is not None:  # row errors only, but too many to hold them back
            limit = self.ex.max_bad_rows
            parts.append(ngettext(
                "{n} row is bad: more than export.max_bad_rows allows to hold back (at most "
                "{count} rows and {percent}% of the file), so the file was refused whole.",
                "{n} rows are bad: more than export.max_bad_rows allows to hold back (at most "
                "{count} rows and {percent}% of the file), so the file was refused whole.",
                verdict.bad_rows).format(n=number(verdict.bad_rows), count=number(limit.count),
                                         percent=f"{limit.percent:g}"))
        parts.append(_("Fix it and drop it again into the export folder.") if copy else
                     _("The link (or linked name) was moved here, never what it points to; if "
                       "the ERP must publish that file, copy it into the export folder as a "
                       "regular file."))
        report = verdict.text + "\n" + " ".join(parts) + "\n"
        q = self.inbox.quarantine(rel, report, culprit=culprit, copy=copy)
        first, count = verdict.first, verdict.count
        self.journal.quarantined(rel, str(q.path), str(q.report), first, count)
        outcome = Outcome(rel, "quarantined", error=first,
                          duration_ms=int((time.monotonic() - started) * 1000))
        self.journal.record("quarantine", [outcome])
        metrics.inc("connector_files_quarantined_total", help="Files moved to quarantine")
        log.warning("file quarantined", file=rel, problems=count, first_error=first,
                    report=str(q.report))
        self.store.record_event("warning", "export", f"{rel} quarantined: {first}")
        return outcome
