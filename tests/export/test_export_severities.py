"""Errors and warnings through the export pipeline, on real folders: a file error refuses
the whole file; row errors hold those rows back in quarantine and publish the rest; too
many bad rows refuse the whole file; warnings are published and shown by `status`."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from connector import status as st
from connector.app import build_publisher
from connector.config import Config
from connector.export.journal import ExportJournal
from connector.export.pipeline import ExportPipeline
from connector.state import StateStore
from tests.export.conftest import CITTA_HEADER, citta_file


def _pipeline(cfg: Config) -> ExportPipeline:
    store = StateStore(cfg.state_dir)
    return ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event()))


def _drop(export: Path, name: str, data: bytes) -> None:
    export.mkdir(exist_ok=True)
    (export / name).write_bytes(data)


def _status(cfg: Config) -> str:
    return st.render(st.collect(cfg, StateStore(cfg.state_dir)))


def _held_dirs(tmp_path: Path) -> list[Path]:
    base = tmp_path / "quarantine" / "held-back"
    return sorted(base.iterdir()) if base.is_dir() else []


def _rows(n: int = 30) -> list[str]:
    return citta_file(n).decode("utf-8").split("\r\n")[1:-1]


def _file(rows: list[str]) -> bytes:
    return ("\r\n".join([CITTA_HEADER, *rows]) + "\r\n").encode("utf-8", "surrogateescape")


def test_a_file_error_refuses_the_whole_file(tmp_path: Path, config_factory, gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    _drop(export, "io_citta.dat", _file(_rows()).replace(b"|COD_DITTA|", b" | COD_DITTA|"))
    result = _pipeline(cfg).process(["io_citta.dat"])
    assert [o.outcome for o in result.outcomes] == ["quarantined"]
    assert not (gestionale / "io_citta.dat").exists()
    report = (tmp_path / "quarantine" / "io_citta.dat.errors.txt").read_text(encoding="utf-8")
    assert "line 1" in report and "must not contain spaces" in report
    assert "Nothing of this file was published" in report
    assert _held_dirs(tmp_path) == []



def test_a_refused_file_says_its_warnings_did_not_refuse_it(tmp_path: Path, config_factory,
                                                            gestionale) -> None:
    cfg = config_factory()
    rows = _rows()
    rows[2] = rows[2].replace("|PD|", "|PDV|")  # a warning: longer than documented
    _drop(tmp_path / "export", "io_citta.dat",
          _file(rows).replace(b"|COD_DITTA|", b" | COD_DITTA|"))  # a file error
    result = _pipeline(cfg).process(["io_citta.dat"])
    assert [o.outcome for o in result.outcomes] == ["quarantined"]
    report = (tmp_path / "quarantine" / "io_citta.dat.errors.txt").read_text(encoding="utf-8")
    assert "warning: line 4, column PROVINCIA" in report
    assert ("Nothing of this file was published. The warning above did not refuse the file: "
            "once the errors are fixed, that value is published as written.") in report


ROW_ERRORS = {
    "repeated CHIAVE": lambda r: r[4],
    "text over the 4000 cap": lambda r: r.replace("|PD|", "|" + "P" * 4001 + "|"),
    "undecodable byte": lambda r: r.replace("CITTA", "FORL\udcec"),
    "missing field": lambda r: r.rsplit("|", 1)[0],
    "trailing pipe": lambda r: r + "|",
    "empty entity code": lambda r: "|".join("" if i == 2 else p
                                            for i, p in enumerate(r.split("|"))),
    "blank line": lambda r: "",
}


@pytest.mark.parametrize("case", sorted(ROW_ERRORS))
def test_row_errors_are_held_back_and_the_rest_is_published(
        tmp_path: Path, config_factory, gestionale, case: str) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    rows = _rows(30)
    bad = ROW_ERRORS[case](rows[19])
    rows[19] = bad  # line 21 of the file
    dropped = _file(rows)
    _drop(export, "io_citta.dat", dropped)
    result = _pipeline(cfg).process(["io_citta.dat"])
    assert [o.outcome for o in result.outcomes] == ["published"]
    good = [r for i, r in enumerate(_rows(30)) if i != 19]
    published = (gestionale / "io_citta.dat").read_bytes()
    assert published == b"\xef\xbb\xbf" + _file(good), case
    [held_dir] = _held_dirs(tmp_path)
    held = held_dir / "io_citta.dat"
    assert held.read_bytes() == (CITTA_HEADER + "\r\n" + bad + "\r\n").encode(
        "utf-8", "surrogateescape")
    report = (held_dir / "io_citta.dat.errors.txt").read_text(encoding="utf-8")
    assert "line 2 (line 21 of the dropped file)" in report
    assert "the other 29 row(s) were published" in report
    assert not (export / "io_citta.dat").exists()  # archived: nothing is lost
    assert [p.read_bytes() for p in (tmp_path / "archive").rglob("io_citta.dat")] == [dropped]
    status = _status(cfg)
    assert "gestionale/io_citta.dat: published 29 rows, held back 1" in status
    assert str(held) in status


def test_fixed_held_rows_dropped_again_are_published(tmp_path: Path, config_factory,
                                                     gestionale) -> None:
    """AppManager took the earlier file: the fixed rows are published as they are."""
    cfg = config_factory()
    export = tmp_path / "export"
    rows = _rows(30)
    rows[5] = rows[5].replace("|PD|", "|" + "P" * 4001 + "|")  # text over the cap
    _drop(export, "io_citta.dat", _file(rows))
    _pipeline(cfg).process(["io_citta.dat"])
    (gestionale / "io_citta.dat").unlink()  # AppManager imported it
    [held_dir] = _held_dirs(tmp_path)
    fixed = (held_dir / "io_citta.dat").read_bytes().replace(b"P" * 4001, b"PD")
    _drop(export, "io_citta.dat", fixed)  # the clerk fixes the held file and drops it again
    result = _pipeline(cfg).process(["io_citta.dat"])
    assert [o.outcome for o in result.outcomes] == ["published"]
    assert (gestionale / "io_citta.dat").read_bytes() == b"\xef\xbb\xbf" + _file([_rows(30)[5]])
    assert "held back" not in _status(cfg)
    assert not list((cfg.state_dir / "export" / "partial").rglob("*.dat*"))


def test_fixed_rows_dropped_before_appmanager_took_the_file_keep_the_good_rows(
        tmp_path: Path, config_factory, gestionale) -> None:
    """The earlier publish is still waiting at the destination: the fixed rows are merged
    into it by CHIAVE, never published alone over it (the good rows would be lost). One
    row fixed at a time: the rows still held back stay out until they are fixed too."""
    # A held file of 2 rows with 1 still bad is 50% bad: allowed here, to hold it again.
    cfg = config_factory(export={"max_bad_rows": {"count": 100, "percent": 50}})
    export = tmp_path / "export"
    rows = _rows(30)
    rows[5] = rows[5].replace("|PD|", "|" + "P" * 4001 + "|")
    rows[9] = rows[9] + "|"
    _drop(export, "io_citta.dat", _file(rows))
    _pipeline(cfg).process(["io_citta.dat"])
    good = [r for i, r in enumerate(_rows(30)) if i not in (5, 9)]
    assert (gestionale / "io_citta.dat").read_bytes() == b"\xef\xbb\xbf" + _file(good)
    [held_dir] = _held_dirs(tmp_path)
    held = (held_dir / "io_citta.dat").read_bytes()
    _drop(export, "io_citta.dat", held.replace(b"P" * 4001, b"PD"))  # only one fixed
    result = _pipeline(cfg).process(["io_citta.dat"])
    assert [(o.outcome, o.rows) for o in result.outcomes] == [("published", 29)]
    assert (gestionale / "io_citta.dat").read_bytes() == (
        b"\xef\xbb\xbf" + _file([_rows(30)[5]] + good))
    # The other one fixed as well, still before AppManager ran: every row is there.
    _drop(export, "io_citta.dat", _file([_rows(30)[9]]))
    result = _pipeline(cfg).process(["io_citta.dat"])
    assert [(o.outcome, o.rows) for o in result.outcomes] == [("published", 30)]
    published = (gestionale / "io_citta.dat").read_bytes().decode("utf-8-sig")
    assert sorted(published.split("\r\n")[1:-1]) == sorted(_rows(30))
    # Nothing held back any more: the next file replaces the destination as before.
    assert not list((cfg.state_dir / "export" / "partial").rglob("*.dat*"))
    _drop(export, "io_citta.dat", _file(_rows(3)))
    _pipeline(cfg).process(["io_citta.dat"])
    assert (gestionale / "io_citta.dat").read_bytes() == b"\xef\xbb\xbf" + _file(_rows(3))


def test_a_new_value_of_a_published_row_wins_in_the_merge(tmp_path: Path, config_factory,
                                                          gestionale) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    rows = _rows(30)
    rows[1] = rows[1] + "|"
    _drop(export, "io_citta.dat", _file(rows))
    _pipeline(cfg).process(["io_citta.dat"])
    changed = _rows(30)[0].replace("CITTA 1|", "CITTA UNO|")
    _drop(export, "io_citta.dat", _file([changed, _rows(30)[1]]))
    _pipeline(cfg).process(["io_citta.dat"])
    published = (gestionale / "io_citta.dat").read_bytes().decode("utf-8-sig").split("\r\n")
    assert published[1:-1] == [changed, _rows(30)[1], *_rows(30)[2:]]


def test_the_same_rows_held_again_go_to_the_same_place(tmp_path: Path, config_factory) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    rows = _rows(30)
    rows[2] = rows[2] + "|"
    for _ in range(2):  # the ERP exports the same file again, bad row included
        _drop(export, "io_citta.dat", _file(rows))
        _pipeline(cfg).process(["io_citta.dat"])
    assert len(_held_dirs(tmp_path)) == 1


@pytest.mark.parametrize(("bad", "settings", "why"), [
    (4, {"count": 3, "percent": 50}, "more than export.max_bad_rows"),
    (4, {"count": 100, "percent": 10}, "at most 100 rows and 10% of the file"),
    (1, {"count": 0, "percent": 10}, "more than export.max_bad_rows"),
])
def test_too_many_bad_rows_refuse_the_whole_file(tmp_path: Path, config_factory, gestionale,
                                                 bad: int, settings: dict[str, float],
                                                 why: str) -> None:
    cfg = config_factory(export={"max_bad_rows": settings})
    export = tmp_path / "export"
    rows = _rows(30)
    for i in range(bad):
        rows[i * 3] += "|"
    _drop(export, "io_citta.dat", _file(rows))
    result = _pipeline(cfg).process(["io_citta.dat"])
    assert [o.outcome for o in result.outcomes] == ["quarantined"]
    assert not (gestionale / "io_citta.dat").exists() and _held_dirs(tmp_path) == []
    report = (tmp_path / "quarantine" / "io_citta.dat.errors.txt").read_text(encoding="utf-8")
    assert why in report and (f"{bad} rows are bad" if bad > 1 else "1 row is bad") in report


GEN = ("CHIAVE|COD_DITTA|TIPO_CLIFOR|COD_CLIFOR|RAG_SOC|LATITUDINE|LONGITUDINE|SCO_PERC1|"
       "DAT_ULT_MOD")


def _gen(**values: str) -> bytes:
    row = {"CHIAVE": "ACME§0§C1", "COD_DITTA": "ACME", "TIPO_CLIFOR": "0", "COD_CLIFOR": "C1",
           "RAG_SOC": "ROSSI", "LATITUDINE": "45.4064", "LONGITUDINE": "11.8768",
           "SCO_PERC1": "5,5", "DAT_ULT_MOD": "01011900000000"}
    row.update(values)
    head = GEN + ("|NOTE_ERP" if "NOTE_ERP" in values else "")
    return (head + "\r\n" + "|".join(row[c] for c in head.split("|")) + "\r\n").encode()


WARNINGS = {
    "text longer than documented": ({"RAG_SOC": "R" * 256}, "256 characters long"),
    "more decimals than documented": ({"SCO_PERC1": "5,1234567"}, "7 decimals"),
    "more integer digits than documented": ({"TIPO_CLIFOR": "100"}, "3 digits"),
    "an extra column": ({"NOTE_ERP": "vip"}, "NOTE_ERP is not a column of io_clifor_gen"),
    "a coordinate with a decimal comma": ({"LATITUDINE": "45,4064"}, "published as 45.4064"),
}


@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_warnings_are_published_and_shown(tmp_path: Path, config_factory, gestionale,
                                          case: str) -> None:
    values, words = WARNINGS[case]
    cfg = config_factory()
    export = tmp_path / "export"
    _drop(export, "io_clifor_gen.dat", _gen(**values))
    result = _pipeline(cfg).process(["io_clifor_gen.dat"])
    assert [o.outcome for o in result.outcomes] == ["published"]
    out = (gestionale / "io_clifor_gen.dat").read_text(encoding="utf-8-sig")
    expected = {k: v.replace("45,4064", "45.4064") for k, v in values.items()}
    for value in expected.values():
        assert f"|{value}|" in out or out.splitlines()[1].endswith(f"|{value}")
    status = _status(cfg)
    assert "gestionale/io_clifor_gen.dat: published 1 rows, 1 warning(s)" in status
    assert words in status
    assert not (tmp_path / "quarantine").exists() or not any((tmp_path / "quarantine").iterdir())
    # strict: the same file is refused, with the warning as an error
    strict = config_factory(export={"strictness": "strict"})
    _drop(export, "io_clifor_gen.dat", _gen(**values))
    result = _pipeline(strict).process(["io_clifor_gen.dat"])
    assert [o.outcome for o in result.outcomes] == ["quarantined"]
    report = (tmp_path / "quarantine" / "io_clifor_gen.dat.errors.txt").read_text("utf-8")
    assert "an error in strict mode" in report


def test_a_clean_publish_clears_the_warnings_shown(tmp_path: Path, config_factory) -> None:
    cfg = config_factory()
    export = tmp_path / "export"
    _drop(export, "io_clifor_gen.dat", _gen(RAG_SOC="R" * 300))
    _pipeline(cfg).process(["io_clifor_gen.dat"])
    assert "1 warning(s)" in _status(cfg)
    _drop(export, "io_clifor_gen.dat", _gen())
    _pipeline(cfg).process(["io_clifor_gen.dat"])
    assert "warning" not in _status(cfg)
    journal = ExportJournal(StateStore(cfg.state_dir))
    assert [p["rows"] for p in journal.published()] == [1]


def test_check_config_validates_the_new_keys(config_factory) -> None:
    from connector.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        config_factory(export={"strictness": "very", "max_bad_rows": {"count": -1,
                                                                      "percent": 101}})
    errors = "\n".join(info.value.errors)
    assert "export.strictness: must be one of strict, lenient" in errors
    with pytest.raises(ConfigError) as info:
        config_factory(export={"max_bad_rows": {"count": -1, "percent": 101}})
    errors = "\n".join(info.value.errors)
    assert "export.max_bad_rows.count" in errors and "export.max_bad_rows.percent" in errors


DIALECT = {
    "match": "comuni*.csv", "layout": "io_citta", "delimiter": ";", "encoding": "cp1252",
    "columns": {"Codice": "CODICE", "Comune": "DESCRIZIONE", "Prov": "PROVINCIA"},
}


def test_bad_csv_rows_are_held_back_as_csv_rows(tmp_path: Path, config_factory,
                                                gestionale) -> None:
    cfg = config_factory(export={"dialects": [DIALECT]})
    export = tmp_path / "export"
    rows = [f"A{i:03d};Comune {i};PD" for i in range(1, 31)]
    rows[7] = 'A008;"Sant\'Angelo; Lodigiano";LO'
    rows[12] = "A002;Doppione;PD"  # the same code again: the same CHIAVE
    _drop(export, "comuni_2026.csv", ("Codice;Comune;Prov\r\n" + "\r\n".join(rows) + "\r\n")
          .encode("cp1252"))
    result = _pipeline(cfg).process(["comuni_2026.csv"])
    assert [o.outcome for o in result.outcomes] == ["published"]
    published = (gestionale / "io_citta.dat").read_text(encoding="utf-8-sig").splitlines()
    assert len(published) == 30 and "ACME§A008|ACME|A008|Sant'Angelo; Lodigiano|LO|" \
        "01011900000000" in published
    [held_dir] = _held_dirs(tmp_path)
    held = (held_dir / "comuni_2026.csv").read_bytes().decode("cp1252")
    assert held == "Codice;Comune;Prov\r\nA002;Doppione;PD\r\n"
    report = (held_dir / "comuni_2026.csv.errors.txt").read_text(encoding="utf-8")
    assert "line 2 (line 14 of the dropped file)" in report and "repeats" in report
    assert "gestionale/io_citta.dat: published 29 rows, held back 1" in _status(cfg)
    # fixed and dropped again, the held file goes through the same dialect
    _drop(export, "comuni_2026.csv", held.replace("A002;", "A031;").encode("cp1252"))
    result = _pipeline(cfg).process(["comuni_2026.csv"])
    assert [o.outcome for o in result.outcomes] == ["published"]


def test_export_once_exits_1_with_a_summary_when_rows_were_held_back(
        tmp_path: Path, config_file, capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    args = ["--config", str(config_file())]
    rows = _rows(30)
    rows[3] = rows[3] + "|"
    _drop(tmp_path / "export", "io_citta.dat", _file(rows))
    (tmp_path / "Dropbox" / "ACME").mkdir(parents=True, exist_ok=True)
    assert main([*args, "export", "--once", "--wait", "10"]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == ("published 1, unchanged 0, quarantined 0, rows held back 1 (in 1 "
                       "file(s); `connector status` says where)")
    _drop(tmp_path / "export", "io_citta.dat", _file(_rows(30)))
    assert main([*args, "export", "--once", "--wait", "10"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "published 1, unchanged 0, quarantined 0")
