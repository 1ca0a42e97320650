"""Mail notifications over TLS to a real SMTP server on 127.0.0.1 (aiosmtpd) whose
certificate comes from a throwaway CA (trustme): refused without that CA, or for another
host name, before the user and password are sent; delivered with `ca_bundle` set."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from connector.config import SmtpConfig, parse_config
from service.notify import Notice, SmtpChannel
from tests.conftest import make_config_dict

USER, PASSWORD = "connector@acme.test", "Sm7p-PassW0rd"


@dataclass
class Mailbox:
    port: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)
    mails: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.mails.append(envelope.content)
        return "250 queued"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=True)


def _serve(box: Mailbox, tls: ssl.SSLContext, implicit: bool) -> Iterator[Mailbox]:
    loop = asyncio.new_event_loop()

    def factory() -> SMTP:
        return SMTP(box, hostname="mail.acme.test", authenticator=box.authenticate,
                    auth_require_tls=not implicit, require_starttls=not implicit,
                    tls_context=None if implicit else tls)

    server = loop.run_until_complete(loop.create_server(
        factory, "127.0.0.1", 0, ssl=tls if implicit else None))
    box.port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    path = tmp_path / "mail-ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


def _server_tls(authority: trustme.CA, *names: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert(*names).configure_cert(ctx)
    return ctx


@pytest.fixture
def mailbox(ca: tuple[trustme.CA, Path], request: pytest.FixtureRequest) -> Iterator[Mailbox]:
    names, implicit = getattr(request, "param", (("127.0.0.1",), False))
    yield from _serve(Mailbox(), _server_tls(ca[0], *names), implicit)


def _send(box: Mailbox, ca_bundle: Path | None, *, ssl_: bool = False) -> None:
    cfg = SmtpConfig(host="127.0.0.1", port=box.port, starttls=not ssl_, ssl=ssl_,
                     username_env="TEST_SMTP_USER", password_env="TEST_SMTP_PASSWORD",
                     sender="connector@acme.test", ca_bundle=ca_bundle)
    notice = Notice("error", "k", "export burst failed", "body", "ACME", "host", 0.0)
    SmtpChannel(cfg, [], ["oncall@acme.test"], timeout=5).send(notice)


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_USER", USER)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)


def test_starttls_to_an_untrusted_certificate_is_refused_before_the_password(mailbox):
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _send(mailbox, ca_bundle=None)
    assert mailbox.logins == [] and mailbox.mails == []


def test_starttls_with_the_private_ca_delivers(mailbox, ca):
    _send(mailbox, ca_bundle=ca[1])
    assert mailbox.logins == [(USER, PASSWORD)] and len(mailbox.mails) == 1


@pytest.mark.parametrize("mailbox", [(("mail.elsewhere.test",), False)], indirect=True)
def test_a_certificate_for_another_host_is_refused_even_from_the_ca(mailbox, ca):
    with pytest.raises(ssl.SSLCertVerificationError, match=r"IP address mismatch|hostname"):
        _send(mailbox, ca_bundle=ca[1])
    assert mailbox.logins == []


@pytest.mark.parametrize("mailbox", [(("127.0.0.1",), True)], indirect=True)
def test_smtps_verifies_too(mailbox, ca):
    with pytest.raises(ssl.SSLCertVerificationError):
        _send(mailbox, ca_bundle=None, ssl_=True)
    _send(mailbox, ca_bundle=ca[1], ssl_=True)
    assert mailbox.logins == [(USER, PASSWORD)] and len(mailbox.mails) == 1


def test_a_password_without_tls_is_a_configuration_error(tmp_path: Path) -> None:
    from connector.errors import ConfigError

    smtp = {"host": "mail.acme.test", "username_env": "U", "password_env": "P"}
    with pytest.raises(ConfigError, match=r"notifications\.smtp\.starttls: a username and password"):
        parse_config(make_config_dict(tmp_path, notifications={"smtp": smtp}), tmp_path)
    parse_config(make_config_dict(tmp_path, notifications={"smtp": {**smtp, "starttls": True}}),
                 tmp_path)
