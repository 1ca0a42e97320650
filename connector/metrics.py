"""Process-wide counters and gauges, rendered as Prometheus text by the status endpoint.

Tiny on purpose: a dict under a lock. Names follow Prometheus conventions
(`connector_files_published_total`); labels are a small sorted tuple.
"""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
_gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
_help: dict[str, tuple[str, str]] = {}


def _key(name: str, labels: dict[str, str] | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted((labels or {}).items()))


def inc(name: str, value: float = 1.0, help: str = "", **labels: str) -> None:
    with _lock:
        _help.setdefault(name, ("counter", help))
        k = _key(name, labels)
        _counters[k] = _counters.get(k, 0.0) + value


def set_gauge(name: str, value: float, help: str = "", **labels: str) -> None:
    with _lock:
        _help.setdefault(name, ("gauge", help))
        _gauges[_key(name, labels)] = value


def mark_success(what: str) -> None:
    """Record the time of the last success of `what` (export, import_<stream>, ...)."""
    set_gauge("connector_last_success_timestamp_seconds", time.time(),
              "Unix time of the last success", what=what)


def snapshot() -> dict[str, float]:
    with _lock:
        out = {}
        for (name, labels), v in {**_counters, **_gauges}.items():
            lab = ",".join(f'{k}="{val}"' for k, val in labels)
            out[f"{name}{{{lab}}}" if lab else name] = v
        return out


def render_prometheus() -> str:
    with _lock:
        lines: list[str] = []
        series = sorted({**_counters, **_gauges}.items())
        seen: set[str] = set()
        for (name, labels), v in series:
            if name not in seen:
                kind, text = _help.get(name, ("untyped", ""))
                lines.append(f"# HELP {name} {text or name}")
                lines.append(f"# TYPE {name} {kind}")
                seen.add(name)
            lab = ",".join(f'{k}="{_escape(val)}"' for k, val in labels)
            lines.append(f"{name}{{{lab}}} {v!r}" if lab else f"{name} {v!r}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def reset() -> None:
    """For tests."""
    with _lock:
        _counters.clear()
        _gauges.clear()
        _help.clear()
