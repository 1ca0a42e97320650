"""Each scripted fault is survived with nothing lost and nothing duplicated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.dropbox_api.conftest import PublisherRunner, item, make_file
from tests.dropbox_api.fake_dropbox import FakeDropbox

MIB = 1024 * 1024


def burst(tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Three small files, one large (chunked: 2 full 4 MiB chunks and a tail) and one that
    replaces an existing file."""
    out = tmp_path / "out"
    files = [make_file(out / "io_art.dat", 3000), make_file(out / "io_clifor_gen.dat", 40_000),
             make_file(out / "A001.jpg", 900_000), make_file(out / "catalogo.mp4", 8 * MIB + 4321),
             make_file(out / "io_ese.dat", 100)]
    folders = ["gestionale", "gestionale", "multimedia", "multimedia", "gestionale"]
    expected = {f"/ACME/{fo}/{f.name}": f.read_bytes() for f, fo in zip(files, folders,
                                                                       strict=True)}
    return [item(f, fo) for f, fo in zip(files, folders, strict=True)], expected


def assert_published_exactly(fake: FakeDropbox, expected: dict[str, bytes]) -> None:
    assert fake.listing() == sorted(expected)  # nothing duplicated, no staging left
    for path, data in expected.items():
        assert fake.read(path) == data, path


# Grouped so one child process survives several faults on different routes (the suite
# stays fast); each group still checks that every fault fired.
FAULTS: dict[str, list[dict[str, Any]]] = {
    "rate_limits_and_429_write_contention": [
        {"route": "files/upload_session/start", "kind": "rate_limit", "times": 2,
         "retry_after": 0},
        {"route": "files/upload_session/finish_batch_v2", "kind": "rate_limit_text",
         "retry_after": 0},
        {"route": "files/upload_session/append_v2", "kind": "contention_429", "times": 3,
         "retry_after": 0},
        {"route": "files/move_batch_v2", "kind": "contention_429", "retry_after": 0}],
    "write_contention_inside_409_entries": [
        {"route": "files/upload_session/finish_batch_v2", "kind": "contention_409",
         "entries": [0, 3]},
        {"route": "files/move_batch_v2", "kind": "contention_409", "entries": [0]}],
    "5xx_everywhere_once_and_after_taking_effect": [
        {"route": r, "kind": "server_error", "status": s} for r, s in (
            ("files/get_metadata", 500), ("files/upload_session/start", 503),
            ("files/upload_session/append_v2", 503),
            ("files/upload_session/finish_batch_v2", 500), ("files/move_batch_v2", 503),
            ("files/delete_v2", 500), ("oauth2/token", 503))] + [
        {"route": "files/upload_session/append_v2", "kind": "server_error", "when": "after"}],
    "dropped_connections_before_and_after_taking_effect": [
        {"route": "files/upload_session/start", "kind": "drop", "times": 2},
        {"route": "files/upload_session/append_v2", "kind": "drop", "when": "after"},
        {"route": "files/upload_session/finish_batch_v2", "kind": "drop", "when": "after"},
        {"route": "files/move_batch_v2", "kind": "drop", "when": "after"},
        {"route": "files/move_batch/check_v2", "kind": "drop"}],
    "slow_responses_beyond_and_within_the_timeout": [
        {"route": "files/upload_session/append_v2", "kind": "slow", "delay": 2.5,
         "when": "after"},
        {"route": "files/upload_session/finish_batch_v2", "kind": "slow", "delay": 0.5}],
}


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_is_survived(name: str, fake: FakeDropbox, publisher: PublisherRunner,
                           tmp_path: Path) -> None:
    items, expected = burst(tmp_path)
    fake.put_file("/ACME/gestionale/io_ese.dat", b"previous version")
    faults = [fake.add_fault(**spec) for spec in FAULTS[name]]
    publisher.dropbox["timeout_seconds"] = 1.5
    fake.async_moves = name.startswith("dropped")  # also exercise move_batch/check_v2 polling
    (result,) = publisher.run(items)
    assert result["ok"], (result, publisher.stdout[-3000:])
    assert all(r["uploaded"] for r in result["receipts"])
    assert all(f.hits == f.times for f in faults), [(f.route, f.hits) for f in faults]
    assert_published_exactly(fake, expected)
    if "contention" in name:
        assert "dropbox_concurrency_lowered" in publisher.stdout + publisher.stderr


