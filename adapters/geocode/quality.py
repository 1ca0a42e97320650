"""How precise a provider's match is, in our words (connector.ports.GEO_QUALITIES):
house > street > locality (town, village, CAP) > region; "unknown" when it does not say.

Each function takes geopy's `Location.raw` (the provider's own JSON for the match) and
returns (quality, detail), detail being the provider's own words for support.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_HOUSE = {"house", "building", "house_number", "housenumber", "address", "street_address",
          "premise", "subpremise", "point_of_interest", "poi", "venue", "houseNumber",
          "pointAddress", "interpolatedAddress"}
_STREET = {"street", "road", "route", "highway", "residential", "intersection", "pedestrian",
           "unclassified", "tertiary", "secondary", "primary", "service", "living_street"}
_LOCALITY = {"city", "town", "village", "hamlet", "suburb", "neighbourhood", "quarter",
             "locality", "postcode", "postal_code", "postalcode", "place", "district",
             "sublocality", "isolated_dwelling", "municipality", "borough", "neighborhood",
             "administrative_area_level_3", "localadmin", "postalCodePoint"}


def _by_words(*words: object) -> str:
    for w in words:
        if isinstance(w, str) and w in _HOUSE:
            return "house"
    for w in words:
        if isinstance(w, str) and w in _STREET:
            return "street"
    for w in words:
        if isinstance(w, str) and w in _LOCALITY:
            return "locality"
    return "region" if any(isinstance(w, str) and w for w in words) else "unknown"


def nominatim(raw: Mapping[str, Any]) -> tuple[str, str]:
    cls, kind = raw.get("class") or raw.get("category"), raw.get("type")
    addresstype = raw.get("addresstype")
    detail = "/".join(str(x) for x in (cls, kind) if x) + (
        f", rank {raw['place_rank']}" if raw.get("place_rank") is not None else "")
    rank = raw.get("place_rank")
    try:
        r = int(rank) if rank is not None else None
    except (TypeError, ValueError):
        r = None
    if r is not None:
        quality = ("house" if r >= 28 else "street" if r >= 26 else
                   "locality" if r >= 13 else "region")
        return quality, detail
    if cls == "highway":
        return "street", detail
    if cls == "building":
        return "house", detail
    return _by_words(addresstype, kind), detail


def google(raw: Mapping[str, Any]) -> tuple[str, str]:
    geometry = raw.get("geometry") or {}
    location_type = geometry.get("location_type") if isinstance(geometry, Mapping) else None
    types = [t for t in raw.get("types") or [] if isinstance(t, str)]
    detail = f"{location_type or '-'} {','.join(types)}".strip()
    if raw.get("partial_match"):
        detail += ", partial match"
    if location_type in ("ROOFTOP", "RANGE_INTERPOLATED"):
        return "house", detail
    words = _by_words(*types)
    if location_type == "GEOMETRIC_CENTER" and words in ("house", "street"):
        return "street", detail
    return (words if words != "house" else "street"), detail


def photon(raw: Mapping[str, Any]) -> tuple[str, str]:
    props = raw.get("properties") or {}
    kind = props.get("type") if isinstance(props, Mapping) else None
    key = props.get("osm_key") if isinstance(props, Mapping) else None
    quality = "street" if key == "highway" and kind != "house" else _by_words(kind)
    return quality, f"{key or '-'}/{kind or '-'}"


def pelias(raw: Mapping[str, Any]) -> tuple[str, str]:
    props = raw.get("properties") or {}
    layer = props.get("layer") if isinstance(props, Mapping) else None
    accuracy = props.get("accuracy") if isinstance(props, Mapping) else None
    return _by_words(layer), f"{layer or '-'} {accuracy or ''}".strip()


def opencage(raw: Mapping[str, Any]) -> tuple[str, str]:
    components = raw.get("components") or {}
    kind = components.get("_type") if isinstance(components, Mapping) else None
    confidence = raw.get("confidence")
    return _by_words(kind), f"{kind or '-'}, confidence {confidence}"


def mapbox(raw: Mapping[str, Any]) -> tuple[str, str]:
    types = [t for t in raw.get("place_type") or [] if isinstance(t, str)]
    quality = _by_words(*types)
    return quality, ",".join(types) + (f", relevance {raw['relevance']}"
                                       if raw.get("relevance") is not None else "")


def here(raw: Mapping[str, Any]) -> tuple[str, str]:
    kind = raw.get("resultType")
    return _by_words(kind), str(kind or "-")
