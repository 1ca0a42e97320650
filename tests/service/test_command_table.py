"""Every command of the command tables in the README and the guides, run as a user runs it
(`python -m connector ...`, a real process) against a temporary configuration: none
prints a traceback, none prints a log line on stderr (the log lines go to the log file;
`-v` shows them). The tables are read from the markdown, so a command added to a table is
run here too: by its recipe below when it has one, else as `connector COMMAND --help` and
bare `connector COMMAND`.

`connector run` is the daemon in the foreground: its log lines on stderr are its output
(what systemd's journal and the Windows service keep), so only tracebacks are looked for
there; while it runs, `connector status` must say it runs, with its version.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_speaks import AUTH_KEY, REPO, TRACEBACK, connector, log_lines, write_config

from adapters.appmanager.sandbox import SandboxServer
from connector import __version__

TABLE_FILES = [REPO / "README.md", *sorted((REPO / "docs" / "guide").glob("*.md"))]
_ROW = re.compile(r"^\|\s*`([a-z][a-z-]*)[^`]*`")


def table_commands() -> list[str]:
    """The commands in the first column of every table whose header starts `| command |`."""
    found: list[str] = []
    for path in TABLE_FILES:
        in_table = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"^\|\s*command\s*\|", line, re.I):
                in_table = True
                continue
            if in_table and not line.startswith("|"):
                in_table = False
            m = _ROW.match(line) if in_table else None
            if m and m.group(1) not in found:
                found.append(m.group(1))
    return found


COMMANDS = table_commands()


def test_the_tables_were_found() -> None:
    assert {"run", "status", "export", "import", "validate", "template"} <= set(COMMANDS)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


CITTA = ("CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\n"
         "ACME§A001|ACME|A001|Padova|35031|PD|01011900000000\n")

# What each command of the tables is run with; {file} is a tracciato in tmp_path.
RECIPES: dict[str, list[list[str]]] = {
    "check-config": [["check-config"]],
    "validate": [["validate", "--max-errors", "2", "{file}"]],
    "layouts": [["layouts", "io_citta", "--fields"]],
    "template": [["template", "io_citta"]],
    "export": [["export"], ["export", "--once"]],
    "import": [["import", "--once"]],
    "retry": [["retry"]],
    "status": [["status"]],
    "db": [["db", "init", "--sql"]],
    "service": [["service", "status"]],
    "dropbox": [["dropbox", "check"]],
    "logs": [["logs", "--level", "error"]],
    "geocode": [["geocode", "--list"]],
}


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    sb = SandboxServer(tmp_path / "sandbox.sqlite", auth_key=AUTH_KEY, seed=True)
    with sb:
        yield sb


def _check(done: subprocess.CompletedProcess[str], argv: list[str]) -> None:
    shown = f"connector {' '.join(argv)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert TRACEBACK not in done.stdout + done.stderr, shown
    assert not log_lines(done.stderr), shown
    assert done.returncode in (0, 1, 2), shown


@pytest.mark.parametrize("command", [c for c in COMMANDS if c not in ("run", "sandbox")])
def test_each_command_of_the_tables(command: str, tmp_path: Path,
                                    sandbox: SandboxServer) -> None:
    config = write_config(tmp_path, **{"import": {
        "enabled": True, "appmanager": {"url": sandbox.url, "connect_timeout": 1},
        "erp": {"sink": "files", "path": str(tmp_path / "erp")}}})
    (tmp_path / "export").mkdir(exist_ok=True)
    tracciato = tmp_path / "io_citta.dat"
    tracciato.write_text(CITTA, encoding="utf-8")
    (tmp_path / "export" / "io_citta.dat").write_text(CITTA, encoding="utf-8")
    runs = RECIPES.get(command) or [[command, "--help"], [command]]
    for argv in runs:
        argv = [a.replace("{file}", str(tracciato)) for a in argv]
        _check(connector(config, *argv, timeout=120), argv)


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _start(config: Path, *argv: str) -> subprocess.Popen[str]:
    import os

    env = {**os.environ, "PYTHONPATH": str(REPO), "APPMANAGER_AUTH_KEY": AUTH_KEY,
           "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    return subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config), *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=REPO)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_run_and_sandbox_of_the_tables(tmp_path: Path) -> None:
    assert {"run", "sandbox"} <= set(COMMANDS)
    port = _free_port()
    config = write_config(tmp_path, **{"sandbox": {"enabled": True, "port": port},
                                       "import": {"enabled": False}})
    lock_info = tmp_path / "state" / "connector.lock.json"

    daemon = _start(config, "run")
    try:
        _wait_for(lambda: lock_info.exists() or daemon.poll() is not None, 60, "the daemon")
        shown = connector(config, "status")
        _check(shown, ["status"])
        assert shown.stdout.startswith("daemon: running, process "), shown.stdout
        assert f"version {__version__}, up " in shown.stdout.splitlines()[0]
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err[-2000:]
    assert TRACEBACK not in out + err

    alone = _start(config, "sandbox", "--port", str(_free_port()))
    try:
        line = alone.stdout.readline() if alone.stdout else ""
        assert line.startswith("AppManager sandbox: http://127.0.0.1:"), line
    finally:
        alone.send_signal(signal.SIGTERM)
        out, err = alone.communicate(timeout=60)
    assert alone.returncode == 0
    assert TRACEBACK not in out + err and not log_lines(err), err
