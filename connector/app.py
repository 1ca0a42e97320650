"""The composition root, the one wiring site of the connector: what the rest imports.

- connector.facade.Connector: the one facade (status, export once, dry run, import once,
  retry, pause and resume, the actions log, the daemon) that the command line, the
  daemon's runner and the web console call;
- connector.daemon.Daemon: the loops of `connector run`, each in a supervised thread;
- connector.wiring: the builders, each adapter and loop made from the configuration
  with plain imports (no name registries).

Nothing outside these modules builds an adapter; nothing in `connector` imports
`service`.
"""

from __future__ import annotations

from connector.daemon import Daemon
from connector.facade import Connector, ExportResult, ImportResult, RetryResult
from connector.wiring import (
    Loop,
    auth_key,
    base_url,
    build_client,
    build_export,
    build_extract,
    build_geocoder,
    build_import,
    build_importer,
    build_legacy,
    build_loops,
    build_publisher,
    build_sandbox,
    build_sink,
    build_sql_sink,
    command_sink_settings,
    dropbox_api_settings,
    dropbox_credential_sources,
    dropbox_token_file,
    export_once,
    extract_once,
    extract_sources,
    geocode_loops,
    legacy_once,
    points_at_sandbox,
    sql_sink_settings,
    start_sandbox,
)

__all__ = [
    "Connector", "Daemon", "ExportResult", "ImportResult", "Loop", "RetryResult", "auth_key",
    "base_url", "build_client", "build_export", "build_extract", "build_geocoder",
    "build_import", "build_importer", "build_legacy", "build_loops", "build_publisher",
    "build_sandbox", "build_sink", "build_sql_sink", "command_sink_settings",
    "dropbox_api_settings", "dropbox_credential_sources", "dropbox_token_file", "export_once",
    "extract_once", "extract_sources", "geocode_loops", "legacy_once", "points_at_sandbox",
    "sql_sink_settings", "start_sandbox",
]
