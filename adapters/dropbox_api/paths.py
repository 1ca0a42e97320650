"""Remote paths: <root>/<company>/<folder>/<name>, and the staging area beside them."""

from __future__ import annotations

from connector.errors import PermanentError

FOLDERS = ("gestionale", "multimedia", "reports")
STAGING_DIR = ".connector-staging"  # AppManager reads only the FOLDERS above
REPLACED_DIR = ".replaced"

# Names the Dropbox service refuses or that the desktop client never syncs (rclone's list).
_REFUSED_NAMES = {"desktop.ini", "thumbs.db", ".ds_store", "icon\r", ".dropbox", ".dropbox.attr"}


def company_base(root: str, company: str) -> str:
    """'/' + root + company; root "" or "/" is the account (or app folder) root."""
    parts = [p for p in root.strip().strip("/").split("/") if p] + [company]
    return "/" + "/".join(parts)


def check_name(folder: str, name: str) -> None:
    if folder not in FOLDERS:
        raise PermanentError(f"unknown publish folder {folder!r} (expected one of "
                             f"{', '.join(FOLDERS)})", folder=folder, name=name)
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise PermanentError(f"file name {name!r} cannot be a Dropbox file name",
                             folder=folder, name=name)
    if name.lower() in _REFUSED_NAMES:
        raise PermanentError(f"Dropbox refuses the file name {name!r}", folder=folder, name=name)
    if len(name.encode("utf-8")) > 255:
        raise PermanentError(f"file name too long for Dropbox ({len(name)} chars): {name[:40]}...",
                             folder=folder, name=name)
    if name != name.rstrip(" ") or name != name.strip():
        raise PermanentError(f"file name {name!r} has leading or trailing spaces, which Dropbox "
                             "strips", folder=folder, name=name)


def lower(path: str) -> str:
    """Dropbox compares paths case-insensitively; path_lower is its key."""
    return path.lower()
