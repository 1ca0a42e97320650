"""The reports written beside a quarantined file or held-back rows, through the export
pipeline on real folders: they name the file as it was dropped (never the glob of a dialect,
never the name of the copy in quarantine), and are written in the configured language."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from connector import i18n
from connector.app import build_publisher
from connector.config import Config
from connector.export.pipeline import ExportPipeline
from connector.state import StateStore
from tests.export.conftest import CITTA_HEADER, citta_file

DIALECT = {
    "match": "comuni*.csv", "layout": "io_citta", "delimiter": ";",
    "columns": {"Codice": "CODICE", "Comune": "DESCRIZIONE", "Prov": "PROVINCIA"},
}


@pytest.fixture
def italian() -> Iterator[None]:
    i18n.set_default("it")  # as service.runner does with `locale: it`
    try:
        yield
    finally:
        i18n.set_default("en")


def _pipeline(cfg: Config) -> ExportPipeline:
    store = StateStore(cfg.state_dir)
    return ExportPipeline(cfg, store, build_publisher(cfg, store, threading.Event()))


def _drop(cfg: Config, name: str, data: bytes) -> None:
    cfg.export.watch.mkdir(parents=True, exist_ok=True)
    (cfg.export.watch / name).write_bytes(data)


def _no_code(row: str) -> str:
    parts = row.split("|")
    parts[2] = " "  # CODICE, required
    return "|".join(parts)


def _bad_citta(rows: int = 30) -> bytes:
    body = citta_file(rows).decode("utf-8").split("\r\n")[1:-1]
    body = [_no_code(r) if i % 2 else r for i, r in enumerate(body)]
    return ("\r\n".join([CITTA_HEADER, *body]) + "\r\n").encode("utf-8")


def test_a_dialect_report_names_the_file_not_the_glob(config_factory) -> None:
    cfg = config_factory(export={"dialects": [DIALECT]})
    _drop(cfg, "comuni_2026.csv", b"Codice;Comune;Prov\r\nA1;Forli;FC\r\nA1;Lodi;LO\r\n"
                                  b";Senza codice;PD\r\n")
    result = _pipeline(cfg).process(["comuni_2026.csv"])
    assert [o.outcome for o in result.outcomes] in (["quarantined"], ["published"])
    reports = sorted(cfg.export.quarantine.rglob("*.errors.txt"))
    assert reports, "no report"
    text = reports[0].read_text(encoding="utf-8")
    assert "comuni_2026.csv" in text.splitlines()[0] and "comuni*.csv" not in text


def test_the_report_names_the_file_as_dropped_not_its_copy_in_quarantine(config_factory) -> None:
    cfg = config_factory(export={"max_bad_rows": {"count": 0, "percent": 0}})
    for _ in range(2):  # the second copy is "io_citta (2).dat" in quarantine
        _drop(cfg, "io_citta.dat", _bad_citta())
        assert [o.outcome for o in _pipeline(cfg).process(["io_citta.dat"]).outcomes] == [
            "quarantined"]
    second = cfg.export.quarantine / "io_citta (2).dat.errors.txt"
    assert second.is_file()
    assert second.read_text(encoding="utf-8").startswith("io_citta.dat: INVALID (io_citta), ")


def test_a_quarantine_report_in_italian(config_factory, italian) -> None:
    cfg = config_factory(export={"max_bad_rows": {"count": 0, "percent": 0}})
    _drop(cfg, "io_citta.dat", _bad_citta(30))
    [outcome] = _pipeline(cfg).process(["io_citta.dat"]).outcomes
    assert outcome.outcome == "quarantined"
    # the journal, the logs and `status` keep the English words support tooling greps
    assert (outcome.error or "").startswith("line 3, column CODICE, value ' ': CODICE is required")
    text = (cfg.export.quarantine / "io_citta.dat.errors.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "io_citta.dat: NON VALIDO (io_citta), 15 problemi in 30 righe"
    assert lines[1] == "Problemi per tipo, dal più frequente:"
    assert "righe 3, 5, 7 e altre 12" in lines[3]
    assert "CODICE è obbligatorio e non può essere vuoto" in lines[3]
    assert "Nessuna parte di questo file è stata pubblicata." in text
    assert "Correggere il file e copiarlo di nuovo nella cartella di esportazione." in text


def test_held_back_rows_report_in_italian(config_factory, italian) -> None:
    cfg = config_factory()
    body = citta_file(30).decode("utf-8").split("\r\n")[1:-1]
    body[4] = _no_code(body[4])
    _drop(cfg, "io_citta.dat", ("\r\n".join([CITTA_HEADER, *body]) + "\r\n").encode("utf-8"))
    assert [o.outcome for o in _pipeline(cfg).process(["io_citta.dat"]).outcomes] == [
        "published"]
    [report] = sorted((cfg.export.quarantine / "held-back").rglob("*.errors.txt"))
    text = report.read_text(encoding="utf-8")
    assert text.startswith("io_citta.dat: 1 riga di io_citta.dat trattenuta (1 problema); "
                           "le altre righe (29) sono state pubblicate.")
    assert "riga 2 (riga 6 del file consegnato), colonna CODICE" in text
    assert "Correggere queste righe" in text
