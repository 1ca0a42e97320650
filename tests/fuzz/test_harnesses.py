"""Every fuzzing harness replays its corpus once (cheap: `make test` keeps them from
rotting; `make fuzz` is the real run, see tests/fuzz/run.py)."""

from __future__ import annotations

import pytest

from tests.fuzz.run import corpus_dir, harnesses, load


@pytest.mark.parametrize("name", harnesses())
def test_the_harness_takes_its_corpus(name: str) -> None:
    harness = load(name)
    seeds = sorted(p for p in corpus_dir(name).iterdir() if p.is_file())
    assert seeds, f"tests/fuzz/corpus/{name}/ is empty"
    for seed in seeds:
        harness.test_one_input(seed.read_bytes())
