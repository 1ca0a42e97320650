"""Every file a public writer produces is accepted and published with every column.

The files come from fidelity_corpus.py (one Sample per writer and file, its source noted
in it; README.md here explains the writers). Accepted files go through the real export
pipeline into a real Dropbox folder, one run per writer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fidelity_corpus import ACCEPTED, ALL, DOCS, LEGACY, REFUSED, SHAPES, Sample

from formats import DAT_ULT_MOD_VALUE, all_layouts, validate_file
from tests.export.conftest import running_export, wait_for

WIDER = SHAPES + DOCS[:2]  # values longer or more precise than documented
BOM = b"\xef\xbb\xbf"


def _case(s: Sample) -> object:
    return pytest.param(s, id=s.id)


def _published(root: Path, s: Sample) -> Path:
    folder = {"io_catalogo": "multimedia", "io_reports": "reports"}.get(s.layout.name,
                                                                       "gestionale")
    return root / "Dropbox" / "ACME" / folder / s.file


def _assert_whole(s: Sample, published: Path) -> None:
    """The published copy keeps every column of the source, by name, order and value."""
    data = published.read_bytes()
    assert data.startswith(BOM)
    lines = data[len(BOM):].decode("utf-8").split("\r\n")
    assert lines.pop() == ""
    source = s.text().split(s.eol)[:-1]
    head, out_head = source[0].split("|"), lines[0].split("|")
    assert out_head[:len(head)] == head, s.id
    assert out_head[len(head):] in ([], ["DAT_ULT_MOD"]), s.id  # added only where documented
    assert len(lines) == len(source), s.id
    dum = out_head.index("DAT_ULT_MOD") if "DAT_ULT_MOD" in out_head else None
    for src, out in zip(source[1:], lines[1:], strict=True):
        pairs = zip(head, src.split("|"), out.split("|")[:len(head)], strict=True)
        assert [(n, a) for n, a, b in pairs if a != b and n != "DAT_ULT_MOD"
                and not _repaired(n, a, b)] == [], s.id
        assert dum is None or out.split("|")[dum] == DAT_ULT_MOD_VALUE, s.id  # §1 rule 6


def _repaired(name: str, source: str, published: str) -> bool:
    """The one repair issue 13 allows: a coordinate's decimal comma published as a dot."""
    return name in ("LATITUDINE", "LONGITUDINE") and source.replace(",", ".") == published


def test_the_corpus_covers_every_layout() -> None:
    assert {s.layout.name for s in ALL} == {layout.name for layout in all_layouts()}
    for writer in ("AMH", "CIB", "CIC"):
        files = [s.file for s in ACCEPTED if s.writer == writer]
        assert len(files) == len(set(files)), writer  # one accepted file per layout
    assert all(s.source for s in ALL)


@pytest.mark.parametrize("sample", [_case(s) for s in ACCEPTED + LEGACY + WIDER])
def test_a_writers_file_is_accepted(sample: Sample, tmp_path: Path) -> None:
    path = tmp_path / sample.file
    path.write_bytes(sample.data())
    report = validate_file(path)
    assert report.layout == sample.layout.name
    assert report.valid, report.to_text(f"{sample.id} ({sample.source})")
    if sample.departs:  # published as written, and the departure is reported
        assert report.warning_count > 0, sample.departs
    assert report.rows == len(sample.text().split(sample.eol)) - 1 - bool(sample.header)


@pytest.mark.parametrize("writer", ["AMH", "CIB", "CIC", "DOCS"])
def test_every_file_of_a_writer_is_published_whole(writer: str, tmp_path: Path,
                                                   config_factory) -> None:  # type: ignore[no-untyped-def]
    samples = [s for s in ACCEPTED if s.writer == writer]
    export = tmp_path / "export"
    export.mkdir()
    for s in samples:
        (export / s.file).write_bytes(s.data())
    with running_export(config_factory()):
        for s in samples:
            wait_for(lambda s=s: _published(tmp_path, s).exists()
                     and not (export / s.file).exists(), timeout=90)
    assert not (tmp_path / "quarantine").exists() or not any((tmp_path / "quarantine").iterdir())
    for s in samples:
        _assert_whole(s, _published(tmp_path, s))


@pytest.mark.parametrize("sample", [_case(s) for s in WIDER])
def test_a_file_with_wider_values_is_published_whole(sample: Sample, tmp_path: Path,
                                                     config_factory) -> None:  # type: ignore[no-untyped-def]
    export = tmp_path / "export"
    export.mkdir()
    (export / sample.file).write_bytes(sample.data())
    report = tmp_path / "quarantine" / f"{sample.file}.errors.txt"
    with running_export(config_factory()):
        wait_for(lambda: _published(tmp_path, sample).exists() or report.exists(), timeout=60)
    assert not report.exists(), report.read_text(encoding="utf-8")
    _assert_whole(sample, _published(tmp_path, sample))


def test_the_catalog_example_s_date_in_dat_ult_mod_is_a_repair_warning(tmp_path: Path) -> None:
    """DI's catalog example writes DAT_ULT_MOD as 01012010: the value never reaches
    AppManager (the constant is published), so it is repaired, not refused."""
    sample = next(s for s in SHAPES if s.id == "DOCS-io_catalogo-dum8")
    path = tmp_path / sample.file
    path.write_bytes(sample.data())
    report = validate_file(path)
    assert report.valid and [(w.line, w.column, w.rule) for w in report.warnings] == [
        (2, "DAT_ULT_MOD", "DAT_ULT_MOD '01012010' is not ddmmyyyyhhmmss: published as "
                           "01011900000000")]
    strict = validate_file(path, strict=True)
    assert not strict.valid and "strict mode" in strict.violations[0].rule


@pytest.mark.parametrize("sample", [pytest.param(s, id=s.id) for s in REFUSED])
def test_a_writers_bug_is_still_refused(sample: Sample, tmp_path: Path) -> None:
    path = tmp_path / sample.file
    path.write_bytes(sample.data())
    report = validate_file(path)
    assert not report.valid
    assert any(sample.refused in v.rule for v in report.violations), report.to_text(sample.id)


def test_the_readme_matches_the_corpus() -> None:
    """README.md here describes this corpus: its size, each list's count, every sample
    with a wider value by its id; no longer the xfail marks the judge made obsolete."""
    from collections import Counter

    text = (Path(__file__).parent / "README.md").read_text(encoding="utf-8")
    assert f"holds {len(ALL)} samples" in text
    by_writer = Counter(s.writer for s in ACCEPTED)
    assert f"| {len(ACCEPTED)}: " + ", ".join(
        f"{w} {n}" for w, n in by_writer.most_common()) in text
    assert f"| {len(LEGACY)}: " in text and f"| 2 + {len(SHAPES)} " in text
    for s in WIDER:
        assert f"`{s.id}`" in text, s.id
    assert all(s.file in text for s in REFUSED)
    assert "xfail" not in text
