"""geopy's HTTP adapter, our way: one request per call (no retries of its own, the
connector's retry policy and rate limit decide), no redirects, a deadline on the whole
answer, a size bound, TLS verified (optionally against a CA bundle), no proxy unless
configured.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from geopy.adapters import AdapterHTTPError, BaseSyncAdapter
from geopy.exc import (
    GeocoderParseError,
    GeocoderServiceError,
    GeocoderTimedOut,
    GeocoderUnavailable,
)

MAX_BYTES = 1024 * 1024  # one geocoding answer is a few KB


class BoundedAdapter(BaseSyncAdapter):
    is_available = True

    def __init__(self, *, proxies: Any, ssl_context: Any, ca_bundle: Path | None = None,
                 max_bytes: int = MAX_BYTES) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self.max_bytes = max_bytes
        self.session = requests.Session()
        self.session.trust_env = False  # proxies and CA only as configured
        self.session.proxies = dict(proxies or {})
        self.session.verify = str(ca_bundle) if ca_bundle else True

    def close(self) -> None:
        self.session.close()

    def get_json(self, url: str, *, timeout: float, headers: dict[str, str]) -> Any:
        text = self.get_text(url, timeout=timeout, headers=headers)
        try:
            return json.loads(text)
        except ValueError:
            raise GeocoderParseError(f"{len(text)} characters that are not JSON") from None

    def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        where = urlsplit(url).netloc
        deadline = time.monotonic() + timeout
        try:
            with self.session.get(url, timeout=timeout, headers=headers, stream=True,
                                  allow_redirects=False) as resp:
                body = self._read(resp, deadline, where)
                status, resp_headers, encoding = resp.status_code, resp.headers, resp.encoding
        except requests.Timeout:
            raise GeocoderTimedOut(f"{where} did not answer within {timeout:g} s") from None
        except requests.ConnectionError as exc:
            if "timed out" in str(exc).lower():
                raise GeocoderTimedOut(f"{where} did not answer within {timeout:g} s") from None
            raise GeocoderUnavailable(f"cannot connect to {where}") from None
        except requests.RequestException as exc:
            raise GeocoderServiceError(f"{where}: {type(exc).__name__}") from None
        text = body.decode(encoding or "utf-8", "replace")
        if 300 <= status < 400:
            raise GeocoderServiceError(f"{where} redirected (HTTP {status}); redirects are not "
                                       "followed: set geocode.url to the final address")
        if status >= 400:
            raise AdapterHTTPError(f"HTTP {status} from {where}", status_code=status,
                                   headers=resp_headers, text=text[:2000])
        return text

    def _read(self, resp: requests.Response, deadline: float, where: str) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(16384):
            size += len(chunk)
            if size > self.max_bytes:
                raise GeocoderServiceError(f"{where} answered more than {self.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise GeocoderTimedOut(f"{where} answered too slowly")
            chunks.append(chunk)
        return b"".join(chunks)
