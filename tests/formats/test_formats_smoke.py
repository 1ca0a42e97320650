"""The spec's own io_citta example, and the core API the export pipeline calls."""

from __future__ import annotations

import io
from pathlib import Path

from formats import canonicalize, get_layout, layout_for_filename, read_records, validate_file

CITTA = ("CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\n"
         "ACMNE§A001|ACMNE|A001|ABANO TERME|35031|PD|01011900000000\n")


def test_spec_example_of_io_citta_validates(tmp_path: Path) -> None:
    path = tmp_path / "io_citta.dat"
    path.write_text(CITTA, encoding="utf-8")
    report = validate_file(path)
    assert report.valid, report.to_text(path.name)
    assert report.rows == 1
    assert report.layout == "io_citta"


def test_canonical_form_has_bom_crlf_and_the_constant_date() -> None:
    dst = io.BytesIO()
    report = canonicalize(io.BytesIO(CITTA.encode()), dst, get_layout("io_citta"))
    assert report.valid
    assert dst.getvalue() == ("\ufeff" + CITTA.replace("\n", "\r\n")).encode()
    dst.seek(0)
    assert next(iter(read_records(dst, get_layout("io_citta"))))["CHIAVE"] == "ACMNE§A001"


def test_layout_for_filename_is_case_insensitive() -> None:
    layout = layout_for_filename("IO_CLIFOR_GEN.DAT")
    assert layout is not None and layout.name == "io_clifor_gen"
    assert layout_for_filename("io_nothing.dat") is None
