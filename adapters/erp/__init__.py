"""The ERP sink port: where inbound records (orders, customers, notes, leads, activities) land.

Contract of every sink (files, sql, command):
- `write(record)` is idempotent on `record.key` (stream + unique_id): writing a record whose
  key already landed changes nothing and returns `ErpRef(duplicate=True)`. The journal
  relies on this to replay records after a crash.
- It raises `PermanentError` when the ERP refuses the record (it goes to the dead letter,
  with the message as its reason, and is retried later and on `connector retry`), and
  `TransientError` when it may work later (ERP down, disk full, lock timeout).
- It never raises anything else on purpose; a library exception escaping is a bug.
- `close()` releases connections; the sink may not be used afterwards.
- Optionally `preparer()`: a picklable callable that the decode worker process runs on each
  record it decodes (connector.importing.decoding); the record then comes with
  `prepared = (preparer, result)` and without its model, and the sink uses the result when
  the preparer is its own. A sink without one gets records decoded in this process.

Orders deduplicated by `guid_test_ord` (a second identity) are handled by the journal,
before the sink is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from connector.config import Config
    from connector.model import InboundRecord


@dataclass(frozen=True)
class ErpRef:
    """Where a record landed: the sink's name and its reference there (file name, row key,
    command output), and whether it had already landed before this call."""

    sink: str
    ref: str
    duplicate: bool = False


class ErpSink(Protocol):
    name: str

    def write(self, record: InboundRecord) -> ErpRef: ...

    def close(self) -> None: ...


def build_sink(cfg: Config) -> ErpSink:
    """The sink chosen by import.erp.sink (modules imported lazily: each has its own deps)."""
    erp = cfg.import_.erp
    if erp.sink == "files":
        from adapters.erp.files_sink import FilesSink

        return FilesSink(erp.path, erp.format, company=cfg.company)
    if erp.sink == "sql":
        from adapters.erp.sql_sink import SqlSink

        sink: ErpSink = SqlSink(erp.sql)
        return sink
    if erp.sink == "command":
        from adapters.erp.command_sink import CommandSink

        sink = CommandSink(erp.command)
        return sink
    raise ValueError(f"unknown ERP sink {erp.sink!r}")
