"""The connector's exception tree, grouped by what the caller should do.

This module imports nothing of ours, so every layer (formats/, adapters/,
connector/, service/) can raise these.
"""

from __future__ import annotations

import re
from typing import Any


class ConnectorError(Exception):
    """Root of everything the connector raises on purpose. Carries context."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context

    def __str__(self) -> str:
        return self.message


class ConfigError(ConnectorError):
    """Fatal at start: every problem, each with its key path."""

    def __init__(self, errors: list[str], source: str | None = None) -> None:
        head = f"invalid configuration{f' in {source}' if source else ''}"
        super().__init__(head + ": " + "; ".join(errors), source=source)
        self.errors = list(errors)


class FormatError(ConnectorError):
    """Bad input file: quarantine it, do not retry."""


class RecordError(FormatError):
    """Bad input record: names the line and the field."""

    def __init__(self, message: str, *, line_no: int | None = None, field: str | None = None,
                 **context: Any) -> None:
        super().__init__(message, line_no=line_no, field=field, **context)
        self.line_no = line_no
        self.field = field


class TransientError(ConnectorError):
    """Worth retrying with backoff: timeouts, 5xx, 429, connection resets."""


class RateLimited(TransientError):
    """The peer asked us to wait: honour retry_after (seconds) before the next attempt."""

    def __init__(self, message: str, *, retry_after: float | None = None, **context: Any) -> None:
        super().__init__(message, retry_after=retry_after, **context)
        self.retry_after = retry_after


class DestinationMissing(TransientError):
    """The Dropbox folder (or the volume it lives on) is not there: an outage. It is never
    created at run time; the files wait in the export folder until it is back."""


class PermanentError(ConnectorError):
    """This item fails for good: dead letter or quarantine, alert, go on with the rest."""


class AuthError(ConnectorError):
    """Credentials refused: stop that adapter and tell the operator."""


class StopRequested(BaseException):  # it is a signal, not an error
    """A wait was interrupted because the stop event was set: control flow, not an error,
    so outside the ConnectorError tree (and outside Exception, like KeyboardInterrupt): no
    `except ConnectorError` or `except Exception` takes a shutdown for a failure of the
    item in hand. Whoever must undo or record something on the way out catches it by name;
    the daemon's supervisor ends the loop it came out of, the CLI says so in one line."""


class StateStoreError(ConnectorError):
    """The state store cannot be used (locked, disk full, read-only, damaged). Not a fault
    of any one item: the loop in hand stops and its supervisor restarts it with backoff;
    at start-up the command prints what to do and exits 2."""

    exit_code = 2


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Marks a text for the catalogs (connector.i18n.N_; this module imports nothing of
    ours): the reasons below are translated where they are shown, with `_()`."""
    return message


# What went wrong on the network, in words: the operator reads "connection refused", not
# urllib3's "HTTPConnectionPool(host=..., port=...): Max retries exceeded with url: ...
# (Caused by NewConnectionError(...))". Matched on the exception chain's types and texts,
# so this module needs no HTTP library.
_NETWORK_REASONS = (
    ("connectionrefused", N_("connection refused: nothing listens there")),
    ("connection refused", N_("connection refused: nothing listens there")),
    ("name or service not known", N_("the host name is not known (DNS)")),
    ("nodename nor servname", N_("the host name is not known (DNS)")),
    ("temporary failure in name resolution", N_("the host name cannot be resolved now (DNS)")),
    ("getaddrinfo failed", N_("the host name is not known (DNS)")),
    ("nameresolution", N_("the host name is not known (DNS)")),
    ("certificate verify failed", N_("its TLS certificate is not trusted")),
    ("network is unreachable", N_("the network is unreachable")),
    ("no route to host", N_("no route to that host")),
    ("connectionreset", N_("the connection was reset by the other side")),
    ("connection reset", N_("the connection was reset by the other side")),
    ("connection aborted", N_("the connection was closed by the other side")),
    ("remotedisconnected", N_("the server closed the connection without answering")),
    ("timed out", N_("no answer in time")),
    ("timeout", N_("no answer in time")),
    ("invalid url", N_("the URL is not valid")),
    ("no connection adapters", N_("the URL is not valid (it needs http:// or https://)")),
    ("missingschema", N_("the URL is not valid (it needs http:// or https://)")),
    ("invalidschema", N_("the URL is not valid (it needs http:// or https://)")),
)


def network_reason(exc: BaseException) -> str:
    """A short plain reason for a failed connection (`exc` and the exceptions it came from)."""
    seen: list[str] = []
    cur: BaseException | None = exc
    while cur is not None and len(seen) < 10:
        seen.append(f"{type(cur).__name__} {cur}")
        cur = cur.__cause__ or cur.__context__
    return _reason_in(" ".join(seen))


def _reason_in(text: str) -> str:
    low = text.lower()
    for needle, reason in _NETWORK_REASONS:
        if needle in low:
            return reason
    return N_("the connection failed")


# Texts stored before errors were put in words (the state store keeps them), and the
# shapes a library's text takes, for `connector status` and /status.
_OLD_NETWORK = re.compile(r"(?s)^(?P<head>.*?): connection failed for (?P<call>.*?): "
                          r"(?P<raw>[A-Za-z]*(Error|Exception|Timeout)\b.*)$")
_UNEXPECTED = re.compile(r"(?s)^unexpected error: (?P<kind>[A-Za-z_.]+)\b.*$")


def in_words(text: str | None) -> str:
    """An error text as an operator should read it: a library's exception text (urllib3's
    pools, retries and "Caused by", a Python exception's name) replaced by a plain reason;
    our own sentences pass unchanged."""
    if not text:
        return text or ""
    m = _OLD_NETWORK.match(text)
    if m:
        return f"{m['head']}: cannot reach the server ({_reason_in(m['raw'])}) for {m['call']}"
    m = _UNEXPECTED.match(text)
    if m:
        return (f"an unexpected error ({m['kind']}): the log has the details "
                "(`connector logs --level error`)")
    if "Traceback (most recent call last)" in text:
        return text.split("Traceback (most recent call last)")[0].strip(" :\n") or \
            "an unexpected error: the log has the details (`connector logs --level error`)"
    return text
