"""The streaming judge of tracciati: validate_file, canonicalize.

One pass, constant memory (apart from the fixed-size key filter, see keys.py). The file
is read in blocks of whole lines. A block that a compiled per-header pattern matches as a
whole is as documented and is copied (or rewritten by one regex substitution) without any
per-line Python; a block that does not match is examined line by line to name every
problem precisely. See docs/PERFORMANCE.md for the figures.

Two severities. An *error* is what AppManager would read wrong or not at all (a broken
header, a wrong field count, a dot decimal in a comma field, an impossible date, a
duplicate CHIAVE...); a *warning* is a departure from the documentation pages that real
writers make (longer text, more digits or decimals, a column the layout does not list, an
alternate column name, a value repaired): published as written, and reported. An error
confined to a data line is a *row error*: the caller may hold those lines back
(canonicalize(hold=..., held=...)) and publish the rest.

Every input is bounded, checked in linear time: the header (MAX_HEADER_BYTES,
MAX_COLUMNS), every line (line_limit: columns x 4000 characters x 4 bytes, at most
HARD_LINE_LIMIT), and the report (formats.report). A file beyond a bound is refused
after reading at most the bound, with one error that says which.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from itertools import compress, repeat
from operator import is_not
from pathlib import Path
from typing import BinaryIO, cast

from connector.errors import FormatError
from formats.fieldtypes import (
    DAT_ULT_MOD,
    DAT_ULT_MOD_VALUE,
    SECTION,
    TEXT_CAP,
    Field,
    untyped,
)
from formats.keys import KeyTracker
from formats.layout import Layout, layout_for_filename
from formats.media import media_kind
from formats.report import N_, ValidationReport, excerpt

BOM = b"\xef\xbb\xbf"
_DUM_BYTES = DAT_ULT_MOD_VALUE.encode("ascii")
BLOCK = 64 * 1024  # bytes per block; the block regex slows down on much larger blocks
LENGTH_POLICIES = ("error", "truncate")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

MAX_HEADER_BYTES = 64 * 1024  # the widest layout's header is under 3 KB
MAX_COLUMNS = 1000  # the widest layout has about 110 columns
HARD_LINE_LIMIT = 4 * 1024 * 1024  # no line of any layout may be longer, whatever its columns


def line_limit(columns: int) -> int:
    """The longest line a layout of `columns` columns can hold: every value at the 4000
    character cap, each character 4 bytes of UTF-8, the separators; at most HARD_LINE_LIMIT."""
    return min(HARD_LINE_LIMIT, max(columns, 1) * (TEXT_CAP * 4 + 1) + 2)


class LineTooLong(FormatError):
    """A line (or the header) goes on past the bound: the file cannot be a tracciato."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a line is longer than {limit:,} bytes", limit=limit)
        self.limit = limit


# ---------------------------------------------------------------------------- reading
class BlockReader:
    """Blocks of whole lines, each ending with b'\\n' (one is added to a last unterminated
    line). A line that goes on past `max_line` bytes raises LineTooLong once that many
    bytes are read: the memory and time spent on it are bounded by max_line, not by the
    file. `max_line` may be changed between blocks (the header has a bound of its own).
    """

    def __init__(self, src: BinaryIO, max_line: int = HARD_LINE_LIMIT,
                 block_size: int = BLOCK) -> None:
        self.src = src
        self.max_line = max_line
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        pending: list[bytes] = []  # the start of a line that spans reads (joined once)
        size = 0
        while True:
            data = self.src.read(self.block_size)
            if not data:
                break
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                pending.append(data)
                size += len(data)
                if size > self.max_line:
                    raise LineTooLong(self.max_line)
                continue
            if pending:
                if size + data.index(b"\n") > self.max_line:
                    raise LineTooLong(self.max_line)
                pending.append(data[:cut])
                block = b"".join(pending)
            else:
                block = data[:cut] if cut < len(data) else data
            rest = data[cut:]
            pending = [rest] if rest else []
            size = len(rest)
            yield block
        if pending:
            yield b"".join(pending) + b"\n"


