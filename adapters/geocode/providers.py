"""The geocoders we name, each as geopy builds and asks it.

`request(query, country_param)` turns one GeoQuery into geopy's geocode() arguments:
structured for Nominatim (street, city, postalcode; the province sigla is unknown to
OSM), one line "street, CAP city province, country" for the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.geocode import quality
from connector.ports import GeoQuery


def one_line(q: GeoQuery) -> str:
    place = " ".join(p for p in (q.postcode, q.city, q.province) if p)
    return ", ".join(p for p in (q.street, place, q.country) if p)


def _nominatim(q: GeoQuery, language: str | None) -> tuple[Any, dict[str, Any]]:
    structured = {k: v for k, v in (("street", q.street), ("city", q.city),
                                    ("postalcode", q.postcode)) if v}
    kwargs: dict[str, Any] = {}
    if q.country_code:
        kwargs["country_codes"] = [q.country_code.lower()]
    elif q.country:
        structured["country"] = q.country
    if language:
        kwargs["language"] = language
    return structured, kwargs


def _google(q: GeoQuery, language: str | None) -> tuple[Any, dict[str, Any]]:
    kwargs: dict[str, Any] = {"language": language} if language else {}
    if q.country_code:
        kwargs["region"] = q.country_code.lower()  # a bias: the country is in the text too
    return one_line(q), kwargs


def _with_country(param: str, upper: bool = False, languages: bool = True, as_list: bool = False
                  ) -> Callable[[GeoQuery, str | None], tuple[Any, dict[str, Any]]]:
    def request(q: GeoQuery, language: str | None) -> tuple[Any, dict[str, Any]]:
        kwargs: dict[str, Any] = {"language": language} if language and languages else {}
        if q.country_code and param:
            code = q.country_code.upper() if upper else q.country_code.lower()
            kwargs[param] = [code] if as_list else code
        return one_line(q), kwargs

    return request


@dataclass(frozen=True)
class Provider:
    name: str
    geopy_class: str  # in geopy.geocoders
    key_param: str | None  # the constructor's name for the key
    request: Callable[[GeoQuery, str | None], tuple[Any, dict[str, Any]]]
    quality: Callable[[Mapping[str, Any]], tuple[str, str]]
    domain: bool = True  # `url` can point it at another server


PROVIDERS: dict[str, Provider] = {p.name: p for p in (
    Provider("nominatim", "Nominatim", None, _nominatim, quality.nominatim),
    Provider("google", "GoogleV3", "api_key", _google, quality.google),
    Provider("opencage", "OpenCage", "api_key", _with_country("country"), quality.opencage),
    Provider("mapbox", "MapBox", "api_key", _with_country("country"), quality.mapbox),
    Provider("here", "HereV7", "apikey", _with_country(""), quality.here, domain=False),
    # Photon knows a few label languages only (and refuses the others): its default.
    Provider("photon", "Photon", None, _with_country("", languages=False), quality.photon),
    Provider("pelias", "Pelias", "api_key", _with_country("countries", upper=True, as_list=True),
             quality.pelias),
)}
