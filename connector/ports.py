"""The ports between the core and the adapters, and the dataclasses that cross them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class PublishItem:
    """One file ready to publish: a staged local file and where it goes.

    `folder` is one of "gestionale", "multimedia", "reports"; `name` is the file name in it.
    """

    local_path: Path
    folder: str
    name: str
    size: int
    sha256: str
    content_hash: str  # Dropbox content_hash of the bytes, hex


@dataclass(frozen=True)
class PublishReceipt:
    name: str
    folder: str
    size: int
    content_hash: str
    uploaded: bool  # False when the destination already held identical content
    remote_path: str = ""
    # Why the destination refuses this one item (its name, its content): it was not
    # published, the others were; the pipeline quarantines its source alone.
    refused: str | None = None


class Publisher(Protocol):
    """Puts staged files where AppManager reads them: all of a batch, or raises."""

    name: str

    def check_destination(self) -> None:
        """Raise DestinationMissing when the company folder is not there; never create it."""
        ...

    def holding(self, items: Sequence[PublishItem]) -> set[tuple[str, str]]:
        """(folder, name) of the items whose destination holds exactly these bytes now."""
        ...

    def publish_batch(self, items: Sequence[PublishItem]) -> list[PublishReceipt]:
        """Publish every item so that they appear together, but for those the destination
        refuses (receipt.refused); raise ConnectorError subclasses only."""
        ...

    def close(self) -> None: ...


class Source(Protocol):
    name: str

    def run(self, emit: Callable[[Path], None], stop: threading.Event) -> None:
        """Emit candidate paths until stop is set; return soon after."""
        ...


@dataclass
class Heartbeat:
    """A loop's liveness: the supervisor (service/) watches `last` (monotonic seconds)."""

    name: str
    last: float = 0.0
    alive: bool = True
    last_error: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


# Geocoding ----------------------------------------------------------------------------
# How precise a match is, best first; "unknown" when the provider does not say.
GEO_QUALITIES = ("house", "street", "locality", "region", "unknown")


@dataclass(frozen=True)
class GeoQuery:
    """One address to geocode, in the normalised form the cache keys it by.

    `country_code` (ISO 3166-1 alpha-2) is set when the country is known; `country` is
    the ERP's text (empty when it sent none).
    """

    street: str
    postcode: str
    city: str
    province: str
    country: str
    country_code: str | None


@dataclass(frozen=True)
class GeoMatch:
    """The provider's best match: where it put the address, and how precisely."""

    latitude: float
    longitude: float
    quality: str  # one of GEO_QUALITIES
    provider: str
    label: str = ""  # the provider's own text of the place it found
    detail: str = ""  # the provider's own words for the kind of match, for support


class Geocoder(Protocol):
    """An address geocoder. One call is one request: the caller spaces and retries them."""

    name: str

    def geocode(self, query: GeoQuery) -> GeoMatch | None:
        """The best match, or None when the provider found nothing.

        Raises ConnectorError subclasses only: RateLimited (retry_after), TransientError,
        PermanentError (this address), AuthError (the key), ConfigError.
        """
        ...

    def close(self) -> None: ...
