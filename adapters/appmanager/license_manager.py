"""License Manager discovery: where a customer's AppManager lives.

`POST {LM}/getAMParam` with the JSON body `{"AuthKeyAPI": "<LM key>"}` answers
`{"cod_prog": ..., "url_am": ..., "url_am_api": ...}` (appmanager-api.md §1.2). The key is
in the body, never in a URL, log line or error message.

How the project base URL is built changed over the years (§1.2): since 2022 `url_am` is
the full project base (`…/v1/progetti/{cod_prog}`); before, the helper appended
`/{cod_prog}` to `url_am_api`. `base_url_from` accepts both.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import msgspec
import structlog

from adapters.appmanager.http import DEFAULT_DEADLINE, HttpJson
from connector.errors import AuthError, PermanentError, TransientError
from connector.model import jsonguard

log = structlog.get_logger(__name__)

_PROJECT_BASE = re.compile(r"/v1/progetti/[^/?#]+/?$")


@dataclass(frozen=True)
class AmParams:
    cod_prog: str
    url_am: str | None
    url_am_api: str | None


def base_url_from(params: AmParams) -> str:
    """The AppManager project base URL (…/v1/progetti/{cod_prog}) from getAMParam's answer."""
    for cand in (params.url_am, params.url_am_api):
        if cand and _PROJECT_BASE.search(cand.strip()):
            return cand.strip().rstrip("/")
    api = (params.url_am_api or params.url_am or "").strip().rstrip("/")
    if not api:
        raise PermanentError("License Manager: the answer carries neither url_am nor url_am_api")
    if api.endswith("/progetti"):
        return f"{api}/{params.cod_prog}"
    if api.endswith("/v1"):
        return f"{api}/progetti/{params.cod_prog}"
    return f"{api}/v1/progetti/{params.cod_prog}"


def discover(lm_url: str, lm_key: str, *, connect_timeout: float = 5.0,
             read_timeout: float = 30.0, attempts: int = 5, ca_bundle: Path | None = None,
             stop: threading.Event | None = None, retry_initial: float = 0.5,
             deadline: float = DEFAULT_DEADLINE) -> AmParams:
    if not lm_key:
        raise AuthError("no License Manager key configured")
    http = HttpJson(what="License Manager", connect_timeout=connect_timeout,
                    read_timeout=read_timeout, attempts=attempts, ca_bundle=ca_bundle, stop=stop,
                    retry_initial=retry_initial, secrets=(lm_key,), deadline=deadline,
                    max_bytes=_LM_MAX_BYTES)
    try:
        data = http.call("POST", lm_url.rstrip("/") + "/getAMParam", _answer,
                         json_body={"AuthKeyAPI": lm_key}, shown="getAMParam")
    finally:
        http.close()
    if not isinstance(data, dict) or not isinstance(data.get("cod_prog"), str) \
            or not data.get("cod_prog"):
        raise PermanentError("License Manager: getAMParam answered without cod_prog")
    params = AmParams(cod_prog=data["cod_prog"], url_am=_str(data.get("url_am")),
                      url_am_api=_str(data.get("url_am_api")))
    log.info("AppManager discovered through the License Manager", cod_prog=params.cod_prog,
             url=base_url_from(params))
    return params


_LM_DEPTH = 8  # a flat object: {"cod_prog": ..., "url_am": ...}
_LM_MAX_BYTES = 1024 * 1024  # a few hundred bytes in truth


def _answer(body: bytes) -> object:
    if not jsonguard.within_depth(body, _LM_DEPTH):
        raise PermanentError(f"License Manager: the answer to getAMParam is nested more than "
                             f"{_LM_DEPTH} levels deep; refused unread")
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, ValueError):
        raise TransientError(f"License Manager: the answer to getAMParam is not JSON "
                             f"({len(body)} bytes)") from None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
