"""CHIAVE uniqueness in bounded memory.

A Python set of 4,000,000 keys costs hundreds of MB. Instead every key's 64-bit hash
goes into a fixed open-addressing table (an array of int64, linear probing): 8 bytes a
slot, 2**23 slots (64 MiB) for any file over ~170 MB, fewer for smaller files, so peak
memory does not depend on the row count up to ~6 million keys (past that the table
doubles). A hash seen twice marks its key as a candidate; a second pass over the source,
run only when there are candidates, confirms each repeat by exact comparison (so a hash
collision cannot produce a false report) and names the line of the first occurrence.
When the source cannot be read twice (a pipe), repeats are reported without that line.

Many ERP exports come sorted by key. While every block's keys are strictly increasing
(and above the previous block's), no key can repeat, so nothing is stored at all. At the
first block that breaks the order the keys read so far are fed to the table from a
re-read of that part of the source (`catch_up`), and the table takes over from there.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from operator import lt

_MAX_SLOTS_LOG2 = 23  # 8M slots, 64 MiB
_MIN_SLOTS_LOG2 = 10
_MAX_LOAD = 0.75


def slots_log2_for(size_hint: int | None) -> int:
    """Table size for a file of `size_hint` bytes: 2 slots per row, rows ~40 bytes or more."""
    if not size_hint:
        return _MAX_SLOTS_LOG2
    rows = max(size_hint // 40, 1)
    return max(_MIN_SLOTS_LOG2, min(_MAX_SLOTS_LOG2, (rows * 2).bit_length()))


class KeyTracker:
    """Remembers the keys of a file; `candidates`: repeated key -> line of its first repeat."""

    def __init__(self, *, size_hint: int | None = None,
                 catch_up: Callable[[int], Iterable[tuple[list[str], int]]] | None = None
                 ) -> None:
        """catch_up(first_line) yields (keys, first line) of every line before first_line."""
        self.candidates: dict[str, int] = {}
        self._size_hint = size_hint
        self._table = array("q")
        self._count = 0
        self._catch_up = catch_up
        self.sorted_run = catch_up is not None  # still in the key-ordered prefix
        self._last: str | None = None

    @property
    def table_bytes(self) -> int:
        return len(self._table) * 8

    def _new_table(self, log2: int) -> None:
        self._table = array("q", bytes(8 << log2))
        self._mask = (1 << log2) - 1
        self._limit = int(_MAX_LOAD * (1 << log2))

    def add_block(self, keys: list[str], first_line: int) -> None:
        """Non-blank keys of consecutive lines first_line, first_line + 1, ..."""
        if self.sorted_run:
            if not keys:
                return
            if (self._last is None or keys[0] > self._last) and all(map(lt, keys, keys[1:])):
                self._last = keys[-1]
                return
            self.sorted_run = False
            self._start_table()
            assert self._catch_up is not None
            for earlier, line in self._catch_up(first_line):
                self._insert(earlier, line)
        elif not self._table:
            self._start_table()
        self._insert(keys, first_line)

    def _start_table(self) -> None:
        self._new_table(slots_log2_for(self._size_hint))

    def _insert(self, keys: list[str], first_line: int) -> None:
        table, mask, cands = self._table, self._mask, self.candidates
        added = 0
        for i, h in enumerate(map(hash, keys)):
            h |= 1  # 0 marks an empty slot
            j = h & mask
            v = table[j]
            while v:
                if v == h:
                    cands.setdefault(keys[i], first_line + i)
                    break
                j = (j + 1) & mask
                v = table[j]
            else:
                table[j] = h
                added += 1
        self._count += added
        if self._count > self._limit:
            self._grow()

    def add(self, key: str, line: int) -> None:
        self.add_block([key], line)

    def _grow(self) -> None:
        old = self._table
        self._new_table((self._mask + 1).bit_length())
        table, mask = self._table, self._mask
        for h in old:
            if h:
                j = h & mask
                while table[j]:
                    j = (j + 1) & mask
                table[j] = h

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.candidates)

    def confirm(self, lines: Iterable[tuple[int, str]]) -> list[tuple[int, str, int]]:
        """Exact repeats (line, key, first line) among the candidates, from (line, key) in order."""
        cands = self.candidates
        first: dict[str, int] = {}
        repeats: list[tuple[int, str, int]] = []
        for line, key in lines:
            if key in cands:
                f = first.setdefault(key, line)
                if f != line:
                    repeats.append((line, key, f))
        return repeats

    def unconfirmed(self) -> list[tuple[int, str, int]]:
        """Without a second pass: (line of the first repeat, key, 0 = earlier line unknown)."""
        return [(line, key, 0) for key, line in self.candidates.items()]
