"""Geocoders through geopy: Nominatim (public or self-hosted), Google, OpenCage, Mapbox,
HERE, Photon and Pelias, behind the `Geocoder` port of connector/ports.py.

Receives its own settings and the resolved key (never the configuration model); turns
geopy's exceptions into ours in one place (errors.py); returns our GeoMatch.
"""

from __future__ import annotations

from adapters.geocode.client import GeocoderSettings, GeopyGeocoder
from adapters.geocode.providers import PROVIDERS


def build_geocoder(settings: GeocoderSettings) -> GeopyGeocoder:
    return GeopyGeocoder(settings)


__all__ = ["PROVIDERS", "GeocoderSettings", "GeopyGeocoder", "build_geocoder"]