def test_write_contention_inside_a_409_of_files_upload(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    fake.add_fault("files/upload", "contention_409", times=2)
    (result,) = publisher.run([item(f)])
    assert result["ok"], result
    assert fake.stats["files/upload"] == 3
    assert fake.listing() == ["/ACME/gestionale/io_art.dat"]
    assert "dropbox_concurrency_lowered" in publisher.stdout


def test_rate_limit_waits_for_retry_after(fake: FakeDropbox, publisher: PublisherRunner,
                                          tmp_path: Path) -> None:
    """The 429's Retry-After is honoured: the log shows a wait of at least that long."""
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    fake.add_fault("files/upload", "rate_limit", retry_after=2)
    (result,) = publisher.run([item(f)])
    assert result["ok"], result
    waits = [float(line.split("wait_s=")[1].split()[0]) for line in publisher.stdout.splitlines()
             if "retrying" in line and "wait_s=" in line]
    assert waits and waits[0] >= 2.0, publisher.stdout[-2000:]


def test_insufficient_space_is_permanent_and_nothing_is_half_published(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    items, _ = burst(tmp_path)
    fake.put_file("/ACME/gestionale/io_ese.dat", b"previous version")
    fake.space_left = 1000
    (result,) = publisher.run(items)
    assert not result["ok"]
    assert result["error"] == "PermanentError"
    assert "insufficient_space" in result["message"] and "full" in result["message"]
    # the previous file is untouched, no new file is visible
    assert [p for p in fake.listing() if "/.connector-staging/" not in p] == \
        ["/ACME/gestionale/io_ese.dat"]
    assert fake.read("/ACME/gestionale/io_ese.dat") == b"previous version"


def test_malformed_path_refuses_that_file_alone(fake: FakeDropbox, publisher: PublisherRunner,
                                                tmp_path: Path) -> None:
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    fake.add_fault("files/upload", "error_409", times=5,
                   error={".tag": "path", "reason": {".tag": "malformed_path"},
                          "upload_session_id": "x"})
    (result,) = publisher.run([item(f)])
    assert result["ok"], result
    (receipt,) = result["receipts"]
    assert "malformed" in receipt["refused"] and not receipt["uploaded"]
    assert fake.stats["files/upload"] == 1  # not retried
    assert fake.listing() == []


def test_a_name_refused_at_commit_holds_back_nothing(fake: FakeDropbox,
                                                     publisher: PublisherRunner,
                                                     tmp_path: Path) -> None:
    """Dropbox refuses one entry of finish_batch_v2 (path/disallowed_name): that file alone
    is not published; the others of the burst are, together."""
    fake.disallowed_names.add("aux.jpg")
    out = tmp_path / "out"
    files = [make_file(out / "io_art.dat", 100), make_file(out / "aux.jpg", 200),
             make_file(out / "b.jpg", 300)]
    folders = ["gestionale", "multimedia", "multimedia"]
    (result,) = publisher.run([item(f, fo) for f, fo in zip(files, folders, strict=True)])
    assert result["ok"], result
    receipts = {r["name"]: r for r in result["receipts"]}
    assert "disallowed_name" in receipts["aux.jpg"]["refused"]
    assert receipts["io_art.dat"]["uploaded"] and receipts["b.jpg"]["uploaded"]
    assert fake.listing() == ["/ACME/gestionale/io_art.dat", "/ACME/multimedia/b.jpg"]


def test_retries_are_bounded_then_transient(fake: FakeDropbox, publisher: PublisherRunner,
                                            tmp_path: Path) -> None:
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    publisher.dropbox["attempts"] = 3
    fake.add_fault("files/upload", "server_error", times=100)
    (result,) = publisher.run([item(f)])
    assert result["error"] == "TransientError" and "503" in result["message"]
    assert fake.stats["files/upload"] == 3
    assert fake.listing() == []


def test_stop_interrupts_a_rate_limit_wait(fake: FakeDropbox, publisher: PublisherRunner,
                                           tmp_path: Path) -> None:
    import json
    import signal
    import time

    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    fault = fake.add_fault("files/upload", "rate_limit", retry_after=300)
    proc = publisher.popen([[item(f)]])
    assert proc.stdout is not None
    assert json.loads(proc.stdout.readline()) == {"ready": True}
    while fault.hits == 0 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)  # far less than the 300 s Retry-After
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert lines[-1]["error"] == "StopRequested", (out, err)


def test_failed_move_in_restores_the_previous_versions(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    """Old versions are moved aside, then moving the new ones in keeps failing: the old
    versions go back, so AppManager never sees a half run nor a missing file."""
    items, _ = burst(tmp_path)
    fake.put_file("/ACME/gestionale/io_ese.dat", b"previous version")
    publisher.dropbox["attempts"] = 2
    fake.add_fault("files/move_batch_v2", "pass")  # moving the old version aside works
    fake.add_fault("files/move_batch_v2", "server_error", times=2)  # moving in fails twice
    (result,) = publisher.run(items)
    assert result["error"] == "TransientError"
    assert "dropbox_run_rolled_back" in publisher.stdout
    visible = [p for p in fake.listing() if "/.connector-staging/" not in p]
    assert visible == ["/ACME/gestionale/io_ese.dat"]
    assert fake.read("/ACME/gestionale/io_ese.dat") == b"previous version"
    # the next burst publishes everything and cleans the staging of the failed run
    (again,) = publisher.run(items)
    assert again["ok"], again
    assert_published_exactly(fake, {f"/ACME/{i['folder']}/{i['name']}": Path(i["path"]).read_bytes()
                                    for i in items})


def test_move_in_that_fails_part_way_is_rolled_back(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    """Some new files landed, others keep failing with contention: the landed ones are
    taken back and the previous version restored: AppManager sees the whole old run."""
    items, _ = burst(tmp_path)
    fake.put_file("/ACME/gestionale/io_ese.dat", b"previous version")
    publisher.dropbox["attempts"] = 2
    fake.add_fault("files/move_batch_v2", "pass")  # moving the old version aside works
    fake.add_fault("files/move_batch_v2", "contention_409", entries=[1, 2])  # 3 of 5 land
    fake.add_fault("files/move_batch_v2", "contention_409", entries=[0, 1])  # retry: 0 of 2
    (result,) = publisher.run(items)
    assert result["error"] == "LockContention", result  # a RateLimited subclass
    assert "dropbox_run_rolled_back" in publisher.stdout
    visible = [p for p in fake.listing() if "/.connector-staging/" not in p]
    assert visible == ["/ACME/gestionale/io_ese.dat"]
    assert fake.read("/ACME/gestionale/io_ese.dat") == b"previous version"
