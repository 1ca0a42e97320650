"""`connector validate` speaks the configured language (`locale: it | en`, else the
system's), applies the configuration's export.dialects to CSV files, and keeps --json as
it is in every language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.cli import main

HEADER = "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|PROVINCIA|DAT_ULT_MOD"
DIALECT = {"match": "comuni*.csv", "layout": "io_citta", "delimiter": ";",
           "columns": {"Codice": "CODICE", "Comune": "DESCRIZIONE", "Prov": "PROVINCIA"}}


@pytest.fixture
def bad_citta(tmp_path: Path) -> Path:
    path = tmp_path / "io_citta.dat"
    rows = [f"ACME§K{i}|ACME| |X|PD|01011900000000" for i in range(3)]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("locale", "heading", "summary"), [
    ("it", "NON VALIDO (io_citta), 3 problemi in 3 righe", "righe 2, 3, 4"),
    ("en", "INVALID (io_citta), 3 problems in 3 rows", "lines 2, 3, 4"),
])
def test_validate_speaks_the_configured_language(config_file, bad_citta: Path, locale: str,
                                                 heading: str, summary: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config_file(locale=locale)
    assert main(["--config", str(cfg), "validate", str(bad_citta)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == f"{bad_citta}: {heading}" and summary in out
    assert err == ""


def test_without_a_configuration_validate_speaks_the_systems_language(
        bad_citta: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path / "..")  # no ./connector.yaml here
    monkeypatch.setenv("LANG", "it_IT.UTF-8")
    assert main(["validate", str(bad_citta)]) == 1
    assert "NON VALIDO" in capsys.readouterr().out
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main(["validate", str(bad_citta)]) == 1
    assert "INVALID (io_citta)" in capsys.readouterr().out


def test_json_is_the_same_in_every_language(config_file, bad_citta: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for locale in ("it", "en"):
        cfg = config_file(locale=locale)
        assert main(["--config", str(cfg), "validate", "--json", str(bad_citta)]) == 1
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0] == outs[1]
    assert outs[0]["files"][0]["violations"][0]["rule"] == \
        "CODICE is required and must not be empty"


def test_validate_applies_the_configurations_dialects(config_file, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config_file(export={"dialects": [DIALECT]})
    good = tmp_path / "comuni_2026.csv"
    good.write_text("Codice;Comune;Prov\r\nA1;Forlì;FC\r\nA2;Lodi;LO\r\n", encoding="utf-8")
    bad = tmp_path / "comuni_2027.csv"
    bad.write_text("Codice;Comune;Prov\r\nA1;Forlì;FC\r\nA1;Lodi;LO\r\n", encoding="utf-8")
    assert main(["--config", str(cfg), "validate", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: valid io_citta file, 2 rows\n"
    assert main(["--config", str(cfg), "validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{bad}: INVALID (io_citta), 1 problem in 2 rows")
    assert "CHIAVE ACME§A1 repeats the one of CSV line 2" in out and "comuni*.csv" not in out
    assert main(["--config", str(cfg), "validate", "--json", str(bad)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["files"][0]["dialect"] == "comuni*.csv" and data["files"][0]["file"] == str(bad)
    # without a configuration, a CSV is no tracciato
    monkeypatch.chdir(tmp_path / "..")
    assert main(["validate", str(good)]) == 1
    assert "unknown file name" in capsys.readouterr().out


def test_a_broken_implicit_configuration_is_noted_for_csv_files_only(
        tmp_path: Path, bad_citta: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "connector.yaml").write_text("company: [\n", encoding="utf-8")
    assert main(["validate", str(bad_citta)]) == 1
    assert capsys.readouterr().err == ""
    csv = tmp_path / "comuni.csv"
    csv.write_text("Codice;Comune\r\n", encoding="utf-8")
    assert main(["validate", str(csv)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("connector: connector.yaml not used (it is not valid: ") and \
        "judged without its export.dialects" in err