def iter_blocks(src: BinaryIO, block_size: int = BLOCK, max_line: int = HARD_LINE_LIMIT
                ) -> Iterator[bytes]:
    """Blocks of whole lines (see BlockReader)."""
    return iter(BlockReader(src, max_line, block_size))


def iter_raw_lines(src: BinaryIO, max_line: int = HARD_LINE_LIMIT) -> Iterator[tuple[int, bytes]]:
    """(line number, line bytes without the final LF), BOM removed from line 1.

    Raises LineTooLong for a line beyond max_line bytes."""
    n = 0
    first = True
    for block in iter_blocks(src, max_line=max_line):
        if first:
            first = False
            if block.startswith(BOM):
                block = block[len(BOM):]
        for raw in block.split(b"\n")[:-1]:
            n += 1
            yield n, raw


def decode_line(raw: bytes) -> tuple[str, str | None]:
    """The text of a line (CR stripped) and, if a byte is not UTF-8, the rule it breaks."""
    problem = None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1]
        problem = N_("byte 0x{byte} at character {at} is not valid UTF-8: save the file "
                     "as UTF-8 (it looks like a Windows-1252/ANSI export)",
                     byte=bad.hex().upper(), at=exc.start + 1)
        text = raw.decode("utf-8", errors="replace")
    if text.endswith("\r"):
        text = text[:-1]
    return text, problem


# ---------------------------------------------------------------------------- the plan
@dataclass
class _Plan:
    """Everything derived from a header: field per column, output columns, compiled patterns.

    The canonical output keeps the source's columns in the source's order (AppManager maps
    columns by header name), sets DAT_ULT_MOD to the constant and appends it when the
    layout has it and the source lacks it.
    """

    layout: Layout
    fields: list[Field]  # per source column
    names: list[str]
    out_names: list[str]
    dum_index: int | None  # source column of DAT_ULT_MOD
    append_dum: bool  # the layout has DAT_ULT_MOD, the source does not
    key_index: int | None
    min_fields: int
    block_valid: re.Pattern[str]  # a block of valid lines, any line end
    block_canonical: re.Pattern[str]  # a block already byte-identical to its output
    # One line (CR removed) with the right number of fields: field i is either as
    # documented (group i None) or anything else (group i holds it), so one C-level match
    # names the fields to look at.
    line_fields: re.Pattern[str]
    fix_mode: str  # how a valid block becomes canonical: "eol", "last" or "lines"
    key_re: re.Pattern[str] | None

    @property
    def ncols(self) -> int:
        return len(self.fields)

    def canonical_block(self, block: bytes, text: str, lines: int) -> bytes:
        """The canonical form of a block that block_valid matched (no CR but before LF).

        Works on the raw bytes where it can (no re-encoding): fixing line ends and a
        last-column DAT_ULT_MOD that is already right are byte replacements.
        """
        crlf = b"\r" in block
        if self.fix_mode == "eol":
            tail = (b"|" + _DUM_BYTES if self.append_dum else b"") + b"\r\n"
            if crlf:
                block = block.replace(b"\r\n", b"\n")
            return block.replace(b"\n", tail)
        if self.fix_mode == "last":
            lf_tail = b"|" + _DUM_BYTES + b"\n"
            right = block.count(lf_tail) + (block.count(b"|" + _DUM_BYTES + b"\r\n") if crlf else 0)
            if right == lines:  # DAT_ULT_MOD already right on every line
                if crlf:
                    block = block.replace(b"\r\n", b"\n")
                return block.replace(b"\n", b"\r\n")
            end = "|" + DAT_ULT_MOD_VALUE + "\r\n"
            rows = text.split("\n")
            rows.pop()
            return (end.join([r[:r.rfind("|")] for r in rows]) + end).encode("utf-8")
        rows = text.split("\n")
        rows.pop()
        return "".join(self.out_line(r.rstrip("\r").split("|")) for r in rows).encode("utf-8")

    def out_line(self, parts: list[str]) -> str:
        if self.dum_index is not None and self.dum_index < len(parts):
            parts[self.dum_index] = DAT_ULT_MOD_VALUE
        if self.append_dum:
            parts.append(DAT_ULT_MOD_VALUE)
        return "|".join(parts) + "\r\n"


