"""CLI commands, one module per group; service.cli imports each and calls its register()."""

from __future__ import annotations

import argparse

from connector import i18n
from connector.config import Config, load_config


def config_from(args: argparse.Namespace) -> Config:
    """The configuration of a command, and its `locale` for everything the command prints
    (absent: the system's, which service.cli.main set before the command ran)."""
    cfg = load_config(args.config)
    i18n.set_default(cfg.locale)
    return cfg
