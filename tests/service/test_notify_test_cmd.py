"""`connector notify --test` against a real SMTP server (aiosmtpd) and a real webhook on
127.0.0.1: per channel OK, or the reason in plain words; recorded as an action."""

from __future__ import annotations

import getpass
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiosmtpd.controller import Controller

from connector import controls, i18n
from connector.state import StateStore
from service.cli import main
from tests.conftest import make_config_dict


class _Inbox:
    def __init__(self) -> None:
        self.mails: list[tuple[list[str], str]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails.append((list(envelope.rcpt_tos), envelope.content.decode("utf-8", "replace")))
        return "250 queued"


@pytest.fixture
def mailserver() -> Iterator[tuple[Controller, _Inbox]]:
    inbox = _Inbox()
    ctl = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    ctl.start()
    yield ctl, inbox
    ctl.stop()


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the stdlib's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.posts = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _keep_locale() -> Any:
    before = i18n.current()
    yield
    i18n.set_default(before)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, notifications: dict[str, Any], **extra: Any) -> Path:
    data = make_config_dict(tmp_path, notifications=notifications, **extra)
    path = tmp_path / "connector.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_both_channels_deliver_and_say_ok(tmp_path: Path, mailserver, webhook, capsys) -> None:
    ctl, inbox = mailserver
    config = _config(tmp_path, {
        "smtp": {"host": "127.0.0.1", "port": ctl.port, "sender": "conn@acme.test"},
        "info_to": ["ops@acme.test"], "error_to": ["oncall@acme.test", "ops@acme.test"],
        "webhook": f"http://127.0.0.1:{webhook.server_address[1]}/hook?token=s3cr3t"})
    assert main(["--config", str(config), "notify", "--test"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["smtp", "webhook"]
    assert all(line.endswith("OK") for line in out)
    assert "s3cr3t" not in "\n".join(out)
    (rcpt, body), = inbox.mails  # one mail, every recipient once
    assert sorted(rcpt) == ["oncall@acme.test", "ops@acme.test"]
    assert "connector notify --test" in body
    (path, payload), = webhook.posts  # type: ignore[attr-defined]
    assert path == "/hook?token=s3cr3t" and payload["key"] == "notify-test"
    (act,) = controls.actions(StateStore(tmp_path / "state"))
    assert act.action == "notify.test" and act.who == f"cli:{getpass.getuser()}"
    assert act.detail == "smtp: ok; webhook: ok"


def test_each_failure_is_told_in_plain_words(tmp_path: Path, mailserver, webhook,
                                            capsys) -> None:
    ctl, inbox = mailserver
    inbox.refuse.add("nobody@acme.test")
    webhook.status = 500  # type: ignore[attr-defined]
    config = _config(tmp_path, {
        "smtp": {"host": "127.0.0.1", "port": ctl.port},
        "info_to": ["nobody@acme.test"],
        "webhook": f"http://127.0.0.1:{webhook.server_address[1]}/hook"})
    assert main(["--config", str(config), "notify", "--test"]) == 1
    smtp_line, hook_line = capsys.readouterr().out.splitlines()
    assert "FAILED: the mail server refused the recipients: nobody@acme.test" in smtp_line
    assert "FAILED: the webhook answered with HTTP status 500" in hook_line
    # nothing listening: the connection is refused, said so (in Italian too)
    closed = _free_port()
    config = _config(tmp_path, {
        "smtp": {"host": "127.0.0.1", "port": closed}, "error_to": ["ops@acme.test"],
        "webhook": f"http://127.0.0.1:{closed}/hook"}, locale="it")
    assert main(["--config", str(config), "notify", "--test", "--timeout", "5"]) == 1
    out = capsys.readouterr().out
    assert out.count("NON RIUSCITO: connessione non riuscita") == 2, out
    assert "Traceback" not in out and "Errno" not in out
    acts = controls.actions(StateStore(tmp_path / "state"))
    assert [a.action for a in acts] == ["notify.test", "notify.test"]


def test_nothing_configured_says_so(tmp_path: Path, capsys) -> None:
    config = _config(tmp_path, {})
    assert main(["--config", str(config), "notify", "--test"]) == 2
    assert "no notification channel is configured" in capsys.readouterr().out
    config = _config(tmp_path, {"smtp": {"host": "127.0.0.1", "port": _free_port()}})
    assert main(["--config", str(config), "notify", "--test"]) == 1
    assert "no recipients" in capsys.readouterr().out
