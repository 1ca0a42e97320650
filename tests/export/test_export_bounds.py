"""Pathological tracciati through the export pipeline (issue 18, finding 8): a 128 MB file
without a line end and a header of a million columns are quarantined with one clear
error, in bounded memory, with a report, a log line and state-store rows of a few
hundred bytes (they were 268 MB, 268 MB and 537 MB)."""

from __future__ import annotations

import threading
import tracemalloc
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from connector.app import build_publisher
from connector.config import Config
from connector.export.pipeline import ExportPipeline
from connector.state import StateStore

MB = 1 << 20


def _quarantine_one(cfg: Config, rel: str) -> tuple[list[str], int, list[dict[str, object]]]:
    store = StateStore(cfg.state_dir)
    pipeline = ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event()))
    tracemalloc.start()
    try:
        with capture_logs() as logs:
            result = pipeline.process([rel])
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return [o.outcome for o in result.outcomes], used, logs


def _newline_free(path: Path, head: bytes, size: int) -> None:
    with open(path, "wb") as f:
        f.write(head)
        for _ in range(size // MB):
            f.write(b"x" * MB)


@pytest.mark.parametrize("shape", ["no line end", "a million columns"])
def test_pathological_files_are_quarantined_in_bounded_memory(
        tmp_path: Path, config_factory, gestionale, shape: str) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    export.mkdir()
    src = export / "io_citta.dat"
    if shape == "no line end":
        _newline_free(src, b"", 128 * MB)
        words = "the header goes on past 65,536 bytes without a line end"
    else:
        src.write_bytes(b"|".join(b"COLONNA_%d" % i for i in range(1_000_000)) + b"\r\n"
                        + b"x|" * 1000 + b"\r\n")
        words = "the header goes on past 65,536 bytes"
    size = src.stat().st_size
    outcomes, used, logs = _quarantine_one(cfg, "io_citta.dat")
    assert outcomes == ["quarantined"]
    assert used < 4 * MB, used  # the file is 128 MB / 12 MB
    quarantined = tmp_path / "quarantine" / "io_citta.dat"
    assert quarantined.stat().st_size == size  # moved whole: nothing lost
    report = (tmp_path / "quarantine" / "io_citta.dat.errors.txt").read_text(encoding="utf-8")
    assert words in report and len(report) < 1000
    assert not (gestionale / "io_citta.dat").exists()
    assert all(len(repr(event)) < 2000 for event in logs)
    assert any(words in str(event.get("first_error")) for event in logs)
    state = [p for p in (tmp_path / "state").iterdir() if p.name.startswith("connector.sqlite")]
    assert sum(p.stat().st_size for p in state) < 2 * MB
    store = StateStore(cfg.state_dir)
    for table, column in (("export_quarantine", "first_error"), ("export_files", "error"),
                          ("events", "message")):
        longest = store.query_one(f"SELECT max(length({column})) AS n FROM {table}")
        assert longest is not None and 0 < longest["n"] < 1000, table
