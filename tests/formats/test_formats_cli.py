"""connector validate | layouts | template, run as the user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from connector.cli import main

GOOD = ("CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\r\n"
        "ACMNE§A001|ACMNE|A001|ABANO TERME|35031|PD|01011900000000\r\n")
BAD = GOOD + "ACMNE§A002|ACMNE|A002|PADOVA|35100|PDX|31022013000000\r\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    good = tmp_path / "good" / "io_citta.dat"
    bad = tmp_path / "bad" / "io_citta.dat"
    for path, text in ((good, GOOD), (bad, BAD)):
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8", newline="")
    return good, bad


def test_validate_valid_file_exits_0(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    assert main(["validate", str(files[0])]) == 0
    assert "valid io_citta file, 1 rows" in capsys.readouterr().out


def test_validate_invalid_file_exits_1_with_every_problem(
        files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(files[0]), str(files[1])]) == 1
    out = capsys.readouterr().out
    assert "INVALID (io_citta), 2 problems in 2 rows" in out
    assert "line 3, column PROVINCIA, value 'PDX'" in out
    assert "line 3, column DAT_ULT_MOD, value '31022013000000'" in out


def test_validate_json(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", str(files[0]), str(files[1])]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False
    assert [f["valid"] for f in doc["files"]] == [True, False]
    assert doc["files"][1]["violations"][0] == {
        "line": 3, "column": "PROVINCIA", "value": "PDX",
        "rule": "text is 3 characters long; the maximum for PROVINCIA is 2"}


def test_validate_usage_errors_exit_2(files: tuple[Path, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "missing.dat")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["validate", "--layout", "io_nope", str(files[0])]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["validate"])
    assert exc.value.code == 2


def test_validate_with_layout_for_an_unusual_name(tmp_path: Path) -> None:
    path = tmp_path / "citta_export.txt"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["validate", str(path)]) == 1  # unknown file name
    assert main(["validate", "--layout", "io_citta", str(path)]) == 0


def test_layouts_and_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layouts"]) == 0
    out = capsys.readouterr().out
    assert "* io_clifor_gen" in out and "AM_ORD" in out and "io_info" in out
    assert main(["layouts", "io_citta"]) == 0
    assert "PROVINCIA C2 text" in capsys.readouterr().out
    assert main(["template", "io_citta"]) == 0
    assert capsys.readouterr().out == (
        "CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\n"
        "ACME§A001|ACME|A001|Example text|35031|PD|01011900000000\n")
    assert main(["template", "io_nope"]) == 2
    assert "unknown layout 'io_nope'" in capsys.readouterr().err


def test_the_real_command_line(files: tuple[Path, Path]) -> None:
    cmd = [sys.executable, "-m", "connector", "validate", str(files[1])]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "PROVINCIA" in done.stdout and done.stderr == ""


def test_layouts_fields_show_types_lengths_aliases_and_sources(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layouts", "io_art_ultacq", "--fields"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("io_art_ultacq  (io_art_ultacq.dat)")
    assert any(line.split()[:2] == ["CIB", "BEIEIBUS.vb"] for line in lines)
    valuta = next(line for line in lines if " VALUTA " in line).split()
    assert valuta[1:5] == ["VALUTA", "C4", "4", "COD_VALUTA"]
    assert valuta[5:] == ["IW", "AMH", "CIB", "CIC"]
    num_doc = next(line for line in lines if " NUM_DOC " in line).split()
    assert num_doc[2:5] == ["I7", "7", "digits"]
    assert main(["layouts", "io_clifor_scadoc", "--fields"]) == 0
    out = capsys.readouterr().out
    assert "NUM_REG" in out and "required,key" in out
    flg = next(line for line in out.splitlines() if " FLG_DA_LIB " in line).split()
    assert flg[2:] == ["?", "-", "AMH", "CIB", "CIC"]
    assert main(["layouts", "--fields"]) == 0
    every = capsys.readouterr().out
    assert "io_attivita  (io_attivita.dat)" in every and "AM_CF_NOTE" in every


def test_layouts_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layouts", "io_clifor_gen", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "io_clifor_gen" and data["sources"] == ["IW", "AMH", "CIB", "CIC"]
    zona = next(f for f in data["fields"] if f["name"] == "ZONA")
    assert zona["aliases"] == ["DES_ZONA"] and zona["documented"] == "255"
    assert zona["sources"] == ["IW", "AMH", "CIB", "CIC"] and zona["key_like"] is False
    lat = next(f for f in data["fields"] if f["name"] == "LATITUDINE")
    assert (lat["type"], lat["length"], lat["scale"]) == ("L50,6", 50, 6)
    pec = next(f for f in data["fields"] if f["name"] == "PEC")
    assert pec["typed"] is False and pec["type"] == "?" and pec["sources"] == ["AMH"]
    assert main(["layouts", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in summary} >= {"io_attivita", "io_tipi_attivita", "AM_ORD"}
    assert all("fields" not in d for d in summary)
    assert main(["layouts", "--fields", "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert len(full) == len(summary) and all(d["fields"] for d in full)
    assert main(["layouts", "io_nope", "--json"]) == 2
