"""The ports between the engines and the adapters, and the dataclasses that cross them.

Each port is a small typing.Protocol: an engine is given an object that has these
methods (connector/app.py builds it from the configuration), never an adapter class.
An adapter raises ConnectorError subclasses only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from connector.errors import ConnectorError
from connector.model import InboundRecord, Page, ParsedRecord, RawPage

# Export side -----------------------------------------------------------------------------
# Publishing (connector/export -> adapters/dropbox_folder.py, adapters/dropbox_api/),
# extracting from the ERP database (connector/extract -> adapters/erp_db.py,
# adapters/media_download.py); geocoding is further down.


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


class ErpDatabase(Protocol):
    """The ERP database the extraction reads: one streamed query at a time."""

    def param_names(self, sql: str) -> list[str]:
        """The bind parameters (`:name`) the query uses."""
        ...

    def stream(self, sql: str, params: Mapping[str, Any], what: str
               ) -> AbstractContextManager[tuple[list[str], Iterator[Sequence[Any]]]]:
        """(column names, partitions of rows) of one query, read through a server-side
        cursor. TransientError when the database cannot be reached, PermanentError when
        it refuses the query (the message names `what`)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Downloaded:
    url: str
    data: bytes
    content_type: str  # sniffed from the bytes: image/jpeg, image/png or image/gif


class MediaDownloader(Protocol):
    """Fetches one catalog image from a URL, trusting nothing about the server."""

    def download(self, url: str, stop: threading.Event | None = None) -> Downloaded:
        """The image, or TransientError (after its retries) / PermanentError with a reason."""
        ...

    def close(self) -> None: ...


@dataclass
class Heartbeat:
    """A loop's liveness: the supervisor (service/) watches `last` (monotonic seconds)."""

    name: str
    last: float = 0.0
    alive: bool = True
    last_error: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


# Import: AppManager's queues -> the ERP ---------------------------------------------------
class StreamFeed(Protocol):
    """The export queues of one AppManager project, page by page (lastID paging).

    `fetch` returns the page of `stream`'s items with a queue id after `last_id`, decoded:
    each malformed item kept apart with its error (Page.malformed). Raises ConnectorError
    subclasses only (TransientError after its own retries, AuthError, PermanentError for a
    hostile answer)."""

    def fetch(self, stream: str, last_id: int, limit: int, offset: int = 0) -> Page: ...

    def close(self) -> None: ...


@runtime_checkable
class RawStreamFeed(StreamFeed, Protocol):
    """A feed that can also hand a page over undecoded: each item its JSON text, and the
    page's last queue id read without decoding the rest. The importer asks for the next
    page as soon as one has arrived, and decodes the items meanwhile (in another process
    for big pages)."""

    def fetch_raw(self, stream: str, last_id: int, limit: int, offset: int = 0) -> RawPage: ...


@dataclass(frozen=True)
class ErpRef:
    """Where a record landed: the sink's name and its reference there (file name, row key,
    command output), and whether it had already landed before this call."""

    sink: str
    ref: str
    duplicate: bool = False


class ErpSink(Protocol):
    """Where inbound records (orders, customers, notes, leads, activities) land in the ERP.

    Contract of every sink (files, sql, command; tests/sinks/test_sink_contract.py):
    - `write(record)` is idempotent on `record.key` (stream + unique_id): writing a record
      whose key already landed changes nothing and returns `ErpRef(duplicate=True)`. The
      journal relies on this to replay records after a crash.
    - It raises `PermanentError` when the ERP refuses the record (it goes to the dead
      letter, with the message as its reason, and is retried later and on `connector
      retry`), and `TransientError` when it may work later (ERP down, disk full, lock
      timeout); `AuthError` stops the import. It never raises anything else on purpose: a
      library exception escaping is a bug (the record is dead-lettered, never lost).
    - `close()` releases connections; the sink may not be used afterwards.

    Orders deduplicated by `guid_test_ord` (a second identity) are handled by the journal,
    before the sink is called. The optional abilities below are declared as their own
    protocols; the importer checks a sink against them (isinstance), never by name."""

    name: str

    def write(self, record: InboundRecord) -> ErpRef: ...

    def close(self) -> None: ...


# A sink's render step: a picklable callable, compared by value, that makes what the sink
# writes from one record (the files sink: the files' names and bytes). Pure: it may run in
# another process.
Render = Callable[[InboundRecord], Any]


@dataclass(frozen=True)
class Rendered:
    """What a render step made of one record elsewhere (the decode worker process): it
    travels beside the record, never inside it, and a sink takes it only when `step` is
    its own (else it renders again)."""

    step: Render
    output: Any


@runtime_checkable
class BatchSink(ErpSink, Protocol):
    """A sink that writes a batch in one go (fewer disk flushes per record), with the same
    outcome per record as `write`: per record its ErpRef, or the error `write` would
    raise. `rendered`, when given, is one entry per record (None: nothing rendered)."""

    def write_many(self, records: Sequence[InboundRecord],
                   rendered: Sequence[Rendered | None] = ()) -> list[ErpRef | ConnectorError]:
        ...


@runtime_checkable
class RenderingSink(BatchSink, Protocol):
    """A batch sink whose writing starts with a pure render step, which the importer may
    run in its decode worker process on each record it decodes there; the output comes
    back beside the record (`Rendered`) and `write_many` writes it as rendered."""

    def render_step(self) -> Render: ...


# The legacy route: a return file (AM_*.DAT, leads XML) into web-service-shaped items, or
# LegacyFileError naming every bad line and field (ForeignCompanyFile: another company's).
ReturnFileParser = Callable[[str, bytes, str], list[ParsedRecord]]


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
