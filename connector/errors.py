"""The connector's exception tree, grouped by what the caller should do.

This module imports nothing of ours, so every layer (formats/, adapters/,
connector/, service/) can raise these.
"""

from __future__ import annotations

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
