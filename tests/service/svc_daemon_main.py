"""`python svc_daemon_main.py --config X run`: the real connector CLI with the test loops added."""

from __future__ import annotations

import sys

import svc_fakeloops

import connector.daemon
from service.cli import main

_build_loops = connector.daemon.build_loops


def _with_fake_loops(cfg, store):  # type: ignore[no-untyped-def]
    return [*_build_loops(cfg, store), *svc_fakeloops.build_loops(cfg, store)]


if __name__ == "__main__":
    connector.daemon.build_loops = _with_fake_loops
    sys.exit(main())
