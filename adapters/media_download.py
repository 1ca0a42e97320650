"""Download one catalog image from a URL, trusting nothing about the server (the
MediaDownloader port of connector/ports.py).

Every request has a connect and a read timeout and an overall deadline; the body is
read in chunks and abandoned past the size cap; the declared content type must be an
allowed image type and the first bytes must really be that kind of image. Timeouts,
connection errors, 429 and 5xx are retried through the one retry policy; anything else
fails this image only (PermanentError) and the run goes on with the rest.

Redirects are followed by hand, as the AppManager client does, and only on the same
host: to the same scheme and port, or from http up to https (which only adds
protection); never from https down to plain http (the image, and whatever the URL
carries, would cross the network in clear and could be swapped), never to another host
(an image URL typed in the ERP must not become a way to reach other machines, the
internal network's included), at most MAX_REDIRECTS hops. A refused redirect fails that
image only, naming both URLs, and is not retried: asking again gets the same answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import structlog

from connector.errors import PermanentError, RateLimited, TransientError
from connector.ports import Downloaded
from connector.retry import retrying
from formats.media import image_type

log = structlog.get_logger(__name__)

MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class DownloadPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    max_bytes: int = 20 * 1024 * 1024
    content_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif")
    attempts: int = 3
    retry_initial: float = 0.5
    verify: bool | str = True

    @property
    def deadline(self) -> float:
        """The most one attempt may take, however slowly the bytes trickle in."""
        return self.connect_timeout + 4 * self.read_timeout


class HttpImageDownloader:
    """One HTTP session for one extraction run's images; closed at its end."""

    def __init__(self, policy: DownloadPolicy,
                 session: requests.Session | None = None) -> None:
        self.policy = policy
        self.session = session or requests.Session()

    def download(self, url: str, stop: threading.Event | None = None) -> Downloaded:
        return download(self.session, url, self.policy, stop)

    def close(self) -> None:
        self.session.close()


def download(session: requests.Session, url: str, policy: DownloadPolicy,
             stop: threading.Event | None = None) -> Downloaded:
    """The image at url, or TransientError (after retries) / PermanentError with a reason."""
    if not url.lower().startswith(("http://", "https://")):
        raise PermanentError(f"{url}: not an http(s) URL", url=url)
    result: Downloaded = retrying(attempts=policy.attempts, initial=policy.retry_initial,
                                  maximum=10.0, stop=stop, what=f"download {url}")(
        _attempt, session, url, policy)
    return result


def _attempt(session: requests.Session, url: str, policy: DownloadPolicy) -> Downloaded:
    started = time.monotonic()
    resp = _follow(session, url, policy)
    with resp:
        status = resp.status_code
        if status == 429:
            retry_after = resp.headers.get("Retry-After", "")
            raise RateLimited(f"{url}: HTTP 429 too many requests", url=url,
                              retry_after=float(retry_after) if retry_after.isdigit() else None)
        if status >= 500:
            raise TransientError(f"{url}: HTTP {status}", url=url)
        if status != 200:
            raise PermanentError(f"{url}: HTTP {status} {resp.reason or ''}".rstrip(), url=url)
        declared = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if declared not in policy.content_types:
            raise PermanentError(f"{url}: content type {declared or 'missing'} is not one of "
                                 f"{', '.join(policy.content_types)}", url=url)
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > policy.max_bytes:
            raise PermanentError(f"{url}: {int(length)} bytes is over the "
                                 f"{policy.max_bytes}-byte cap", url=url)
        chunks: list[bytes] = []
        total = 0
        try:
            for chunk in resp.iter_content(64 * 1024):
                total += len(chunk)
                if total > policy.max_bytes:
                    raise PermanentError(f"{url}: more than {policy.max_bytes} bytes "
                                         "(over the size cap)", url=url)
                if time.monotonic() - started > policy.deadline:
                    raise TransientError(f"{url}: too slow (over {policy.deadline:g} s)", url=url)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise TransientError(f"{url}: {_reason(exc)}", url=url) from exc
    data = b"".join(chunks)
    kind = image_type(data)
    if kind is None:
        raise PermanentError(f"{url}: the body is not a JPEG, PNG or GIF image "
                             f"(declared {declared})", url=url)
    return Downloaded(url, data, kind)


def _get(session: requests.Session, url: str, current: str,
         policy: DownloadPolicy) -> requests.Response:
    try:
        return session.get(current, stream=True, allow_redirects=False, verify=policy.verify,
                           timeout=(policy.connect_timeout, policy.read_timeout))
    except requests.Timeout as exc:
        raise TransientError(f"{url}: timed out ({_reason(exc)})", url=url) from exc
    except requests.RequestException as exc:
        raise TransientError(f"{url}: {_reason(exc)}", url=url) from exc


def _follow(session: requests.Session, url: str, policy: DownloadPolicy) -> requests.Response:
    """The answer after the redirects this module follows (see the docstring)."""
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        resp = _get(session, url, current, policy)
        location = resp.headers.get("Location")
        if resp.status_code not in _REDIRECTS or not location:
            return resp
        resp.close()
        target = urljoin(current, location)
        if hop == MAX_REDIRECTS:
            raise PermanentError(f"{url}: more than {MAX_REDIRECTS} redirects (the last to "
                                 f"{target})", url=url)
        why = refused_redirect(current, target)
        if why:
            raise PermanentError(f"{url}: refused a redirect from {current} to {target}: {why}; "
                                 "put the image's final address in the ERP", url=url)
        log.info("following a redirect", url=url, to=target)
        current = target
    raise AssertionError("unreachable")  # pragma: no cover


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number
        port = None
    return scheme, (parts.hostname or "").lower(), port


def refused_redirect(current: str, target: str) -> str | None:
    """Why a redirect from current to target is not followed, or None when it is."""
    scheme, host, port = _origin(current)
    to_scheme, to_host, to_port = _origin(target)
    if to_scheme not in _DEFAULT_PORTS or to_port is None:
        return "not an http(s) address"
    if scheme == "https" and to_scheme == "http":
        return "from https down to plain http"
    if to_host != host:
        return "to another host"
    if to_scheme == scheme and to_port != port:
        return "to another port"
    return None


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "Read timed out" in text:
        return "read timeout"
    if "timed out" in text.lower():
        return "connect timeout"
    return text.split(":")[-1].strip(" )'\"") or type(exc).__name__
