"""CLI commands, one module per group; service.cli imports each and calls its register()."""

from __future__ import annotations

import argparse

from connector.config import Config, load_config


def config_from(args: argparse.Namespace) -> Config:
    return load_config(args.config)
