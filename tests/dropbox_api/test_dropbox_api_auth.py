"""Credentials (env, token file), token refresh, the CA-bundle trap, bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import certifi

from tests.dropbox_api.conftest import PublisherRunner, item, make_file
from tests.dropbox_api.fake_dropbox import FakeDropbox


def test_revoked_refresh_token_is_an_auth_error_that_says_what_to_do(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    publisher.refresh_token = "rt-revoked"
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([item(f)])
    assert result["error"] == "AuthError"
    assert "connector dropbox login" in result["message"]
    assert "rt-revoked" not in publisher.stdout + publisher.stderr  # secrets never logged
    assert fake.listing() == []


def test_wrong_app_secret_is_an_auth_error(fake: FakeDropbox, publisher: PublisherRunner,
                                           tmp_path: Path) -> None:
    publisher.env_extra["DROPBOX_APP_SECRET"] = "not-the-secret"
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([item(f)])
    assert result["error"] == "AuthError" and "app key" in result["message"]
    assert "not-the-secret" not in publisher.stdout + publisher.stderr


def test_expired_access_token_is_refreshed_mid_run(fake: FakeDropbox, publisher: PublisherRunner,
                                                   tmp_path: Path) -> None:
    files = [make_file(tmp_path / "out" / f"io_{i}.dat", 100 + i) for i in range(3)]
    fake.add_fault("files/upload_session/finish_batch_v2", "expire_token")
    (result,) = publisher.run([item(f) for f in files])
    assert result["ok"], result
    assert fake.stats["oauth2/token"] == 2
    assert len(fake.listing()) == 3


def test_token_file_must_be_private(fake: FakeDropbox, publisher: PublisherRunner,
                                    tmp_path: Path) -> None:
    token_file = tmp_path / "secrets" / "dropbox.json"
    token_file.parent.mkdir()
    token_file.write_text(json.dumps({"app_key": fake.app_key,
                                      "refresh_token": publisher.refresh_token}))
    os.chmod(token_file, 0o644)
    publisher.dropbox["token_file"] = str(token_file)
    publisher.env_extra.update(DROPBOX_REFRESH_TOKEN="", DROPBOX_APP_KEY="")
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (refused,) = publisher.run([item(f)])
    assert refused["error"] == "AuthError" and "chmod 600" in refused["message"]
    os.chmod(token_file, 0o600)
    (result,) = publisher.run([item(f)])
    assert result["ok"], result
    assert fake.listing() == ["/ACME/gestionale/io_art.dat"]


def test_missing_credentials_say_how_to_log_in(fake: FakeDropbox, publisher: PublisherRunner,
                                               tmp_path: Path) -> None:
    publisher.env_extra.update(DROPBOX_REFRESH_TOKEN="")
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([item(f)])
    assert result["error"] == "AuthError"
    assert "DROPBOX_REFRESH_TOKEN" in result["message"]
    assert "connector dropbox login" in result["message"]


def test_configured_ca_bundle_wins_over_requests_ca_bundle(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    """REQUESTS_CA_BUNDLE (here: the public CAs, which do not know our test CA) must not
    replace dropbox.ca_bundle, as it would with a plain requests Session."""
    publisher.env_extra.update(REQUESTS_CA_BUNDLE=certifi.where(),
                               CURL_CA_BUNDLE=certifi.where())
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([item(f)])
    assert result["ok"], result


def test_unknown_ca_is_a_clear_tls_error(fake: FakeDropbox, publisher: PublisherRunner,
                                         tmp_path: Path) -> None:
    publisher.dropbox["ca_bundle"] = certifi.where()
    publisher.dropbox["attempts"] = 1
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([item(f)])
    assert result["error"] == "TransientError" and "TLS" in result["message"]


def test_names_dropbox_refuses_are_refused_alone_before_any_upload(
        fake: FakeDropbox, publisher: PublisherRunner, tmp_path: Path) -> None:
    f = make_file(tmp_path / "out" / "x.dat", 10)
    good = make_file(tmp_path / "out" / "io_art.dat", 20)
    names = ["desktop.ini", "Thumbs.db", " io_art.dat"]
    (result,) = publisher.run([item(f, name=name) for name in names] + [item(good)])
    assert result["ok"], result
    receipts = {r["name"]: r for r in result["receipts"]}
    for name in names:
        refused = receipts[name]["refused"]
        assert refused and name.strip().lower() in refused.lower(), refused
        assert not receipts[name]["uploaded"]
    assert receipts["io_art.dat"]["refused"] is None and receipts["io_art.dat"]["uploaded"]
    assert fake.listing() == ["/ACME/gestionale/io_art.dat"]
    assert fake.stats["files/upload"] == 1  # only the good one was sent


def test_staged_file_that_changed_is_permanent(fake: FakeDropbox, publisher: PublisherRunner,
                                               tmp_path: Path) -> None:
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([{**item(f), "content_hash": "0" * 64}])
    assert result["error"] == "PermanentError"
    assert "changed after staging" in result["message"] and "io_art.dat" in result["message"]
    assert fake.listing() == []


def test_stale_staging_of_a_crashed_run_is_cleaned(fake: FakeDropbox, publisher: PublisherRunner,
                                                   tmp_path: Path) -> None:
    fake.put_file("/ACME/.connector-staging/20260101T000000Z-dead/gestionale/io_art.dat", b"x")
    f = make_file(tmp_path / "out" / "io_art.dat", 10)
    (result,) = publisher.run([item(f)])
    assert result["ok"], result
    assert fake.listing() == ["/ACME/gestionale/io_art.dat"]
