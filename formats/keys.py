"""CHIAVE uniqueness in constant memory.

A Python set of 4,000,000 keys costs hundreds of MB, so the first pass records every key
in a fixed-size blocked Bloom filter (a bytearray, at most 32 MiB, sized from the file
size) and keeps only the keys the filter says it may have seen before: the real repeats
plus a few false alarms. A second pass over the source, which only looks closely at
blocks that contain one of those candidates, confirms the real repeats with exact
comparison and reports them with both line numbers. When the source cannot be read twice
(a pipe), an exact dictionary is used instead and memory grows with the number of keys.
"""

from __future__ import annotations

from collections.abc import Iterable

_MAX_TABLE_LOG2 = 25  # 32 MiB
_MIN_TABLE_LOG2 = 12
# Each key sets 2 of the 8 bits of one byte; 28 pairs, repeated to fill a 64-entry table.
_PAIRS = [(1 << a) | (1 << b) for a in range(8) for b in range(a + 1, 8)]
_MASKS = (_PAIRS * 3)[:64]


def table_log2_for(size_hint: int | None) -> int:
    """Bytes of filter for a file of `size_hint` bytes: ~4 bytes per expected row."""
    if not size_hint:
        return _MAX_TABLE_LOG2
    rows = max(size_hint // 40, 1)
    log2 = (rows * 4).bit_length()
    return max(_MIN_TABLE_LOG2, min(_MAX_TABLE_LOG2, log2))


class KeyTracker:
    """Remembers keys; `candidates` maps a possibly repeated key to the line it was seen on."""

    def __init__(self, *, exact: bool = False, size_hint: int | None = None) -> None:
        self.exact = exact
        self.candidates: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        log2 = table_log2_for(size_hint)
        self._mask = (1 << log2) - 1
        self._shift = log2
        self._table = bytearray(0 if exact else 1 << log2)
        self.repeats: list[tuple[int, str, int]] = []  # exact mode: (line, key, first line)

    def add_block(self, keys: list[str], first_line: int) -> None:
        """Keys of consecutive lines first_line, first_line + 1, ... (blank keys skipped)."""
        if self.exact:
            for i, k in enumerate(keys):
                if k:
                    self._add_exact(k, first_line + i)
            return
        table, mask, shift, masks = self._table, self._mask, self._shift, _MASKS
        cands = self.candidates
        for i, k in enumerate(keys):
            h = hash(k)
            j = h & mask
            m = masks[(h >> shift) & 63]
            if table[j] & m == m:
                if k and k not in cands:
                    cands[k] = first_line + i
            else:
                table[j] |= m

    def add(self, key: str, line: int) -> None:
        if key:
            self.add_block([key], line)

    def _add_exact(self, key: str, line: int) -> None:
        first = self._seen.setdefault(key, line)
        if first != line:
            self.repeats.append((line, key, first))

    @property
    def needs_confirmation(self) -> bool:
        return not self.exact and bool(self.candidates)

    def confirm(self, lines: Iterable[tuple[int, str]]) -> list[tuple[int, str, int]]:
        """Exact repeats among the candidates, from (line, key) of the whole file in order."""
        cands = self.candidates
        first: dict[str, int] = {}
        repeats: list[tuple[int, str, int]] = []
        for line, key in lines:
            if key in cands:
                f = first.setdefault(key, line)
                if f != line:
                    repeats.append((line, key, f))
        return repeats
