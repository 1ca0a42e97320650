"""Notifications when something fails: SMTP email and/or a webhook, rate-limited per key.

Decoupled from the code that fails: `AlertHandler` is a logging handler on the root
logger at ERROR level, so every `log.error(...)` / `log.exception(...)` anywhere (the
Daemon logs each loop crash and each fatal loop error) becomes an "error" notice, and so do
the warnings a clerk must act on (a file quarantined, rows held back). The runner sends
"info" notices itself (started, stopped, recovered).

Notices are read by people: their texts are in the configured `locale` (the events a clerk
acts on, CLERK_EVENTS, are told in plain words with what to do); the log line's fields
follow, as they are, for support staff.

Every TLS connection verifies the server's certificate and host name (SMTP over STARTTLS or
SMTPS with `notifications.smtp.ca_bundle` for a private CA; the webhook through requests,
which verifies by default).

Rate limit: one notice per (level, key) per notifications.min_interval_seconds; the
key is the logger and the event name (not its variable fields), so an outage that logs
the same error every few seconds sends one mail, and the next one after the interval
says how many similar ones were held back. Delivery runs on a worker thread so a slow
mail server never blocks a loop; a delivery failure is logged as a warning (never as
an error, which would alert about alerting).
"""

from __future__ import annotations

import logging
import queue
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import requests
import structlog

from connector.config import NotificationsConfig, SmtpConfig, secret
from connector.i18n import N_, _, ngettext

log = structlog.get_logger(__name__)

_OWN_LOGGERS = ("service.notify",)
_BODY_SKIP = {"event", "level", "logger", "timestamp", "exception", "_record", "_from_structlog"}


@dataclass(frozen=True)
class Notice:
    level: str  # "info" | "error"
    key: str
    subject: str
    body: str
    company: str
    host: str
    at: float  # Unix time
    suppressed: int = 0  # similar notices held back since the previous one

    def text(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(self.at))
        lines = [self.body.rstrip(), "", _("company: {company}").format(company=self.company),
                 _("host: {host}").format(host=self.host), _("time: {time}").format(time=when)]
        if self.suppressed:
            lines.append(ngettext(
                "{n} similar notice was held back by the rate limit since the previous one.",
                "{n} similar notices were held back by the rate limit since the previous one.",
                self.suppressed).format(n=self.suppressed))
        return "\n".join(lines) + "\n"

    def payload(self) -> dict[str, Any]:
        return {"level": self.level, "key": self.key, "subject": self.subject, "body": self.body,
                "company": self.company, "host": self.host, "at": self.at,
                "suppressed": self.suppressed}


class Channel(Protocol):
    name: str

    def send(self, notice: Notice) -> None:
        """Deliver or raise."""
        ...


class SmtpChannel:
    name = "smtp"

    def __init__(self, cfg: SmtpConfig, info_to: Sequence[str], error_to: Sequence[str],
                 timeout: float = 20.0) -> None:
        self.cfg = cfg
        self.recipients = {"info": list(info_to), "error": list(error_to)}
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        to = self.recipients.get(notice.level) or []
        if not to:
            return
        msg = EmailMessage()
        level = _("ERROR") if notice.level == "error" else _("INFO")
        msg["Subject"] = f"[connector {notice.company}] {level}: {notice.subject}"
        msg["From"] = self.cfg.sender
        msg["To"] = ", ".join(to)
        msg.set_content(notice.text())
        context = tls_context(self.cfg.ca_bundle)
        smtp: smtplib.SMTP
        if self.cfg.ssl:
            smtp = smtplib.SMTP_SSL(self.cfg.host, self.cfg.port, timeout=self.timeout,
                                    context=context)
        else:
            smtp = smtplib.SMTP(self.cfg.host, self.cfg.port, timeout=self.timeout)
        with smtp:
            if self.cfg.starttls:
                # A server that does not offer STARTTLS is refused by smtplib (no downgrade);
                # its certificate must verify, for the host name configured.
                smtp.starttls(context=context)
            user, password = secret(self.cfg.username_env), secret(self.cfg.password_env)
            if user and password:
                smtp.login(user, password)
            smtp.send_message(msg, to_addrs=to)


