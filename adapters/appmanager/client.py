"""The AppManager web-service client: the coda* export queues, read page by page.

Contract (../shared/spec/appmanager-api.md §2): `GET {base}/exportPaginazione/{resource}`
with `authKey`, `format=json`, `count=0`, `offset`, `limit`, `lastID` (and `statusExport`
when configured); `base` is `…/v1/progetti/{cod_progetto}`. The answer is an envelope with
`meta` and one list (`testate`, `clienti`, `note`, `leads`, `attivita`).

The HTTP rules (timeouts and a deadline per request, verified TLS, a size bound, redirects
only to the same origin, retries, redacted errors) are adapters.appmanager.http's. The
authKey travels in the query string, so every URL and error message is redacted before it
reaches a log line or an exception.

Nothing in an answer is trusted (connector.model.jsonguard): an envelope nested too deeply
for a decoder is defused (each too-deep item replaced, then refused alone) or refused; the
items are handed over as their JSON text (a RawPage of the kernel), and each is decoded
there, a malformed one kept aside with its error, alone (connector.model.pages).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import requests
import structlog

from adapters.appmanager.http import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_BYTES,
    HttpJson,
    parse_retry_after,
)
from connector.errors import AuthError, PermanentError, TransientError
from connector.model import Page, PageMeta, RawPage, jsonguard, raw_queue_id

log = structlog.get_logger(__name__)
T = TypeVar("T")

# stream -> (queue resource, list key in the envelope)
RESOURCES: dict[str, tuple[str, str]] = {
    "orders": ("codaOrdini", "testate"),
    "customers": ("codaClienti", "clienti"),
    "customer_notes": ("codaClienteNote", "note"),
    "leads": ("codaLeads", "leads"),
    "lead_notes": ("codaLeadNote", "note"),
    "activities": ("codaAttivita", "attivita"),
}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        return None


_decode_json = msgspec.json.Decoder().decode  # about twice as fast as json.loads


class AppManagerClient:
    """Reads the export queues of one AppManager project."""

    def __init__(self, base_url: str, auth_key: str, *, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, attempts: int = 5,
                 ca_bundle: Path | str | None = None, status_export: int | None = None,
                 stop: threading.Event | None = None, retry_initial: float = 0.5,
                 retry_max: float = 30.0, session: requests.Session | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, deadline: float = DEFAULT_DEADLINE) -> None:
        if not auth_key:
            raise AuthError("no AppManager authKey configured")
        self.base_url = base_url.rstrip("/")
        self._auth_key = auth_key
        self.status_export = status_export
        self.http = HttpJson(what="AppManager", connect_timeout=connect_timeout,
                             read_timeout=read_timeout, attempts=attempts, ca_bundle=ca_bundle,
                             stop=stop, retry_initial=retry_initial, retry_max=retry_max,
                             secrets=(auth_key,), session=session, max_bytes=max_bytes,
                             deadline=deadline)

    def _params(self, stream: str, last_id: int, count: int, offset: int,
                limit: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"authKey": self._auth_key, "format": "json", "count": count,
                                  "offset": offset, "lastID": last_id}
        if limit is not None:
            params["limit"] = limit
        if self.status_export is not None and stream == "orders":
            params["statusExport"] = self.status_export
        return params

    def _get(self, stream: str, last_id: int, count: int, offset: int, limit: int | None,
             decode: Callable[[bytes, str], T]) -> T:
        """What `decode(body, shown)` makes of the answer (inside the retry: an answer
        that is not JSON is asked for again); `shown` names the call in errors."""
        try:
            resource, _ = RESOURCES[stream]
        except KeyError:
            raise ValueError(f"unknown stream {stream!r}") from None
        url = f"{self.base_url}/exportPaginazione/{resource}"
        shown = f"{resource} lastID={last_id} offset={offset} limit={limit}"
        return self.http.call("GET", url, lambda body: decode(body, shown),
                              params=self._params(stream, last_id, count, offset, limit),
                              shown=shown)

    def fetch(self, stream: str, last_id: int, limit: int, offset: int = 0) -> Page:
        """One page of queue items with id after `last_id`, decoded."""
        return self.fetch_raw(stream, last_id, limit, offset).decode()

    def fetch_raw(self, stream: str, last_id: int, limit: int, offset: int = 0) -> RawPage:
        """One page with each item still its JSON text, and its last item's queue id read
        from it (cheap): enough to ask for the next page while this one is decoded.

        The envelope is decoded with each item left as its JSON text, which is decoded
        into the model (connector.model.decode_raw) and journaled as received."""
        return self._get(stream, last_id, 0, offset, limit,
                         lambda body, shown: raw_page(stream, body, shown))

    def stats(self, stream: str, last_id: int = 0) -> PageMeta:
        """count=1: only the statistics (meta.total_count, meta.maxID)."""
        def meta(body: bytes, shown: str) -> PageMeta:
            data = _plain_answer(body, shown)
            if not isinstance(data, dict):
                raise TransientError(f"AppManager: the answer to {shown} is not a JSON object")
            return _meta(data, shown)

        return self._get(stream, last_id, 1, 0, None, meta)

    def close(self) -> None:
        self.http.close()


def raw_page(stream: str, body: bytes, shown: str = "") -> RawPage:
    """The page an answer's body holds, each item its JSON text (what fetch_raw returns;
    the fuzzing harness drives it). A hostile envelope raises a ConnectorError naming the
    call; a hostile item is left for connector.model.decode_item to refuse alone."""
    _, list_key = RESOURCES[stream]
    shown = shown or f"{RESOURCES[stream][0]} answer"
    answer, deep = _envelope_of(stream, body, shown)
    if isinstance(answer, msgspec.Struct):  # the expected envelope
        raws = [bytes(r) for r in getattr(answer, "items", None) or ()]
        data = {"meta": getattr(answer, "meta", None),
                "cod_progetto": getattr(answer, "cod_progetto", None),
                "last_id": getattr(answer, "last_id", None)}
    elif not isinstance(answer, dict):
        raise TransientError(f"AppManager: the answer to {shown} is not a JSON object")
    else:  # not the expected envelope: the checks below say what is wrong with it
        data = answer
        listed = data.get(list_key)
        if listed is None:
            listed = []
        if not isinstance(listed, list):
            raise TransientError(f"AppManager: '{list_key}' in the answer to {shown} is "
                                 "not a list")
        raws = [_encode_json(item) for item in listed]
    if deep:  # the items defused by _envelope_of, back as they came (refused one by one)
        raws = [deep.get(r, r) for r in raws]
    return RawPage(stream=stream, raws=tuple(raws),
                   last_id=raw_queue_id(raws[-1]) if raws else None, meta=_meta(data, shown))


def _envelope_of(stream: str, body: bytes, shown: str) -> tuple[Any, dict[bytes, bytes]]:
    """(the answer decoded as the stream's envelope, or as plain JSON when it is not one;
    the items defused on the way, placeholder -> text).

    The decoder stops cleanly (RecursionError) at Python's recursion limit; only then is
    the answer scanned (linear, no recursion) and each too-deep item replaced, so answers
    of the usual shape cost no extra pass. What is still too deep is the envelope itself:
    refused."""
    decode = _ENVELOPES[stream].decode
    deep: dict[bytes, bytes] = {}
    try:
        return decode(body), deep
    except RecursionError:
        body, deep = jsonguard.defuse(body)
        if not jsonguard.within_depth(body, jsonguard.ENVELOPE_DEPTH):
            raise _too_deep(shown) from None
        try:
            return decode(body), deep
        except (msgspec.DecodeError, ValueError):
            pass
    except (msgspec.DecodeError, ValueError):  # not the envelope: decoded plainly, checked
        pass
    return _plain_answer(body, shown), deep


def _plain_answer(body: bytes, shown: str) -> Any:
    try:
        return _decode_json(body)
    except RecursionError:
        raise _too_deep(shown) from None
    except (msgspec.DecodeError, ValueError):  # msgspec's errors, or not UTF-8
        raise TransientError(f"AppManager: the answer to {shown} is not JSON "
                             f"({len(body)} bytes)") from None


def _too_deep(shown: str) -> PermanentError:
    return PermanentError(f"AppManager: the answer to {shown} is nested more than "
                          f"{jsonguard.ENVELOPE_DEPTH} levels deep outside its items; "
                          "refused unread (the other streams go on)")


def _envelope(list_key: str) -> msgspec.json.Decoder[Any]:
    """A page: meta, cod_progetto and last_id as plain values, each item as its JSON text."""
    page = msgspec.defstruct(f"Page_{list_key}", [
        ("meta", Any, None), ("cod_progetto", Any, None), ("last_id", Any, None),
        ("items", list[msgspec.Raw] | None, msgspec.field(default=None, name=list_key))])
    return msgspec.json.Decoder(page)


_ENVELOPES = {stream: _envelope(list_key) for stream, (_, list_key) in RESOURCES.items()}


_encode_json = msgspec.json.Encoder().encode


_META = ("limit", "maxID", "offset", "total_count")


def _meta(data: dict[str, Any], shown: str = "the answer") -> PageMeta:
    """The page's statistics. They only steer paging, but numbers out of any queue's range
    mean the answer is not what it claims to be: refused."""
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    values = {k: _int_or_none(meta.get(k)) for k in _META}
    values["last_id"] = _int_or_none(data.get("last_id"))
    for key, value in values.items():
        if value is not None and not jsonguard.storable_id(value):
            raise PermanentError(f"AppManager: the answer to {shown} has {key} {value}, out "
                                 f"of range (0 to {jsonguard.ID_MAX}); refused")
    return PageMeta(limit=values["limit"], max_id=values["maxID"], offset=values["offset"],
                    total_count=values["total_count"],
                    cod_progetto=data.get("cod_progetto") if isinstance(
                        data.get("cod_progetto"), str) else None,
                    last_id=values["last_id"])


__all__ = ["RESOURCES", "AppManagerClient", "HttpJson", "parse_retry_after", "raw_page"]
