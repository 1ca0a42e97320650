"""`connector status` and the reports as people see them: every quarantined file counted
(the same tracciato refused twice is two files, `io_citta.dat` and `io_citta (2).dat`),
and nothing taken from a dropped file (its name, a line of it) reaches the terminal with
its control characters raw (an escape sequence, a carriage return)."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from connector import status as st
from connector.app import build_publisher
from connector.config import Config
from connector.export.pipeline import ExportPipeline
from connector.state import StateStore
from tests.export.conftest import CITTA_HEADER

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # anything but \t and \n


def _process(cfg: Config, name: str, data: bytes) -> None:
    cfg.export.watch.mkdir(parents=True, exist_ok=True)
    (cfg.export.watch / name).write_bytes(data)
    store = StateStore(cfg.state_dir)
    ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event())).process([name])


def _status(cfg: Config) -> str:
    return st.render(st.collect(cfg, StateStore(cfg.state_dir)))


def test_the_same_tracciato_refused_twice_is_two_quarantined_files(tmp_path: Path,
                                                                    config_factory) -> None:
    cfg = config_factory()
    bad = b"CHIAVE |COD_DITTA\r\nx|y\r\n"
    _process(cfg, "io_citta.dat", bad)
    _process(cfg, "io_citta.dat", bad)
    _process(cfg, "io_art (2).dat", bad)  # a name with the suffix of its own
    q = cfg.export.quarantine
    assert sorted(p.name for p in q.iterdir() if not p.name.endswith(".errors.txt")) == [
        "io_art (2).dat", "io_citta (2).dat", "io_citta.dat"]
    text = _status(cfg)
    assert "quarantined: 3" in text
    for name in ("io_citta.dat", "io_citta (2).dat", "io_art (2).dat"):
        assert f"report: {q / name}.errors.txt" in text
    assert "io_citta.dat (now io_citta (2).dat)" in text
    # Fixed and published: that tracciato's entries leave status (the files stay until
    # retention), the other one stays.
    _process(cfg, "io_citta.dat", (CITTA_HEADER + "\r\nACME§A1|ACME|A1|X|35100|PD|"
                                   "01011900000000\r\n").encode())
    assert "quarantined: 1" in _status(cfg)


def test_control_characters_are_escaped_in_status_and_reports(tmp_path: Path,
                                                              config_factory) -> None:
    cfg = config_factory()
    evil = "\x1b[2J\x1b]0;pwned\x07"
    line = f"ACME§A1|ACME|A1|{evil}X\rY|35100|PDV|01011900000000"
    rows = [line] + [f"ACME§B{i}|ACME|B{i}|C|35100|PD|01011900000000" for i in range(20)]
    rows.append("ACME§A1|ACME|A2|dup|35100|PD|01011900000000")  # a row error: held back
    _process(cfg, "io_citta.dat", ("\r\n".join([CITTA_HEADER, *rows]) + "\r\n").encode())
    _process(cfg, f"io_{evil}.dat", b"x")  # a name the ERP's share let through
    text = _status(cfg)
    assert not RAW.search(text), repr(text)
    assert "\\x1b[2J" in text
    reports = [p.read_text(encoding="utf-8") for p in cfg.export.quarantine.rglob("*.errors.txt")]
    assert len(reports) == 2
    for report in reports:
        assert not RAW.search(report), repr(report)