def _build_plan(layout: Layout, names: list[str], fields: list[Field]) -> _Plan:
    index = {f.name: i for i, f in enumerate(fields)}  # by documented name (aliases resolved)
    dum = index.get(DAT_ULT_MOD)
    append_dum = layout.header and layout.has_dat_ult_mod and dum is None
    out_names = [*names, DAT_ULT_MOD] if append_dum else list(names)
    min_fields = layout.min_fields if (not layout.header and layout.min_fields) else len(fields)
    min_fields = min(min_fields, len(fields))

    def line_pattern(parts: list[str]) -> str:
        head = r"\|".join(parts[:min_fields])
        tail = ""
        for p in reversed(parts[min_fields:]):
            tail = r"(?:\|" + p + tail + ")?"
        return r"(?=[^\r\n])" + head + tail

    pats = [f.pattern() for f in fields]
    block_valid = re.compile("(?:" + line_pattern(pats) + r"\r?\n)*")
    canon = list(pats)
    if dum is not None:
        canon[dum] = DAT_ULT_MOD_VALUE
    # With DAT_ULT_MOD to append, no line is already as published: a line that looks so
    # has one field more than its header (found by fuzzing; it used to pass as canonical).
    block_canonical = re.compile(r"(?!)" if append_dum else
                                 "(?:" + line_pattern(canon) + r"\r\n)*")
    # Atomic: a field matched (as documented only when it spans the whole field) is never
    # tried again, so a line with the wrong number of fields fails in linear time instead
    # of trying both ways for every field.
    line_fields = re.compile(line_pattern(["(?>" + p + r"(?=\||\Z)|([^|\r\n]*+))"
                                           for p in pats]))
    if dum is None:
        fix_mode = "eol"  # line ends to fix, maybe DAT_ULT_MOD to append
    elif dum == len(fields) - 1 == min_fields - 1 and dum > 0:
        fix_mode = "last"  # DAT_ULT_MOD is the last column (the usual case)
    else:
        fix_mode = "lines"
    key_index = index.get(layout.key) if layout.key else None
    key_re = None
    if key_index is not None:
        # Anchored at line starts: unanchored, findall tried every position of a line that
        # lacks the pipes, quadratic in its length (found by fuzzing: 0.15 s for 5 KB).
        key_re = re.compile(r"(?m)^(?:[^|\n]*\|){" + str(key_index)
                            + r"}([^|\r\n]*)[^\n]*\n")
    return _Plan(layout, fields, names, out_names, dum, append_dum, key_index, min_fields,
                 block_valid, block_canonical, line_fields, fix_mode, key_re)


