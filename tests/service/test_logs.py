"""Logs for support staff: correlation ids, `connector logs` with filters, following
across rotation."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import structlog
import yaml
from svc_helpers import REPO, config_dict

from connector.logsetup import bind_correlation, configure_logging
from service.cli import main
from service.commands.logs_cmd import parse_line, render


def _close_logging() -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()


def _config(tmp_path: Path, fmt: str = "json") -> Path:
    path = tmp_path / "connector.yaml"
    path.write_text(yaml.safe_dump(config_dict(tmp_path, log={"format": fmt, "level": "info"})))
    return path


def _file_events(tmp_path: Path) -> list[dict]:
    text = (tmp_path / "log" / "connector.log").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_correlation_id_on_every_line_of_a_file_and_of_a_record(tmp_path):
    configure_logging("info", tmp_path / "log", "json", console=False)
    log = structlog.get_logger("connector.export.pipeline")
    with bind_correlation("file", path="io_citta.dat") as file_id:
        log.info("claimed")
        with bind_correlation("record", "ORD-42") as rec_id:
            log.warning("record rejected", line=3)
            logging.getLogger("urllib3").warning("stdlib line inside")
        log.info("published")
    log.info("idle")
    events = _file_events(tmp_path)
    assert rec_id == "record-ORD-42" and file_id.startswith("file-")
    assert [(e["event"], e.get("correlation_id")) for e in events] == [
        ("claimed", file_id), ("record rejected", rec_id), ("stdlib line inside", rec_id),
        ("published", file_id), ("idle", None)]
    assert events[0]["path"] == "io_citta.dat"


def test_correlation_ids_do_not_leak_across_threads(tmp_path):
    configure_logging("info", tmp_path / "log", "json", console=False)
    log = structlog.get_logger("t")
    inside = threading.Event()
    done = threading.Event()

    def other() -> None:
        inside.wait(5)
        log.info("other thread")
        done.set()

    t = threading.Thread(target=other)
    t.start()
    with bind_correlation("file", "A"):
        inside.set()
        done.wait(5)
    t.join()
    other_line = next(e for e in _file_events(tmp_path) if e["event"] == "other thread")
    assert "correlation_id" not in other_line


def test_log_file_rotates_with_size_and_count_limits(tmp_path):
    configure_logging("info", tmp_path / "log", "json", max_bytes=2000, backups=2, console=False)
    log = structlog.get_logger("t")
    for i in range(200):
        log.info("event", i=i, pad="x" * 40)
    files = sorted(p.name for p in (tmp_path / "log").iterdir())
    assert files == ["connector.log", "connector.log.1", "connector.log.2"]
    for p in (tmp_path / "log").iterdir():
        assert p.stat().st_size <= 2000
        for line in p.read_text().splitlines():
            json.loads(line)  # one complete JSON event per line


def test_logs_command_filters_by_level_and_text(tmp_path, capsys):
    cfg = _config(tmp_path)
    configure_logging("info", tmp_path / "log", "json", console=False)
    log = structlog.get_logger("connector.export.loop")
    log.info("published", file="io_citta.dat")
    with bind_correlation("file", "f00d"):
        log.error("export burst failed", error="disk full")
    log.warning("slow dropbox", seconds=12.5)
    _close_logging()
    assert main(["--config", str(cfg), "logs", "--level", "warning"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert " ERROR   connector.export.loop  export burst failed  " in out[0]
    assert "error=\"disk full\"" in out[0] and "correlation_id=file-f00d" in out[0]
    assert out[1].endswith("slow dropbox  seconds=12.5")
    assert main(["--config", str(cfg), "logs", "--grep", "FILE-F00D"]) == 0
    assert list(capsys.readouterr().out.splitlines()) == [out[0]]
    assert main(["--config", str(cfg), "logs", "-n", "1", "--raw"]) == 0
    assert json.loads(capsys.readouterr().out)["event"] == "slow dropbox"


def test_logs_reads_logfmt_and_exceptions(tmp_path, capsys):
    cfg = _config(tmp_path, fmt="logfmt")
    configure_logging("info", tmp_path / "log", "logfmt", console=False)
    log = structlog.get_logger("connector.app")
    try:
        raise OSError("no space left")
    except OSError:
        log.exception("loop crashed, restarting", loop="export", note='say "hi"')
    _close_logging()
    raw = (tmp_path / "log" / "connector.log").read_text()
    ev = parse_line(raw.splitlines()[0])
    assert ev is not None and ev["event"] == "loop crashed, restarting" and ev["note"] == 'say "hi"'
    assert main(["--config", str(cfg), "logs"]) == 0
    out = capsys.readouterr().out
    assert "ERROR   connector.app  loop crashed, restarting  loop=export" in out
    assert "\n    OSError: no space left" in out


def test_logs_all_reads_rotated_files_oldest_first(tmp_path, capsys):
    cfg = _config(tmp_path)
    configure_logging("info", tmp_path / "log", "json", max_bytes=600, backups=5, console=False)
    log = structlog.get_logger("t")
    for i in range(12):
        log.info("n", i=i, pad="y" * 60)
    _close_logging()
    assert (tmp_path / "log" / "connector.log.1").exists()
    assert main(["--config", str(cfg), "logs", "--all", "-n", "0"]) == 0
    got = [int(line.split("i=")[1].split()[0]) for line in capsys.readouterr().out.splitlines()]
    assert got == list(range(12))


def test_logs_without_a_file_is_one_clear_line(tmp_path, capsys):
    cfg = _config(tmp_path)
    assert main(["--config", str(cfg), "logs"]) == 1
    assert "no log file at" in capsys.readouterr().err


def test_render_keeps_unknown_lines_readable():
    assert parse_line("not a log line") is None
    assert render({"event": "x", "level": "info"}).endswith("INFO    x")


def test_follow_prints_new_events_across_rotation(tmp_path):
    cfg = _config(tmp_path)
    configure_logging("info", tmp_path / "log", "json", max_bytes=700, backups=20, console=False)
    log = structlog.get_logger("t")
    log.info("before follow")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "connector", "--config", str(cfg), "logs",
                             "--follow", "-n", "1"], stdout=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    stdout = proc.stdout
    assert stdout is not None

    def read() -> None:
        for line in stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert "before follow" in lines.get(timeout=15)
        for i in range(30):  # several rotations while following
            log.info("live", i=i, pad="z" * 80)
        assert (tmp_path / "log" / "connector.log.3").exists()
        got = [int(lines.get(timeout=15).split("i=")[1].split()[0]) for _ in range(30)]
        assert got == list(range(30))  # none lost, none repeated
    finally:
        _close_logging()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        reader.join(5)
        stdout.close()
