"""The decode worker process's side (connector.importing.decoding starts it): decode a
page's items and run the sink's render step on each.

Kept apart, with only what decoding needs imported, because the worker starts by importing
this module: without `requests` and the rest of the connector it is up in a fraction of
the time.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from typing import Any

from connector.model import decode_raw, jsonguard
from connector.ports import Render

# Per item: None (malformed: decoded again by the poller for its error), or
# (queue_id, unique_id, guid, sent_id, sent_unique_id, rendered output or None, warnings).
Decoded = tuple[int, str, str | None, Any, Any, Any, tuple[str, ...]] | None


def start_worker() -> None:
    """(In the worker process, first.) Ctrl-C and a service manager's SIGTERM (sent to the
    whole process group or cgroup) are for the connector, which stops the worker when it
    is done with it. The worker ends with the connector: its pipes stay open in the worker
    itself, so a connector killed outright would leave it waiting forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True,
                         name="parent-watch").start()


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])  # ready when the connector has ended
    os._exit(0)


def decode_page(stream: str, raws: tuple[bytes, ...], render: Render | None
                ) -> list[Decoded]:
    """(In the worker process.) Each item decoded; the sink's render step run on the valid
    ones (its error leaves the item unrendered: the sink meets it again when writing).
    An item that is too deep, fails to decode for any reason, or has a queue id the
    journal cannot store is None: the poller decodes it again to refuse it alone, so one
    poison item never costs the worker (or the page)."""
    out: list[Decoded] = []
    for raw in raws:
        try:
            if not jsonguard.within_depth(raw, jsonguard.ITEM_DEPTH):
                out.append(None)
                continue
            rec = decode_raw(stream, raw)
        except Exception:  # noqa: BLE001 - refused again, with its error, by the poller
            out.append(None)
            continue
        if not jsonguard.storable_id(rec.queue_id):
            out.append(None)
            continue
        output = None
        if render is not None:
            try:
                output = render(rec)
            except Exception:  # noqa: BLE001 - the sink raises it again, in its own terms
                output = None
        out.append((rec.queue_id, rec.unique_id, rec.guid, rec.sent_id, rec.sent_unique_id,
                    output, rec.warnings))
    return out