def _judge_header(layout: Layout, text: str, report: ValidationReport) -> _Plan | None:
    """Check the header row (line 1); None when the lines cannot be judged at all.

    Every problem of the header is a file error (the columns would be read wrong), but
    a column the layout does not list and a known alternate name are warnings: the
    column is passed through as written.
    """
    example = "|".join(layout.field_names[:3])
    if not text.strip():
        report.add(1, None, text, N_("the first line must be the header with the column "
                                     "names (e.g. {example}|...); it is empty",
                                     example=example))
        return None
    if "|" not in text and len(layout.fields) > 1:
        for sep in (";", "\t", ","):
            if sep in text:
                shown = "TAB" if sep == "\t" else sep
                report.add(1, None, text, N_("the column separator must be | (pipe); this "
                                             "header uses {sep}", sep=shown))
                return None
    raw_names = text.split("|")
    if len(raw_names) > MAX_COLUMNS:
        report.add(1, None, text, N_("the header has {n:,} columns; a tracciato has at most "
                                     "{max:,}: is this the right file?",
                                     n=len(raw_names), max=MAX_COLUMNS))
        return None
    if len(raw_names) > 1 and raw_names[-1] == "":
        report.add(1, None, "..." + text[-24:], N_("the header ends with |: remove the "
                                                   "trailing separator"))
        raw_names = raw_names[:-1]
    known_upper = {n.upper(): n for n in layout.field_names}

    def known(name: str) -> bool:
        return layout.get(name) is not None or layout.canonical_name(name) is not None

    looks_like_names = [n.strip() for n in raw_names if _NAME_RE.fullmatch(n.strip())]
    if not any(known(n.strip()) or n.strip().upper() in known_upper for n in raw_names) and \
            len(looks_like_names) < len(raw_names):
        report.add(1, None, text, N_("the first line must be the header with the column "
                                     "names (e.g. {example}|...); this looks like a data row",
                                     example=example))
        return None
    names: list[str] = []
    fields: list[Field] = []
    seen: dict[str, str] = {}  # documented name -> the column that has it
    for raw in raw_names:
        name = raw.strip()
        shown = excerpt(name, 40)
        if name != raw or " " in name:
            report.add(1, name or None, raw, N_("column names must not contain spaces "
                                                "(no padding around |)"))
            name = name.replace(" ", "")
            shown = excerpt(name, 40)
        if not name:
            report.add(1, None, raw, N_("empty column name in the header"))
        f = (layout.field_for(name) if name else None) or untyped(name or "?")
        if name and f.name in seen:
            other = seen[f.name]
            if other == name:
                twice = N_("column {column} appears twice in the header", column=shown)
            else:
                twice = N_("column {column} appears twice in the header ({other} and {column} "
                           "name the same field {field})", column=shown,
                           other=excerpt(other, 40), field=f.name)
            report.add(1, name, name, twice)
            f = untyped(name)
        elif name:
            seen[f.name] = name
            if not known(name):
                if name.upper() in known_upper:
                    unknown = N_("{column} is not a column of {layout}; did you mean {known}? "
                                 "(names are upper case)", column=shown, layout=layout.name,
                                 known=known_upper[name.upper()])
                else:
                    unknown = N_("{column} is not a column of {layout}", column=shown,
                                 layout=layout.name)
                report.warn(1, name, name, unknown,
                            outcome=N_("passed through as written, not checked"))
            elif layout.canonical_name(name) is not None:
                report.warn(1, name, name, N_("{column} is an alternate name of {field}",
                                              column=shown, field=f.name),
                            outcome=N_("read as that column, published as written"))
        names.append(name)
        fields.append(f)
    for req in layout.required:
        if req not in seen:
            report.add(1, req, "", N_("required column {column} is missing from the header",
                                      column=req))
    return _build_plan(layout, names, fields)


