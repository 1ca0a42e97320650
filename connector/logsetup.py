"""structlog for the whole process: pretty on a terminal, JSON lines or logfmt in a rotating file.

Standard-library records (watchdog, urllib3, dropbox) go through the same chain.
Secrets never reach a sink: `redact_processor` masks query-string keys and known
secret-bearing fields in every event before it is rendered.

What reaches a terminal never carries control characters from the data (file names and
record fields are the outside world's): `printable` escapes them (a newline shows as
\n, ESC as \x1b, a bidi override as \u202e), on the console here and in `connector
logs`. The log file keeps the text as it was (JSON escapes it; logfmt escapes newlines);
it is files with mode 0640, whatever the umask.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import sys
from collections.abc import Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import structlog

_SECRET_QUERY = re.compile(r"(?i)\b(authkey|auth_key|key|token|access_token|refresh_token|password|secret)=([^&\s'\"]+)")
_SECRET_FIELDS = {"auth_key", "authkey", "password", "token", "refresh_token", "app_secret", "secret"}


# C0 and C1 controls, DEL, and the invisible marks that reorder a terminal line (bidi).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
LOG_FILE_MODE = 0o640


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    return _NAMED.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")


def printable(text: str) -> str:
    """The text with every control character escaped: safe to show on a terminal."""
    return _CONTROL.sub(_escape, text)


def printable_lines(text: str) -> str:
    """A multi-line text (a traceback) kept on its lines, each line made printable."""
    return "\n".join(printable(line) for line in text.split("\n"))


def _printable(all_values: bool) -> Any:
    """(Console only.) A processor escaping control characters: in the event text and the
    traceback, which the pretty renderer prints as they are (it shows other values with
    repr, escaped already), or in every string (logfmt, which escapes newlines only). JSON
    escapes them itself."""

    def processor(_logger: Any, _name: str,
                  event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for k, v in list(event.items()):
            if not isinstance(v, str):
                continue
            if k in ("exception", "stack"):
                event[k] = printable_lines(v)
            elif all_values or k == "event":
                event[k] = printable(v)
        return event

    return processor


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are created 0640 whatever the umask (a log line may
    quote a record's fields: not for every local user to read)."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, LOG_FILE_MODE)
        try:
            if sys.platform != "win32" and os.fstat(fd).st_mode & 0o027:
                os.fchmod(fd, LOG_FILE_MODE)
        except OSError:
            pass  # another owner's file: left as it is
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def redact(text: str) -> str:
    """Mask the values of secret query parameters in a URL or message."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)


# A secret shorter than this is masked only where it stands alone (a whole token): the key
# `x` must not turn exportPaginazione into e***portPaginazione. Longer ones are masked
# wherever they appear (a token of 6+ characters inside another word is the secret).
MASK_ANYWHERE_FROM = 6


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret value replaced by ***: anywhere when it is at least
    MASK_ANYWHERE_FROM characters long, else only as a whole token (not part of a word)."""
    for value in sorted({s for s in secrets if s}, key=len, reverse=True):
        if len(value) >= MASK_ANYWHERE_FROM:
            text = text.replace(value, "***")
        else:
            text = re.sub(rf"(?<![\w]){re.escape(value)}(?![\w])", "***", text)
    return text


def redact_processor(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for k, v in list(event.items()):
        if k.lower() in _SECRET_FIELDS and v:
            event[k] = "***"
        elif isinstance(v, str) and "=" in v:
            event[k] = redact(v)
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=False),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_processor,
    ]


def _renderer(fmt: str, *, colors: bool) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    if fmt == "logfmt":
        return structlog.processors.LogfmtRenderer(key_order=["timestamp", "level", "event"])
    return structlog.dev.ConsoleRenderer(colors=colors)


def configure_logging(level: str = "info", log_dir: Path | None = None, fmt: str = "text",
                      max_bytes: int = 10 * 1024 * 1024, backups: int = 10,
                      console: bool = True) -> None:
    """Configure once per process (again on reload). File logs are JSON unless fmt says logfmt.

    `console=False` is what the one-shot commands use (unless `-v`): their log lines go to
    the file only, and what they print for people is their outcome lines."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    shared = _shared_processors()

    if console:
        ch = logging.StreamHandler(sys.stderr)
        shown = fmt if not sys.stderr.isatty() and fmt != "text" else "text"
        escape = [] if shown == "json" else [_printable(all_values=shown == "logfmt")]
        ch.setFormatter(structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *escape,
                        _renderer(shown, colors=sys.stderr.isatty())],
            foreign_pre_chain=shared,
        ))
        root.addHandler(ch)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        fh = PrivateRotatingFileHandler(log_dir / "connector.log", maxBytes=max_bytes,
                                        backupCount=backups, encoding="utf-8")
        fh.setFormatter(structlog.stdlib.ProcessorFormatter(
            processor=_renderer("logfmt" if fmt == "logfmt" else "json", colors=False),
            foreign_pre_chain=shared,
        ))
        root.addHandler(fh)
    if not root.handlers:
        # Neither a console nor a file: without a handler the standard library would print
        # warnings on stderr by itself (logging.lastResort), which a quiet command must not.
        root.addHandler(logging.NullHandler())
    for noisy in ("urllib3", "watchdog", "dropbox", "sqlalchemy.engine"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    structlog.configure(
        # filter_by_level first: a line below the level costs a check, not the whole chain.
        processors=[structlog.stdlib.filter_by_level, *shared,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


# Correlation ids ---------------------------------------------------------------------------
# Every log line written while a file or a record is in hand carries `correlation_id`, so
# support staff can follow one file or one order through the log with
# `connector logs --grep <id>`. Contextvars are per thread (and per task), so the loops'
# threads never mix their ids.
def new_correlation_id(kind: str) -> str:
    import uuid

    return f"{kind}-{uuid.uuid4().hex[:12]}"


@contextlib.contextmanager
def bind_correlation(kind: str, id: str | None = None, **extra: Any) -> Iterator[str]:
    """Bind `correlation_id` (and any extra fields) to every log line inside the block.

    `kind` is "file", "record", ...; `id` a stable one when there is one (an order's
    unique_id), else a fresh random one. Yields the id; nested blocks restore the outer one.
    """
    cid = f"{kind}-{id}" if id else new_correlation_id(kind)
    tokens = structlog.contextvars.bind_contextvars(correlation_id=cid, **extra)
    try:
        yield cid
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
