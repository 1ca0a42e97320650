"""Where the Dropbox credentials come from, and where `connector dropbox login` puts them.

Order: environment variables (dropbox.*_env; the wiring reads them into
CredentialSources), then the OS keyring (optional `keyring` package), then a token file
that only its owner may read (0600). The app key is not a secret; the refresh token and
the app secret are, and are never logged or printed. With no app secret the refresh
works for tokens obtained with PKCE.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from connector.errors import AuthError, ConfigError
from connector.fsutil import atomic_writer

log = structlog.get_logger(__name__)

KEYRING_SERVICE = "icommerce-connector-dropbox"


@dataclass(frozen=True)
class Credentials:
    app_key: str
    refresh_token: str
    app_secret: str | None = None  # None: PKCE
    source: str = "env"  # env | keyring | file: where the refresh token came from

    def __repr__(self) -> str:  # never show the secrets, even in a traceback
        return f"Credentials(app_key={self.app_key!r}, source={self.source!r})"


@dataclass(frozen=True)
class CredentialSources:
    """Where to look: what the environment holds (resolved by the wiring; None when
    unset), the names of those variables (for the messages) and the token file."""

    token_file: Path
    app_key: str | None = None
    app_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    app_key_env: str = "DROPBOX_APP_KEY"
    refresh_token_env: str = "DROPBOX_REFRESH_TOKEN"  # noqa: S105 - a variable's name


def keyring_user(app_key: str) -> str:
    return f"refresh-token:{app_key}"


def _keyring() -> Any | None:
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None
    except Exception:  # noqa: BLE001 - a broken backend means "no keyring here"
        return None
    return keyring


def read_token_file(path: Path) -> dict[str, str]:
    """The token file, refused when group or others may read it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise AuthError(f"cannot read Dropbox token file {path}: {exc}") from None
    if os.name == "posix" and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuthError(f"Dropbox token file {path} is readable by others "
                        f"(mode {stat.S_IMODE(st.st_mode):o}); run: chmod 600 {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AuthError(f"Dropbox token file {path} is not valid JSON: {type(exc).__name__}; "
                        "run `connector dropbox login` again") from None
    if not isinstance(data, dict):
        raise AuthError(f"Dropbox token file {path} must hold a JSON object")
    return {str(k): str(v) for k, v in data.items() if v is not None}


def write_token_file(path: Path, data: dict[str, str]) -> None:
    """Write atomically, created 0600 from the start (never world-readable, not even briefly)."""
    with atomic_writer(path, mode=0o600) as f:
        f.write(json.dumps(data).encode("utf-8"))


def load_credentials(src: CredentialSources) -> Credentials:
    """Find the app key and refresh token, or raise AuthError saying what to do."""
    path = src.token_file
    file_data: dict[str, str] | None = None

    def from_file() -> dict[str, str]:
        nonlocal file_data
        if file_data is None:
            file_data = read_token_file(path)
        return file_data

    app_key = src.app_key or from_file().get("app_key")
    if not app_key:
        raise AuthError(f"no Dropbox app key: set {src.app_key_env} (or run "
                        "`connector dropbox login`)")
    app_secret = src.app_secret or from_file().get("app_secret")
    token = src.refresh_token
    source = "env"
    if not token:
        kr = _keyring()
        if kr is not None:
            try:
                token = kr.get_password(KEYRING_SERVICE, keyring_user(app_key))
                source = "keyring"
            except Exception as exc:  # noqa: BLE001 - keyring backends raise anything
                log.warning("keyring_unavailable", error=type(exc).__name__)
                token = None
    if not token:
        token = from_file().get("refresh_token")
        source = "file"
    if not token:
        raise AuthError(f"no Dropbox refresh token: set {src.refresh_token_env}, or run "
                        f"`connector dropbox login` (keyring or {path})")
    return Credentials(app_key=app_key, refresh_token=token, app_secret=app_secret,
                       source=source)


def store_refresh_token(token_file: Path, app_key: str, refresh_token: str,
                        where: str = "auto") -> str:
    """Save the token; returns a description of where ("keyring" or the file path)."""
    if where not in ("auto", "keyring", "file"):
        raise ConfigError([f"--store must be auto, keyring or file, got {where!r}"])
    if where in ("auto", "keyring"):
        kr = _keyring()
        if kr is not None:
            try:
                kr.set_password(KEYRING_SERVICE, keyring_user(app_key), refresh_token)
                return "the OS keyring"
            except Exception as exc:  # noqa: BLE001
                if where == "keyring":
                    raise AuthError(f"cannot store the token in the keyring: "
                                    f"{type(exc).__name__}") from None
                log.warning("keyring_store_failed", error=type(exc).__name__)
        elif where == "keyring":
            raise AuthError("no usable OS keyring (pip install 'icommerce-connector[keyring]' "
                            "and a keyring backend), use --store file")
    write_token_file(token_file, {"app_key": app_key, "refresh_token": refresh_token})
    return str(token_file)
