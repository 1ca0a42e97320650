"""sd_notify with no dependency: one datagram per message to $NOTIFY_SOCKET.

Without NOTIFY_SOCKET (a terminal, Windows, a plain container) every call is a no-op,
so the runner calls these unconditionally. A failed send is logged once and never
raised: losing the service manager's ear must not take the connector down (systemd's
watchdog notices on its own).
"""

from __future__ import annotations

import os
import socket
import time

import structlog

log = structlog.get_logger(__name__)


def _address(raw: str) -> str | bytes:
    # "@name" is a Linux abstract socket: a leading NUL byte instead of the '@'.
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    return raw


class SystemdNotifier:
    def __init__(self, address: str | None = None) -> None:
        raw = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._address = _address(raw) if raw else None
        self._sock: socket.socket | None = None
        self._warned = False

    @property
    def enabled(self) -> bool:
        return self._address is not None

    def notify(self, *fields: str) -> bool:
        """Send "KEY=value" fields in one message; True when it was sent."""
        if self._address is None or not hasattr(socket, "AF_UNIX"):
            return False
        msg = "\n".join(f.replace("\n", " ") for f in fields).encode("utf-8", "replace")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._sock.setblocking(False)
            self._sock.sendto(msg, self._address)
            return True
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify the service manager", error=str(exc))
                self._warned = True
            return False

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd (Type=notify-reload) match this to its reload request.
        # On Linux time.monotonic_ns() reads CLOCK_MONOTONIC, the clock systemd compares with.
        usec = time.monotonic_ns() // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval() -> float | None:
    """Seconds between WATCHDOG=1 pings (half of WATCHDOG_USEC), or None if no watchdog is set."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # the watchdog is meant for another process (e.g. our parent shell)
    return int(usec) / 2e6
