"""A CSV export of the ERP's own shape, turned into a canonical tracciato on the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.errors import ConfigError
from tests.export.conftest import running_export, wait_for

DIALECT = {
    "match": "comuni*.csv",
    "layout": "io_citta",
    "delimiter": ";",
    "encoding": "cp1252",
    "columns": {"Codice": "CODICE", "Comune": "DESCRIZIONE", "Cap": "CAP", "Prov": "PROVINCIA"},
    "defaults": {"CHIAVE": "{COD_DITTA}§{CODICE}"},
}


def test_csv_dialect_is_published_as_canonical_tracciato(tmp_path: Path, config_factory,
                                                          gestionale) -> None:
    cfg = config_factory(export={"dialects": [DIALECT]})
    export = tmp_path / "export"
    export.mkdir()
    csv = 'Codice;Comune;Cap;Prov\r\nA001;"Forlì";47121;FC\r\nA002;"Sant\'Angelo; Lodigiano";26866;LO\r\n'
    with running_export(cfg):
        (export / "comuni_2026.csv").write_bytes(csv.encode("cp1252"))
        out = wait_for(lambda: (gestionale / "io_citta.dat").exists() and gestionale / "io_citta.dat")
        wait_for(lambda: not (export / "comuni_2026.csv").exists())
    lines = out.read_bytes().decode("utf-8-sig").split("\r\n")
    header = lines[0].split("|")
    rows = [dict(zip(header, ln.split("|"), strict=True)) for ln in lines[1:] if ln]
    assert rows[0]["CHIAVE"] == "ACME§A001" and rows[0]["DESCRIZIONE"] == "Forlì"
    assert rows[1]["DESCRIZIONE"] == "Sant'Angelo; Lodigiano"
    assert all(r["COD_DITTA"] == "ACME" for r in rows)


def test_bad_csv_is_quarantined_naming_csv_line(tmp_path: Path, config_factory) -> None:
    cfg = config_factory(export={"dialects": [DIALECT]})
    export = tmp_path / "export"
    export.mkdir()
    csv = "Codice;Comune;Cap;Prov\r\nA001;Forli;47121;FC\r\nA001;Lodi;26900;LO\r\n"
    with running_export(cfg):
        (export / "comuni.csv").write_bytes(csv.encode("cp1252"))
        report = wait_for(lambda: (tmp_path / "quarantine" / "comuni.csv.errors.txt").exists()
                          and tmp_path / "quarantine" / "comuni.csv.errors.txt")
    text = report.read_text(encoding="utf-8")
    assert "line 3" in text and "CHIAVE ACME§A001 repeats the one of CSV line 2" in text


def test_check_config_reports_dialect_problems(tmp_path: Path, config_factory) -> None:
    bad = dict(DIALECT, layout="io_citta", columns={"Codice": "CODICE_X"}, encoding="klingon")
    with pytest.raises(ConfigError) as info:
        config_factory(export={"dialects": [bad]})
    errors = "\n".join(info.value.errors)
    assert "export.dialects[0].columns.Codice: io_citta has no field CODICE_X" in errors
    assert "export.dialects[0].encoding" in errors
