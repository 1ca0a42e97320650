"""The streaming judge of tracciati: validate_file, canonicalize.

One pass, constant memory (apart from the fixed-size key filter, see keys.py). The file
is read in blocks of whole lines. A block that a compiled per-header pattern matches as a
whole is valid and is copied (or rewritten by one regex substitution) without any
per-line Python; a block that does not match is examined line by line to name every
problem precisely. See docs/PERFORMANCE.md for the figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from formats.fieldtypes import DAT_ULT_MOD, DAT_ULT_MOD_VALUE, SECTION, Field, untyped
from formats.keys import KeyTracker
from formats.layout import Layout, layout_for_filename
from formats.report import ValidationReport, excerpt

BOM = b"\xef\xbb\xbf"
_DUM_BYTES = DAT_ULT_MOD_VALUE.encode("ascii")
BLOCK = 64 * 1024  # bytes per block; the block regex slows down on much larger blocks
LENGTH_POLICIES = ("error", "truncate")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# ---------------------------------------------------------------------------- reading
def iter_blocks(src: BinaryIO, block_size: int = BLOCK) -> Iterator[bytes]:
    """Blocks of whole lines, each ending with b'\\n' (one is added to a last unterminated line)."""
    rest = b""
    while True:
        data = src.read(block_size)
        if not data:
            break
        if rest:
            data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data  # a line longer than a block: keep reading
            continue
        rest = data[cut:]
        yield data[:cut]
    if rest:
        yield rest + b"\n"


def iter_raw_lines(src: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """(line number, line bytes without the final LF), BOM removed from line 1."""
    n = 0
    first = True
    for block in iter_blocks(src):
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
        problem = (f"byte 0x{bad.hex().upper()} at character {exc.start + 1} is not valid "
                   "UTF-8: save the file as UTF-8 (it looks like a Windows-1252/ANSI export)")
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
    index = {n: i for i, n in enumerate(names)}
    dum = index.get(DAT_ULT_MOD)
    append_dum = layout.header and layout.has_dat_ult_mod and dum is None
    out_names = names + [DAT_ULT_MOD] if append_dum else list(names)
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
    suffix = "\\|" + DAT_ULT_MOD_VALUE if append_dum else ""
    block_canonical = re.compile("(?:" + line_pattern(canon) + suffix + r"\r\n)*")
    if dum is None:
        fix_mode = "eol"  # line ends to fix, maybe DAT_ULT_MOD to append
    elif dum == len(fields) - 1 == min_fields - 1 and dum > 0:
        fix_mode = "last"  # DAT_ULT_MOD is the last column (the usual case)
    else:
        fix_mode = "lines"
    key_index = index.get(layout.key) if layout.key else None
    key_re = None
    if key_index is not None:
        key_re = re.compile(r"(?:[^|\n]*\|){" + str(key_index) + r"}([^|\r\n]*)[^\n]*\n")
    return _Plan(layout, fields, names, out_names, dum, append_dum, key_index, min_fields,
                 block_valid, block_canonical, fix_mode, key_re)


def _judge_header(layout: Layout, text: str, report: ValidationReport) -> _Plan | None:
    """Check the header row (line 1); None when the lines cannot be judged at all."""
    if not text.strip():
        report.add(1, None, text, "the first line must be the header with the column names "
                   f"(e.g. {'|'.join(layout.field_names[:3])}|...); it is empty")
        return None
    if "|" not in text and len(layout.fields) > 1:
        for sep in (";", "\t", ","):
            if sep in text:
                shown = "TAB" if sep == "\t" else sep
                report.add(1, None, text, f"the column separator must be | (pipe); this "
                           f"header uses {shown}")
                return None
    raw_names = text.split("|")
    if len(raw_names) > 1 and raw_names[-1] == "":
        report.add(1, None, "..." + text[-24:], "the header ends with |: remove the trailing "
                   "separator")
        raw_names = raw_names[:-1]
    known_upper = {n.upper(): n for n in layout.field_names}
    looks_like_names = [n.strip() for n in raw_names if _NAME_RE.fullmatch(n.strip())]
    if not any(n.strip().upper() in known_upper for n in raw_names) and \
            len(looks_like_names) < len(raw_names):
        report.add(1, None, text, "the first line must be the header with the column names "
                   f"(e.g. {'|'.join(layout.field_names[:3])}|...); this looks like a data row")
        return None
    names: list[str] = []
    fields: list[Field] = []
    seen: set[str] = set()
    for raw in raw_names:
        name = raw.strip()
        if name != raw or " " in name:
            report.add(1, raw.strip() or None, raw, "column names must not contain spaces "
                       "(no padding around |)")
            name = name.replace(" ", "")
        if not name:
            report.add(1, None, raw, "empty column name in the header")
        f = layout.field_for(name) if name else None
        if name in seen:
            report.add(1, name, name, f"column {name} appears twice in the header")
            f = None
        elif name and f is None:
            hint = ""
            if name.upper() in known_upper:
                hint = f"; did you mean {known_upper[name.upper()]}? (names are upper case)"
            report.add(1, name, name, f"unknown column {name} for {layout.name}{hint}")
        seen.add(name)
        names.append(name)
        fields.append(f if f is not None else untyped(name or "?"))
    present = seen | {layout.canonical_name(n) or n for n in seen}  # aliases count
    for req in layout.required:
        if req not in present:
            report.add(1, req, "", f"required column {req} is missing from the header")
    return _build_plan(layout, names, fields)


# ---------------------------------------------------------------------------- the engine
class _Judge:
    """One pass over a source; optionally writes the canonical form to dst."""

    def __init__(self, layout: Layout, report: ValidationReport, *, dst: BinaryIO | None,
                 length_policy: str, size_hint: int | None) -> None:
        if length_policy not in LENGTH_POLICIES:
            raise ValueError(f"length_policy must be one of {LENGTH_POLICIES}")
        self.layout = layout
        self.report = report
        self.dst = dst
        self.truncate = length_policy == "truncate"
        self.src: BinaryIO | None = None
        self.keys = KeyTracker(size_hint=size_hint,
                               catch_up=self._earlier_keys if size_hint is not None else None)
        self.plan: _Plan | None = None
        self.stopped = False

    def _earlier_keys(self, before_line: int) -> Iterator[tuple[list[str], int]]:
        """Keys of the lines before `before_line`, re-read from src (see keys.py)."""
        src, plan = self.src, self.plan
        assert src is not None and plan is not None
        pos = src.tell()
        try:
            for line, key in _keys_of(src, plan, None, before_line):
                yield [key], line
        finally:
            src.seek(pos)

    def run(self, src: BinaryIO) -> None:
        self.src = src
        line_no = 0  # lines done so far
        first = True
        for block in iter_blocks(src):
            if first:
                first = False
                started = self._start(block)
                if started is None:
                    return
                block = started
                if self.layout.header:
                    nl = block.index(b"\n")
                    self._header(block[:nl])
                    if self.stopped:
                        return
                    block = block[nl + 1:]
                    line_no = 1
                    if not block:
                        continue
            line_no = self._block(block, line_no)
        if first:
            need = "the header row" if self.layout.header else "one row"
            self.report.add(0, None, "", f"the file is empty: a tracciato needs at least {need}")

    def _start(self, block: bytes) -> bytes | None:
        if block.startswith(BOM):
            block = block[len(BOM):]
        elif block[:2] in (b"\xff\xfe", b"\xfe\xff"):
            self.report.add(0, None, "", "the file is UTF-16; save it as UTF-8")
            self.stopped = True
            return None
        if not self.layout.header:
            self.plan = _build_plan(self.layout, list(self.layout.field_names),
                                    list(self.layout.fields))
        return block

    def _header(self, raw: bytes) -> None:
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
            line = self._line(line_no, raw)
            if line is not None:
                out.append(line)
        if self.dst is not None and out:
            self.dst.write("".join(out).encode("utf-8"))
        return line_no

    def _line(self, n: int, raw: bytes) -> str | None:
        plan = self.plan
        assert plan is not None
        report = self.report
        text, problem = decode_line(raw)
        if problem:
            report.add(n, None, text, problem)
        if not text:
            report.add(n, None, "", "empty line: remove it")
            return None
        report.rows += 1
        parts = text.split("|")
        key = line_key(plan.key_index, parts)
        if key:
            self.keys.add(key, n)
        nparts = len(parts)
        if nparts == plan.ncols + 1 and parts[-1] == "":
            report.add(n, None, "..." + text[-24:], "the line ends with |: remove the trailing "
                       "separator")
            parts.pop()
            nparts -= 1
        if not plan.min_fields <= nparts <= plan.ncols:
            want = str(plan.ncols) if plan.min_fields == plan.ncols \
                else f"{plan.min_fields} to {plan.ncols}"
            what = "the header has" if self.layout.header else "this tracciato has"
            report.add(n, None, text, f"the line has {nparts} fields but {what} {want}: "
                       f"look for a | inside a text or a missing or extra field")
            return None
        for i, value in enumerate(parts):
            f = plan.fields[i]
            if f.is_valid(value):
                continue
            rule = f.problem(value)
            if rule is None:
                continue
            if self.truncate and f.kind == "C" and len(value) > f.length and not f.key_like \
                    and "|" not in value and "\r" not in value:
                report.warn(f"line {n}, column {f.name}: {len(value)} characters cut to "
                            f"{f.length}")
                parts[i] = value[:f.length]
                continue
            report.add(n, f.name, value, rule)
        if self.dst is None:
            return None
        return plan.out_line(parts)

    def finish(self, src: BinaryIO | None) -> None:
        """Report repeated keys (confirmed, with their first line, by a second pass over src)."""
        key_name = self.layout.key or "key"
        if not self.keys.needs_confirmation or self.plan is None:
            repeats = []
        elif src is not None:
            repeats = self.keys.confirm(_keys_of(src, self.plan, self.keys.candidates))
        else:
            repeats = self.keys.unconfirmed()
        for line, key, first in repeats:
            where = f"the one on line {first}" if first else "an earlier row"
            self.report.add(line, key_name, key, f"{key_name} {excerpt(key, 40)} repeats "
                            f"{where}; every row needs its own {key_name}")
        self.report.sort()


def line_key(key_index: int | None, parts: list[str]) -> str:
    """The key of a split line, '' when there is none (the same rule in both passes)."""
    if key_index is None or key_index >= len(parts):
        return ""
    key = parts[key_index]
    return key if key.strip() else ""


def _keys_of(src: BinaryIO, plan: _Plan, candidates: dict[str, int] | None,
             before_line: int | None = None) -> Iterator[tuple[int, str]]:
    """(line, key) from the start of src, with the same rule as the first pass.

    With candidates, only the keys among them (blocks without any are skipped whole);
    with before_line, only the lines before it.
    """
    src.seek(0)
    line_no = 0
    first = True
    header = plan.layout.header
    for block in iter_blocks(src):
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
                        and key.strip():
                    yield n, key
        else:
            for line in text.split("\n")[:-1]:
                line_no += 1
                if before_line is not None and line_no >= before_line:
                    return
                if line_no == 1 and header or not line:
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
                 max_errors: int = 1000) -> ValidationReport:
    """Validate src and write its canonical form to dst in one pass.

    The canonical form: UTF-8 with BOM, CRLF, header in layout order (the columns present,
    then allowed extras), DAT_ULT_MOD = 01011900000000. Discard dst unless report.valid.
    With length_policy="truncate" over-long text is cut and reported as a warning.
    """
    report = ValidationReport(layout=layout.name, max_errors=max_errors)
    seekable = _seekable(src)
    judge = _Judge(layout, report, dst=dst, length_policy=length_policy,
                   size_hint=_size_of(src) if seekable else None)
    judge.run(src)
    judge.finish(src if seekable else None)
    return report


def validate_stream(src: BinaryIO, layout: Layout, *, max_errors: int = 1000,
                    length_policy: str = "error") -> ValidationReport:
    """Validate a binary stream (read twice when it is seekable and keys may repeat)."""
    report = ValidationReport(layout=layout.name, max_errors=max_errors)
    seekable = _seekable(src)
    judge = _Judge(layout, report, dst=None, length_policy=length_policy,
                   size_hint=_size_of(src) if seekable else None)
    judge.run(src)
    judge.finish(src if seekable else None)
    return report


def validate_file(path: Path, layout: Layout | None = None, *,
                  max_errors: int = 1000) -> ValidationReport:
    """Judge one file; the layout comes from the file name unless given."""
    path = Path(path)
    if layout is None:
        layout = layout_for_filename(path.name)
        if layout is None:
            report = ValidationReport(layout=None, max_errors=max_errors)
            report.add(0, None, path.name, "unknown file name: a tracciato is named "
                       "io_<entity>.dat (e.g. io_clifor_gen.dat); `connector layouts` lists them")
            return report
    with open(path, "rb") as src:
        return validate_stream(src, layout, max_errors=max_errors)


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


__all__ = ["canonicalize", "validate_file", "validate_stream", "iter_raw_lines", "decode_line",
           "SECTION"]
