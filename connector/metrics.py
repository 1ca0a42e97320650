"""Process-wide counters and gauges, on prometheus_client, rendered by the status endpoint.

A metric is registered on its first use, from the call itself: its kind (inc: counter,
set_gauge: gauge), its help text and its label names. Later calls must use the same label
names. Counter names end in `_total` (`connector_files_published_total`), as the exposition
names them. The registry is ours, not prometheus_client's global default: nothing else
in the process (a library, a second daemon's test) registers into it by accident, and
`reset()` can empty it for tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator

import prometheus_client
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import Metric

log = structlog.get_logger(__name__)

# One `_created` series beside every counter doubles what a monitor stores and tells it
# nothing it needs; the exposition stays the one this module always gave.
prometheus_client.disable_created_metrics()

CONTENT_TYPE = CONTENT_TYPE_LATEST

_lock = threading.Lock()
_registry = CollectorRegistry(auto_describe=False)
_metrics: dict[str, tuple[Counter | Gauge, frozenset[str]]] = {}
_refused: set[tuple[str, str]] = set()
# (kind, name, label values) -> the series: the calls come back with the same few series,
# and prometheus_client's labels() checks and locks on every call.
_series: dict[tuple[type, str, tuple[tuple[str, str], ...]], Counter | Gauge] = {}


def _metric(kind: type[Counter] | type[Gauge], name: str, help: str,
            labels: dict[str, str]) -> Counter | Gauge | None:
    key = (kind, name, tuple(sorted(labels.items())))
    series = _series.get(key)
    if series is not None:
        return series
    with _lock:
        known = _metrics.get(name)
        if known is None:
            known = (kind(name, help or name, labelnames=sorted(labels), registry=_registry),
                     frozenset(labels))
            _metrics[name] = known
    metric, names = known
    if not isinstance(metric, kind):
        _refuse(name, f"it is a {type(metric).__name__.lower()}, not a {kind.__name__.lower()}")
        return None
    if set(labels) != names:
        _refuse(name, f"its labels are {sorted(names)}, not {sorted(labels)}")
        return None
    series = metric.labels(**labels) if names else metric
    _series[key] = series
    return series


def _refuse(name: str, why: str) -> None:
    """A call that does not fit its metric is a bug of ours; counting must never stop the
    work it counts, so it is logged (once per kind of mistake) and the sample dropped."""
    with _lock:
        if (name, why) in _refused:
            return
        _refused.add((name, why))
    log.error("metric sample dropped", metric=name, reason=why)


def inc(name: str, value: float = 1.0, help: str = "", **labels: str) -> None:
    metric = _metric(Counter, name, help, labels)
    if not isinstance(metric, Counter):
        return
    if value < 0:
        _refuse(name, "a counter only goes up")
        return
    metric.inc(value)


def set_gauge(name: str, value: float, help: str = "", **labels: str) -> None:
    metric = _metric(Gauge, name, help, labels)
    if isinstance(metric, Gauge):
        metric.set(value)


def mark_success(what: str) -> None:
    """Record the time of the last success of `what` (export, import_<stream>, ...)."""
    set_gauge("connector_last_success_timestamp_seconds", time.time(),
              "Unix time of the last success", what=what)


def snapshot() -> dict[str, float]:
    """Every series as `name{label="value",...}` -> value (for tests and the CLI)."""
    out: dict[str, float] = {}
    for family in _registry.collect():
        for s in family.samples:
            lab = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{lab}}}" if lab else s.name] = s.value
    return out


class _Together:
    """Our registry's metrics followed by families computed for one request."""

    def __init__(self, extra: Iterable[Metric]) -> None:
        self._extra = extra

    def collect(self) -> Iterator[Metric]:
        yield from _registry.collect()
        yield from self._extra


def render(extra: Iterable[Metric] = ()) -> bytes:
    """The Prometheus text exposition (of CONTENT_TYPE) of every metric, then `extra`."""
    return generate_latest(_Together(extra))  # type: ignore[arg-type]


def render_prometheus() -> str:
    return render().decode("utf-8")


def reset() -> None:
    """For tests."""
    with _lock:
        for metric, _names in _metrics.values():
            _registry.unregister(metric)
        _metrics.clear()
        _series.clear()
        _refused.clear()
