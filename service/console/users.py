"""Console users (name, role, argon2 hash), in the state store.

The state store is the place both the daemon and `connector console password` reach (SQLite
in WAL mode: the command works while the daemon runs). A session carries the user's
`version`, a digest of the hash, so a password change ends every other session of that user.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from connector.i18n import N_, _
from connector.state import StateStore

Role = Literal["admin", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "viewer")
NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is a denial of service

SCHEMA = """
CREATE TABLE IF NOT EXISTS console_users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, updated_at REAL NOT NULL);
"""


NAME_RULE = N_("A user name is 1 to 64 letters, digits or . _ @ -")
PASSWORD_SHORT = N_("A password has at least {n} characters.")
PASSWORD_LONG = N_("A password has at most {n} characters.")
ROLE_RULE = N_("A role is admin or viewer.")


class UserError(ValueError):
    """A name, role or password that cannot be taken. `message` is the English text (marked
    for the catalog), `params` its placeholders: `str(exc)` is it in the current locale."""

    def __init__(self, message: str, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(message.format(**params))

    def __str__(self) -> str:
        return _(self.message).format(**self.params)


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    version: str  # changes with the password

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _version(hash_: str) -> str:
    return hashlib.sha256(hash_.encode()).hexdigest()[:16]


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise UserError(NAME_RULE)
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(PASSWORD_SHORT, n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise UserError(PASSWORD_LONG, n=MAX_PASSWORD)
    return password


class Users:
    def __init__(self, store: StateStore, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        store.ensure_schema("console", SCHEMA)
        # Hashed once: verifying an unknown name costs what a known one does (no timing
        # difference telling which names exist).
        self._dummy = self.hasher.hash("not a password of anyone")

    def any(self) -> bool:
        return self.store.query_one("SELECT 1 FROM console_users LIMIT 1") is not None

    def get(self, name: str) -> User | None:
        row = self.store.query_one("SELECT name, role, hash FROM console_users WHERE name = ?",
                                   (name,))
        return User(row["name"], row["role"], _version(row["hash"])) if row else None

    def all(self) -> list[User]:
        return [User(r["name"], r["role"], _version(r["hash"])) for r in
                self.store.query("SELECT name, role, hash FROM console_users ORDER BY name")]

    def set_password(self, name: str, password: str, role: Role | None = None) -> User:
        """Create the user (role admin unless given) or change its password (and role)."""
        check_name(name)
        check_password(password)
        if role is not None and role not in ROLES:
            raise UserError(ROLE_RULE)
        hash_ = self.hasher.hash(password)
        with self.store.transaction() as conn:
            row = conn.execute("SELECT role FROM console_users WHERE name = ?", (name,)).fetchone()
            chosen: Role = role or (row["role"] if row else "admin")
            conn.execute("INSERT INTO console_users(name, role, hash, updated_at) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                         "role = excluded.role, hash = excluded.hash, "
                         "updated_at = excluded.updated_at", (name, chosen, hash_, time.time()))
        return User(name, chosen, _version(hash_))

    def verify(self, name: str, password: str) -> User | None:
        """The user when the password is right; None otherwise (also for an unknown name)."""
        row = self.store.query_one("SELECT name, role, hash FROM console_users WHERE name = ?",
                                   (name,)) if len(password) <= MAX_PASSWORD else None
        try:
            self.hasher.verify(row["hash"] if row else self._dummy, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if self.hasher.check_needs_rehash(row["hash"]):
            self.set_password(row["name"], password, row["role"])
            return self.get(row["name"])
        return User(row["name"], row["role"], _version(row["hash"]))
