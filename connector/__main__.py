"""`python -m connector`: the same entry point as the `connector` console script.

A launcher at the top of the stack (tests/core/test_layers.py LAUNCHERS): the library never
imports it, so the rule that `connector` never imports `service` still holds for the code.
"""

import sys

from service.cli import main

if __name__ == "__main__":  # not again in a spawned worker process
    sys.exit(main())
