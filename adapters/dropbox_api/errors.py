"""Dropbox SDK and transport failures -> the connector's exception tree, in one place.

Dropbox reports two different 429s: `too_many_requests` (a real rate limit: wait the
Retry-After) and `too_many_write_operations` (lock contention on the namespace: back
off with jitter and write less in parallel). Contention also arrives inside 409 route
errors. Both become RateLimited; contention is the LockContention subclass so the
publisher can lower its concurrency. Every translated error carries the chain of
union tags of the route error in `context["tags"]` (e.g. ["path", "insufficient_space"])
so callers can react to `not_found` or `incorrect_offset` without touching SDK types.
"""

from __future__ import annotations

from typing import Any

import requests
from dropbox import exceptions as dbx_exc
from dropbox import stone_base

from connector.errors import (
    AuthError,
    ConnectorError,
    PermanentError,
    RateLimited,
    TransientError,
    network_reason,
)


class LockContention(RateLimited):
    """Dropbox `too_many_write_operations`: namespace lock contention, not a quota."""


# Tags of a route error that mean "this will fail the same way again".
_PERMANENT_HINTS = {
    "insufficient_space": "the Dropbox account is full (insufficient_space): free space or "
                          "upgrade the plan",
    "team_folder_insufficient_space": "the team folder is full",
    "member_folder_insufficient_space": "the member folder is full",
    "insufficient_quota": "the Dropbox account is full (insufficient_quota)",
    "malformed_path": "Dropbox refused the path as malformed (check dropbox.root and file names)",
    "disallowed_name": "Dropbox does not allow this file name",
    "no_write_permission": "no write permission on the target folder",
    "team_folder": "cannot write into a team folder root",
    "payload_too_large": "request body larger than Dropbox accepts",
    "encryption_not_supported": "the target folder is encrypted; the API cannot write there",
    "access_restricted": "access to the target is restricted",
    "restricted_content": "Dropbox restricts this content",
    "upload_traffic_limit_reached": "the team's data transport limit is reached",
}
# Tags that refuse one item (its name, its content), not the account: that file alone is
# not published (the pipeline quarantines it) and the others of the burst go on.
ITEM_REFUSALS = frozenset({"disallowed_name", "malformed_path", "restricted_content"})
# Tags that are worth another attempt.
_TRANSIENT_TAGS = {"internal_error", "operation_suppressed", "locked"}


def union_tags(value: Any) -> list[str]:
    """The chain of tags of a stone union value: ["path", "insufficient_space"]."""
    tags: list[str] = []
    depth = 0
    while depth < 8:
        if not isinstance(value, stone_base.Union):
            # Some members carry a struct whose `reason` is the union that matters
            # (UploadError.path -> UploadWriteFailed.reason -> WriteError).
            value = getattr(value, "reason", None)
            if not isinstance(value, stone_base.Union):
                break
        tag = value._tag
        if tag is None:
            break
        tags.append(tag)
        value = value._value
        depth += 1
    return tags


def correct_offset(value: Any) -> int | None:
    """The server's offset inside an `incorrect_offset` lookup error, wherever it is nested."""
    depth = 0
    while isinstance(value, stone_base.Union) and depth < 8:
        if value._tag == "incorrect_offset":
            inner = value._value
            offset = getattr(inner, "correct_offset", None)
            return int(offset) if offset is not None else None
        value = value._value
        depth += 1
    return None


