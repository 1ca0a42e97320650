"""connector validate | layouts | template, run as the user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from service.cli import main

GOOD = ("CHIAVE|COD_DITTA|CODICE|DESCRIZIONE|CAP|PROVINCIA|DAT_ULT_MOD\r\n"
        "ACMNE§A001|ACMNE|A001|ABANO TERME|35031|PD|01011900000000\r\n")
BAD = GOOD + "ACMNE§A002|ACMNE| |PADOVA|35100|PDX|01011900000000\r\n"
WARNED = GOOD + "ACMNE§A003|ACMNE|A003|ESTE|35042|PDX|01011900000000\r\n"


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
    assert "INVALID (io_citta), 1 problem in 2 rows, 1 warning" in out
    assert "  line 3, column CODICE, value ' ': CODICE is required" in out
    assert "  warning: line 3, column PROVINCIA, value 'PDX'" in out


def test_validate_json(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", str(files[0]), str(files[1])]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False and doc["strict"] is False
    assert [f["valid"] for f in doc["files"]] == [True, False]
    assert doc["files"][1]["violations"] == [{
        "line": 3, "column": "CODICE", "value": " ",
        "rule": "CODICE is required and must not be empty", "severity": "error"}]
    assert doc["files"][1]["warnings"] == [{
        "line": 3, "column": "PROVINCIA", "value": "PDX",
        "rule": "text is 3 characters long; PROVINCIA is documented up to 2: published as "
                "written", "severity": "warning"}]


def test_validate_exits_0_with_warnings_only_and_1_with_strict(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "io_citta.dat"
    path.write_text(WARNED, encoding="utf-8", newline="")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "valid io_citta file, 2 rows, 1 warning" in out and "warning: line 3" in out
    assert main(["validate", "--strict", "--json", str(path)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["strict"] is True and doc["files"][0]["warnings"] == []
    v = doc["files"][0]["violations"][0]
    assert (v["line"], v["column"], v["severity"]) == (3, "PROVINCIA", "error")


def test_validate_max_errors_keeps_the_first_lines(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The repeat on line 3 is found last; it is still the first one listed."""
    rows = ["ACMNE§A001|ACMNE|A001|X|1|PD|01011900000000",
            "ACMNE§A001|ACMNE|A002|X|1|PD|01011900000000",
            "ACMNE§A003|ACMNE| |X|1|PD|01011900000000",
            "ACMNE§A004|ACMNE| |X|1|PD|01011900000000"]
    path = tmp_path / "io_citta.dat"
    path.write_text(GOOD.splitlines()[0] + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert main(["validate", "--max-errors", "2", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    listed = lines[lines.index("Line by line:") + 1:]  # after the summary of repeated rules
    assert [ln.split(",")[0].strip() for ln in listed[:2]] == ["line 3", "line 4"]
    assert listed[2] == "  ... and 1 more"


def test_validate_usage_errors_exit_2(files: tuple[Path, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "missing.dat")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["validate", "--layout", "io_nope", str(files[0])]) == 2
    for argv in (["validate"], ["validate", "--max-errors", "-1", str(files[0])]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
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


def test_validate_file_tells_how_far_it_has_read(files: tuple[Path, Path]) -> None:
    from formats.validate import validate_file

    seen: list[tuple[int, int]] = []
    watched = validate_file(files[1], on_read=lambda done, size: seen.append((done, size)))
    plain = validate_file(files[1])
    size = files[1].stat().st_size
    assert seen and seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # one pass: it only grows
    assert watched.to_dict() == plain.to_dict()  # the same judgement
