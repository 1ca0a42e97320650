"""`connector`: a thin shell over the library. Each command group lives in service/commands/.

Errors become one clear line on stderr and an exit code: 0 success, 1 the work found
problems, 2 usage or configuration error. `--debug` shows tracebacks.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from connector import __version__, i18n
from connector.errors import ConfigError, ConnectorError, StopRequested
from connector.i18n import _
from service.commands import (
    config_cmds,
    control_cmds,
    db_cmds,
    deadletter_cmds,
    doctor_cmd,
    dropbox_cmds,
    export_cmds,
    formats_cmds,
    geocode_cmd,
    import_cmds,
    logs_cmd,
    notify_cmd,
    quarantine_cmds,
    run,
    service_cmds,
    status_cmd,
)
from service.console import cli as console_cli  # `connector console password` (issue 16)

# Each module has register(subparsers); its handlers take (args) and return an exit code.
# The order is the order of `connector --help`.
COMMAND_GROUPS = (run, config_cmds, doctor_cmd, formats_cmds, export_cmds, import_cmds,
                  control_cmds,
                  status_cmd, db_cmds, service_cmds, dropbox_cmds, logs_cmd, geocode_cmd,
                  quarantine_cmds, deadletter_cmds, notify_cmd, console_cli)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"connector: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="connector", description="iCommerce connector: ERP <-> AppManager.")
    parser.add_argument("--config", metavar="PATH", default=None,
                        help="configuration file (default: $CONNECTOR_CONFIG, then ./connector.yaml)")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks on errors, and debug log lines on stderr")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show the log lines on stderr too (one-shot commands write them "
                             "to the log file only)")
    parser.add_argument("--version", action="version", version=f"connector {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def _quiet_logging(args: argparse.Namespace) -> None:
    """Until a command configures logging with its log file: no log line on stderr unless
    -v (structlog unconfigured would print every line on stdout)."""
    import structlog

    from connector.logsetup import configure_logging
    from service.commands import verbose

    if not structlog.is_configured():  # in-process callers (tests) keep what they set
        configure_logging("debug" if args.debug else "info", None, console=verbose(args))


def main(argv: Sequence[str] | None = None) -> int:
    # The system's locale (LANG, LC_ALL) until a command loads a configuration with its own
    # `locale` (service.commands.config_from): commands without one speak the system's.
    i18n.set_default(None)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _quiet_logging(args)
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        if args.debug:
            traceback.print_exc()
        # the header once, then each problem on its own line (not the joined message too)
        print("connector: " + (_("invalid configuration in {source}:").format(
            source=exc.context["source"]) if exc.context.get("source") else
            _("invalid configuration:")), file=sys.stderr)
        for line in exc.errors:
            print(f"  - {line}", file=sys.stderr)
        return 2
    except ConnectorError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"connector: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 1))  # 2 where the fix is the operator's, not the data's
    except StopRequested as exc:  # a signal cut a wait short (not a ConnectorError)
        print(f"connector: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