def translate(exc: BaseException, what: str) -> ConnectorError:
    """Map one failure of a Dropbox call to the connector's exception tree."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, dbx_exc.RateLimitError):
        reason = union_tags(getattr(exc.error, "reason", None))
        retry_after = float(exc.backoff) if exc.backoff is not None else None
        if "too_many_write_operations" in reason:
            return LockContention(f"{what}: Dropbox write lock contention "
                                  f"(too_many_write_operations)", retry_after=retry_after,
                                  tags=reason, what=what)
        return RateLimited(f"{what}: Dropbox rate limit (too_many_requests), retry after "
                           f"{retry_after if retry_after is not None else '?'} s",
                           retry_after=retry_after, tags=reason or ["too_many_requests"],
                           what=what)
    if isinstance(exc, dbx_exc.AuthError):
        tags = union_tags(exc.error)
        hint = {"invalid_access_token": "the refresh token is invalid or was revoked: run "
                                        "`connector dropbox login`",
                "expired_access_token": "the access token expired and could not be refreshed",
                "missing_scope": "the Dropbox app lacks a permission (files.content.write, "
                                 "files.content.read, files.metadata.read): enable it in the "
                                 "App Console and log in again",
                "user_suspended": "the Dropbox user is suspended"}.get(tags[0] if tags else "",
                                                                      "authentication refused")
        return AuthError(f"{what}: Dropbox authentication failed: {hint} "
                         f"({'/'.join(tags) or 'auth'})", tags=tags, what=what)
    if isinstance(exc, dbx_exc.BadInputError):
        text = str(getattr(exc, "message", "") or exc)
        if "invalid_client" in text or "client_id" in text or "app key" in text.lower():
            return AuthError(f"{what}: Dropbox refused the app key/secret ({text[:200]})",
                             what=what, tags=["invalid_client"])
        return PermanentError(f"{what}: Dropbox rejected the request: {text[:300]}",
                              what=what, tags=["bad_input"])
    if isinstance(exc, dbx_exc.InternalServerError):
        return TransientError(f"{what}: Dropbox server error {exc.status_code}",
                              what=what, status=exc.status_code, tags=["server_error"])
    if isinstance(exc, dbx_exc.PathRootError):
        return PermanentError(f"{what}: Dropbox path root error {union_tags(exc.error)}",
                              what=what, tags=union_tags(exc.error))
    if isinstance(exc, dbx_exc.ApiError):
        return _route_error(exc, what)
    if isinstance(exc, dbx_exc.HttpError):
        status = int(getattr(exc, "status_code", 0) or 0)
        cls = TransientError if status >= 500 or status in (408, 423) else PermanentError
        return cls(f"{what}: Dropbox HTTP {status}: {str(exc.body)[:200]}", what=what,
                   status=status, tags=[f"http_{status}"])
    if isinstance(exc, requests.exceptions.SSLError):
        return TransientError(f"{what}: TLS verification failed talking to Dropbox "
                              f"({network_reason(exc)}); "
                              "check dropbox.ca_bundle (REQUESTS_CA_BUNDLE does not override "
                              "it here)", what=what, tags=["tls"])
    if isinstance(exc, requests.exceptions.Timeout):
        return TransientError(f"{what}: Dropbox did not answer in time", what=what,
                              tags=["timeout"])
    if isinstance(exc, requests.exceptions.RequestException | ConnectionError | TimeoutError):
        return TransientError(f"{what}: cannot reach Dropbox ({network_reason(exc)})",
                              what=what, tags=["connection"])
    if isinstance(exc, dbx_exc.DropboxException):
        return TransientError(f"{what}: Dropbox error {exc}", what=what, tags=["dropbox"])
    if isinstance(exc, OSError):
        return PermanentError(f"{what}: cannot read the staged file: {exc}", what=what,
                              tags=["local_io"])
    return PermanentError(f"{what}: unexpected {type(exc).__name__}: {exc}", what=what,
                          tags=["unexpected"])


def error_from_tags(tags: list[str], what: str, **context: Any) -> ConnectorError:
    """For per-entry failures of batch routes (no exception, just a union value)."""
    return _classify(tags, what, None, **context)


def _route_error(exc: dbx_exc.ApiError, what: str) -> ConnectorError:
    tags = union_tags(exc.error)
    return _classify(tags, what, correct_offset(exc.error),
                     user_message=str(exc.user_message_text or ""))


def _classify(tags: list[str], what: str, offset: int | None, **context: Any) -> ConnectorError:
    joined = "/".join(tags) or "unknown"
    if "too_many_write_operations" in tags:
        return LockContention(f"{what}: Dropbox write lock contention ({joined})",
                              retry_after=None, tags=tags, what=what, **context)
    for tag in tags:
        if tag in _PERMANENT_HINTS:
            return PermanentError(f"{what}: {_PERMANENT_HINTS[tag]} ({joined})", tags=tags,
                                  what=what, **context)
    if any(tag in _TRANSIENT_TAGS for tag in tags):
        return TransientError(f"{what}: Dropbox busy ({joined})", tags=tags, what=what,
                              **context)
    return PermanentError(f"{what}: Dropbox refused: {joined}", tags=tags, what=what,
                          correct_offset=offset, **context)
