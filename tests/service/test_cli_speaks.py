"""Commands that speak to people (issue 15), as users run them: real `python -m connector`
processes. Outcome lines on stdout; the log lines in the log file and, only with -v, on
stderr; errors in one plain sentence; status says whether the daemon runs.

What a log line looks like (LOG_LINE) is shared with test_command_table.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.appmanager.sandbox import SandboxServer
from connector import __version__, controls
from connector.errors import in_words, network_reason
from connector.oslock import InstanceLock
from connector.state import StateStore

REPO = Path(__file__).resolve().parents[2]
AUTH_KEY = "k-speaks-3c1e"

# A structlog line in any of its renderings: the console's, JSON, logfmt.
LOG_LINE = re.compile(
    r'^\s*\{.*"(event|level)"\s*:'
    r"|^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}\S*\s+\[\s*(debug|info|warning|error|critical)"
    r"|(^|\s)(timestamp|level|event)=\S")
TRACEBACK = "Traceback (most recent call last)"


def log_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if LOG_LINE.search(line)]


def write_config(root: Path, **overrides: Any) -> Path:
    data: dict[str, Any] = {
        "version": 1, "company": "ACME", "state_dir": str(root / "state"),
        "create_folders": True,  # the folders below are made at start
        "log": {"dir": str(root / "log"), "level": "info", "format": "text"},
        "dropbox": {"mode": "folder", "root": str(root / "Dropbox"),
                    "staging": str(root / "staging"), "create_company_folder": True},
        "export": {"watch": str(root / "export"), "archive": str(root / "archive"),
                   "quarantine": str(root / "quarantine"), "settle_seconds": 0.2,
                   "min_free_mb": 1},
        "import": {"enabled": False},
        "sandbox": {"enabled": False},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    path = root / "connector.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def connector(config: Path | None, *args: str, timeout: float = 120,
              cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update(PYTHONPATH=str(REPO), APPMANAGER_AUTH_KEY=AUTH_KEY, LANG="C.UTF-8")
    cmd = [sys.executable, "-m", "connector"]
    if config is not None:
        cmd += ["--config", str(config)]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=timeout)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    sb = SandboxServer(tmp_path / "sandbox.sqlite", auth_key=AUTH_KEY, seed=False)
    with sb:
        yield sb


def _import_config(root: Path, url: str) -> Path:
    return write_config(root, **{"import": {
        "enabled": True, "appmanager": {"url": url, "page_size": 50, "connect_timeout": 1,
                                        "read_timeout": 5},
        "erp": {"sink": "files", "path": str(root / "erp"), "format": "json"}}})


def test_import_once_on_a_backlog_prints_a_few_lines_and_logs_to_the_file(
        sandbox: SandboxServer, tmp_path: Path) -> None:
    sandbox.enqueue_demo("orders", 1500, rows=1)
    sandbox.enqueue_demo("customers", 20)
    config = _import_config(tmp_path, sandbox.url)

    done = connector(config, "import", "--once", "--stream", "orders", "--stream", "customers")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""  # not one log line, no progress bar (not a terminal)
    out = done.stdout.splitlines()
    assert len(out) <= 5, out
    assert any(line.startswith("orders") and "new 1500" in line for line in out), out
    assert "1520 new records, 1520 written to the ERP" in done.stdout
    assert not log_lines(done.stdout)
    logged = (tmp_path / "log" / "connector.log").read_text(encoding="utf-8")
    assert '"event": "import stream done"' in logged  # the detail is in the log file

    sandbox.enqueue_demo("orders", 3, rows=1)
    verbose = connector(config, "-v", "import", "--once", "--stream", "orders")
    assert verbose.returncode == 0, verbose.stderr
    assert any("import stream done" in line for line in log_lines(verbose.stderr)), \
        verbose.stderr
    assert "3 new records, 3 written to the ERP" in verbose.stdout

    log_file = tmp_path / "log" / "connector.log"
    before = log_file.read_text(encoding="utf-8").count("import stream done")
    again = connector(config, "import", "--once")
    assert again.returncode == 0 and again.stderr == ""
    assert "nothing new: every stream is up to date" in again.stdout
    # an idle cycle is debug (log.level is info here): info lines mean something happened
    assert log_file.read_text(encoding="utf-8").count("import stream done") == before


def test_an_unreachable_sandbox_url_is_one_sentence_naming_it_and_make_run(
        tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/v1/progetti/ic.acme"
    config = write_config(tmp_path, **{
        "import": {"enabled": True, "appmanager": {"url": url},
                   "erp": {"sink": "files", "path": str(tmp_path / "erp")}},
        "sandbox": {"enabled": True, "port": port}})
    started = time.monotonic()
    done = connector(config, "import", "--once")
    assert done.returncode == 1
    assert time.monotonic() - started < 30  # not every stream retrying the same failure
    assert done.stderr.count("\n") == 1, done.stderr  # one sentence
    assert url in done.stderr and "connection refused" in done.stderr
    assert "`make run`" in done.stderr and "connector run" in done.stderr
    for raw in ("urllib3", "HTTPConnectionPool", "Max retries", "Errno", TRACEBACK):
        assert raw not in done.stderr + done.stdout

    # not the sandbox's URL: the key to check, no word of the sandbox
    config = write_config(tmp_path, **{
        "import": {"enabled": True, "appmanager": {"url": url},
                   "erp": {"sink": "files", "path": str(tmp_path / "erp")}}})
    other = connector(config, "import", "--once")
    assert other.returncode == 1 and "import.appmanager.url" in other.stderr
    assert "sandbox" not in other.stderr


def test_network_errors_and_stored_raw_texts_in_words() -> None:
    try:
        import socket

        socket.create_connection(("127.0.0.1", 9), timeout=2)  # discard: nothing listens
    except OSError as exc:
        assert network_reason(exc).startswith("connection refused")
    raw = ("AppManager: connection failed for codaOrdini lastID=0 offset=0 limit=50: "
           "ConnectionError: _DeadlineHTTPPool(host='127.0.0.1', port=8765): Max retries "
           "exceeded with url: /x?authKey=*** (Caused by NewConnectionError(\"...: Failed to "
           "establish a new connection: [Errno 111] Connection refused\"))")
    assert in_words(raw) == ("AppManager: cannot reach the server (connection refused: "
                             "nothing listens there) for codaOrdini lastID=0 offset=0 limit=50")
    assert in_words("unexpected error: KeyError: 'x'").startswith(
        "an unexpected error (KeyError): the log has the details")
    plain = "orders: the ERP refused the record: unknown customer C12"
    assert in_words(plain) == plain


def _drop(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / (name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(folder / name)


CITTA = ("CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\n"
         "ACME§A001|ACME|A001|Padova|35031|PD|01011900000000\n")


def test_export_once_prints_one_line_per_file_and_a_subfolder_file_is_ignored_everywhere(
        tmp_path: Path) -> None:
    config = write_config(tmp_path)
    watch = tmp_path / "export"
    _drop(watch, "io_citta.dat", CITTA)
    _drop(watch, "io_art.dat", "CHIAVE|COD_DITTA||\nx|y|z|w\n")
    _drop(watch / "vecchi", "io_citta.dat", CITTA)

    dry = connector(config, "export", "--once", "--dry-run")
    assert "vecchi/io_citta.dat: ignored, in a subfolder" in dry.stdout, dry.stdout
    assert dry.stderr == ""

    done = connector(config, "export", "--once")
    assert done.returncode == 1  # something was quarantined
    assert done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert "published io_citta.dat -> gestionale/io_citta.dat (1 rows)" in lines
    assert any(line.startswith("quarantined io_art.dat: ") for line in lines), lines
    assert any(line.strip().startswith("report: ") for line in lines), lines
    assert lines[-1] == "published 1, unchanged 0, quarantined 1"
    assert not log_lines(done.stdout)

    status = connector(config, "status")
    assert "waiting: 0" in status.stdout, status.stdout
    assert "ignored: 1 (in a subfolder" in status.stdout and "vecchi/io_citta.dat" in status.stdout
    assert re.search(r"quarantined (just now|\d+ min ago) \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\)",
                     status.stdout), status.stdout
    facts = json.loads(connector(config, "status", "--json").stdout)
    assert facts["export"]["waiting"] == []
    assert facts["export"]["ignored"] == [{"file": "vecchi/io_citta.dat", "reason": "subfolder"}]

    _drop(watch, "io_citta.dat", CITTA)
    again = connector(config, "export", "--once")
    assert again.returncode == 0
    assert "unchanged io_citta.dat: the same content is already published" in again.stdout


def test_export_and_import_without_once_print_their_help_and_what_to_run(
        tmp_path: Path) -> None:
    config = write_config(tmp_path)
    for what in ("export", "import"):
        done = connector(config, what)
        assert done.returncode == 2
        assert f"usage: connector {what}" in done.stderr
        assert "the following arguments are required" not in done.stderr
        assert f"`connector {what} --once`" in done.stderr and "connector run" in done.stderr


def test_template_help_does_not_contradict_itself(capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    for args in (["--help"], ["template", "--help"]):
        with pytest.raises(SystemExit) as done:
            main(args)
        assert done.value.code == 0
        shown = capsys.readouterr().out
        assert "header-only" not in shown and "one example row" in shown
    assert main(["template", "io_citta"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2  # the header and one example row


def test_validate_max_errors_keeps_the_first_n_in_line_order(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    lines = ["CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD",
             "ACME§C1|ACME|C1|ok|35031|PD|01011900000000",
             "ACME§C1|ACME|C1|ok|35031|PD|01011900000000",  # 3: repeated key
             "ACME§C3|ACME||ok|35031|PD|01011900000000",  # 4: required field empty
             "ACME§C4|ACME|C4|ok|35031",  # 5: fields missing
             "ACME§C5|ACME|C5|ok|35031|PD|01011900000000|",  # 6: trailing separator
             "ACME§C6||C6|ok|35031|PD|01011900000000"]  # 7: required field empty
    path = tmp_path / "io_citta.dat"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def errors(*extra: str) -> tuple[list[int], int, int]:
        main(["validate", "--json", *extra, str(path)])
        f = json.loads(capsys.readouterr().out)["files"][0]
        return [v["line"] for v in f["violations"]], f["violation_count"], f["omitted"]

    every, total, _ = errors()
    assert every == [3, 4, 5, 6, 7] and total == 5
    for n in range(6):
        kept, count, omitted = errors("--max-errors", str(n))
        assert kept == every[:n], (n, kept)  # none skipped, in line order
        assert (count, omitted) == (5, 5 - n)
        main(["validate", "--max-errors", str(n), str(path)])
        text = capsys.readouterr().out
        shown = [int(m) for m in re.findall(r"^  line (\d+)", text, re.M)]
        assert shown == every[:n], (n, text)


def test_status_says_whether_the_daemon_runs_and_what_is_paused(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    state = tmp_path / "state"

    idle = connector(config, "status")
    assert idle.stdout.splitlines()[0].startswith("daemon: not running"), idle.stdout
    assert json.loads(connector(config, "status", "--json").stdout)["daemon"] == \
        {"running": False}

    store = StateStore(state)
    controls.pause(store, "export", who="mario")
    lock = InstanceLock(state, version=__version__)  # this process plays the daemon
    lock.acquire()
    try:
        shown = connector(config, "status")
        head = shown.stdout.splitlines()
        assert head[0].startswith(f"daemon: running, process {os.getpid()}, version "
                                  f"{__version__}, up "), head[0]
        assert head[1].startswith("  PAUSED: export (paused just now ("), head[1]
        assert "by mario" in head[1]
        facts = json.loads(connector(config, "status", "--json").stdout)
        assert facts["daemon"]["running"] is True and facts["daemon"]["pid"] == os.getpid()
        assert facts["daemon"]["version"] == __version__
        assert facts["daemon"]["uptime_seconds"] >= 0
        assert list(facts["paused"]) == ["export"] and facts["paused"]["export"]["who"] == "mario"
    finally:
        lock.release()

    one_shot = InstanceLock(state, role="import --once")
    one_shot.acquire()
    try:
        shown = connector(config, "status")
        assert shown.stdout.startswith("daemon: not running; `connector import --once` "
                                       f"(process {os.getpid()})"), shown.stdout
    finally:
        one_shot.release()


def test_status_turns_a_stored_raw_error_into_words_and_says_the_sandbox_runs_with_the_daemon(
        tmp_path: Path) -> None:
    from connector.importing.journal import Journal

    port = 8765
    url = f"http://127.0.0.1:{port}/api/v1/progetti/ic.acme"
    config = write_config(tmp_path, **{
        "import": {"enabled": True, "appmanager": {"url": url},
                   "erp": {"sink": "files", "path": str(tmp_path / "erp")}},
        "sandbox": {"enabled": True, "port": port}})
    store = StateStore(tmp_path / "state")
    raw = ("AppManager: connection failed for codaOrdini lastID=0 offset=0 limit=50: "
           "ConnectionError: HTTPConnectionPool(host='127.0.0.1', port=8765): Max retries "
           "exceeded with url: /x (Caused by NewConnectionError('...: [Errno 111] Connection "
           "refused'))")
    Journal(store).stream_error("orders", raw)
    store.record_event("error", "import.orders", raw)

    shown = connector(config, "status")
    assert "Max retries" not in shown.stdout and "Errno" not in shown.stdout, shown.stdout
    assert ("AppManager: cannot reach the server (connection refused: nothing listens there) "
            "for codaOrdini") in shown.stdout
    assert "note: AppManager could not be reached: its URL is the bundled sandbox's" in \
        shown.stdout
    facts = json.loads(connector(config, "status", "--json").stdout)
    assert facts["hints"] == ["sandbox_not_running"]
    assert facts["last_errors"][0]["raw"] == raw


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_the_progress_bar_is_drawn_on_a_terminal_only_and_stdout_keeps_the_lines(
        tmp_path: Path) -> None:

    files = []
    for name in ("io_citta.dat", "io_art.dat"):
        (tmp_path / name).write_text(CITTA, encoding="utf-8")
        files.append(str(tmp_path / name))
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    proc, drawn = _validate_on_a_terminal(files, env)
    out = proc.stdout.decode()
    assert f"{files[0]}: valid io_citta file" in out  # the reports stay on stdout (a pipe)
    assert "INVALID (io_art)" in out
    assert b"validating" in drawn and "\u2501".encode() in drawn  # the bar, on the terminal
    assert b"io_citta file" not in drawn

    piped = connector(None, "validate", *files)
    assert piped.stderr == "" and "validating" not in piped.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal")
def test_one_big_file_gets_a_bar_over_its_bytes(tmp_path: Path) -> None:

    from service.commands.formats_cmds import _BIG_FILE

    big = tmp_path / "io_citta.dat"
    with big.open("w", encoding="utf-8") as f:
        f.write(CITTA.split("\n", 1)[0] + "\n")
        n = 0
        while f.tell() < _BIG_FILE + 1024:
            n += 1
            f.write(f"ACME§A{n}|ACME|A{n}|Padova|35031|PD|01011900000000\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "LANG": "C.UTF-8"}
    env.pop("LC_ALL", None)
    proc, drawn = _validate_on_a_terminal([str(big)], env)
    assert b"validating io_citta.dat (KiB)" in drawn  # the bar follows the bytes read
    assert proc.stdout.decode().startswith(f"{big}: ")  # the report on stdout, alone


def _validate_on_a_terminal(files: list[str], env: dict[str, str],
                            ) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """`connector validate FILES` with stderr on a pseudo-terminal (where the bar is drawn)
    and stdout on a pipe: the process and what reached the terminal."""
    import pty

    master, slave = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "connector", "validate", *files],
                              stdout=subprocess.PIPE, stderr=slave, env=env, cwd=REPO,
                              timeout=300)
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    return proc, drawn
