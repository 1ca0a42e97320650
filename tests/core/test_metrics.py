"""The metrics on prometheus_client: our own registry, the names and labels the callers
give, and a call that does not fit its metric never stops the work it counts."""

from __future__ import annotations

from collections.abc import Iterator

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from connector import metrics


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    metrics.reset()
    yield
    metrics.reset()


def families() -> dict[str, prometheus_client.Metric]:
    return {f.name: f for f in text_string_to_metric_families(metrics.render_prometheus())}


def test_names_labels_and_kinds_as_the_callers_give_them():
    metrics.inc("connector_import_records_total", 2, help="inbound records by outcome",
                stream="ordini", outcome="delivered")
    metrics.inc("connector_import_records_total", stream="ordini", outcome="delivered")
    metrics.inc("connector_import_records_total", stream="clienti", outcome="dead")
    metrics.set_gauge("connector_import_mark", 41, help="lastID mark per stream", stream="ordini")
    metrics.set_gauge("connector_import_mark", 42, stream="ordini")
    metrics.inc("connector_files_quarantined_total", help="Files moved to quarantine")
    text = metrics.render_prometheus()
    assert "# TYPE connector_import_records_total counter" in text
    assert "# HELP connector_import_mark lastID mark per stream" in text
    assert "_created" not in text  # no second series per counter
    assert metrics.snapshot() == {
        'connector_import_records_total{outcome="delivered",stream="ordini"}': 3.0,
        'connector_import_records_total{outcome="dead",stream="clienti"}': 1.0,
        'connector_import_mark{stream="ordini"}': 42.0,
        "connector_files_quarantined_total": 1.0}
    fams = families()
    assert fams["connector_import_mark"].type == "gauge"
    assert fams["connector_files_quarantined"].samples[0].value == 1.0


def test_our_registry_not_the_global_default():
    metrics.inc("connector_files_published_total", help="Files published", folder="x")
    default = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    assert "connector_files_published_total" not in default
    # the default registry's process collectors are not ours either
    assert "process_cpu_seconds_total" not in metrics.render_prometheus()


def test_a_call_that_does_not_fit_is_dropped_and_logged_not_raised():
    metrics.inc("connector_files_published_total", help="Files published", folder="x")
    with capture_logs() as logs:
        metrics.inc("connector_files_published_total")  # labels missing
        metrics.inc("connector_files_published_total", folder="x", other="y")  # one too many
        metrics.set_gauge("connector_files_published_total", 5, folder="x")  # not a gauge
        metrics.inc("connector_files_published_total", -1, folder="x")  # counters only go up
        metrics.inc("connector_files_published_total")  # the same mistake: logged once
    assert metrics.snapshot() == {'connector_files_published_total{folder="x"}': 1.0}
    assert [e["event"] for e in logs] == ["metric sample dropped"] * 4
    assert all(e["metric"] == "connector_files_published_total" for e in logs)


def test_reset_forgets_kinds_and_labels():
    metrics.inc("connector_x_total", folder="a")
    metrics.reset()
    metrics.set_gauge("connector_x_total", 3)  # a new first use decides again
    assert metrics.snapshot() == {"connector_x_total": 3.0}
