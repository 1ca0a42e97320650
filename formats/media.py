"""Catalog media names (tracciati.md §3): `name[ArticleCode]{order}.ext`.

In file-system mode (no io_catalogo.dat) the app builds its catalog tree from the
folders under `multimedia`; a name's [code] links the item to an article and its {n}
sets the order. Examples: `Listino.pdf`, `Libreria Kwaba [kw07].jpg`, `Foresta {1}.png`,
`Depliant [0567] {2}.avi`, `123[123].jpg`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from connector.errors import FormatError
from formats.report import N_

IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif"})
VIDEO_EXTENSIONS = frozenset({"avi", "mov", "mpg", "mpeg", "m4v", "mp4"})
DOCUMENT_EXTENSIONS = frozenset({"pdf"})
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | DOCUMENT_EXTENSIONS

_NAME = re.compile(r"^(?P<title>[^\[\]{}]*?)\s*(?:\[(?P<code>[^\[\]{}]*)\])?\s*"
                   r"(?:\{(?P<order>[^\[\]{}]*)\})?\s*$")


@dataclass(frozen=True)
class MediaName:
    title: str  # what the app shows
    article_code: str | None  # [code]: tapping the item opens this article
    order: int | None  # {n}: position inside its folder
    ext: str  # lower case, without the dot; "" for a folder


def media_kind(filename: str) -> str | None:
    """'image', 'video', 'document' or None (not a catalog medium)."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    if ext in DOCUMENT_EXTENSIONS:
        return "document"
    return None


def parse_media_name(name: str, *, folder: bool = False) -> MediaName:
    """Split a media file (or, with folder=True, folder) name; FormatError says what is wrong."""
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    stem, ext = base, ""
    if not folder:
        if "." not in base:
            raise FormatError(N_("{name}: no extension; catalog files must be one of {types}",
                                 name=base, types=", ".join(sorted(MEDIA_EXTENSIONS))),
                              name=base)
        stem, ext = base.rsplit(".", 1)
        ext = ext.lower()
        if ext not in MEDIA_EXTENSIONS:
            raise FormatError(N_("{name}: .{ext} is not a supported catalog type; use {types}",
                                 name=base, ext=ext, types=", ".join(sorted(MEDIA_EXTENSIONS))),
                              name=base)
    if stem.count("[") != stem.count("]") or stem.count("{") != stem.count("}"):
        raise FormatError(N_("{name}: unbalanced brackets; the rule is "
                             "name[ArticleCode]{{order}}", name=base), name=base)
    m = _NAME.match(stem)
    if m is None:
        raise FormatError(N_("{name}: does not follow name[ArticleCode]{{order}}: [code] "
                             "comes before {{order}}, each at most once, after the name",
                             name=base), name=base)
    code = m.group("code")
    if code is not None and not code.strip():
        raise FormatError(N_("{name}: empty article code in [ ]", name=base), name=base)
    order_text = m.group("order")
    order = None
    if order_text is not None:
        if not order_text.strip().isdigit():
            raise FormatError(N_("{name}: the order in {{ }} must be a whole number, found "
                                 "{found}", name=base, found=repr(order_text)), name=base)
        order = int(order_text)
    title = m.group("title").strip()
    if not title and code is None:
        raise FormatError(N_("{name}: the name is empty", name=base), name=base)
    return MediaName(title=title or (code or "").strip(), article_code=code.strip() if code else None,
                     order=order, ext=ext)


# What the bytes are ------------------------------------------------------------------------
# A name says nothing: `env.pdf` may hold anything. Each published medium must start the way
# its type does (the signatures below); the first SNIFF_BYTES bytes are enough for all of them.
SNIFF_BYTES = 1024

_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}  # MP4/MOV/M4V
CONTENT_KINDS = {  # extension -> what its content must be
    "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif", "pdf": "pdf", "avi": "avi",
    "mov": "iso_media", "mp4": "iso_media", "m4v": "iso_media", "mpg": "mpeg", "mpeg": "mpeg",
}
_KIND_NAMES = {"jpeg": N_("a JPEG image"), "png": N_("a PNG image"), "gif": N_("a GIF image"),
               "pdf": N_("a PDF document"), "avi": N_("an AVI video"),
               "iso_media": N_("an MP4/QuickTime video"), "mpeg": N_("an MPEG video")}


def sniff(head: bytes) -> str | None:
    """The kind of content `head` (the first SNIFF_BYTES bytes) starts, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if b"%PDF-" in head[:SNIFF_BYTES]:  # readers accept the header anywhere in the first 1 KiB
        return "pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if len(head) >= 8 and head[4:8] in _ISO_BOXES:
        return "iso_media"
    if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return "mpeg"
    if head[:1] == b"\x47" and head[188:189] == b"\x47" and head[376:377] in (b"", b"\x47"):
        return "mpeg"  # transport stream: a sync byte every 188 bytes
    return None


# The images the catalog takes, by the content type their bytes show, and the extension
# a file of that content is named with.
IMAGE_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "gif": "image/gif"}
IMAGE_TYPE_EXTENSION = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif"}


def image_type(data: bytes) -> str | None:
    """image/jpeg, image/png or image/gif when the bytes start like one, else None."""
    kind = sniff(data[:SNIFF_BYTES])
    return IMAGE_TYPES.get(kind) if kind is not None else None


def content_problem(name: str, head: bytes) -> str | None:
    """None when the content's signature matches the name's extension, else the reason."""
    issue = content_issue(name, head)
    return N_("{name}: {problem}", name=name, problem=issue) if issue else None


def content_issue(name: str, head: bytes) -> str | None:
    """content_problem without the name in front."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    want = CONTENT_KINDS.get(ext)
    if want is None:
        return None  # not a medium we check (the name rules say what is allowed)
    if not head:
        return N_("the file is empty; a .{ext} must be {kind}", ext=ext, kind=_KIND_NAMES[want])
    got = sniff(head)
    if got == want:
        return None
    if got is None:
        return N_("the content is not {kind} (its first bytes are no known media signature); "
                  "only real .{ext} files are published", kind=_KIND_NAMES[want], ext=ext)
    return N_("the content is {found}, not {kind}: give it the extension of what it is",
              found=_KIND_NAMES[got], kind=_KIND_NAMES[want])
