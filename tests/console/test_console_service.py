"""The console as the daemon serves it: the TLS rule, HTTPS, the runner's servers (the
console and status.http), and `connector console password`."""

from __future__ import annotations

import ssl
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import structlog
import trustme
from console_helpers import PASSWORD, Console, csrf

from connector.app import Daemon
from connector.config import Config
from connector.errors import ConfigError
from connector.state import StateStore
from service.console.server import console_server
from service.console.users import Users
from service.runner import Runner
from service.status_http import LiveView


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = (tmp_path / "console.crt", tmp_path / "console.key",
                                    tmp_path / "ca.pem")
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    return cert_path, key_path, ca_path


def test_the_console_port_is_checked_and_its_problems_are_said_in_italian(
        config_factory) -> None:
    from connector import i18n

    with pytest.raises(ConfigError) as e:
        config_factory(console={"http": "127.0.0.1:99999"})
    assert any("console.http" in m and "between 1 and 65535, got 99999" in m
               for m in e.value.errors)
    with i18n.use("it"), pytest.raises(ConfigError) as e:
        config_factory(console={"http": "0.0.0.0:8767", "max_upload_mb": 0},
                       geocode={"enabled": True, "provider": "nominatim",
                                "requests_per_second": 5})
    joined = "\n".join(e.value.errors)
    assert "0.0.0.0 non è un indirizzo di loopback" in joined
    assert "console.max_upload_mb" in joined and "deve essere maggiore di 0" in joined
    assert "il server pubblico di Nominatim consente al massimo 1 richiesta" in joined


# The TLS rule -------------------------------------------------------------------------------
def test_a_non_loopback_address_needs_tls_or_allow_plain_http(config_factory, tls_files) -> None:
    with pytest.raises(ConfigError) as e:
        config_factory(console={"http": "0.0.0.0:8767"})
    assert any("console.http" in m and "tls_cert" in m for m in e.value.errors)
    with pytest.raises(ConfigError) as e:
        config_factory(console={"http": "192.168.1.10:8767", "tls_cert": str(tls_files[0])})
    assert any("set both tls_cert and tls_key" in m for m in e.value.errors)
    with pytest.raises(ConfigError) as e:
        config_factory(console={"http": "127.0.0.1:8767", "tls_cert": "/nonexistent.crt",
                                "tls_key": "/nonexistent.key"})
    assert any("file not found: /nonexistent.crt" in m for m in e.value.errors)
    with pytest.raises(ConfigError) as e:
        config_factory(console={"http": "8767"})
    assert any("expected host:port" in m for m in e.value.errors)
    config_factory(console={"http": "0.0.0.0:8767", "tls_cert": str(tls_files[0]),
                            "tls_key": str(tls_files[1])})
    config_factory(console={"http": "0.0.0.0:8767", "allow_plain_http": True})
    for loopback in ("127.0.0.1:8767", "localhost:8767", "[::1]:8767"):
        config_factory(console={"http": loopback})


def test_plain_http_on_another_address_is_served_with_a_warning(config_factory) -> None:
    cfg: Config = config_factory(console={"http": "0.0.0.0:0", "allow_plain_http": True})
    view = LiveView(Daemon(cfg, loops=[]))
    with structlog.testing.capture_logs() as logs:
        server = console_server(cfg, lambda: view)
    try:
        assert any(e["log_level"] == "warning" and "without TLS" in e["event"] for e in logs)
        assert server.url.startswith("http://")
    finally:
        server.close()
        view.daemon.store.close()


def test_under_tls_the_console_is_https_and_its_cookies_secure(console_factory,
                                                               tls_files) -> None:
    cert, key, ca = tls_files
    c: Console = console_factory(tls=(str(cert), str(key)))
    c.add_user()
    assert c.url.startswith("https://")
    client = c.client(verify=ssl.create_default_context(cafile=str(ca)))
    r = client.post("/login", data={"username": "admin", "password": PASSWORD,
                                    "csrf_token": csrf(client)})
    assert r.status_code == 303
    cookie = [v for v in r.headers.get_list("set-cookie") if v.startswith("console_session=")]
    assert cookie and "; Secure" in cookie[-1] and "HttpOnly" in cookie[-1]
    assert client.get("/").status_code == 200
    with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port gets nothing
        httpx.get(c.url.replace("https://", "http://") + "/login", timeout=5)


