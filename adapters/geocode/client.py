"""GeopyGeocoder: one geopy geocoder behind our `Geocoder` port."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import geopy.geocoders
from geopy.exc import GeocoderAuthenticationFailure, GeocoderRateLimited

from adapters.geocode.errors import translating
from adapters.geocode.http import BoundedAdapter
from adapters.geocode.providers import PROVIDERS, Provider
from connector.errors import ConfigError, TransientError
from connector.ports import GeoMatch, GeoQuery

# geopy logs request URLs at debug (Google's carry the key) and error bodies at info.
logging.getLogger("geopy").setLevel(logging.WARNING)


@dataclass(frozen=True)
class GeocoderSettings:
    provider: str
    user_agent: str
    url: str | None = None  # another server than the provider's public one
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    language: str | None = None
    ca_bundle: Path | None = None
    proxy: str | None = None


class _Google(geopy.geocoders.GoogleV3):  # type: ignore[misc]
    """Google answers HTTP 200 with a status word; geopy reads a refused key as a bad
    query and "too many requests" as a used-up quota. Said as Google means them."""

    def _check_status(self, response: Any) -> None:
        status = response.get("status") if isinstance(response, dict) else None
        message = response.get("error_message") if isinstance(response, dict) else None
        if status == "REQUEST_DENIED":
            raise GeocoderAuthenticationFailure(message or "REQUEST_DENIED")
        if status == "OVER_QUERY_LIMIT":
            raise GeocoderRateLimited(message or "OVER_QUERY_LIMIT", retry_after=None)
        super()._check_status(response)


class GeopyGeocoder:
    def __init__(self, settings: GeocoderSettings) -> None:
        provider = PROVIDERS.get(settings.provider)
        if provider is None:
            raise ConfigError([f"geocode.provider: unknown provider {settings.provider!r}; "
                               f"known: {', '.join(PROVIDERS)}"])
        self.settings = settings
        self.provider: Provider = provider
        self.name = provider.name
        self._secrets = tuple(s for s in (settings.api_key,) if s)
        self._adapter: BoundedAdapter | None = None
        with translating(self.name, self._secrets):
            self._geo = self._build()

    def _build(self) -> Any:
        s, p = self.settings, self.provider
        kwargs: dict[str, Any] = {"user_agent": s.user_agent, "timeout": s.timeout,
                                  "proxies": ({"http": s.proxy, "https": s.proxy}
                                              if s.proxy else {}),
                                  "adapter_factory": self._adapter_factory}
        if s.url:
            if not p.domain:
                raise ConfigError([f"geocode.url: the {p.name} provider cannot be pointed at "
                                   "another server"])
            parts = urlsplit(s.url)
            kwargs["scheme"] = parts.scheme
            kwargs["domain"] = (parts.netloc + parts.path).rstrip("/")
        if p.key_param and s.api_key:
            kwargs[p.key_param] = s.api_key
        cls = _Google if p.name == "google" else getattr(geopy.geocoders, p.geopy_class)
        return cls(**kwargs)

    def _adapter_factory(self, *, proxies: Any, ssl_context: Any) -> BoundedAdapter:
        self._adapter = BoundedAdapter(proxies=proxies, ssl_context=ssl_context,
                                       ca_bundle=self.settings.ca_bundle)
        return self._adapter

    def geocode(self, query: GeoQuery) -> GeoMatch | None:
        args, kwargs = self.provider.request(query, self.settings.language)
        with translating(self.name, self._secrets):
            location = self._geo.geocode(args, exactly_one=True, timeout=self.settings.timeout,
                                         **kwargs)
            if location is None:
                return None
            lat, lon = float(location.latitude), float(location.longitude)
            raw = location.raw if isinstance(location.raw, dict) else {}
            quality, detail = self.provider.quality(raw)
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
                and -180 <= lon <= 180):
            raise TransientError(f"geocoder {self.name}: a position off the globe "
                                 f"({lat}, {lon})")
        return GeoMatch(lat, lon, quality, self.name, label=str(location.address or ""),
                        detail=detail)

    def close(self) -> None:
        if self._adapter is not None:
            self._adapter.close()
