"""`python svc_daemon_main.py --config X run`: the real connector CLI with the test loops added."""

from __future__ import annotations

import sys

import connector.app
from service.cli import main

if __name__ == "__main__":
    connector.app.LOOP_FACTORIES = (*connector.app.LOOP_FACTORIES, ("svc_fakeloops", lambda cfg: True))
    sys.exit(main())