# The runner -----------------------------------------------------------------------------------
def _run(runner: Runner) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    t = threading.Thread(target=lambda: codes.append(runner.run()), daemon=True)
    t.start()
    assert runner.ready.wait(20), "the daemon did not start"
    return t, codes


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_daemon_serves_the_console_and_status_http_beside_it(config_file, capfd) -> None:
    path = config_file(export={"enabled": False}, console={"http": f"127.0.0.1:{_free_port()}"},
                       status={"http": "127.0.0.1:0"})
    runner = Runner(path, daemon_factory=lambda cfg: Daemon(cfg, loops=[]),
                    install_signals=False, console_logs=False)
    t, codes = _run(runner)
    try:
        names = [s.name for s in runner.servers]
        assert names == ["console", "status"]
        console, status = runner.servers
        base = console.url.rstrip("/")
        assert httpx.get(base + "/healthz").json()["status"] == "ok"
        assert "connector_healthy" in httpx.get(base + "/metrics").text
        assert httpx.get(base + "/", follow_redirects=False).status_code == 503  # no password
        assert httpx.get(base + "/status").status_code == 503
        Users(runner.view.daemon.store).set_password("admin", PASSWORD)  # type: ignore[union-attr]
        assert httpx.get(base + "/status").status_code == 401  # the console's needs a login
        assert httpx.get(base + "/", follow_redirects=False).status_code == 303
        sbase = status.url.rstrip("/")
        assert httpx.get(sbase + "/status").json()["company"] == "ACME"
        assert httpx.get(sbase + "/login").status_code == 404
        assert f"the console is at {console.url}" in capfd.readouterr().err
    finally:
        runner.request_stop("test")
        t.join(30)
    assert codes == [0]


def test_one_address_for_both_is_one_server(config_file) -> None:
    address = f"127.0.0.1:{_free_port()}"
    path = config_file(export={"enabled": False}, console={"http": address},
                        status={"http": address})
    runner = Runner(path, daemon_factory=lambda cfg: Daemon(cfg, loops=[]),
                    install_signals=False, console_logs=False)
    t, codes = _run(runner)
    try:
        assert [s.name for s in runner.servers] == ["console"]
    finally:
        runner.request_stop("test")
        t.join(30)
    assert codes == [0]


def test_a_console_port_in_use_is_a_configuration_error(config_file) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        path = config_file(export={"enabled": False},
                            console={"http": f"127.0.0.1:{port}"})
        runner = Runner(path, daemon_factory=lambda cfg: Daemon(cfg, loops=[]),
                        install_signals=False, console_logs=False)
        with pytest.raises(ConfigError) as e:
            runner.run()
    assert any("console.http: cannot listen" in m for m in e.value.errors)


# connector console password ---------------------------------------------------------------------
def _cli(path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "connector", "--config", str(path), "console",
                           "password", *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd=str(Path(__file__).resolve().parents[2]))


def test_console_password_from_stdin(tmp_path: Path, config_file) -> None:
    path = config_file(console={"http": "127.0.0.1:8767"})
    done = _cli(path, stdin="first password 1\n")
    assert done.returncode == 0, done.stderr
    assert "User admin (administrator) created" in done.stdout
    assert "http://127.0.0.1:8767/" in done.stdout
    state = tmp_path / "state"
    users = Users(StateStore(state))
    assert users.get("admin").role == "admin"  # type: ignore[union-attr]
    assert users.verify("admin", "first password 1") is not None
    done = _cli(path, "--user", "lucia", "--role", "viewer", stdin="lucia password\n")
    assert done.returncode == 0 and users.get("lucia").role == "viewer"  # type: ignore[union-attr]
    done = _cli(path, "--user", "lucia", stdin="lucia changed pw\n")  # the role is kept
    assert done.returncode == 0 and "changed" in done.stdout
    assert users.get("lucia").role == "viewer"  # type: ignore[union-attr]
    for bad_args, stdin, text in ((["--user", "no spaces"], "pw pw pw pw\n", "A user name is"),
                                  ([], "short\n", "at least 8 characters"),
                                  (["--role", "root"], "pw pw pw pw\n", "invalid choice")):
        done = _cli(path, *bad_args, stdin=stdin)
        assert done.returncode == 2 and text in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert users.verify("admin", "first password 1") is not None
    from connector import controls

    last = controls.actions(users.store)[0]
    assert last.who == "connector console password" and last.target == "lucia"


def test_a_session_key_that_cannot_be_made_is_a_configuration_error(config_file,
                                                                    tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    path = config_file(export={"enabled": False},
                       console={"http": f"127.0.0.1:{_free_port()}",
                                "session_secret_file": str(blocker / "console_secret")})
    runner = Runner(path, daemon_factory=lambda cfg: Daemon(cfg, loops=[]),
                    install_signals=False, console_logs=False)
    with pytest.raises(ConfigError) as e:
        runner.run()
    assert any(m.startswith("console.session_secret_file: cannot read or create")
               for m in e.value.errors)


def test_the_session_key_is_made_once_and_private(tmp_path: Path) -> None:
    import os
    import stat

    from service.console.auth import load_secret

    path = tmp_path / "state" / "console_secret"
    first = load_secret(path)
    assert len(first) >= 32 and load_secret(path) == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