def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """Certificates verified and the host name checked: the system's trust store, or the
    private CA of `ca_bundle` (never an unverified connection: smtplib's own default
    context for starttls() verifies nothing)."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, notice: Notice) -> None:
        resp = requests.post(self.url, json=notice.payload(), timeout=self.timeout)
        if resp.status_code >= 400:
            raise RuntimeError(f"webhook answered HTTP {resp.status_code}")


def channels_from(cfg: NotificationsConfig) -> list[Channel]:
    out: list[Channel] = []
    if cfg.smtp is not None and (cfg.info_to or cfg.error_to):
        out.append(SmtpChannel(cfg.smtp, cfg.info_to, cfg.error_to))
    if cfg.webhook:
        out.append(WebhookChannel(cfg.webhook))
    return out


class Notifier:
    def __init__(self, cfg: NotificationsConfig, company: str, *,
                 channels: list[Channel] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.min_interval = cfg.min_interval_seconds
        self.company = company
        self.host = socket.gethostname()
        self.channels = channels if channels is not None else channels_from(cfg)
        self._clock = clock
        self._lock = threading.Lock()
        self._last_sent: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.sent: list[Notice] = []  # what was handed to the channels, newest last (bounded)

    @property
    def enabled(self) -> bool:
        return bool(self.channels)

    def notify(self, level: str, key: str, subject: str, body: str = "") -> bool:
        """Queue a notice unless the rate limit holds it back; True when queued."""
        if not self.enabled:
            return False
        k = (level, key)
        now = self._clock()
        with self._lock:
            last = self._last_sent.get(k)
            if last is not None and now - last < self.min_interval:
                self._held[k] = self._held.get(k, 0) + 1
                return False
            self._last_sent[k] = now
            held = self._held.pop(k, 0)
            if self._thread is None:
                self._thread = threading.Thread(target=self._deliver, name="notifier", daemon=True)
                self._thread.start()
        self._queue.put(Notice(level, key, subject, body or subject, self.company, self.host,
                               time.time(), held))
        return True

    def _deliver(self) -> None:
        while True:
            notice = self._queue.get()
            try:
                if notice is None:
                    return
                for ch in self.channels:
                    try:
                        ch.send(notice)
                    except Exception as exc:  # noqa: BLE001 - any failure: warn, go on
                        log.warning("notification not delivered", channel=ch.name,
                                    subject=notice.subject, error=str(exc))
                self.sent = [*self.sent[-99:], notice]
            finally:
                self._queue.task_done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued notice was handed to the channels; False on timeout."""
        end = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > end:
                return False
            with self._queue.all_tasks_done:
                self._queue.all_tasks_done.wait(0.05)
        return True

    def close(self, timeout: float = 10.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)


# The events a clerk acts on: (subject, what happened and what to do), filled with the log
# line's fields; translated when the notice is made. The English event stays the key.
CLERK_EVENTS: dict[str, tuple[str, str]] = {
    "file quarantined": (
        N_("File {file} not published: moved to quarantine"),
        N_("The file {file} was not published: it has {problems} problem(s), the first: "
           "{first_error}.\nThe report beside it, {report}, lists every problem and what to "
           "do (`connector quarantine list` shows it). Fix the file and drop it again into "
           "the export folder.")),
    "rows held back": (
        N_("Rows of {file} held back"),
        N_("{published} row(s) of {file} were published; {held_back} row(s) were held back "
           "because of errors, the first: {first_error}.\nThe held-back rows and their report "
           "are in {held}: fix them and drop that file again into the export folder.")),
    "ERP refused record, dead-lettered": (
        N_("The ERP refused record {key}: set aside"),
        N_("The ERP refused record {key} (queue {queue_id}): {reason}.\nIt is set aside as a "
           "dead letter and is not sent again by itself: `connector deadletters show` shows "
           "it; once the cause is fixed, `connector retry` sends it again.")),
    "legacy file quarantined": (
        N_("File {file} not imported: moved to quarantine"),
        N_("The file {file} could not be imported and was moved to {to}: {error}.\nThe report "
           "beside it says what is wrong.")),
}


class AlertHandler(logging.Handler):
    """Turns ERROR (and worse) log records, and the warnings of CLERK_EVENTS, into "error"
    notices."""

    def __init__(self, notifier: Notifier) -> None:
        super().__init__(logging.WARNING)
        self.notifier = notifier

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_OWN_LOGGERS):
            return
        try:
            event, body = _describe(record)
            clerk = CLERK_EVENTS.get(event)
            if record.levelno < logging.ERROR and clerk is None:
                return
            subject = f"{event} ({record.name})"
            if clerk is not None:
                fields = _Fields(record.msg if isinstance(record.msg, dict) else {})
                subject = _(clerk[0]).format_map(fields)
                body = _(clerk[1]).format_map(fields) + "\n\n" + body
            self.notifier.notify("error", f"{record.name}:{event}", subject, body)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class _Fields(dict[str, Any]):
    """A log line's fields for a text: a missing one shows as '?', never raises."""

    def __missing__(self, key: str) -> str:
        return "?"


