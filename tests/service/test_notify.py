"""Notifications against a loopback SMTP server and a loopback webhook; the rate limit;
error log lines become notices."""

from __future__ import annotations

import email
import json
import logging
import socketserver
import threading
from collections.abc import Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import structlog

from connector.config import NotificationsConfig, SmtpConfig
from connector.logsetup import configure_logging
from service.notify import AlertHandler, Notice, Notifier


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP: EHLO/HELO, AUTH is not offered, MAIL, RCPT, DATA, QUIT."""

    def handle(self) -> None:
        server: SmtpServer = self.server  # type: ignore[assignment]
        self.wfile.write(b"220 loopback ESMTP\r\n")
        rcpt: list[str] = []
        while line := self.rfile.readline():
            cmd = line.decode().strip()
            verb = cmd.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 loopback\r\n")
            elif verb == "MAIL":
                rcpt = []
                self.wfile.write(b"250 OK\r\n")
            elif verb == "RCPT":
                rcpt.append(cmd.split(":", 1)[1].strip().strip("<>"))
                self.wfile.write(b"250 OK\r\n")
            elif verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                server.mails.append((rcpt, email.message_from_bytes(b"".join(data))))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


class SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.mails: list[tuple[list[str], Message]] = []


class _HookHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append(json.loads(body))  # type: ignore[attr-defined]
        code = self.server.status  # type: ignore[attr-defined]
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HookHandler)
    server.posts = []  # type: ignore[attr-defined]
    server.status = 200  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    yield server
    server.shutdown()
    server.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cfg(smtp: SmtpServer, webhook: ThreadingHTTPServer, **kw: Any) -> NotificationsConfig:
    return NotificationsConfig(
        smtp=SmtpConfig(host="127.0.0.1", port=smtp.server_address[1], sender="conn@acme.test"),
        webhook=f"http://127.0.0.1:{webhook.server_address[1]}/hook",
        info_to=["ops@acme.test"], error_to=["oncall@acme.test", "boss@acme.test"], **kw)


def test_error_and_info_go_to_their_recipients_and_the_webhook(smtp, webhook):
    n = Notifier(_cfg(smtp, webhook), "ACME")
    assert n.notify("error", "export:burst failed", "export burst failed", "disk full on D:")
    assert n.notify("info", "started", "connector started", "loops: export")
    assert n.flush(10)
    n.close()
    by_subject = {m["Subject"]: (to, m) for to, m in smtp.mails}
    to, mail = by_subject["[connector ACME] ERROR: export burst failed"]
    assert to == ["oncall@acme.test", "boss@acme.test"]
    assert mail["From"] == "conn@acme.test"
    assert "disk full on D:" in mail.get_payload()
    assert by_subject["[connector ACME] INFO: connector started"][0] == ["ops@acme.test"]
    posts = webhook.posts  # type: ignore[attr-defined]
    assert [(p["level"], p["subject"]) for p in posts] == [
        ("error", "export burst failed"), ("info", "connector started")]
    assert posts[0]["company"] == "ACME" and posts[0]["body"] == "disk full on D:"


def test_rate_limit_holds_back_a_flood_and_counts_it(smtp, webhook):
    clock = FakeClock()
    n = Notifier(_cfg(smtp, webhook, min_interval_seconds=600), "ACME", clock=clock)
    assert n.notify("error", "k", "dropbox unreachable")
    for _ in range(50):  # an outage logging the same error every few seconds
        clock.now += 5
        assert not n.notify("error", "k", "dropbox unreachable")
    assert n.notify("error", "other", "another problem")  # other keys are not held back
    clock.now += 600
    assert n.notify("error", "k", "dropbox unreachable")
    assert n.flush(10)
    n.close()
    posts = webhook.posts  # type: ignore[attr-defined]
    assert [(p["key"], p["suppressed"]) for p in posts] == [("k", 0), ("other", 0), ("k", 50)]
    assert len(smtp.mails) == 3
    assert "50 similar notices were held back" in smtp.mails[2][1].get_payload()


def test_a_failing_channel_is_a_warning_and_the_others_still_deliver(smtp, webhook, tmp_path):
    webhook.status = 500  # type: ignore[attr-defined]
    configure_logging("info", tmp_path, "json", console=False)
    n = Notifier(_cfg(smtp, webhook), "ACME")
    logging.getLogger().addHandler(AlertHandler(n))
    n.notify("error", "k", "boom")
    assert n.flush(10)
    n.close()
    assert len(smtp.mails) == 1
    lines = [json.loads(x) for x in (tmp_path / "connector.log").read_text().splitlines()]
    warn = [e for e in lines if e["event"] == "notification not delivered"]
    assert warn and warn[0]["level"] == "warning" and "HTTP 500" in warn[0]["error"]
    assert len(webhook.posts) == 1  # type: ignore[attr-defined]  # no alert about the alert


def test_error_log_lines_become_error_notices(webhook, tmp_path):
    cfg = NotificationsConfig(webhook=f"http://127.0.0.1:{webhook.server_address[1]}/",
                              min_interval_seconds=900)
    configure_logging("info", tmp_path, "json", console=False)
    n = Notifier(cfg, "ACME")
    handler = AlertHandler(n)
    logging.getLogger().addHandler(handler)
    try:
        log = structlog.get_logger("connector.export.loop")
        log.info("published", file="io_citta.dat")  # not an error: no notice
        log.error("export burst failed", error="disk full", files=3, password="hunter2")
        log.error("export burst failed", error="disk full", files=4)  # same key: held back
        try:
            raise OSError("no space left on device")
        except OSError:
            structlog.get_logger("connector.app").exception("loop crashed, restarting",
                                                            loop="export")
        logging.getLogger("urllib3").error("plain stdlib error %s", "x")
        assert n.flush(10)
    finally:
        logging.getLogger().removeHandler(handler)
        n.close()
    posts = webhook.posts  # type: ignore[attr-defined]
    assert [p["key"] for p in posts] == ["connector.export.loop:export burst failed",
                                         "connector.app:loop crashed, restarting",
                                         "urllib3:plain stdlib error x"]
    assert "error: disk full" in posts[0]["body"] and "files: 3" in posts[0]["body"]
    assert "hunter2" not in json.dumps(posts)
    assert "OSError: no space left on device" in posts[1]["body"]


def test_disabled_without_channels():
    n = Notifier(NotificationsConfig(), "ACME")
    assert not n.enabled and not n.notify("error", "k", "x")
    # SMTP without recipients is no channel either
    n2 = Notifier(NotificationsConfig(smtp=SmtpConfig(host="127.0.0.1")), "ACME")
    assert not n2.enabled


def test_notice_text_names_company_host_and_held_back_count():
    text = Notice("error", "k", "s", "body", "ACME", "erp-server", 0.0, suppressed=4).text()
    assert "company: ACME" in text and "host: erp-server" in text and "4 similar" in text


def _clerk_notices(webhook: ThreadingHTTPServer, tmp_path: Any, locale: str) -> list[dict[str, Any]]:
    """The quarantine and dead-letter log lines of a daemon speaking `locale`, as notices."""
    from connector import i18n

    cfg = NotificationsConfig(webhook=f"http://127.0.0.1:{webhook.server_address[1]}/")
    configure_logging("info", tmp_path, "json", console=False)
    i18n.set_default(locale)
    n = Notifier(cfg, "ACME")
    handler = AlertHandler(n)
    logging.getLogger().addHandler(handler)
    try:
        structlog.get_logger("connector.export.pipeline").warning(
            "file quarantined", file="io_citta.dat", problems=3,
            first_error="line 3, column CODICE: CODICE is required",
            report="/q/io_citta.dat.errors.txt")
        structlog.get_logger("connector.export.pipeline").warning(
            "file changed while being read, will retry", file="x")  # a warning: no notice
        structlog.get_logger("connector.importing.journal.delivery").error(
            "ERP refused record, dead-lettered", key="ORD-7", queue_id=12,
            reason="customer C99 unknown")
        assert n.flush(10)
    finally:
        logging.getLogger().removeHandler(handler)
        n.close()
        i18n.set_default("en")
    return list(webhook.posts)  # type: ignore[attr-defined]


def test_quarantine_and_dead_letter_notices_say_what_to_do_in_english(webhook, tmp_path):
    posts = _clerk_notices(webhook, tmp_path, "en")
    assert [p["subject"] for p in posts] == [
        "File io_citta.dat not published: moved to quarantine",
        "The ERP refused record ORD-7: set aside"]
    assert "/q/io_citta.dat.errors.txt, lists every problem" in posts[0]["body"]
    assert "`connector retry` sends it again" in posts[1]["body"]
    # the log line's fields follow, unchanged, for support staff
    assert "reason: customer C99 unknown" in posts[1]["body"]


def test_quarantine_and_dead_letter_notices_in_italian(webhook, tmp_path):
    posts = _clerk_notices(webhook, tmp_path, "it")
    assert [p["subject"] for p in posts] == [
        "File io_citta.dat non pubblicato: spostato in quarantena",
        "Il gestionale ha rifiutato il record ORD-7: messo da parte"]
    assert "Correggere il file" in posts[0]["body"]
    assert "`connector retry` lo invia di nuovo" in posts[1]["body"]
    assert posts[0]["key"] == "connector.export.pipeline:file quarantined"  # keys stay English
    from connector import i18n

    with i18n.use("it"):
        text = Notice("error", "k", "s", "b", "ACME", "erp", 0.0, suppressed=2).text()
    assert "azienda: ACME" in text and "2 avvisi simili" in text
    assert "company: ACME" in Notice("error", "k", "s", "b", "ACME", "erp", 0.0).text()
