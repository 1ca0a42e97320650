"""Build the SDK client with the knobs a daemon needs.

- The SDK's own retries are off (max_retries_on_error=0, max_retries_on_rate_limit=0):
  with None it would sleep on 429s forever, outside our stop event. Our one tenacity
  policy (connector.retry) owns every retry.
- requests merges REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE over a Session's `verify`, which
  silently throws away a configured CA bundle. The session below passes `verify` on
  every request, so a configured CA bundle (dropbox.ca_bundle) always wins; without ca_bundle, the usual
  environment behaviour stays (system/certifi store, or the variables).
"""

from __future__ import annotations

from typing import Any

import dropbox
import requests
from requests.adapters import HTTPAdapter

from adapters.dropbox_api.auth import Credentials
from adapters.dropbox_api.settings import DropboxApiSettings
from connector import __version__


class _PinnedVerifySession(requests.Session):
    """A Session whose own `verify` (a CA file) is not overridden by the environment."""

    def request(self, method: str | bytes, url: str | bytes,  # type: ignore[override]
                *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(self.verify, str) and kwargs.get("verify") is None:
            kwargs["verify"] = self.verify
        return super().request(method, url, *args, **kwargs)


def make_session(cfg: DropboxApiSettings) -> requests.Session:
    session = _PinnedVerifySession()
    if cfg.ca_bundle is not None:
        session.verify = str(cfg.ca_bundle)
    pool = max(4, cfg.concurrency + 2)
    session.mount("https://", HTTPAdapter(pool_connections=2, pool_maxsize=pool, max_retries=0))
    return session


def make_client(cfg: DropboxApiSettings, creds: Credentials) -> dropbox.Dropbox:
    return dropbox.Dropbox(
        oauth2_refresh_token=creds.refresh_token,
        app_key=creds.app_key,
        app_secret=creds.app_secret,
        session=make_session(cfg),
        timeout=cfg.timeout_seconds,
        max_retries_on_error=0,
        max_retries_on_rate_limit=0,
        user_agent=f"icommerce-connector/{__version__}",
        auto_content_hash=False,  # we always pass our own content_hash
    )
