"""Geocoders through geopy: Nominatim (public or self-hosted), Google, OpenCage, Mapbox,
HERE, Photon and Pelias, behind the `Geocoder` port of connector/ports.py.

Receives its own settings and the resolved key (never the configuration model); turns
geopy's exceptions into ours in one place (errors.py); returns our GeoMatch. The one
class to build is client.GeopyGeocoder (connector/app.py builds it); the package itself
imports nothing, so its modules import each other without a circle.
"""
