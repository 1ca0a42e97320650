"""What the Dropbox API publisher is given by the wiring (connector/app.py builds it from
the `dropbox:` section): its own settings, never the configuration model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DropboxApiSettings:
    root: str  # the remote root, e.g. "/" or "/Apps/iCommerce"; the company folder is below it
    company: str
    chunk_mib: int = 8  # large files go in chunks of this size (a multiple of 4)
    single_upload_limit_mib: int = 150  # larger files go through a resumable upload session
    concurrency: int = 4  # uploads in flight
    ca_bundle: Path | None = None  # None: the system's (or REQUESTS_CA_BUNDLE's) CAs
    timeout_seconds: float = 100.0  # one request
    attempts: int = 8  # tries per Dropbox request (our retry policy; the SDK's retries are off)
    # The company folder is created once, at the first check, when it is missing (trials
    # only); otherwise a missing one is an outage.
    create_company_folder: bool = False
