"""The progress bar of the long one-shot commands (`import --once`, `export --once`,
`retry`, `validate` on many files), drawn with rich on stderr.

Only on a terminal: in a pipe, a cron job's mail or a test there is no bar at all (a bar
rewritten in place is noise in a file), and not with `-v` either, where the log lines
scroll on the same stderr. The outcome lines go to stdout, always.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


class Progress:
    """`with Progress(label, enabled) as bar: bar.update(done, total, detail)`; a no-op
    when disabled or when stderr is not a terminal."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True,
                            # Lines printed meanwhile go above the bar when stdout is the
                            # same terminal; redirected to a file or a pipe, stdout is left
                            # alone (rich would send them to stderr with the bar).
                            redirect_stdout=sys.stdout.isatty(), redirect_stderr=False)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=None)
        return self

    def update(self, done: int, total: int | None = None, detail: str = "") -> None:
        if self._bar is None:
            return
        description = f"{self.label} {detail}".strip()
        self._bar.update(self._task, completed=done, total=total, description=description)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def wanted(args: Any) -> bool:
    """A bar for this command line: not with -v/--debug (the log lines take stderr)."""
    return not (getattr(args, "verbose", False) or getattr(args, "debug", False))
