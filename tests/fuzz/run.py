"""`make fuzz`: run every tests/fuzz/fuzz_*.py harness for FUZZ_SECONDS (default 60) each.

A harness defines `test_one_input(data: bytes) -> None` (atheris' convention) and raises
only when something is wrong. With atheris installed (the `fuzz` extra; wheels exist for
CPython 3.11 on Linux), each harness runs under libFuzzer in its own process, our packages
instrumented for coverage: seeds from tests/fuzz/corpus/<name>/, new inputs kept in
.fuzz/<name>/ (not in git), a crash or a hang (-timeout, 10 s per input) or memory past
-rss_limit_mb (2048) stops it with the input saved beside them. FUZZ_MERGE=1 merges what
was found into the repository's corpus afterwards (only inputs that add coverage).
Without atheris, Hypothesis drives the same function for the same time: the corpus first,
then random bytes and splices of the corpus, each input within a 10 s deadline.

    make fuzz                      # every harness, 60 s each
    FUZZ_SECONDS=300 make fuzz     # longer
    python -m tests.fuzz.run fuzz_page
"""

from __future__ import annotations

import importlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RSS_LIMIT_MB = 2048
INPUT_TIMEOUT = 10


def harnesses() -> list[str]:
    return sorted(p.stem for p in HERE.glob("fuzz_*.py"))


def corpus_dir(name: str) -> Path:
    return HERE / "corpus" / name


def load(name: str) -> Any:
    return importlib.import_module(f"tests.fuzz.{name}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--one"]:
        return _run_one(args[1], float(args[2]))
    seconds = float(os.environ.get("FUZZ_SECONDS", "") or 60)
    failed = []
    for name in args or harnesses():
        print(f"== {name}: {seconds:g} s", flush=True)
        code = subprocess.call([sys.executable, "-m", "tests.fuzz.run", "--one", name,
                                str(seconds)], cwd=REPO)
        print(f"== {name}: {'ok' if code == 0 else f'FAILED (exit {code})'}", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"fuzzing found problems in: {', '.join(failed)} (inputs in .fuzz/<name>/)")
    return 1 if failed else 0


def _run_one(name: str, seconds: float) -> int:
    corpus = corpus_dir(name)
    corpus.mkdir(parents=True, exist_ok=True)
    work = REPO / ".fuzz" / name
    work.mkdir(parents=True, exist_ok=True)
    try:
        import atheris
    except ImportError:
        return _hypothesis(name, seconds, corpus)
    with atheris.instrument_imports(include=["connector", "adapters", "formats"]):
        harness = load(name)
    flags = [f"-max_total_time={max(1, int(seconds))}", f"-timeout={INPUT_TIMEOUT}",
             f"-rss_limit_mb={RSS_LIMIT_MB}", f"-artifact_prefix={work}/",
             "-print_final_stats=1"]
    if os.environ.get("FUZZ_MERGE") and (work / ".done").exists():
        atheris.Setup([sys.argv[0], "-merge=1", str(corpus), str(work)], harness.test_one_input)
        atheris.Fuzz()
    (work / ".done").unlink(missing_ok=True)
    atheris.Setup([sys.argv[0], *flags, str(work), str(corpus)], harness.test_one_input)
    try:
        atheris.Fuzz()
    finally:
        (work / ".done").touch()
    return 0


def _hypothesis(name: str, seconds: float, corpus: Path) -> int:
    from datetime import timedelta

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    print("atheris is not installed: Hypothesis drives the harness", flush=True)
    harness = load(name)
    seeds = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()]
    for seed in seeds:
        harness.test_one_input(seed)

    def splice(base: bytes, at: int, cut: int, insert: bytes) -> bytes:
        at %= len(base) + 1
        return base[:at] + insert + base[at + cut % 64:]

    inputs = st.binary(max_size=4096)
    if seeds:
        inputs = st.one_of(inputs, st.builds(splice, st.sampled_from(seeds), st.integers(0),
                                             st.integers(0), st.binary(max_size=64)))

    @settings(max_examples=500, deadline=timedelta(seconds=INPUT_TIMEOUT), database=None,
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def one(data: bytes) -> None:
        harness.test_one_input(data)

    end, rounds = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        one()
        rounds += 1
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if rss_mb > RSS_LIMIT_MB:
            print(f"{name}: memory grew to {rss_mb:.0f} MB (limit {RSS_LIMIT_MB})")
            return 1
    print(f"{name}: {rounds * 500} inputs, no failure", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
