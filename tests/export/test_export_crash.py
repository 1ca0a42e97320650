"""SIGKILL the daemon at random moments while it publishes; nothing is lost or half-published."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.conftest import make_config_dict
from tests.export.conftest import citta_file, wait_for

REPO = Path(__file__).resolve().parents[2]


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "connector", "--config", str(config), "run"],
                            cwd=REPO, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261121)
    data = make_config_dict(tmp_path)
    data["export"]["settle_seconds"] = 0.2
    data["export"]["rescan_seconds"] = 2
    data["log"]["level"] = "info"
    config = tmp_path / "connector.yaml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    export = tmp_path / "export"
    (export / "multimedia").mkdir(parents=True)
    (export / "reports").mkdir(parents=True)

    valid: dict[str, bytes] = {}   # destination relative to <Dropbox>/ACME -> expected bytes
    invalid: list[str] = []        # source names that must end in quarantine
    files: list[tuple[str, bytes]] = []
    for i in range(160):
        body = b"\xff\xd8\xff" + os.urandom(rng.randint(1, 64 * 1024))
        name = f"multimedia/foto {i} [ART{i}].jpg"
        files.append((name, body))
        valid[name] = body
    for i in range(20):
        body = b"%PDF-1.4\n" + os.urandom(2048)
        files.append((f"reports/report{i}.pdf", body))
        valid[f"reports/report{i}.pdf"] = body
    for i in range(15):
        files.append((f"multimedia/bad {i} [ART.jpg", b"\xff\xd8"))
        invalid.append(f"multimedia/bad {i} [ART.jpg")
    for i in range(4):
        files.append((f"nota{i}.docx", b"word"))
        invalid.append(f"nota{i}.docx")
    files.append(("io_citta.dat", citta_file(2000)))
    valid["gestionale/io_citta.dat"] = b"\xef\xbb\xbf" + citta_file(2000)  # canonical: BOM
    rng.shuffle(files)
    assert len(files) == 200

    log = tmp_path / "daemon.out"
    log.touch()
    started_at = 0
    proc = _start(config, log)
    dropped = 0
    try:
        for _ in range(12):
            # drop a slice of the files, then kill at a random moment
            upto = min(len(files), dropped + rng.randint(10, 30))
            for name, body in files[dropped:upto]:
                target = export / name
                tmp = target.with_name(target.name + ".part")
                tmp.write_bytes(body)
                os.replace(tmp, target)
            dropped = upto
            time.sleep(rng.uniform(0.05, 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            started_at = log.stat().st_size
            proc = _start(config, log)
        for name, body in files[dropped:]:
            (export / name).write_bytes(body)

        def settled() -> bool:
            left = [p for p in export.rglob("*") if p.is_file()]
            return not left

        wait_for(settled, timeout=60, interval=0.2)
        # stop the last daemon only once it is up (a SIGTERM during start-up kills it outright)
        wait_for(lambda: b"watching export folder" in log.read_bytes()[started_at:], timeout=30)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(20) == 0
        except subprocess.TimeoutExpired:
            proc.kill()
            raise

    company = tmp_path / "Dropbox" / "ACME"
    for dest, body in valid.items():
        path = company / dest
        assert path.exists(), f"{dest} was never published"
        assert path.read_bytes() == body, f"{dest} has the wrong content"
    published = {p.relative_to(company).as_posix() for p in company.rglob("*") if p.is_file()}
    assert published - set(valid) <= {"gestionale/io_info.dat"}
    for p in company.rglob("*"):
        assert not p.name.startswith(".") and not p.name.endswith((".tmp", ".part")), p
    quarantine = tmp_path / "quarantine"
    for name in invalid:
        assert (quarantine / name).exists(), f"{name} not in quarantine"
        assert (quarantine / (name + ".errors.txt")).exists(), f"{name} has no report"
    archive = tmp_path / "archive"
    archived = {"/".join(p.relative_to(archive).parts[1:])
                for p in archive.rglob("*") if p.is_file()}
    for name, _ in files:
        assert name in archived or name in invalid, f"source {name} lost"
