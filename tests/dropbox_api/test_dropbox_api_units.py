"""In-process checks of the small pieces: content hash, error translation, remote paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from dropbox import exceptions as dbx_exc
from dropbox import files as dbx_files
from dropbox.auth import AuthError as SdkAuthError
from dropbox.auth import RateLimitError as SdkRateLimit
from dropbox.auth import RateLimitReason
from dropbox.content_hash import DropboxContentHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.dropbox_api import paths
from adapters.dropbox_api.content_hash import (
    BLOCK_SIZE,
    ContentHasher,
    content_hash_bytes,
    content_hash_file,
)
from adapters.dropbox_api.errors import LockContention, correct_offset, translate, union_tags
from connector.errors import AuthError, PermanentError, RateLimited, TransientError


def reference(data: bytes) -> str:
    h = DropboxContentHasher()
    h.update(data)
    return str(h.hexdigest())


@pytest.mark.parametrize("size", [0, 1, BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1,
                                  2 * BLOCK_SIZE + 7])
def test_content_hash_matches_the_sdk_reference(size: int, tmp_path: Path) -> None:
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    assert content_hash_bytes(data) == reference(data)
    assert content_hash_file(tmp_path / "f", read_size=1_000_003) == reference(data)


def test_content_hash_of_the_empty_file_is_sha256_of_nothing() -> None:
    assert content_hash_bytes(b"") == \
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=20))
def test_content_hash_does_not_depend_on_how_bytes_are_fed(pieces: list[bytes]) -> None:
    h = ContentHasher()
    for p in pieces:
        h.update(p)
    assert h.hexdigest() == content_hash_bytes(b"".join(pieces))


def _rate_limit(reason: str, retry_after: int | None) -> dbx_exc.RateLimitError:
    err = SdkRateLimit(reason=getattr(RateLimitReason, reason), retry_after=retry_after or 1)
    return dbx_exc.RateLimitError("req", err, retry_after)


def test_429_too_many_requests_carries_retry_after() -> None:
    e = translate(_rate_limit("too_many_requests", 7), "files/upload")
    assert type(e) is RateLimited and e.retry_after == 7.0


def test_429_too_many_write_operations_is_lock_contention() -> None:
    e = translate(_rate_limit("too_many_write_operations", 1), "files/upload")
    assert isinstance(e, LockContention) and isinstance(e, RateLimited)


def test_409_insufficient_space_is_permanent_with_tags() -> None:
    err = dbx_files.UploadError.path(dbx_files.UploadWriteFailed(
        reason=dbx_files.WriteError.insufficient_space, upload_session_id="s"))
    e = translate(dbx_exc.ApiError("req", err, None, None), "files/upload")
    assert isinstance(e, PermanentError) and "full" in str(e)
    assert e.context["tags"] == ["path", "insufficient_space"]


def test_409_too_many_write_operations_is_lock_contention() -> None:
    err = dbx_files.UploadSessionFinishError.too_many_write_operations
    e = translate(dbx_exc.ApiError("req", err, None, None), "finish")
    assert isinstance(e, LockContention)


def test_incorrect_offset_exposes_the_server_offset() -> None:
    err = dbx_files.UploadSessionAppendError.incorrect_offset(
        dbx_files.UploadSessionOffsetError(correct_offset=8388608))
    assert correct_offset(err) == 8388608
    e = translate(dbx_exc.ApiError("req", err, None, None), "append")
    assert e.context["correct_offset"] == 8388608 and "incorrect_offset" in e.context["tags"]


def test_auth_server_and_transport_errors() -> None:
    auth = translate(dbx_exc.AuthError("r", SdkAuthError.invalid_access_token), "x")
    assert isinstance(auth, AuthError) and "connector dropbox login" in str(auth)
    assert isinstance(translate(dbx_exc.InternalServerError("r", 503, "busy"), "x"),
                      TransientError)
    assert isinstance(translate(requests.exceptions.ConnectionError("reset"), "x"),
                      TransientError)
    assert isinstance(translate(requests.exceptions.ReadTimeout("slow"), "x"), TransientError)
    assert isinstance(translate(dbx_exc.BadInputError("r", '{"error": "invalid_client"}'),
                                "x"), AuthError)


def test_union_tags_follow_nested_unions() -> None:
    err = dbx_files.RelocationBatchErrorEntry.relocation_error(dbx_files.RelocationError.to(
        dbx_files.WriteError.conflict(dbx_files.WriteConflictError.file)))
    assert union_tags(err) == ["relocation_error", "to", "conflict", "file"]


@pytest.mark.parametrize(("root", "base"), [("", "/ACME"), ("/", "/ACME"),
                                            ("/Apps/x/", "/Apps/x/ACME"), ("Apps", "/Apps/ACME")])
def test_company_base(root: str, base: str) -> None:
    assert paths.company_base(root, "ACME") == base


def test_unknown_folder_is_refused() -> None:
    assert "unknown publish folder" in str(paths.name_problem("appmanager", "x.dat"))


@pytest.mark.parametrize(("folder", "name", "problem"), [
    ("multimedia", "Catalogo/Sedie/foto [A1].jpg", None),  # a catalog tree keeps its folders
    ("reports", "2026/listino.pdf", None),
    ("gestionale", "sub/io_art.dat", "cannot be a Dropbox path"),  # tracciati are flat
    ("multimedia", "Sedie /foto.jpg", "leading or trailing spaces"),
    ("multimedia", "a//b.jpg", "cannot be a Dropbox path"),
    ("multimedia", "x/../b.jpg", "cannot be a Dropbox path"),
    ("multimedia", "Thumbs.db", "Dropbox refuses the name"),
    ("reports", "x" * 256 + ".pdf", "name too long"),
])
def test_names_are_checked_part_by_part(folder: str, name: str, problem: str | None) -> None:
    got = paths.name_problem(folder, name)
    assert (got is None) if problem is None else (problem in str(got)), got


def test_status_section_from_the_journal(tmp_path: Path, config_factory: object) -> None:
    from adapters.dropbox_api.journal import Journal, SessionState
    from connector import dropbox_status as status
    from connector.state import StateStore

    cfg = config_factory(dropbox={"mode": "api", "root": "/"})  # type: ignore[operator]
    store = StateStore(cfg.state_dir)
    journal = Journal(store)
    journal.record_published([("/acme/gestionale/io_art.dat", "/ACME/gestionale/io_art.dat",
                               "ab" * 32, 10, "0123456789")])
    key = ("/acme/multimedia/v.mp4", "cd" * 32, 100)
    journal.save_session(key, SessionState("sess-1", 40, False))
    facts = status.collect(cfg, store)
    assert facts["files_published"] == 1 and facts["open_upload_sessions"] == 1
    assert facts["bytes_pending_in_sessions"] == 60 and facts["remote"] == "/ACME"
    assert facts["refresh_token_from"] in ("env", "keyring or none")
    lines = status.render(facts)
    assert lines[0].startswith("dropbox api: /ACME, 1 files published, last ")
    assert "1 large upload(s) to resume, 60 bytes left" in lines[1]
    assert journal.session(key) == SessionState("sess-1", 40, False)
    assert journal.session(("/acme/multimedia/w.mp4", "cd" * 32, 100)) is None
    store.close()
