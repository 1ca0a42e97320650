"""The command sink beyond the contract: placeholders, timeouts, missing programs,
stderr kept for the dead letter, and the crash window an external program leaves."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from adapters.erp.command_sink import CommandSink, CommandSinkSettings
from connector.errors import ConfigError, PermanentError, TransientError
from tests.sinks.conftest import ERP_PROGRAM
from tests.sinks.records import record, refused_record


def _sink(tmp_path: Path, argv: list[str], timeout: float = 20.0) -> CommandSink:
    return CommandSink(CommandSinkSettings(argv=argv, timeout_seconds=timeout, workdir=tmp_path,
                                         ledger=tmp_path / "ledger.sqlite", max_output_chars=300))


def _log(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "erp.log"
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


def test_placeholders_and_the_record_file(tmp_path: Path) -> None:
    script = tmp_path / "show.py"
    script.write_text(
        "import json, os, sys\n"
        "doc = json.load(open(sys.argv[1], encoding='utf-8'))\n"
        "open('shown.json', 'w').write(json.dumps({'argv': sys.argv[2:], 'doc': doc,\n"
        "    'env': os.environ['CONNECTOR_UNIQUE_ID'], 'cwd': os.getcwd()}))\n"
        "print('ERP-DOC-77')\n",
        encoding="utf-8")
    sink = _sink(tmp_path, [sys.executable, str(script), "{file}", "{stream}", "{id}",
                            "{unique_id}", "{key}", "{replay}", "{{literal}}"])
    ref = sink.write(record("orders"))
    assert ref.ref == "ERP-DOC-77"  # the program's last output line: its reference
    shown = json.loads((tmp_path / "shown.json").read_text(encoding="utf-8"))
    assert shown["argv"] == ["orders", "1", "O-1", "orders/O-1", "0", "{literal}"]
    assert shown["env"] == "O-1" and shown["cwd"] == str(tmp_path)
    doc = shown["doc"]
    assert doc["stream"] == "orders" and doc["unique_id"] == "O-1"
    assert doc["record"]["rows"][0]["codice_articolo"] == "ART-0"
    assert doc["payload"]["righe"][0]["qta"] == 2
    assert not list((tmp_path / "command-inbox").glob("*.json"))  # no files left behind


def test_unknown_placeholder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"argv\[1\]: bad placeholder"):
        _sink(tmp_path, ["erp-import", "{fiel}"])
    with pytest.raises(ConfigError, match="required"):
        _sink(tmp_path, [])


def test_refusal_keeps_the_end_of_stderr(tmp_path: Path) -> None:
    sink = _sink(tmp_path, [sys.executable, str(ERP_PROGRAM), "{file}", str(tmp_path / "erp.log")])
    with pytest.raises(PermanentError) as err:
        sink.write(refused_record())
    message = str(err.value)
    assert "exited with status 3" in message
    assert len(message) < 500  # truncated to max_output_chars
    assert _log(tmp_path) == []


def test_timeout_kills_the_program_and_is_transient_then_the_replay_is_flagged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    argv = [sys.executable, str(ERP_PROGRAM), "{file}", str(tmp_path / "erp.log")]
    monkeypatch.setenv("ERP_SLEEP", "30")
    sink = _sink(tmp_path, argv, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(TransientError, match="did not finish within 1s"):
        sink.write(record("customers"))
    assert time.monotonic() - started < 20  # killed, not waited for
    monkeypatch.delenv("ERP_SLEEP")
    sink.write(record("customers"))
    assert _log(tmp_path) == [["CF-1", "customers", "1"]]  # CONNECTOR_REPLAY=1: outcome was unknown


def test_crash_after_the_erp_imported_but_before_the_ledger(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The window we cannot close from outside: the ERP did the work, the connector died
    before recording it. The retry is flagged as a replay and carries the unique_id; a
    program that skips unique_ids it already has (as erp_program.py does) makes the
    route exactly-once."""
    argv = [sys.executable, str(ERP_PROGRAM), "{file}", str(tmp_path / "erp.log")]
    sink = _sink(tmp_path, argv)

    def die(*_args: object) -> None:
        raise SystemExit("killed between the ERP's exit 0 and the ledger")

    monkeypatch.setattr(sink.ledger, "finish", die)
    with pytest.raises(SystemExit):
        sink.write(record("customer_notes"))
    sink = _sink(tmp_path, argv)  # restart
    ref = sink.write(record("customer_notes"))
    assert not ref.duplicate and ref.ref == "already imported CN-1 (replay=1)"
    assert [row[0] for row in _log(tmp_path)] == ["CN-1"]
    assert sink.write(record("customer_notes")).duplicate  # now in the ledger


def test_a_missing_program_is_transient(tmp_path: Path) -> None:
    sink = _sink(tmp_path, [str(tmp_path / "no-such-erp-import"), "{file}"])
    with pytest.raises(TransientError, match="cannot start the ERP command"):
        sink.write(record("customers"))


def test_the_ledger_survives_a_restart(tmp_path: Path) -> None:
    argv = [sys.executable, str(ERP_PROGRAM), "{file}", str(tmp_path / "erp.log")]
    sink = _sink(tmp_path, argv)
    sink.write(record("leads"))
    sink.close()
    os.remove(tmp_path / "erp.log")  # even if the ERP's own trace is gone, we do not re-run
    assert _sink(tmp_path, argv).write(record("leads")).duplicate
    assert _log(tmp_path) == []
