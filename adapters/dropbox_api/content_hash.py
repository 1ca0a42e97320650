"""The Dropbox content hash, computed locally so unchanged files cost no upload.

Algorithm (https://www.dropbox.com/developers/reference/content-hash): split the bytes
into 4 MiB blocks, SHA-256 each block, concatenate the binary digests, SHA-256 that,
hex-encode. The empty file hashes the empty concatenation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BLOCK_SIZE = 4 * 1024 * 1024


class ContentHasher:
    """Incremental hasher with the hashlib interface (update / hexdigest)."""

    def __init__(self) -> None:
        self._overall = hashlib.sha256()
        self._block = hashlib.sha256()
        self._block_pos = 0

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            take = min(BLOCK_SIZE - self._block_pos, len(view))
            self._block.update(view[:take])
            self._block_pos += take
            view = view[take:]
            if self._block_pos == BLOCK_SIZE:
                self._overall.update(self._block.digest())
                self._block = hashlib.sha256()
                self._block_pos = 0

    def hexdigest(self) -> str:
        overall = self._overall.copy()
        if self._block_pos:
            overall.update(self._block.digest())
        return overall.hexdigest()


def content_hash_bytes(data: bytes | memoryview) -> str:
    hasher = ContentHasher()
    hasher.update(data)
    return hasher.hexdigest()


def content_hash_file(path: Path, read_size: int = BLOCK_SIZE) -> str:
    """Hash a file reading one block at a time (memory stays at one block)."""
    hasher = ContentHasher()
    with open(path, "rb") as f:
        while chunk := f.read(read_size):
            hasher.update(chunk)
    return hasher.hexdigest()
