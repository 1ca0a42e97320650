"""`connector doctor`: each check passing and failing against real things (folders, a real
AppManager sandbox on 127.0.0.1, the real PostgreSQL, sockets, child processes)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from connector.config import Config, parse_config
from connector.doctor import Check, run_checks
from tests.conftest import make_config_dict
from tests.dbservers import PG_URL, server_problem

REPO = Path(__file__).resolve().parents[2]


def _cfg(tmp_path: Path, **overrides: Any) -> Config:
    data = make_config_dict(tmp_path, **overrides)
    return parse_config(data, tmp_path)


def _named(checks: list[Check], name: str) -> Check:
    found = [c for c in checks if c.name == name]
    assert len(found) == 1, checks
    return found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------- folders

def test_folders_readable_writable_with_space(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    for key in ("export", "archive", "state"):
        (tmp_path / key).mkdir()
    checks = run_checks(cfg)
    watch = _named(checks, "folder export.watch")
    assert watch.ok is True and "read/write" in watch.message and "free" in watch.message
    # not there yet, created by the connector when needed
    assert _named(checks, "folder export.quarantine").ok is True
    assert "created at start" in _named(checks, "folder export.quarantine").message


def test_free_space_below_the_minimum_fails(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    cfg = _cfg(tmp_path, export={"min_free_mb": 10 ** 12})
    watch = _named(run_checks(cfg), "folder export.watch")
    assert watch.ok is False
    assert "less than export.min_free_mb" in watch.message and "free some space" in watch.message


def test_a_folder_the_user_may_not_write_fails(tmp_path: Path) -> None:
    """Run as an unprivileged user (root may write anywhere): a child process as nobody
    when the tests run as root, else this user with the folder made read-only."""
    top = Path(tempfile.mkdtemp(prefix="doctor-"))
    try:
        top.chmod(0o755)
        data = make_config_dict(top)
        for key in ("export", "archive", "quarantine", "state", "log", "staging", "Dropbox"):
            (top / key).mkdir(mode=0o777)
            (top / key).chmod(0o777)
        (top / "export").chmod(0o555)
        config = top / "connector.yaml"
        config.write_text(yaml.safe_dump(data), encoding="utf-8")
        config.chmod(0o644)
        code = ("import sys; from connector.config import load_config; "
                "from connector.doctor import run_checks, render; "
                "print(render(run_checks(load_config(sys.argv[1]))))")

        def drop() -> None:
            if os.geteuid() == 0:  # the real ids, which os.access checks, become nobody's
                os.setresgid(65534, 0, 0)
                os.setresuid(65534, 0, 0)

        done = subprocess.run([sys.executable, "-c", code, str(config)], cwd=REPO,
                              capture_output=True, text=True, timeout=60, preexec_fn=drop,
                              env={**os.environ, "HOME": str(top)})
        assert done.returncode == 0, done.stderr
        lines = {line.split(":")[0]: line for line in done.stdout.splitlines()}
        assert lines["FAIL  folder export.watch"].endswith(
            "has no write permission; give it read and write access (chown/chmod or the "
            "folder's security settings)"), done.stdout
        assert lines["OK    folder export.archive"], done.stdout
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(top)], check=False)
        subprocess.run(["rm", "-rf", str(top)], check=False)


# ------------------------------------------------------------------------- Dropbox folder

def test_dropbox_folder_synced_by_its_markers(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "Dropbox").mkdir()
    (tmp_path / "export").mkdir()
    cfg = _cfg(tmp_path, create_folders=False, dropbox={"create_company_folder": False})
    name = "Dropbox folder synced"
    check = _named(run_checks(cfg), name)
    assert check.ok is None and "no sign of the Dropbox desktop client" in check.message
    (tmp_path / "Dropbox" / ".dropbox.cache").mkdir()
    assert _named(run_checks(cfg), name).ok is True
    (tmp_path / "Dropbox" / ".dropbox.cache").rmdir()
    # the root may be a subfolder of the synced folder: a .dropbox file above it counts
    sub = tmp_path / "Dropbox" / "Clienti"
    sub.mkdir()
    (tmp_path / "Dropbox" / ".dropbox").write_text('{"tag": "dropbox"}')
    cfg = _cfg(tmp_path, dropbox={"root": str(sub)})
    assert _named(run_checks(cfg), name).ok is True
    (tmp_path / "Dropbox" / ".dropbox").unlink()
    # or the desktop client's info.json names it
    info = tmp_path / "home" / ".dropbox" / "info.json"
    info.parent.mkdir(parents=True)
    info.write_text(json.dumps({"business": {"path": str(tmp_path / "Dropbox")}}))
    check = _named(run_checks(cfg), name)
    assert check.ok is True and str(tmp_path / "Dropbox") in check.message


def test_dropbox_root_missing_fails(tmp_path: Path) -> None:
    (tmp_path / "Dropbox").mkdir()
    (tmp_path / "export").mkdir()
    cfg = _cfg(tmp_path, create_folders=False)
    (tmp_path / "Dropbox").rmdir()  # the volume went away after the configuration was read
    check = _named(run_checks(cfg), "Dropbox folder synced")
    assert check.ok is False and "start the Dropbox desktop client" in check.message


def test_dropbox_api_token_missing_fails(tmp_path: Path, monkeypatch: Any) -> None:
    for var in ("DROPBOX_APP_KEY", "DROPBOX_APP_SECRET", "DROPBOX_REFRESH_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    cfg = _cfg(tmp_path, dropbox={"mode": "api", "root": "/",
                                  "token_file": str(tmp_path / "none.json")})
    check = _named(run_checks(cfg), "Dropbox API token")
    assert check.ok is False and "connector dropbox login" in check.message


# ------------------------------------------------------------------------- AppManager

@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Any]:
    from adapters.appmanager.sandbox import SandboxServer

    with SandboxServer(tmp_path / "sb.sqlite", port=0, auth_key="the-right-key") as sb:
        yield sb


def _import_cfg(tmp_path: Path, url: str, **sandbox: Any) -> Config:
    return _cfg(tmp_path, **{"import": {"enabled": True, "erp": {"path": str(tmp_path / "in")},
                                        "appmanager": {"url": url}},
                             "sandbox": {"enabled": False, **sandbox}})


def test_appmanager_answers_and_accepts_the_key(tmp_path: Path, sandbox: Any,
                                                monkeypatch: Any) -> None:
    monkeypatch.setenv("APPMANAGER_AUTH_KEY", "the-right-key")
    check = _named(run_checks(_import_cfg(tmp_path, sandbox.url)), "AppManager")
    assert check == Check("AppManager", True, f"{sandbox.url} answers and accepts the authKey")


def test_appmanager_refusing_the_key(tmp_path: Path, sandbox: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("APPMANAGER_AUTH_KEY", "a-wrong-key")
    check = _named(run_checks(_import_cfg(tmp_path, sandbox.url)), "AppManager")
    assert check.ok is False
    assert check.message == (f"{sandbox.url} refused the authKey: put the right key in the "
                             "environment variable APPMANAGER_AUTH_KEY")
    assert "a-wrong-key" not in check.message


def test_appmanager_key_not_set(tmp_path: Path, sandbox: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("APPMANAGER_AUTH_KEY", raising=False)
    check = _named(run_checks(_import_cfg(tmp_path, sandbox.url)), "AppManager")
    assert check.ok is False and "APPMANAGER_AUTH_KEY" in check.message


def test_appmanager_not_answering(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("APPMANAGER_AUTH_KEY", "k")
    url = f"http://127.0.0.1:{_free_port()}/api/v1/progetti/ic.acme"
    check = _named(run_checks(_import_cfg(tmp_path, url)), "AppManager")
    assert check.ok is False and check.message.startswith(f"{url} does not answer as AppManager")
    # the same URL as the enabled sandbox's, while no connector runs: it starts with one
    port = int(url.split(":")[2].split("/", maxsplit=1)[0])
    check = _named(run_checks(_import_cfg(tmp_path, url, enabled=True, port=port)), "AppManager")
    assert check.ok is None
    assert "the bundled sandbox, which runs only inside `make run` or `connector run`" \
        in check.message


# ------------------------------------------------------------------------- databases

def test_erp_database_reachable_and_not(tmp_path: Path, monkeypatch: Any) -> None:
    problem = server_problem(PG_URL)
    if problem:
        pytest.skip(problem)
    monkeypatch.setenv("ERP_TEST_URL", PG_URL)
    ok = _cfg(tmp_path, **{"import": {"enabled": True, "erp": {
        "sink": "sql", "sql": {"url_env": "ERP_TEST_URL"}}}})
    check = _named(run_checks(ok), "ERP database (import.erp.sql)")
    assert check.ok is True and "answers" in check.message
    bad_url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/test"
    bad = _cfg(tmp_path, extract={"enabled": True, "url": bad_url, "jobs": [
        {"layout": "io_citta", "query": "SELECT 1"}]})
    check = _named(run_checks(bad), "ERP database (extract)")
    assert check.ok is False and check.message.startswith(f"{bad_url} does not answer: ")
    unset = _cfg(tmp_path, **{"import": {"enabled": True, "erp": {
        "sink": "sql", "sql": {"url_env": "ERP_UNSET_URL"}}}})
    check = _named(run_checks(unset), "ERP database (import.erp.sql)")
    assert check.ok is False and "ERP_UNSET_URL is not set" in check.message


# ------------------------------------------------------------------------- ports

def test_status_port_free_taken_and_held_by_our_daemon(tmp_path: Path) -> None:
    port = _free_port()
    cfg = _cfg(tmp_path, status={"http": f"127.0.0.1:{port}"})
    name = "status port (status.http)"
    assert _named(run_checks(cfg), name).ok is True
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        check = _named(run_checks(cfg), name)
        assert check.ok is False and "used by another program" in check.message
    # a running connector (the instance lock held by another process) holding the port
    (tmp_path / "state").mkdir(exist_ok=True)
    holder = ("import socket, sys; from pathlib import Path; "
              "from connector.oslock import InstanceLock; "
              "lock = InstanceLock(Path(sys.argv[1])); lock.acquire(); "
              "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(); "
              "print('ready', flush=True); sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", holder, str(tmp_path / "state"), str(port)],
                             cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        check = _named(run_checks(cfg), name)
        assert check.ok is True
        assert f"held by the running connector (process {child.pid})" in check.message
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)


# ------------------------------------------------------------------------- the command

def _doctor(config: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", "--config", str(config), "doctor"],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_doctor_command_exit_codes(tmp_path: Path, config_file: Any) -> None:
    (tmp_path / "export").mkdir()
    good = _doctor(config_file())
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[0].startswith("OK    folder state_dir")
    assert "Traceback" not in good.stderr and good.stderr == ""
    bad = _doctor(config_file(export={"min_free_mb": 10 ** 12}))
    assert bad.returncode == 1
    assert "FAIL  folder export.watch" in bad.stdout
    assert "checks failed: fix them, then run `connector doctor` again" in bad.stdout
    assert "Traceback" not in bad.stderr


def test_doctor_speaks_italian(tmp_path: Path, config_file: Any) -> None:
    (tmp_path / "export").mkdir()
    done = _doctor(config_file(locale="it"), env={"LANG": "it_IT.UTF-8"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cartella export.watch" in done.stdout
    assert "lettura/scrittura" in done.stdout


# ------------------------------------------------------------------------- defects (issue 15)

def test_dropbox_check_in_folder_mode_asks_for_no_key(tmp_path: Path, config_file: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPBOX_")}
    config = config_file()
    (tmp_path / "Dropbox").mkdir()
    done = subprocess.run([sys.executable, "-m", "connector", "--config", str(config), "dropbox",
                           "check"], cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "no API key is needed" in done.stdout
    assert "DROPBOX_APP_KEY" not in done.stdout + done.stderr and done.stderr == ""
    assert "WARN  Dropbox folder synced: no sign of the Dropbox desktop client" in done.stdout
    (tmp_path / "Dropbox" / ".dropbox.cache").mkdir()
    done = subprocess.run([sys.executable, "-m", "connector", "--config", str(config), "dropbox",
                           "check"], cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and "OK    Dropbox folder synced" in done.stdout, done.stdout


def test_the_sandbox_key_is_documented_where_users_look() -> None:
    from adapters.appmanager.sandbox import SandboxServer
    from connector.config import SandboxConfig, load_config

    key = SandboxConfig().auth_key
    assert SandboxServer.__init__.__kwdefaults__["auth_key"] == key
    assert load_config(REPO / "connector.yaml").sandbox.auth_key == key
    assert f"auth_key: {key}" in (REPO / "connector.yaml").read_text(encoding="utf-8")
    guide = (REPO / "docs/guide/import.md").read_text(encoding="utf-8")
    assert f"authKey={key}" in guide