# ---------------------------------------------------------------------------- the engine
class _Judge:
    """One pass over a source; optionally writes the canonical form to dst.

    hold: data lines (1-based, as numbered in the source) that are not judged nor
    published but copied as they are, after the source's header, to `held`.
    """

    def __init__(self, layout: Layout, report: ValidationReport, *, dst: BinaryIO | None,
                 length_policy: str, size_hint: int | None, hold: Collection[int] = (),
                 held: BinaryIO | None = None) -> None:
        if length_policy not in LENGTH_POLICIES:
            raise ValueError(f"length_policy must be one of {LENGTH_POLICIES}")
        if hold and held is None:
            raise ValueError("lines to hold back need a `held` file")
        self.layout = layout
        self.report = report
        self.dst = dst
        self.truncate = length_policy == "truncate"
        self.src: BinaryIO | None = None
        self.keys = KeyTracker(size_hint=size_hint,
                               catch_up=self._earlier_keys if size_hint is not None else None)
        self.plan: _Plan | None = None
        self.stopped = False
        self.hold = frozenset(hold)
        self._holds = sorted(self.hold)
        self._next_hold = 0  # index in _holds of the first held line not reached yet
        self.held = held
        self.held_lines: dict[int, int] = {}  # source line -> line in the held file
        self._bom = b""
        self._header_raw: bytes | None = None

    def _earlier_keys(self, before_line: int) -> Iterator[tuple[list[str], int]]:
        """Keys of the lines before `before_line`, re-read from src (see keys.py)."""
        src, plan = self.src, self.plan
        assert src is not None and plan is not None
        pos = src.tell()
        try:
            for line, key in _keys_of(src, plan, None, before_line, self.hold):
                yield [key], line
        finally:
            src.seek(pos)

    def run(self, src: BinaryIO) -> None:
        self.src = src
        layout = self.layout
        reader = BlockReader(src, MAX_HEADER_BYTES if layout.header
                             else line_limit(len(layout.fields)))
        line_no = 0  # lines done so far
        first = True
        try:
            for block in reader:
                if first:
                    first = False
                    started = self._start(block)
                    if started is None:
                        return
                    block = started
                    if layout.header:
                        nl = block.index(b"\n")
                        if nl > MAX_HEADER_BYTES:
                            raise LineTooLong(MAX_HEADER_BYTES)
                        self._header(block[:nl])
                        if self.stopped:
                            return
                        assert self.plan is not None
                        reader.max_line = line_limit(self.plan.ncols)
                        block = block[nl + 1:]
                        line_no = 1
                        if not block:
                            continue
                line_no = self._block(block, line_no)
        except LineTooLong as exc:
            if line_no == 0 and layout.header:
                long = N_("the header goes on past {n:,} bytes without a line end: a "
                          "tracciato line is never that long (are the line ends missing, or "
                          "is this not a tracciato?); the rest of the file was not read",
                          n=exc.limit)
            else:
                long = N_("the line goes on past {n:,} bytes without a line end: a tracciato "
                          "line is never that long (are the line ends missing, or is this "
                          "not a tracciato?); the rest of the file was not read", n=exc.limit)
            self.report.add(line_no + 1, None, "", long)
            self.stopped = True
            return
        if first:
            self.report.add(0, None, "", N_("the file is empty: a tracciato needs at least "
                                            "the header row") if layout.header else
                            N_("the file is empty: a tracciato needs at least one row"))

    def _start(self, block: bytes) -> bytes | None:
        if block.startswith(BOM):
            self._bom = BOM
            block = block[len(BOM):]
        elif block[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self.report.add(0, None, "", N_("the file is UTF-16; save it as UTF-8"))
            self.stopped = True
            return None
        if not self.layout.header:
            self.plan = _build_plan(self.layout, list(self.layout.field_names),
                                    list(self.layout.fields))
        return block

    def _header(self, raw: bytes) -> None:
        self._header_raw = raw
        text, problem = decode_line(raw)
        if problem:
            self.report.add(1, None, excerpt(text), problem)
        self.plan = _judge_header(self.layout, text, self.report)
        if self.plan is None:
            self.stopped = True
            return
        if self.dst is not None:
            self.dst.write(BOM + ("|".join(self.plan.out_names) + "\r\n").encode("utf-8"))

    def _block(self, block: bytes, line_no: int) -> int:
        plan = self.plan
        assert plan is not None
        if line_no == 0 and self.dst is not None:
            self.dst.write(BOM)  # positional files: BOM only, no header
        if self._next_hold < len(self._holds) and \
                self._holds[self._next_hold] <= line_no + block.count(b"\n"):
            return self._slow(block.split(b"\n")[:-1], line_no)
        try:
            text = block.decode("utf-8")
        except UnicodeDecodeError:
            return self._slow(block.split(b"\n")[:-1], line_no)
        dst = self.dst
        if dst is not None and block[block.index(b"\n") - 1:block.index(b"\n")] == b"\r" \
                and plan.block_canonical.fullmatch(text):
            rewrite = False
        elif plan.block_valid.fullmatch(text):
            rewrite = True
        else:
            return self._slow(block.split(b"\n")[:-1], line_no)
        if plan.key_re is not None:
            keys = plan.key_re.findall(text)  # exactly one per line in a valid block
            self.keys.add_block(keys, line_no + 1)
            count = len(keys)
        else:
            count = block.count(b"\n")
        if dst is not None:
            dst.write(plan.canonical_block(block, text, count) if rewrite else block)
        self.report.rows += count
        return line_no + count

    def _slow(self, raws: list[bytes], line_no: int) -> int:
        out: list[str] = []
        for raw in raws:
            line_no += 1
            if line_no in self.hold:
                self._hold_line(line_no, raw)
                continue
            line = self._line(line_no, raw)
            if line is not None:
                out.append(line)
        if self.dst is not None and out:
            self.dst.write("".join(out).encode("utf-8"))
        return line_no

    def _hold_line(self, n: int, raw: bytes) -> None:
        """Copy a held-back line, as it is in the source, to the held file."""
        held = self.held
        assert held is not None
        if not self.held_lines:
            held.write(self._bom)
            if self._header_raw is not None:
                held.write(self._header_raw + b"\n")
        self.held_lines[n] = len(self.held_lines) + (2 if self._header_raw is not None else 1)
        held.write(raw + b"\n")
        self._next_hold = bisect.bisect_right(self._holds, n)

    def _line(self, n: int, raw: bytes) -> str | None:
        plan = self.plan
        assert plan is not None
        report = self.report
        text, problem = decode_line(raw)
        m = plan.line_fields.fullmatch(text) if problem is None else None
        if m is not None:  # the right number of fields
            report.rows += 1
            parts = text.split("|")
            key = line_key(plan.key_index, parts)
            if key:
                self.keys.add(key, n)
            groups = m.groups()
            if groups.count(None) != len(groups):  # some fields are not as documented
                self._fields(n, parts, list(compress(range(len(groups)),
                                                     map(is_not, groups, repeat(None)))))
            return plan.out_line(parts) if self.dst is not None else None
        if problem:
            report.add(n, None, text, problem, row=True)
        if not text:
            report.add(n, None, "", N_("empty line: remove it"), row=True)
            return None
        report.rows += 1
        parts = text.split("|")
        key = line_key(plan.key_index, parts)
        if key:
            self.keys.add(key, n)
        nparts = len(parts)
        if nparts == plan.ncols + 1 and parts[-1] == "":
            report.add(n, None, "..." + text[-24:], N_("the line ends with |: remove the "
                                                       "trailing separator"), row=True)
            parts.pop()
            nparts -= 1
        if not plan.min_fields <= nparts <= plan.ncols:
            want = str(plan.ncols) if plan.min_fields == plan.ncols \
                else N_("{min} to {max}", min=plan.min_fields, max=plan.ncols)
            if self.layout.header:
                fields = N_("the line has {n} fields but the header has {want}: look for a | "
                            "inside a text or a missing or extra field", n=nparts, want=want)
            else:
                fields = N_("the line has {n} fields but this tracciato has {want}: look for "
                            "a | inside a text or a missing or extra field", n=nparts, want=want)
            report.add(n, None, text, fields, row=True)
            return None
        self._fields(n, parts, [i for i, value in enumerate(parts)
                                if not plan.fields[i].is_valid(value)])
        if self.dst is None:
            return None
        return plan.out_line(parts)

    def _fields(self, n: int, parts: list[str], suspects: list[int]) -> None:
        """Judge the fields of line n that are not as documented; repairs go into parts."""
        plan = self.plan
        assert plan is not None
        report = self.report
        for i in suspects:
            f = plan.fields[i]
            value = parts[i]
            finding = f.check(value)
            if finding is None:
                continue
            column = plan.names[i]
            if self.truncate and f.may_truncate and len(value) > f.length \
                    and "\r" not in value and "\n" not in value:
                report.warn(n, column, value, N_("text is {n} characters long; {field} is "
                                                 "documented up to {max}", n=len(value),
                                                 field=column, max=f.length), row=True,
                            outcome=N_("cut to {max} (export.length_policy: truncate)",
                                       max=f.length))
                parts[i] = value[:f.length]
                continue
            if finding.severity == "error":
                report.add(n, column, value, finding.rule, row=True)
                continue
            report.warn(n, column, value, finding.rule, row=True, outcome=finding.outcome)
            if finding.repaired is not None:
                parts[i] = finding.repaired

    def finish(self, src: BinaryIO | None) -> None:
        """Report repeated keys (confirmed, with their first line, by a second pass over src).

        A repeat is a row error on the later line: that line is the one held back."""
        key_name = self.layout.key or "key"
        if self.stopped or not self.keys.needs_confirmation or self.plan is None:
            repeats = []
        elif src is not None:
            repeats = self.keys.confirm(_keys_of(src, self.plan, self.keys.candidates,
                                                 skip=self.hold))
        else:
            repeats = self.keys.unconfirmed()
        for line, key, first in repeats:
            if first:
                again = N_("{key} {value} repeats the one on line {first}; every row needs its "
                           "own {key}", key=key_name, value=excerpt(key, 40), first=first)
            else:
                again = N_("{key} {value} repeats an earlier row; every row needs its own {key}",
                           key=key_name, value=excerpt(key, 40))
            self.report.add(line, key_name, key, again, row=True)


def line_key(key_index: int | None, parts: list[str]) -> str:
    """The key of a split line, '' when there is none (the same rule in both passes)."""
    if key_index is None or key_index >= len(parts):
        return ""
    key = parts[key_index]
    return key if key.strip() else ""


def _keys_of(src: BinaryIO, plan: _Plan, candidates: dict[str, int] | None,
             before_line: int | None = None, skip: frozenset[int] = frozenset()
             ) -> Iterator[tuple[int, str]]:
    """(line, key) from the start of src, with the same rule as the first pass.

    With candidates, only the keys among them (blocks without any are skipped whole);
    with before_line, only the lines before it; never the lines in `skip` (held back).
    """
    src.seek(0)
    line_no = 0
    first = True
    header = plan.layout.header
    for block in iter_blocks(src, max_line=line_limit(plan.ncols) + MAX_HEADER_BYTES):
        start = 0
        if first:
            first = False
            if block.startswith(BOM):
                start = len(BOM)
        text = block[start:].decode("utf-8", errors="replace")
        tokens = plan.key_re.findall(text) if plan.key_re is not None else []
        count = text.count("\n")
        if candidates is not None and candidates.keys().isdisjoint(tokens):
            line_no += count
        elif plan.key_index == 0 and len(tokens) == count:  # one token per line, in order
            base = line_no + 1
            line_no += count
            for i, key in enumerate(tokens):
                n = base + i
                if before_line is not None and n >= before_line:
                    return
                if (candidates is None or key in candidates) and not (n == 1 and header) \
                        and key.strip() and n not in skip:
                    yield n, key
        else:
            for line in text.split("\n")[:-1]:
                line_no += 1
                if before_line is not None and line_no >= before_line:
                    return
                if (line_no == 1 and header) or not line or line_no in skip:
                    continue
                if line.endswith("\r"):
                    line = line[:-1]
                key = line_key(plan.key_index, line.split("|"))
                if key and (candidates is None or key in candidates):
                    yield line_no, key
        if before_line is not None and line_no >= before_line - 1:
            return


# ---------------------------------------------------------------------------- public API
def canonicalize(src: BinaryIO, dst: BinaryIO, layout: Layout, *, length_policy: str = "error",
                 max_errors: int = 1000, strict: bool = False, hold: Collection[int] = (),
                 held: BinaryIO | None = None) -> ValidationReport:
    """Validate src and write its canonical form to dst in one pass.

    The canonical form: UTF-8 with BOM, CRLF, the source's columns in the source's order,
    DAT_ULT_MOD = 01011900000000, repaired values (a decimal comma in a coordinate)
    repaired. Discard dst unless report.valid. With length_policy="truncate" text longer
    than documented is cut (never a key or key-like field), with a warning. strict: every
    warning is an error. hold: data lines (numbered as in src) copied as they are to
    `held`, after the header, instead of being judged and published (report.held maps
    each to its line in `held`): the second pass of a file whose errors are row errors.
    """
    report = ValidationReport(layout=layout.name, max_errors=max_errors, strict=strict)
    seekable = _seekable(src)
    judge = _Judge(layout, report, dst=dst, length_policy=length_policy,
                   size_hint=_size_of(src) if seekable else None, hold=hold, held=held)
    judge.run(src)
    judge.finish(src if seekable else None)
    report.held = judge.held_lines
    return report


def validate_stream(src: BinaryIO, layout: Layout, *, max_errors: int = 1000,
                    length_policy: str = "error", strict: bool = False) -> ValidationReport:
    """Validate a binary stream (read twice when it is seekable and keys may repeat)."""
    report = ValidationReport(layout=layout.name, max_errors=max_errors, strict=strict)
    seekable = _seekable(src)
    judge = _Judge(layout, report, dst=None, length_policy=length_policy,
                   size_hint=_size_of(src) if seekable else None)
    judge.run(src)
    judge.finish(src if seekable else None)
    return report


class _Watched:
    """A binary file that tells `on_read(position, size)` after each read: the progress
    bar of `connector validate` on a big file (formats knows nothing of terminals)."""

    def __init__(self, src: BinaryIO, size: int, on_read: Callable[[int, int], None]) -> None:
        self.src, self.size, self.on_read = src, size, on_read

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        self.on_read(self.src.tell(), self.size)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.src.seek(offset, whence)

    def tell(self) -> int:
        return self.src.tell()

    def seekable(self) -> bool:
        return self.src.seekable()


def validate_file(path: Path, layout: Layout | None = None, *, max_errors: int = 1000,
                  strict: bool = False,
                  on_read: Callable[[int, int], None] | None = None) -> ValidationReport:
    """Judge one file; the layout comes from the file name unless given. `on_read(position,
    size)` hears of the reading's progress (a file whose keys repeat is read twice)."""
    path = Path(path)
    if layout is None and media_kind(path.name) is not None:
        return _judge_medium(path, max_errors)
    if layout is None:
        layout = layout_for_filename(path.name)
        if layout is None:
            report = ValidationReport(layout=None, max_errors=max_errors, strict=strict)
            report.add(0, None, path.name, N_("unknown file name: a tracciato is named "
                                              "io_<entity>.dat (e.g. io_clifor_gen.dat); "
                                              "`connector layouts` lists them"))
            return report
    with open(path, "rb") as raw:
        src: BinaryIO = raw
        if on_read is not None:
            src = cast(BinaryIO, _Watched(raw, path.stat().st_size, on_read))
        return validate_stream(src, layout, max_errors=max_errors, strict=strict)


def _seekable(src: BinaryIO) -> bool:
    try:
        return bool(src.seekable()) and src.tell() == 0
    except (AttributeError, OSError, ValueError):
        return False


def _size_of(src: BinaryIO) -> int | None:
    try:
        end = src.seek(0, 2)
        src.seek(0)
        return int(end)
    except (OSError, ValueError):
        return None


__all__ = [
    "SECTION",
    "BlockReader",
    "LineTooLong",
    "canonicalize",
    "decode_line",
    "iter_raw_lines",
    "line_limit",
    "validate_file",
    "validate_stream",
]


def _judge_medium(path: Path, max_errors: int) -> ValidationReport:
    """A catalog medium as the export judges it: its name (name[ArticleCode]{order}.ext)
    and its content (the first bytes must be what the extension says: a .pdf a PDF)."""
    from formats.media import SNIFF_BYTES, content_issue, parse_media_name

    report = ValidationReport(layout=None, max_errors=max_errors)
    report.medium = True
    try:
        parse_media_name(path.name)
    except FormatError as exc:
        report.add(0, None, "", exc.message)
    with open(path, "rb") as f:
        issue = content_issue(path.name, f.read(SNIFF_BYTES))
    if issue:
        report.add(0, None, "", issue)
    return report
