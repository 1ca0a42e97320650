"""structlog for the whole process: pretty on a terminal, JSON lines or logfmt in a rotating file.

Standard-library records (watchdog, urllib3, dropbox) go through the same chain.
Secrets never reach a sink: `redact_processor` masks query-string keys and known
secret-bearing fields in every event before it is rendered.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog

_SECRET_QUERY = re.compile(r"(?i)\b(authkey|auth_key|key|token|access_token|refresh_token|password|secret)=([^&\s'\"]+)")
_SECRET_FIELDS = {"auth_key", "authkey", "password", "token", "refresh_token", "app_secret", "secret"}


def redact(text: str) -> str:
    """Mask the values of secret query parameters in a URL or message."""
    return _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", text)


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
    """Configure once per process (again on reload). File logs are JSON unless fmt says logfmt."""
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    shared = _shared_processors()

    if console:
        ch = logging.StreamHandler(sys.stderr)
        ch.setFormatter(structlog.stdlib.ProcessorFormatter(
            processor=_renderer(fmt if not sys.stderr.isatty() and fmt != "text" else "text",
                                colors=sys.stderr.isatty()),
            foreign_pre_chain=shared,
        ))
        root.addHandler(ch)
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(log_dir / "connector.log", maxBytes=max_bytes,
                                                  backupCount=backups, encoding="utf-8")
        fh.setFormatter(structlog.stdlib.ProcessorFormatter(
            processor=_renderer("logfmt" if fmt == "logfmt" else "json", colors=False),
            foreign_pre_chain=shared,
        ))
        root.addHandler(fh)
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
