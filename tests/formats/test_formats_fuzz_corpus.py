"""The tracciato fuzzing harness over its seed corpus (the long runs are `make fuzz`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.fuzz.fuzz_tracciato as harness

CORPUS = Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "fuzz_tracciato"


def test_the_corpus_is_there() -> None:
    assert len(list(CORPUS.iterdir())) >= 20


@pytest.mark.parametrize("seed", sorted(p.name for p in CORPUS.iterdir()))
def test_the_harness_holds_on_every_seed(seed: str) -> None:
    harness.test_one_input((CORPUS / seed).read_bytes())


def test_the_harness_catches_a_broken_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    """A judge that lets a long value into its report is caught: the harness can fail."""
    import formats.report as report

    monkeypatch.setattr(report, "excerpt", lambda value, limit=60: value)
    with pytest.raises(AssertionError):
        citta = bytes([[lay.name for lay in harness.LAYOUTS].index("io_citta"), 0])
        harness.test_one_input(citta + b"CHIAVE|COD_DITTA|CODICE\r\nK|A|" + b"c" * 200 + b"\r\n")
