"""A stand-in geocoding server on 127.0.0.1 (port 0) speaking the Nominatim search API
(/search, format=json) and the Google Geocoding API (/maps/api/geocode/json).

It knows a few places (`places`: a needle found in the request -> a point and a kind)
and plays scripted faults, one per request, in order (`script`):

    "429" / ("429", retry_after)   Too Many Requests (Google: OVER_QUERY_LIMIT, HTTP 200)
    "hang"                         hold the request until `release` is set (or 30 s)
    ("slow", seconds)              answer after `seconds`
    "malformed"                    a body that is not JSON
    "shape"                        JSON, but not the provider's shape
    "empty"                        no result
    "500"                          a server error
    "denied"                       the key refused (Nominatim 403; Google REQUEST_DENIED)
    "400"                          the query refused
    ("redirect", url)              302 to url
    "huge"                         a body over the adapter's size bound

Every request is recorded (server-side arrival time, path, query parameters, headers),
so tests count requests.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    kind: str = "house"  # house | street | city
    label: str = ""


@dataclass
class Request:
    at: float  # time.monotonic() when the request arrived
    path: str
    params: dict[str, str]
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return " ".join(v for k, v in sorted(self.params.items())
                        if k not in ("format", "limit", "key")).upper()


_NOMINATIM_KIND = {"house": ("building", "yes", 30), "street": ("highway", "residential", 26),
                   "city": ("place", "city", 16)}
_GOOGLE_KIND = {"house": ("ROOFTOP", ["street_address"]),
                "street": ("GEOMETRIC_CENTER", ["route"]),
                "city": ("APPROXIMATE", ["locality", "political"])}


@dataclass
class StandIn:
    places: dict[str, Place] = field(default_factory=dict)
    script: collections.deque[Any] = field(default_factory=collections.deque)
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    hanging: threading.Event = field(default_factory=threading.Event)  # a request is held
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, needle: str = "") -> int:
        with self.lock:
            return sum(1 for r in self.requests if needle.upper() in r.text)

    def times(self) -> list[float]:
        with self.lock:
            return [r.at for r in self.requests]

    def find(self, text: str) -> Place | None:
        for needle, place in self.places.items():
            if needle.upper() in text:
                return place
        return None


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            req = Request(time.monotonic(), parts.path, params, dict(self.headers.items()))
            with state.lock:
                state.requests.append(req)
                action = state.script.popleft() if state.script else None
            google = parts.path.endswith("/maps/api/geocode/json")
            if not google and not parts.path.endswith("/search"):
                return self._send(404, b'{"error": "unknown path"}')
            name, arg = (action if isinstance(action, tuple) else (action, None))
            if name == "hang":
                state.hanging.set()
                state.release.wait(30)
            elif name == "slow":
                time.sleep(float(arg))
            elif name == "429":
                if google:
                    return self._json({"status": "OVER_QUERY_LIMIT", "results": [],
                                       "error_message": "slow down"})
                headers = {"Retry-After": str(arg)} if arg is not None else {}
                return self._send(429, b'{"error": "too many requests"}', headers)
            elif name == "malformed":
                return self._send(200, b"<html>502 Bad Gateway</html>", ctype="text/html")
            elif name == "shape":
                return self._json({"unexpected": True} if google else [{"nolat": 1}])
            elif name == "500":
                return self._send(500, b"internal error")
            elif name == "400":
                return self._send(400, b'{"error": "bad query"}')
            elif name == "denied":
                if google:
                    return self._json({"status": "REQUEST_DENIED", "results": [],
                                       "error_message": "The provided API key is invalid."})
                return self._send(403, b'{"error": "forbidden"}')
            elif name == "redirect":
                return self._send(302, b"", {"Location": str(arg)})
            elif name == "huge":
                return self._send(200, b"[" + b" " * (2 * 1024 * 1024) + b"]")
            place = None if name == "empty" else state.find(req.text)
            if google:
                return self._json(self._google(place))
            return self._json(self._nominatim(place))

        def _nominatim(self, place: Place | None) -> list[dict[str, Any]]:
            if place is None:
                return []
            cls, kind, rank = _NOMINATIM_KIND[place.kind]
            return [{"place_id": 1, "licence": "test", "lat": f"{place.lat}",
                     "lon": f"{place.lon}", "class": cls, "type": kind, "place_rank": rank,
                     "importance": 0.5, "display_name": place.label or "somewhere"}]

        def _google(self, place: Place | None) -> dict[str, Any]:
            if place is None:
                return {"status": "ZERO_RESULTS", "results": []}
            location_type, types = _GOOGLE_KIND[place.kind]
            return {"status": "OK", "results": [{
                "formatted_address": place.label or "somewhere", "types": types,
                "geometry": {"location": {"lat": place.lat, "lng": place.lon},
                             "location_type": location_type}}]}

        def _json(self, obj: Any) -> None:
            self._send(200, json.dumps(obj).encode("utf-8"))

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                  ctype: str = "application/json") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): nothing to tell it

    return Handler


class StandInServer:
    def __init__(self) -> None:
        self.state = StandIn()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.daemon_threads = True
        self.state.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self.state

    def __exit__(self, *exc: object) -> None:
        self.state.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)
