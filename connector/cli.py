"""`connector`: a thin shell over the library. Each command lives in connector/commands/.

Errors become one clear line on stderr and an exit code: 0 success, 1 the work found
problems, 2 usage or configuration error. `--debug` shows tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence

from connector import __version__
from connector.errors import ConfigError, ConnectorError, StopRequested

# Each module has register(subparsers); its handlers take (args) and return an exit code.
COMMAND_MODULES = (
    "connector.commands.run",
    "connector.commands.config_cmds",
    "connector.commands.formats_cmds",
    "connector.commands.export_cmds",
    "connector.commands.import_cmds",
    "connector.commands.status_cmd",
    "connector.commands.db_cmds",
    "connector.commands.service_cmds",
    "connector.commands.dropbox_cmds",
    "connector.commands.logs_cmd",
    "connector.commands.geocode_cmd",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"connector: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="connector", description="iCommerce connector: ERP <-> AppManager.")
    parser.add_argument("--config", metavar="PATH", default=None,
                        help="configuration file (default: $CONNECTOR_CONFIG, then ./connector.yaml)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"connector {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # a command not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
        return code
    except ConfigError as exc:
        if args.debug:
            traceback.print_exc()
        print(f"connector: {exc.message}", file=sys.stderr)
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
