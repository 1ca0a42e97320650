"""Helpers of the console tests: a console on a real server, clients that log in."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from argon2 import PasswordHasher

from connector.config import Config
from service.console.auth import ConsoleSettings
from service.console.backend import ConsoleBackend
from service.console.server import HttpServer

CHROMIUM = "/usr/bin/chromium"
# Cheap hashes: the tests log in often; the parameters are argon2id's all the same.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Console:
    url: str
    cfg: Config
    backend: ConsoleBackend
    settings: ConsoleSettings
    server: HttpServer
    clock: Clock
    clients: list[httpx.Client] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)  # the daemon's loops

    def client(self, **kw: Any) -> httpx.Client:
        c = httpx.Client(base_url=self.url, follow_redirects=False, timeout=10.0, **kw)
        self.clients.append(c)
        return c

    def add_user(self, name: str = "admin", password: str = PASSWORD,
                 role: str = "admin") -> None:
        self.backend.users.set_password(name, password, role)  # type: ignore[arg-type]

    def login(self, name: str = "admin", password: str = PASSWORD,
              client: httpx.Client | None = None) -> httpx.Client:
        c = client or self.client()
        r = c.post("/login", data={"username": name, "password": password,
                                   "csrf_token": csrf(c)})
        assert r.status_code == 303, r.text
        return c


def csrf(client: httpx.Client, path: str = "/login") -> str:
    """The CSRF token of the client's session, from a form of the page at `path`."""
    r = client.get(path)
    m = _CSRF.search(r.text)
    assert m, f"no csrf_token in {path} ({r.status_code})"
    return m.group(1)
