"""The AppManager web-service client: the coda* export queues, read page by page.

Contract (../shared/spec/appmanager-api.md §2): `GET {base}/exportPaginazione/{resource}`
with `authKey`, `format=json`, `count=0`, `offset`, `limit`, `lastID` (and `statusExport`
when configured); `base` is `…/v1/progetti/{cod_progetto}`. The answer is an envelope with
`meta` and one list (`testate`, `clienti`, `note`, `leads`, `attivita`).

Every call has connect and read timeouts; connection errors, timeouts, 5xx and 429 (with
Retry-After honoured) are retried through connector.retry.retrying; TLS is always
verified (a custom CA bundle may be given, verification is never switched off). The
authKey travels in the query string, so every URL and error message is redacted before it
reaches a log line or an exception, and exceptions are raised `from None` so the
library's message (which holds the URL) is not chained into a traceback.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import requests
import structlog

from connector.domain import InboundRecord, decode_raw, queue_id_of
from connector.errors import (
    AuthError,
    PermanentError,
    RateLimited,
    RecordError,
    TransientError,
)
from connector.logsetup import redact
from connector.retry import retrying

log = structlog.get_logger(__name__)

# stream -> (queue resource, list key in the envelope)
RESOURCES: dict[str, tuple[str, str]] = {
    "orders": ("codaOrdini", "testate"),
    "customers": ("codaClienti", "clienti"),
    "customer_notes": ("codaClienteNote", "note"),
    "leads": ("codaLeads", "leads"),
    "lead_notes": ("codaLeadNote", "note"),
    "activities": ("codaAttivita", "attivita"),
}


@dataclass(frozen=True)
class PageMeta:
    limit: int | None = None
    max_id: int | None = None
    offset: int | None = None
    total_count: int | None = None
    cod_progetto: str | None = None
    last_id: int | None = None


@dataclass(frozen=True)
class Malformed:
    """An item that could not be decoded: kept with its error, never delivered."""

    queue_id: int | None
    item: Any
    error: RecordError


@dataclass(frozen=True)
class RawPage:
    """A page as received: each item its JSON text. `last_id` is the queue id of its last
    item (None when unreadable), read as the decoders read it, without decoding the rest:
    the lastID to ask for the next page with, as the queue comes in id order."""

    stream: str
    raws: tuple[bytes, ...]
    last_id: int | None
    meta: PageMeta

    @property
    def raw_count(self) -> int:
        return len(self.raws)

    def decode(self) -> Page:
        """Decode every item; a malformed one is kept with its error (naming the field)."""
        return self.page([decode_item(self.stream, i, raw) for i, raw in enumerate(self.raws)])

    def page(self, decoded: list[InboundRecord | Malformed]) -> Page:
        """The page of these decoded items (one per raw item, in order)."""
        items = tuple(d for d in decoded if isinstance(d, InboundRecord))
        bad = tuple(d for d in decoded if isinstance(d, Malformed))
        return Page(stream=self.stream, items=items, malformed=bad, meta=self.meta,
                    raw_count=len(self.raws))


def decode_item(stream: str, i: int, raw: bytes) -> InboundRecord | Malformed:
    """Item `i` of a page: its record, or Malformed with the error naming the field."""
    try:
        return decode_raw(stream, raw)
    except RecordError as exc:
        try:
            item = _decode_json(raw)
        except ValueError:  # not even JSON text (e.g. not UTF-8): kept as text
            item = raw.decode("utf-8", "replace")
        qid = queue_id_of(item) if isinstance(item, dict) else _queue_id(raw)
        err = RecordError(f"{stream} item {i} (id {qid}): {exc}", field=exc.field)
        return Malformed(qid, item, err)


@dataclass(frozen=True)
class Page:
    stream: str
    items: tuple[InboundRecord, ...]
    malformed: tuple[Malformed, ...]
    meta: PageMeta
    raw_count: int  # items in the answer, decoded or not

    @property
    def malformed_count(self) -> int:
        return len(self.malformed)

    @property
    def max_queue_id(self) -> int | None:
        ids = [r.queue_id for r in self.items] + [m.queue_id for m in self.malformed
                                                  if m.queue_id is not None]
        return max(ids) if ids else None


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_decode_json = msgspec.json.Decoder().decode  # about twice as fast as json.loads


class HttpJson:
    """requests with our rules: timeouts, verified TLS, retries, redacted errors."""

    def __init__(self, *, what: str, connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 attempts: int = 5, ca_bundle: Path | str | None = None,
                 stop: threading.Event | None = None, retry_initial: float = 0.5,
                 retry_max: float = 30.0, secrets: tuple[str, ...] = (),
                 session: requests.Session | None = None) -> None:
        self.what = what
        self.timeout = (connect_timeout, read_timeout)
        self.verify: str | bool = str(ca_bundle) if ca_bundle else True
        self.attempts = max(1, attempts)
        self.stop = stop
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self._secrets = tuple(s for s in secrets if s)
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", "icommerce-connector")

    def clean(self, text: str) -> str:
        text = redact(text)
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def call(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
             json_body: Any = None, shown: str,
             decode: Callable[[bytes], Any] | None = None) -> Any:
        """One request with retries; returns the decoded JSON body (decoded by `decode`
        when given). `shown` names the call in logs and errors (never with secrets)."""
        for attempt in retrying(attempts=self.attempts, initial=self.retry_initial,
                                maximum=self.retry_max, stop=self.stop,
                                what=f"{self.what} {shown}"):
            with attempt:
                return self._once(method, url, params, json_body, shown, decode)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, method: str, url: str, params: Mapping[str, Any] | None, json_body: Any,
              shown: str, decode: Callable[[bytes], Any] | None = None) -> Any:
        started = time.monotonic()
        try:
            resp = self.session.request(method, url, params=params, json=json_body,
                                        timeout=self.timeout, verify=self.verify)
        except requests.exceptions.SSLError as exc:
            # Not retried: an untrusted certificate does not fix itself in seconds (the
            # next cycle tries again). Verification is never switched off.
            raise PermanentError(f"{self.what}: TLS verification failed for {shown}: "
                                 f"{self.clean(str(exc))}") from None
        except requests.Timeout:
            raise TransientError(f"{self.what}: no answer within {self.timeout[1]:g} s "
                                 f"for {shown}") from None
        except requests.RequestException as exc:
            raise TransientError(f"{self.what}: connection failed for {shown}: "
                                 f"{type(exc).__name__}: {self.clean(str(exc))}") from None
        code = resp.status_code
        log.debug("http", call=self.what, request=shown, status=code,
                  ms=round((time.monotonic() - started) * 1000, 1))
        if code == 429:
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            raise RateLimited(f"{self.what}: rate limited (HTTP 429) on {shown}",
                              retry_after=retry_after)
        if code >= 500:
            raise TransientError(f"{self.what}: server error HTTP {code} on {shown}")
        if code in (401, 403):
            raise AuthError(f"{self.what}: the key was refused (HTTP {code}) on {shown}; check "
                            "the environment variable that holds it")
        if code != 200:
            body = self.clean(resp.text[:200])
            raise PermanentError(f"{self.what}: HTTP {code} on {shown}: {body}")
        if decode is not None:
            try:
                return decode(resp.content)
            except ValueError:  # msgspec's errors, or not UTF-8
                pass  # not in the form the caller expects: decoded plainly, checked by it
        try:
            return _decode_json(resp.content)
        except (msgspec.DecodeError, ValueError):
            raise TransientError(f"{self.what}: the answer to {shown} is not JSON "
                                 f"({len(resp.content)} bytes)") from None

    def close(self) -> None:
        self.session.close()


class AppManagerClient:
    """Reads the export queues of one AppManager project."""

    def __init__(self, base_url: str, auth_key: str, *, connect_timeout: float = 5.0,
                 read_timeout: float = 30.0, attempts: int = 5,
                 ca_bundle: Path | str | None = None, status_export: int | None = None,
                 stop: threading.Event | None = None, retry_initial: float = 0.5,
                 retry_max: float = 30.0, session: requests.Session | None = None) -> None:
        if not auth_key:
            raise AuthError("no AppManager authKey configured")
        self.base_url = base_url.rstrip("/")
        self._auth_key = auth_key
        self.status_export = status_export
        self.http = HttpJson(what="AppManager", connect_timeout=connect_timeout,
                             read_timeout=read_timeout, attempts=attempts, ca_bundle=ca_bundle,
                             stop=stop, retry_initial=retry_initial, retry_max=retry_max,
                             secrets=(auth_key,), session=session)

    def _params(self, stream: str, last_id: int, count: int, offset: int,
                limit: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {"authKey": self._auth_key, "format": "json", "count": count,
                                  "offset": offset, "lastID": last_id}
        if limit is not None:
            params["limit"] = limit
        if self.status_export is not None and stream == "orders":
            params["statusExport"] = self.status_export
        return params

    def _get(self, stream: str, last_id: int, count: int, offset: int,
             limit: int | None, decode: Callable[[bytes], Any] | None = None) -> Any:
        try:
            resource, _ = RESOURCES[stream]
        except KeyError:
            raise ValueError(f"unknown stream {stream!r}") from None
        url = f"{self.base_url}/exportPaginazione/{resource}"
        shown = f"{resource} lastID={last_id} offset={offset} limit={limit}"
        data = self.http.call("GET", url, params=self._params(stream, last_id, count, offset,
                                                               limit), shown=shown,
                              decode=decode)
        if decode is not None and not isinstance(data, dict):
            return data  # what `decode` made of it
        if not isinstance(data, dict):
            raise TransientError(f"AppManager: the answer to {shown} is not a JSON object")
        return data

    def fetch(self, stream: str, last_id: int, limit: int, offset: int = 0) -> Page:
        """One page of queue items with id after `last_id`, decoded."""
        return self.fetch_raw(stream, last_id, limit, offset).decode()

    def fetch_raw(self, stream: str, last_id: int, limit: int, offset: int = 0) -> RawPage:
        """One page with each item still its JSON text, and its last item's queue id read
        from it (cheap): enough to ask for the next page while this one is decoded.

        The envelope is decoded with each item left as its JSON text, which is decoded
        into the model (connector.domain.decode_raw) and journaled as received."""
        answer = self._get(stream, last_id, 0, offset, limit, decode=_ENVELOPES[stream].decode)
        _, list_key = RESOURCES[stream]
        if not isinstance(answer, dict):  # the expected envelope
            raws = [bytes(r) for r in answer.items or ()]
            data = {"meta": answer.meta, "cod_progetto": answer.cod_progetto,
                    "last_id": answer.last_id}
        else:  # not the expected envelope: the checks below say what is wrong with it
            data = answer
            listed = data.get(list_key)
            if listed is None:
                listed = []
            if not isinstance(listed, list):
                raise TransientError(f"AppManager: '{list_key}' in the answer for {stream} is "
                                     "not a list") from None
            raws = [_encode_json(item) for item in listed]
        return RawPage(stream=stream, raws=tuple(raws),
                       last_id=_queue_id(raws[-1]) if raws else None, meta=_meta(data))

    def stats(self, stream: str, last_id: int = 0) -> PageMeta:
        """count=1: only the statistics (meta.total_count, meta.maxID)."""
        return _meta(self._get(stream, last_id, 1, 0, None))

    def close(self) -> None:
        self.http.close()


def _envelope(list_key: str) -> msgspec.json.Decoder[Any]:
    """A page: meta, cod_progetto and last_id as plain values, each item as its JSON text."""
    page = msgspec.defstruct(f"Page_{list_key}", [
        ("meta", Any, None), ("cod_progetto", Any, None), ("last_id", Any, None),
        ("items", list[msgspec.Raw] | None, msgspec.field(default=None, name=list_key))])
    return msgspec.json.Decoder(page)


_ENVELOPES = {stream: _envelope(list_key) for stream, (_, list_key) in RESOURCES.items()}


class _Id(msgspec.Struct):
    id: Any = None


_read_id = msgspec.json.Decoder(_Id).decode


def _queue_id(raw: bytes) -> int | None:
    """An item's queue id as the decoders read it (queue_id_of), without decoding the rest."""
    try:
        return queue_id_of({"id": _read_id(raw).id})
    except ValueError:  # msgspec's errors, or not UTF-8
        return None  # not an object: no id
_encode_json = msgspec.json.Encoder().encode


def _meta(data: dict[str, Any]) -> PageMeta:
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    return PageMeta(limit=_int_or_none(meta.get("limit")), max_id=_int_or_none(meta.get("maxID")),
                    offset=_int_or_none(meta.get("offset")),
                    total_count=_int_or_none(meta.get("total_count")),
                    cod_progetto=data.get("cod_progetto") if isinstance(
                        data.get("cod_progetto"), str) else None,
                    last_id=_int_or_none(data.get("last_id")))


__all__ = ["RESOURCES", "AppManagerClient", "HttpJson", "Malformed", "Page", "RawPage",
           "PageMeta", "parse_retry_after"]
