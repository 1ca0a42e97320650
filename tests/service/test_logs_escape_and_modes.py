"""What a hostile file name or record field cannot do to a terminal (control characters
are escaped in `connector logs` and on the daemon's console), and the modes of the files
the connector creates under a umask of 0 (state, ledgers 0600; logs 0640; the ERP's
import files 0644: never writable by others)."""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import structlog
import yaml

from adapters.appmanager.sandbox import SandboxServer
from connector.logsetup import configure_logging
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]
EVIL = ("io_citta.dat\n2026-01-01 00:00:00 ERROR   fake.logger  all files deleted"
        "\x1b[2J\x1b]0;pwned\x07\u202etxt.exe\r")
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _log_evil(log_dir: Path, fmt: str) -> None:
    configure_logging("info", log_dir, fmt, console=False)
    log = structlog.get_logger("connector.export.pipeline")
    log.warning("file quarantined", file=EVIL, first_error=f"line 2, value {EVIL!s}")
    try:
        raise ValueError(f"cannot open {EVIL}")
    except ValueError:
        log.exception("export burst failed", files=[EVIL])
    for h in list(logging.getLogger().handlers):
        h.close()
        logging.getLogger().removeHandler(h)


def _logs(path: Path, *args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "connector", "logs", "--file", str(path), *args],
                          capture_output=True, text=True, env={**os.environ,
                                                               "PYTHONPATH": str(REPO)},
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("fmt", ["json", "logfmt"])
@pytest.mark.parametrize("raw", [False, True], ids=["readable", "raw"])
def test_connector_logs_escapes_control_characters(tmp_path: Path, fmt: str, raw: bool) -> None:
    _log_evil(tmp_path / "log", fmt)
    out = _logs(tmp_path / "log" / "connector.log", *(["--raw"] if raw else []))
    assert not CONTROL.search(out), [c for c in out if CONTROL.match(c)]
    lines = out.splitlines()
    assert not any(ln.startswith("2026-01-01 00:00:00 ERROR") for ln in lines)  # no fake line
    assert any("fake.logger  all files deleted" in ln for ln in lines)  # shown, inside its line
    assert "\\x1b[2J" in out or "\\u001b[2J" in out
    if not raw and fmt == "json":
        assert len([ln for ln in lines if not ln.startswith("    ")]) == 2  # two events
        # The traceback keeps its lines, indented: a newline in its message cannot pass for
        # a log line of its own either.
        assert "\n    ValueError: cannot open io_citta.dat\n    2026-01-01" in out


@pytest.mark.parametrize("fmt", ["text", "logfmt", "json"])
def test_the_daemon_console_escapes_control_characters(capsys: pytest.CaptureFixture[str],
                                                       fmt: str) -> None:
    configure_logging("info", None, fmt, console=True)
    log = structlog.get_logger("connector.export.pipeline")
    log.warning(f"file quarantined: {EVIL}", file=EVIL)
    try:
        raise ValueError(EVIL)
    except ValueError:
        log.exception("burst failed")
    err = capsys.readouterr().err
    assert "file quarantined" in err and not CONTROL.search(err), err
    assert "io_citta.dat\\n2026-01-01" in err or "io_citta.dat\\\\n2026-01-01" in err


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_files_are_created_private_whatever_the_umask(tmp_path: Path) -> None:
    key = "modes-key"
    with SandboxServer(tmp_path / "sandbox.sqlite", auth_key=key, seed=False) as sb:
        sb.enqueue_demo("customers", 1)
        data = make_config_dict(tmp_path, **{"import": {
            "enabled": True, "appmanager": {"url": sb.url},
            "erp": {"sink": "files", "path": str(tmp_path / "erp"), "format": "json"}}})
        config = tmp_path / "connector.yaml"
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(REPO), "APPMANAGER_AUTH_KEY": key}
        proc = subprocess.run([sys.executable, "-m", "connector", "--config", str(config),
                               "import", "--once"], capture_output=True, text=True, env=env,
                              timeout=120, preexec_fn=lambda: os.umask(0))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        ledger = tmp_path / "state" / "erp_command.sqlite"
        subprocess.run([sys.executable, "-c", "import os, sys; os.umask(0)\n"
                        "from adapters.erp.command_sink import _Ledger\n"
                        f"_Ledger(__import__('pathlib').Path({str(ledger)!r}))"],
                       check=True, env=env, timeout=60)
    assert _mode(tmp_path / "state" / "connector.sqlite") == 0o600
    assert _mode(ledger) == 0o600
    assert _mode(tmp_path / "log" / "connector.log") == 0o640
    assert _mode(tmp_path / "erp" / ".connector-landed.log") == 0o600
    (landed,) = (tmp_path / "erp").glob("customers_*.json")
    assert _mode(landed) == 0o644
    assert _mode(tmp_path / "state" / "connector.lock") == 0o644  # a pid, for other users' ps
