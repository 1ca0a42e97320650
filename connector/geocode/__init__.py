"""Geocoding: coordinates for the customers, destinations and leads the iPads draw on a map.

- `address`: an address as the cache knows it (normalised, keyed);
- `cache`: results in the state store, misses and failures with their next try;
- `fill`: at publish, empty coordinates filled from the cache (never from the network);
- `limiter`, `resolver`, `loop`: the background pass that asks the geocoder, within its
  rate limit, through the `Geocoder` port (connector/ports.py);
- `texts`: every sentence an operator reads, in one place.

Nothing here imports an adapter: connector/app.py builds the geocoder and hands it in.
"""
