"""The contract every publisher keeps (connector/ports.py Publisher), run against each of
them: the synced-folder one and the Dropbox API one (the real SDK against the fake HTTPS
Dropbox server), each built by connector.app.build_publisher in a child process."""

from __future__ import annotations

import pytest

from tests.contract.publishers import Harness, PublisherError

ART = b"\xef\xbb\xbfCHIAVE|COD_DITTA|COD_ART\r\nACME\xc2\xa7A1|ACME|A1\r\n"
JPEG = b"\xff\xd8\xff" + bytes(range(256)) * 8


def test_a_batch_is_published_with_its_receipts(harness: Harness) -> None:
    pub = harness.open()
    got = pub.publish(pub.stage("gestionale", "io_art.dat", ART),
                      pub.stage("multimedia", "foto [A1].jpg", JPEG))
    assert set(got) == {"io_art.dat", "foto [A1].jpg"}
    for r in got.values():
        assert r["uploaded"] and not r["refused"] and r["remote_path"], r
    assert got["io_art.dat"]["size"] == len(ART) and got["io_art.dat"]["folder"] == "gestionale"
    assert harness.read("gestionale", "io_art.dat") == ART
    assert harness.read("multimedia", "foto [A1].jpg") == JPEG


def test_what_the_destination_holds_is_told_unchanged(harness: Harness) -> None:
    """holding(): the items whose destination holds exactly these bytes now (the pipeline
    does not republish them); other bytes under the same name are not held."""
    pub = harness.open()
    pub.publish(pub.stage("gestionale", "io_art.dat", ART))
    same = pub.stage("gestionale", "io_art.dat", ART)
    other = pub.stage("gestionale", "io_art.dat", ART + b"ACME\xc2\xa7A2|ACME|A2\r\n")
    never = pub.stage("gestionale", "io_giacenze.dat", ART)
    assert pub.holding(same, never) == {("gestionale", "io_art.dat")}
    assert pub.holding(other) == set()
    assert harness.read("gestionale", "io_art.dat") == ART  # asking changes nothing


def test_a_file_missing_at_the_destination_is_published_again(harness: Harness) -> None:
    pub = harness.open()
    pub.publish(pub.stage("gestionale", "io_art.dat", ART))
    harness.delete("gestionale", "io_art.dat")  # someone deleted it in Dropbox
    again = pub.stage("gestionale", "io_art.dat", ART)
    assert pub.holding(again) == set()
    got = pub.publish(again)
    assert got["io_art.dat"]["uploaded"] and not got["io_art.dat"]["refused"]
    assert harness.read("gestionale", "io_art.dat") == ART


def test_a_refused_name_is_refused_alone(harness: Harness) -> None:
    long_name = "x" * 260 + ".jpg"  # no file system and not Dropbox take a 260-byte name
    pub = harness.open()
    got = pub.publish(pub.stage("multimedia", long_name, JPEG),
                      pub.stage("gestionale", "io_art.dat", ART))
    assert got[long_name]["refused"] and not got[long_name]["uploaded"]
    assert got["io_art.dat"]["uploaded"] and not got["io_art.dat"]["refused"]
    assert harness.read("gestionale", "io_art.dat") == ART


def test_a_missing_company_folder_is_an_outage_never_recreated(harness: Harness) -> None:
    pub = harness.open()
    pub.call("check")
    harness.remove_root()  # unshared, deleted, a volume not mounted
    with pytest.raises(PublisherError) as err:
        pub.call("check")
    assert err.value.kind == "DestinationMissing"
    item = pub.stage("gestionale", "io_art.dat", ART)
    assert pub.holding(item) == set()
    assert not harness.root_exists()  # looking did not create it
    harness.make_root()  # back: publishing goes on
    pub.call("check")
    assert pub.publish(item)["io_art.dat"]["uploaded"]


def test_nested_media_keep_their_folders(harness: Harness) -> None:
    pub = harness.open()
    name = "Catalogo/Sedie/foto [A1] {2}.jpg"
    got = pub.publish(pub.stage("multimedia", name, JPEG),
                      pub.stage("reports", "2026/listino.pdf", b"%PDF-1.4\n%%EOF\n"))
    assert got[name]["uploaded"] and not got[name]["refused"]
    assert harness.read("multimedia", name) == JPEG
    assert harness.read("reports", "2026/listino.pdf") == b"%PDF-1.4\n%%EOF\n"


def test_close_and_a_new_publisher_sees_what_was_published(harness: Harness) -> None:
    pub = harness.open()
    item = pub.stage("gestionale", "io_art.dat", ART)
    pub.publish(item)
    pub.close()
    again = harness.open()  # a restart: the destination still tells what it holds
    assert again.holding(again.stage("gestionale", "io_art.dat", ART)) == {
        ("gestionale", "io_art.dat")}
