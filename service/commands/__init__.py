"""CLI commands, one module per group; service.cli imports each and calls its register()."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from connector import i18n
from connector.config import Config, load_config
from connector.i18n import _


def config_from(args: argparse.Namespace) -> Config:
    """The configuration of a command, and its `locale` for everything the command prints
    (absent: the system's, which service.cli.main set before the command ran)."""
    cfg = load_config(args.config)
    i18n.set_default(cfg.locale)
    return cfg


def verbose(args: argparse.Namespace) -> bool:
    """`-v` (or `--debug`): the log lines on stderr too."""
    return bool(getattr(args, "verbose", False) or getattr(args, "debug", False))


def setup_logging(args: argparse.Namespace, cfg: Config) -> None:
    """A one-shot command's log lines go to the log file, where the daemon's go; on stderr
    only with -v. What the command did is printed as outcome lines on stdout."""
    from connector.logsetup import configure_logging

    configure_logging("debug" if args.debug else cfg.log.level, cfg.log.dir, cfg.log.format,
                      cfg.log.max_bytes, cfg.log.backups, console=verbose(args))


def needs_once(args: argparse.Namespace, what: str) -> int:
    """`connector export` / `import` without --once: the command's help and what to run,
    rather than argparse's "the following arguments are required"."""
    args.command_parser.print_help(sys.stderr)
    print("\n" + _("connector: {what} runs once with --once (e.g. `connector {what} --once`); "
                   "the daemon, `connector run`, does it continuously").format(what=what),
          file=sys.stderr)
    return 2


def who() -> str:
    """The operator, as actions record them: "cli:<OS user>"."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        user = "unknown"
    return f"cli:{user}"


def setup(args: argparse.Namespace) -> tuple[Config, Any]:
    """The configuration (and its locale for what is printed), the log lines to the log
    file only (stdout is for the answer; `-v` or `--debug` shows them on stderr too), and
    the state store."""
    from connector.state import StateStore

    cfg = config_from(args)
    setup_logging(args, cfg)
    return cfg, StateStore(cfg.state_dir)
