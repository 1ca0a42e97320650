"""Delivering journaled records to the ERP: each write's outcome (delivered, duplicate,
dead, failed), and how outcomes are recorded (a dead letter or a failure is retried with
backoff). The writes themselves touch no journal table: whoever wrote records the
attempts afterwards, in its own transaction."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import structlog

from connector import metrics
from connector.errors import AuthError, FormatError, PermanentError, TransientError
from connector.model import InboundRecord
from connector.ports import BatchSink, ErpRef, ErpSink, Rendered

log = structlog.get_logger("connector.importing.journal")
_stdlib_log = logging.getLogger("connector.importing.journal")  # where the calls above end

Outcome = Literal["delivered", "duplicate", "dead", "failed"]


@dataclass(frozen=True)
class Attempt:
    """One ERP write and what came of it (recorded in the journal afterwards)."""

    record: InboundRecord
    outcome: Outcome
    ref: ErpRef | None
    error: str
    sink: str


def backoff(attempts: int, retry_seconds: float, max_retry_seconds: float) -> float:
    """retry_seconds * 2**(attempts-1), at most max_retry_seconds."""
    return float(min(max_retry_seconds, retry_seconds * (2 ** max(0, min(attempts - 1, 30)))))


def write(records: Sequence[InboundRecord], sink: ErpSink, into: list[Attempt] | None = None,
          rendered: Sequence[Rendered | None] = ()) -> list[Attempt]:
    """Write records to the ERP and say how each went, without touching the journal
    (the caller records the attempts: `save_outcomes`, or with the next page in
    `record_page`). A batch goes in one go to a sink that writes batches (BatchSink),
    with what was rendered beside each record (`rendered`, one per record, or empty).
    Each attempt is appended to `into` as soon as it is known, so that a caller
    interrupted by AuthError still records the ones before."""
    done = [] if into is None else into
    if isinstance(sink, BatchSink) and len(records) > 1:
        for rec, got in zip(records, sink.write_many(records, rendered), strict=True):
            done.append(_classify(rec, sink, got))
    else:
        for rec in records:
            done.append(_write_one(rec, sink))
    return done


def _write_one(rec: InboundRecord, sink: ErpSink) -> Attempt:
    try:
        ref = sink.write(rec)
    except AuthError:
        raise
    except (PermanentError, FormatError) as exc:
        return Attempt(rec, "dead", None, str(exc), sink.name)
    except TransientError as exc:
        return Attempt(rec, "failed", None, str(exc), sink.name)
    except Exception as exc:  # a sink bug must not lose the record
        log.exception("ERP sink raised an unexpected error", key=rec.key)
        return Attempt(rec, "dead", None, f"internal error in sink {sink.name}: {exc!r}",
                       sink.name)
    return Attempt(rec, "duplicate" if ref.duplicate else "delivered", ref, "", sink.name)


def _classify(rec: InboundRecord, sink: ErpSink, got: ErpRef | Exception) -> Attempt:
    """write_many's answer for one record, as _write_one would have returned it."""
    if isinstance(got, ErpRef):
        return Attempt(rec, "duplicate" if got.duplicate else "delivered", got, "", sink.name)
    if isinstance(got, AuthError):
        raise got
    if isinstance(got, PermanentError | FormatError):
        return Attempt(rec, "dead", None, str(got), sink.name)
    if isinstance(got, TransientError):
        return Attempt(rec, "failed", None, str(got), sink.name)
    return Attempt(rec, "dead", None, f"internal error in sink {sink.name}: {got!r}",
                   sink.name)


def save_outcomes(conn: sqlite3.Connection, attempts: Sequence[Attempt], now: float,
                  delay: Callable[[int], float]) -> None:
    """Record how ERP writes went: delivered, or tried again `delay(attempts)` later (but
    not a record an operator discarded meanwhile: it stays discarded)."""
    if not attempts:
        return
    landed = [(a.sink, a.ref.ref if a.ref else None, now, now, a.record.key)
              for a in attempts if a.outcome in ("delivered", "duplicate")]
    if landed:
        conn.executemany(
            "UPDATE import_journal SET state = 'delivered', sink = ?, erp_ref = ?, "
            "delivered_at = ?, updated_at = ?, last_error = NULL, next_retry_at = NULL "
            "WHERE key = ?", landed)
    for a in attempts:
        if a.outcome in ("delivered", "duplicate"):
            continue
        row = conn.execute("SELECT attempts FROM import_journal WHERE key = ?",
                           (a.record.key,)).fetchone()
        tries = (row["attempts"] if row else 0) + 1
        conn.execute(
            "UPDATE import_journal SET state = ?, attempts = ?, last_error = ?, "
            "next_retry_at = ?, updated_at = ? WHERE key = ? AND state != 'discarded'",
            ("dead" if a.outcome == "dead" else "pending", tries, a.error[:2000],
             now + delay(tries), now, a.record.key))


def log_outcomes(attempts: Sequence[Attempt]) -> None:
    for (stream, outcome), n in Counter((a.record.stream, a.outcome)
                                        for a in attempts).items():
        metrics.inc("connector_import_records_total", n,
                    help="inbound records by outcome", stream=stream, outcome=outcome)
    # A line per delivered record at info; below that level not even the call (this
    # runs for every record, and a dropped structlog call still costs microseconds).
    info = _stdlib_log.isEnabledFor(logging.INFO)
    for a in attempts:
        rec = a.record
        if a.outcome in ("delivered", "duplicate"):
            if info:
                log.info(f"record {a.outcome}", stream=rec.stream, key=rec.key,
                         queue_id=rec.queue_id, sink=a.sink,
                         erp_ref=a.ref.ref if a.ref else None,
                         correlation_id=f"record-{rec.key}")
        elif a.outcome == "dead":
            log.error("ERP refused record, dead-lettered", key=rec.key,
                      queue_id=rec.queue_id, reason=a.error,
                      correlation_id=f"record-{rec.key}")
        else:
            log.warning("ERP write failed, will retry", key=rec.key, error=a.error,
                        correlation_id=f"record-{rec.key}")