def _describe(record: logging.LogRecord) -> tuple[str, str]:
    """(event name, readable body) of a structlog event dict or a plain stdlib record."""
    if isinstance(record.msg, dict):
        ev: dict[str, Any] = record.msg
        event = str(ev.get("event", ""))
        fields = [f"{k}: {v}" for k, v in ev.items() if k not in _BODY_SKIP]
        body = "\n".join([event, *fields])
        if ev.get("exception"):
            body += "\n\n" + str(ev["exception"])
        return event, body
    event = record.getMessage()
    body = event
    if record.exc_info:
        body += "\n\n" + logging.Formatter().formatException(record.exc_info)
    return event.splitlines()[0][:120] if event else record.name, body


# `connector notify --test` ------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelTest:
    channel: str  # "smtp" | "webhook"
    target: str  # where it went: the mail server and recipients, the webhook's address
    ok: bool
    reason: str  # why it failed, in plain words ("" when ok)


def send_test(cfg: NotificationsConfig, company: str,
                  timeout: float = 10.0) -> list[ChannelTest]:
    """Send a test notice through every configured channel, now (no rate limit, no worker
    thread), and say for each whether it went. Nothing configured: an empty list."""
    from connector.i18n import _

    notice = Notice("info", "notify-test", _("test notification"),
                    _("This is a test notification sent by `connector notify --test`: "
                      "this channel works."), company, socket.gethostname(), time.time())
    out: list[ChannelTest] = []
    if cfg.smtp is not None:
        to = list(dict.fromkeys([*cfg.info_to, *cfg.error_to]))
        target = f"{cfg.smtp.host}:{cfg.smtp.port} -> {', '.join(to) or '-'}"
        if not to:
            out.append(ChannelTest("smtp", target, False,
                                   _("no recipients: set notifications.info_to or "
                                     "notifications.error_to")))
        else:
            ch = SmtpChannel(cfg.smtp, to, to, timeout=timeout)
            out.append(_attempt("smtp", target, lambda: ch.send(notice)))
    if cfg.webhook:
        hook = WebhookChannel(cfg.webhook, timeout=timeout)
        out.append(_attempt("webhook", _without_secrets(cfg.webhook),
                            lambda: hook.send(notice)))
    return out


def _attempt(name: str, target: str, send: Callable[[], None]) -> ChannelTest:
    try:
        send()
    except Exception as exc:  # noqa: BLE001 - every failure is told, in words
        log.warning("test notification not delivered", channel=name, error=str(exc))
        return ChannelTest(name, target, False, plain_reason(exc))
    return ChannelTest(name, target, True, "")


def _without_secrets(url: str) -> str:
    """A webhook's address to show: scheme, host and path (a token in the query or the
    user part stays out of the terminal)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def plain_reason(exc: BaseException) -> str:
    """What went wrong sending a notice, as one sentence for an operator."""
    from connector.i18n import _

    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _("the mail server refused the user name or password (notifications.smtp."
                 "username_env / password_env)")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return _("the mail server refused the recipients: {who}").format(
            who=", ".join(exc.recipients))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _("the mail server refused the sender {sender} (notifications.smtp.sender)"
                 ).format(sender=exc.sender)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return _("the mail server does not offer STARTTLS: set notifications.smtp.starttls "
                 "to false only if the network is trusted, or use ssl")
    if isinstance(exc, ssl.SSLCertVerificationError | requests.exceptions.SSLError):
        return _("the server's certificate could not be verified (a private CA goes in "
                 "notifications.smtp.ca_bundle)")
    if isinstance(exc, ssl.SSLError):
        return _("the TLS handshake failed: check the port and the ssl / starttls settings")
    if isinstance(exc, requests.exceptions.Timeout | socket.timeout | TimeoutError):
        return _("no answer in time from the server")
    if isinstance(exc, requests.exceptions.ConnectionError | ConnectionRefusedError):
        return _("could not connect: the server is not reachable at that address and port")
    if isinstance(exc, socket.gaierror):
        return _("the server's host name is unknown")
    if isinstance(exc, smtplib.SMTPException):
        code = getattr(exc, "smtp_code", None)
        return _("the mail server answered with an error{code}").format(
            code=f" ({code})" if code else "")
    if isinstance(exc, OSError):
        return _("could not connect: {error}").format(error=exc.strerror or exc)
    text = str(exc)
    if text.startswith("webhook answered HTTP"):
        return _("the webhook answered with HTTP status {status}").format(
            status=text.rsplit(" ", 1)[-1])
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
