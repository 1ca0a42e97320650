"""connector.yaml: a frozen, typed model and a loader that lists every problem with its key path.

The shape is the interface of ../shared/design/CONFIG.md. Each section is a frozen
dataclass whose annotations carry the constraints (`Port`, `Positive`, `HttpUrl`...);
pydantic validates the YAML against them and collects every problem in one pass, and
`_explain` turns each of its errors into one of our sentences with the key path (an
operator never reads a pydantic message). What one key cannot say alone (a folder used
for two roles, folders that must exist, the extraction jobs) is checked afterwards on the
built configuration. Relative paths are resolved against the folder that holds the
configuration file. Secrets are never values here: only the names of the environment
variables that hold them. docs/guide/configuration.md says why pydantic (not msgspec).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from connector.errors import ConfigError
from connector.i18n import _
from connector.model import STREAMS
from formats.dialect import Dialect
from formats.report import MAX_HELD_LINES

# The value types of the keys. Strict: YAML already gives numbers and booleans their
# types, so `port: "80"` or `enabled: 1` is a mistake worth naming, not a value to coerce.
Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Num = Annotated[float, Strict()]  # an integer is a number too
Count = Annotated[int, Strict(), Field(ge=1)]
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
Positive = Annotated[float, Strict(), Field(gt=0)]
NonNeg = Annotated[float, Strict(), Field(ge=0)]
Port = Annotated[int, Strict(), Field(ge=1, le=65535)]


def _http_url(value: str) -> str:
    """An http(s) URL with a host: `htp//x` or `http:/x` would otherwise end in retries."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError("connector", "{message}", {"message": _(
            "not a web address: it must start with http:// or https:// and name a host, "
            "e.g. https://server.example.com/path")})
    try:
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError:
        raise PydanticCustomError("connector", "{message}", {"message": _(
            "the port in this address must be a number between 1 and 65535")}) from None
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _host_port(value: str) -> str:
    host, _sep, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise PydanticCustomError("connector", "{message}", {"message": _(
            "expected host:port, e.g. 127.0.0.1:8766")})
    if not 0 <= int(port) <= 65535:  # 0: any free port (the OS picks; tests use it)
        raise PydanticCustomError("connector", "{message}", {"message": _(
            "a port is a number between 1 and 65535, got {value}").format(value=port)})
    return value


HostPort = Annotated[str, AfterValidator(_host_port)]

# Every section forbids unknown keys (typos); numbers are never written as text in YAML,
# but a code such as `company: 42` is read as a number by YAML: it is taken as text.
_PYDANTIC = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


@dataclass(frozen=True)
class LogConfig:
    dir: Path = Path("var/log")
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json", "logfmt"] = "text"
    max_bytes: Count = 10 * 1024 * 1024
    backups: NonNegInt = 10


@dataclass(frozen=True)
class DropboxConfig:
    mode: Literal["folder", "api"] = "folder"
    # folder mode: the locally synced folder; api mode: the remote root, e.g. /ACME's parent ("" = account root)
    root: str = "var/Dropbox"
    # folder mode: where files are written before os.replace; same volume, outside the synced folder
    staging: Path | None = None
    # <root>/<company> must exist: a missing one is an outage (an unmounted volume, Dropbox
    # not running), never created at run time. true: created once at start-up (trials only).
    create_company_folder: Bool = False
    app_key_env: str = "DROPBOX_APP_KEY"
    app_secret_env: str = "DROPBOX_APP_SECRET"
    refresh_token_env: str = "DROPBOX_REFRESH_TOKEN"
    token_file: Path | None = None
    chunk_mib: Int = 8
    single_upload_limit_mib: Annotated[Int, Field(ge=1, le=150)] = 150
    concurrency: Count = 4
    ca_bundle: Path | None = None
    timeout_seconds: Positive = 100.0
    attempts: Count = 8  # api mode: tries per Dropbox request (our retry policy, SDK retries off)


@dataclass(frozen=True)
class MaxBadRowsConfig:
    """How many bad rows a tracciato may have and still be published without them (the bad
    rows held back in quarantine); beyond either bound the whole file is refused."""

    count: Annotated[Int, Field(ge=0, le=MAX_HELD_LINES)] = 100
    percent: Annotated[Num, Field(ge=0, le=100)] = 10.0


@dataclass(frozen=True)
class ExportConfig:
    enabled: Bool = True
    watch: Path = Path("var/erp/export")
    settle_seconds: NonNeg = 1.0
    # An ERP that creates its file first and writes it later must not have the empty file
    # taken (Camel's readLockMinLength, with an end).
    empty_settle_seconds: NonNeg = 300.0  # an empty (0-byte) file is taken only once it stayed empty this long
    done_marker: str | None = None
    rescan_seconds: Positive = 60.0
    polling: Bool = False  # PollingObserver, for network shares
    poll_interval_seconds: Positive = 2.0
    archive: Path = Path("var/erp/archive")
    quarantine: Path = Path("var/erp/quarantine")
    archive_days: NonNegInt = 30
    quarantine_days: NonNegInt = 90
    min_free_mb: NonNegInt = 100
    length_policy: Literal["error", "truncate"] = "error"
    max_errors: Annotated[Int, Field(ge=0, le=100_000)] = 1000
    # lenient: what real writers write beyond the documentation is published, with a
    # warning; strict: every warning is an error (the documented layout enforced).
    strictness: Literal["strict", "lenient"] = "lenient"
    max_bad_rows: MaxBadRowsConfig = field(default_factory=MaxBadRowsConfig)
    batch_seconds: NonNeg = 0.2  # files ready within this window of each other go together
    info_file: Bool = True
    # How an ERP's own CSV export maps onto a tracciato: formats.dialect.Dialect, key for key.
    dialects: list[Dialect] = field(default_factory=list)


@dataclass(frozen=True)
class LicenseManagerConfig:
    url: HttpUrl
    key_env: str = "LICENSE_MANAGER_KEY"


@dataclass(frozen=True)
class AppManagerConfig:
    url: HttpUrl | None = "http://127.0.0.1:8765/api/v1/progetti/ic.acme"
    license_manager: LicenseManagerConfig | None = None
    auth_key_env: str = "APPMANAGER_AUTH_KEY"
    poll_seconds: Positive = 60.0
    streams: list[str] = field(default_factory=lambda: list(STREAMS))
    page_size: Annotated[Int, Field(ge=1, le=1000)] = 50
    connect_timeout: Positive = 5.0
    read_timeout: Positive = 30.0
    attempts: Count = 5
    ca_bundle: Path | None = None
    status_export: Int | None = None
    max_answer_mb: Positive = 64.0  # an answer bigger than this is refused while it streams in
    request_deadline_seconds: Positive = 60.0  # a whole request, however slowly it trickles


@dataclass(frozen=True)
class LegacyConfig:
    enabled: Bool = False
    folder: Path | None = None  # default <dropbox root>/<company>/appmanager
    archive: Path | None = None  # None: delete imported files, as AppManager expects
    scan_seconds: Positive = 30.0
    quarantine: Path | None = None  # default <export.quarantine>/legacy
    settle_seconds: Num = 1.0  # size and mtime unchanged this long: the file is complete


@dataclass(frozen=True)
class SqlSinkConfig:
    url: str = "sqlite:///var/erp/staging.sqlite"
    url_env: str | None = None  # takes precedence when set, so passwords stay out of the file
    table_prefix: str = "ic_"
    tables: dict[str, str] = field(default_factory=dict)  # logical name -> table name
    columns: dict[str, str] = field(default_factory=dict)  # "table.column" -> column name


@dataclass(frozen=True)
class CommandSinkConfig:
    argv: list[str] = field(default_factory=list)  # e.g. ["erp-import", "{file}", "--stream", "{stream}"]
    timeout_seconds: Positive = 120.0
    workdir: Path | None = None
    # Keys the ERP program accepted (exit 0), so a replay does not run it twice.
    ledger: Path = Path("var/state/erp_command.sqlite")
    max_output_chars: Int = 4000  # stderr kept (the end of it) for the dead letter


@dataclass(frozen=True)
class ErpConfig:
    sink: Literal["files", "sql", "command"] = "files"
    path: Path = Path("var/erp/import")
    format: Literal["json", "tracciato"] = "json"
    sql: SqlSinkConfig = field(default_factory=SqlSinkConfig)
    command: CommandSinkConfig = field(default_factory=CommandSinkConfig)


@dataclass(frozen=True)
class ImportConfig:
    enabled: Bool = True
    source: Literal["api", "legacy", "both"] = "api"
    appmanager: AppManagerConfig = field(default_factory=AppManagerConfig)
    legacy: LegacyConfig = field(default_factory=LegacyConfig)
    erp: ErpConfig = field(default_factory=ErpConfig)
    retry_seconds: Positive = 300.0  # dead letters are retried this often (with backoff per record)
    max_retry_seconds: Positive = 6 * 3600.0
    # Big pages decoded in a second process (a second interpreter lock): several times the
    # throughput of a backlog on a multi-core machine. False: everything in this process.
    decode_worker: Bool = True


@dataclass(frozen=True)
class SandboxConfig:
    enabled: Bool = True
    host: str = "127.0.0.1"
    port: Port = 8765
    db: Path = Path("var/sandbox/appmanager.sqlite")
    auth_key: str = "sandbox-key"
    project: str = "ic.acme"
    seed: Bool = True
    enqueue_every_seconds: Num = 0.0  # >0: iPads keep sending demo orders


@dataclass(frozen=True)
class StatusConfig:
    http: HostPort | None = None  # host:port for /healthz, /status, /metrics
    heartbeat_timeout_seconds: Positive = 120.0


@dataclass(frozen=True)
class ConsoleConfig:
    """The web console (docs/guide/console.md): pages behind a login, served by the daemon."""

    http: str | None = None  # host:port; null: no console
    tls_cert: Path | None = None  # PEM certificate (chain) for HTTPS
    tls_key: Path | None = None  # its PEM private key
    allow_plain_http: bool = False  # serve a non-loopback address without TLS (a warning is logged)
    session_secret_file: Path | None = None  # null: <state_dir>/console_secret (made 0600 at start)
    session_hours: float = 12.0  # a login lasts this long
    login_attempts: int = 5  # failed logins allowed per client and per user name ...
    login_window_seconds: float = 300.0  # ... within this window; then refused until it passes
    max_upload_mb: float = 100.0  # a request body over this is refused (413)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: Port = 25
    starttls: Bool = False
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "connector@localhost"
    ssl: Bool = False  # TLS from the first byte (SMTPS, usually port 465) instead of STARTTLS
    ca_bundle: Path | None = None  # a private CA for the mail server; TLS is always verified


@dataclass(frozen=True)
class NotificationsConfig:
    smtp: SmtpConfig | None = None
    webhook: HttpUrl | None = None
    info_to: list[str] = field(default_factory=list)
    error_to: list[str] = field(default_factory=list)
    min_interval_seconds: Num = 900.0


@dataclass(frozen=True)
class ServiceConfig:
    name: str = "icommerce-connector"
    user: str = "connector"
    watchdog_seconds: Count = 60
    stop_deadline_seconds: Positive = 20.0


@dataclass(frozen=True)
class ExtractScheduleConfig:
    """When the daemon runs an extraction job by itself (manual runs are always allowed)."""

    every_minutes: Num | None = None  # an interval ...
    cron: str | None = None  # ... or five cron fields, e.g. "0 23 * * *"
    mode: Literal["full", "changed"] = "changed"  # full: every tracciato; changed: those whose rows changed
    weekdays: list[str] = field(default_factory=list)  # mon..sun; empty: every day
    window: str | None = None  # "07:00-20:00" (may cross midnight); None: all day


@dataclass(frozen=True)
class ExtractJobConfig:
    """One tracciato extracted from the ERP database by one query."""

    layout: str  # e.g. io_art; the file written is <layout>.dat
    query: str | None = None  # SQL text, or:
    query_file: Path | None = None  # a .sql file, relative to the configuration file
    columns: dict[str, str] = field(default_factory=dict)  # query column -> layout field
    key: str | None = None  # CHIAVE template, e.g. "{COD_DITTA}§{COD_ART}"
    params: dict[str, str] = field(default_factory=dict)  # override extract.params
    schedule: ExtractScheduleConfig | None = None  # default: extract.schedule
    enabled: Bool = True


@dataclass(frozen=True)
class ExtractMediaConfig:
    """Catalog media from the ERP: images per article (file in image_dir or URL) + io_catalogo."""

    enabled: Bool = False
    query: str | None = None
    query_file: Path | None = None
    columns: dict[str, str] = field(default_factory=dict)  # query column -> catalog field
    image_dir: Path | None = None  # the ERP image folder (IMMAGINE names a file in it)
    placeholder: str | None = None  # e.g. empty-image.jpg for articles without an image
    extensions: list[str] = field(default_factory=lambda: [".jpg", ".jpeg", ".png", ".gif"])
    max_pixels: Annotated[Int, Field(ge=16)] | None = None  # resize so neither side exceeds this (Pillow)
    max_download_mb: Positive = 20.0
    connect_timeout_seconds: Positive = 5.0
    read_timeout_seconds: Positive = 30.0
    attempts: Count = 3
    content_types: list[str] = field(
        default_factory=lambda: ["image/jpeg", "image/png", "image/gif"])
    ca_bundle: Path | None = None
    schedule: ExtractScheduleConfig | None = None


@dataclass(frozen=True)
class ExtractConfig:
    """Scheduled SQL extraction from the ERP database into tracciati (docs/guide/extract.md)."""

    enabled: Bool = False
    url: str | None = None  # SQLAlchemy URL without password, or:
    url_env: str | None = None  # the environment variable holding the URL (takes precedence)
    params: dict[str, str] = field(default_factory=dict)  # bind parameters for every query
    schedule: ExtractScheduleConfig | None = None  # for jobs without their own
    jobs: list[ExtractJobConfig] = field(default_factory=list)
    media: ExtractMediaConfig = field(default_factory=ExtractMediaConfig)
    fetch_rows: Count = 5000  # rows per round trip (server-side cursor)
    diff_list_limit: NonNegInt = 50  # keys listed per category in a dry-run report
    tick_seconds: Positive = 20.0  # how often the scheduler looks at the clock


GeocodeProvider = Literal["nominatim", "google", "opencage", "mapbox", "here", "photon",
                          "pelias"]
GEOCODE_LAYOUTS = ("io_clifor_gen", "io_clifor_dest", "io_leads")


@dataclass(frozen=True)
class GeocodeConfig:
    """Coordinates for customers, destinations and leads (docs/guide/geocoding.md).

    Off by default: when on, the addresses of those rows are sent to `provider`.
    """

    enabled: Bool = False
    provider: GeocodeProvider = "nominatim"
    url: str | None = None  # a self-hosted (or stand-in) server; None: the provider's public one
    api_key_env: str | None = None  # the environment variable holding the provider's key
    user_agent: str | None = None  # None: "icommerce-connector/<version> (<company>)"
    requests_per_second: Num | None = None  # None: the provider's policy (public Nominatim: 1)
    timeout_seconds: Num = 10.0  # one request, connect to last byte
    attempts: Int = 3  # tries per address in one pass (timeouts, 5xx, 429), then retried later
    country: str = "IT"  # ISO 3166-1 alpha-2: addresses without NAZIONE are here; biases searches
    language: str | None = "it"  # the language of the provider's labels
    min_quality: Literal["house", "street", "locality", "any"] = "street"
    layouts: list[str] = field(default_factory=lambda: list(GEOCODE_LAYOUTS))
    suppliers: Bool = False  # TIPO_CLIFOR 1 rows too (they are not on the agents' map)
    retry_failed_minutes: Num = 60.0  # a failed address is asked again after this, doubling
    retry_not_found_days: Num = 30.0  # an address the provider did not find (or too vaguely)
    refresh_found_days: Num | None = None  # ask found ones again (a provider's caching terms)
    idle_seconds: Num = 60.0  # how often the loop looks for new addresses when it has none
    ca_bundle: Path | None = None
    proxy: HttpUrl | None = None  # e.g. http://proxy.lan:3128; None: direct


@dataclass(frozen=True)
class Config:
    __pydantic_config__ = _PYDANTIC

    company: str
    version: Int = 1
    state_dir: Path = Path("var/state")
    # The language of what people read (command output, status, reports, notifications,
    # the console): it | en; None (the default) takes the system's (LANG); logs stay English.
    locale: Literal["it", "en"] | None = None
    # true: the folders that must exist (the watch folder, the Dropbox root in folder mode,
    # the ERP import folder) are created at start when missing; false: a missing one is a
    # configuration error (a mistyped path, an unmounted volume), never created behind it.
    create_folders: Bool = False
    log: LogConfig = field(default_factory=LogConfig)
    dropbox: DropboxConfig = field(default_factory=DropboxConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    import_: Annotated[ImportConfig, Field(alias="import")] = field(default_factory=ImportConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    geocode: GeocodeConfig = field(default_factory=GeocodeConfig)
    source_path: Path | None = None

    # Derived places --------------------------------------------------------------
    @property
    def company_folder(self) -> Path:
        return Path(self.dropbox.root) / self.company

    def dropbox_folder(self, kind: str) -> Path:
        """Folder mode: <root>/<company>/<kind> (gestionale, multimedia, reports, appmanager)."""
        return self.company_folder / kind

    @property
    def staging_dir(self) -> Path:
        return self.dropbox.staging or (self.state_dir.parent / "staging")

    @property
    def legacy_folder(self) -> Path:
        return self.import_.legacy.folder or self.dropbox_folder("appmanager")


# The YAML key for a field whose Python name would clash with a keyword.
_YAML_NAMES = {"import_": "import"}
_NOT_FROM_YAML = {"source_path"}


@cache
def _adapter() -> TypeAdapter[Config]:
    return TypeAdapter(Config)


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out or "<top>"


def _unwrap(tp: Any) -> Any:
    """Annotated[X, ...] -> X; X | None -> X."""
    while True:
        if typing.get_origin(tp) is Annotated:
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = inner[0]
        else:
            return tp


def _keys_at(loc: tuple[Any, ...]) -> list[str]:
    """The YAML keys of the section at `loc` (for "did you mean")."""
    tp: Any = Config
    for part in loc:
        tp = _unwrap(tp)
        if dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp, include_extras=True)
            names = {_YAML_NAMES.get(n, n): n for n in hints}
            if part not in names:
                return []
            tp = hints[names[part]]
        elif typing.get_origin(tp) in (list, dict):
            tp = typing.get_args(tp)[-1]
        else:
            return []
    tp = _unwrap(tp)
    if not dataclasses.is_dataclass(tp):
        return []
    return [_YAML_NAMES.get(f.name, f.name) for f in dataclasses.fields(tp)
            if f.name not in _NOT_FROM_YAML]


def _shown(value: Any) -> str:
    """A value as the operator wrote it in YAML."""
    if value is None:
        return _("nothing")
    if value is True or value is False:
        return str(value).lower()
    if isinstance(value, dict):
        return _("a mapping")
    if isinstance(value, list):
        return _("a list")
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: Any) -> tuple[str, str]:
    """One pydantic error -> (key path, our sentence)."""
    kind, loc, ctx, value = error["type"], tuple(error["loc"]), error.get("ctx") or {}, \
        error.get("input")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        close = difflib.get_close_matches(str(loc[-1]), _keys_at(loc[:-1]), n=1)
        if close:
            return _key_path(loc), _("unknown key (did you mean '{key}'?)").format(key=close[0])
        return _key_path(loc), _("unknown key")
    if kind == "missing":
        return _key_path(loc), _("required key is missing")
    if kind == "connector":
        return _key_path(loc), str(ctx.get("message", ""))
    if value is None and kind not in ("dataclass_type", "dict_type", "list_type"):
        return _key_path(loc), _("must not be empty")
    got = _shown(value)
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return _key_path(loc), _("must be one of {choices}, got {value}").format(
            choices=expected, value=got)
    templates = {
        "int_type": _("expected a whole number, got {value}"),
        "int_parsing": _("expected a whole number, got {value}"),
        "int_from_float": _("expected a whole number, got {value}"),
        "float_type": _("expected a number, got {value}"),
        "float_parsing": _("expected a number, got {value}"),
        "bool_type": _("expected true or false, got {value}"),
        "bool_parsing": _("expected true or false, got {value}"),
        "string_type": _("expected text, got {value}"),
        "list_type": _("expected a list, got {value}"),
        "dict_type": _("expected a mapping (indented key: value lines), got {value}"),
        "dataclass_type": _("expected a mapping (indented key: value lines), got {value}"),
        "path_type": _("expected a folder or file path, got {value}"),
        "greater_than_equal": _("must be at least {ge}, got {value}"),
        "greater_than": _("must be more than {gt}, got {value}"),
        "less_than_equal": _("must be at most {le}, got {value}"),
        "less_than": _("must be less than {lt}, got {value}"),
    }
    if kind in ("greater_than_equal", "less_than_equal") and loc and str(loc[-1]) == "port":
        return _key_path(loc), _("a port is a number between 1 and 65535, got {value}").format(
            value=got)
    text = templates.get(kind, _("is not valid, got {value}"))
    bounds = {k: f"{ctx[k]:g}" if isinstance(ctx.get(k), int | float) else ctx.get(k, "")
              for k in ("ge", "gt", "le", "lt")}
    return _key_path(loc), text.format(value=got, **bounds)


def _resolved(obj: Any, base: Path) -> Any:
    """Relative paths (and sqlite:/// URLs) made absolute against the configuration's
    folder, in every section, the defaults included; `~` expanded."""
    if isinstance(obj, list):
        return [_resolved(v, base) for v in obj]
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        if isinstance(value, Path):
            p = Path(os.path.expanduser(value))
            new: Any = p if p.is_absolute() else base / p
        elif f.name == "url" and isinstance(value, str) and value.startswith("sqlite:///") \
                and not value.startswith("sqlite:////") and ":memory:" not in value:
            new = "sqlite:///" + str(base / value[len("sqlite:///"):])
        else:
            new = _resolved(value, base)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(obj, **changes) if changes else obj


def _semantic_checks(cfg: Config, err: Any) -> None:
    """What the types alone cannot say: rules across keys, on the built configuration."""
    if cfg.version != 1:
        err("version", _("unsupported version {version} (this connector reads version 1)")
            .format(version=cfg.version))
    if not cfg.company or any(c in cfg.company for c in "/\\|:*?\"<>"):
        err("company", _("must be a non-empty code without path separators or |"))
    ex = cfg.export
    if ex.empty_settle_seconds < ex.settle_seconds:
        err("export.empty_settle_seconds", _("must be at least export.settle_seconds"))
    if ex.done_marker is not None and not ex.done_marker.startswith("."):
        err("export.done_marker", _("must be a suffix starting with '.', e.g. .done"))
    for i, d in enumerate(ex.dialects):
        if d is not None:
            from formats.dialect import check_dialect

            for problem in check_dialect(d):
                key, _sep, text = problem.partition(": ")
                err(f"export.dialects[{i}].{key}", text)
    _check_folder_roles(cfg, err)
    if cfg.dropbox.chunk_mib <= 0 or cfg.dropbox.chunk_mib % 4:
        err("dropbox.chunk_mib", _("must be a positive multiple of 4 (Dropbox upload sessions)"))
    am = cfg.import_.appmanager
    if cfg.import_.enabled and cfg.import_.source in ("api", "both") and not (am.url or am.license_manager):
        err("import.appmanager.url", _("set url or license_manager"))
    for i, s in enumerate(am.streams):
        if s not in STREAMS:
            err(f"import.appmanager.streams[{i}]", _("unknown stream {name!r}; known: {known}")
                .format(name=s, known=", ".join(STREAMS)))
    if cfg.import_.erp.sink == "command" and not cfg.import_.erp.command.argv:
        err("import.erp.command.argv", _("required when import.erp.sink is command"))
    smtp = cfg.notifications.smtp
    if smtp is not None:
        if smtp.ssl and smtp.starttls:
            err("notifications.smtp.ssl", _(
                "ssl and starttls exclude each other: ssl is TLS from the first byte (port "
                "465), starttls upgrades a plain connection"))
        if (smtp.username_env or smtp.password_env) and not (smtp.ssl or smtp.starttls) \
                and smtp.host not in ("127.0.0.1", "localhost", "::1"):
            err("notifications.smtp.starttls", _(
                "a username and password need starttls: true or ssl: true, or they would "
                "travel in clear to the mail server"))
    _check_console(cfg.console, err)
    check_extract(cfg, err)
    _check_geocode(cfg.geocode, err)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _check_console(c: ConsoleConfig, err: Any) -> None:
    """The console's address, TLS files and limits; a non-loopback address needs TLS."""
    if c.http is None:
        return
    host, _sep, port = c.http.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit():
        err("console.http", _("expected host:port, e.g. 127.0.0.1:8767"))
        return
    if int(port) > 65535:  # 0: any free port (tests, a second instance's trial)
        err("console.http", _("the port must be between 1 and 65535, got {port}").format(
            port=port))
    if (c.tls_cert is None) != (c.tls_key is None):
        err("console.tls_cert", _("set both tls_cert and tls_key, or neither"))
    for key in ("tls_cert", "tls_key"):
        p = getattr(c, key)
        if p is not None and not p.is_file():
            err(f"console.{key}", _("file not found: {path}").format(path=p))
    if c.tls_cert is None and not is_loopback(host) and not c.allow_plain_http:
        err("console.http", _("{host} is not a loopback address: set console.tls_cert and "
                              "console.tls_key (HTTPS), or put the console behind a reverse "
                              "proxy on 127.0.0.1, or, on a network you trust, "
                              "console.allow_plain_http: true").format(host=host))
    if c.session_hours <= 0:
        err("console.session_hours", _("must be above 0"))
    if c.login_attempts < 1:
        err("console.login_attempts", _("must be at least 1"))
    if c.login_window_seconds <= 0:
        err("console.login_window_seconds", _("must be above 0"))
    if c.max_upload_mb <= 0:
        err("console.max_upload_mb", _("must be above 0"))


def folder_roles(cfg: Config) -> list[tuple[str, Path]]:
    """The folders the connector uses, each with the key that names it (those in use)."""
    roles: list[tuple[str, Path]] = [("state_dir", cfg.state_dir), ("log.dir", cfg.log.dir)]
    if cfg.export.enabled:
        roles += [("export.watch", cfg.export.watch), ("export.archive", cfg.export.archive),
                  ("export.quarantine", cfg.export.quarantine)]
    if cfg.dropbox.mode == "folder":
        roles += [("dropbox.root", Path(cfg.dropbox.root)), ("dropbox.staging", cfg.staging_dir)]
    im = cfg.import_
    if im.enabled and im.erp.sink == "files":
        roles.append(("import.erp.path", im.erp.path))
    if im.enabled and (im.source != "api" or im.legacy.enabled):
        if im.legacy.folder is not None:
            roles.append(("import.legacy.folder", im.legacy.folder))
        if im.legacy.archive is not None:
            roles.append(("import.legacy.archive", im.legacy.archive))
    return roles


def required_folders(cfg: Config) -> list[tuple[str, Path]]:
    """The folders that must exist before the connector starts (create_folders: true
    creates them instead): where the ERP drops its files, where Dropbox syncs, where the
    ERP reads. A missing one is a mistyped path or an unmounted volume."""
    out: list[tuple[str, Path]] = []
    if cfg.export.enabled:
        out.append(("export.watch", cfg.export.watch))
    if cfg.dropbox.mode == "folder" and (cfg.export.enabled or cfg.import_.source != "api"
                                         or cfg.import_.legacy.enabled):
        out.append(("dropbox.root", Path(cfg.dropbox.root)))
    if cfg.import_.enabled and cfg.import_.erp.sink == "files":
        out.append(("import.erp.path", cfg.import_.erp.path))
    return out


def create_missing_folders(cfg: Config) -> list[Path]:
    """create_folders: true: make the required folders that are missing (at start)."""
    made: list[Path] = []
    if cfg.create_folders:
        for _key, folder in required_folders(cfg):
            if not folder.exists():
                folder.mkdir(parents=True, exist_ok=True)
                made.append(folder)
    return made


def _real(p: Path) -> Path:
    try:
        return Path(os.path.realpath(p))
    except (OSError, ValueError):
        return p


def _check_folder_roles(cfg: Config, err: Any) -> None:
    roles = [(key, _real(p)) for key, p in folder_roles(cfg)]
    seen: dict[Path, str] = {}
    for key, p in roles:
        if p in seen:
            err(key, _("the same folder as {other} ({path}): each role needs its own folder")
                .format(other=seen[p], path=p))
        else:
            seen[p] = key
    watch = _real(cfg.export.watch) if cfg.export.enabled else None
    root = _real(Path(cfg.dropbox.root)) if cfg.dropbox.mode == "folder" else None
    # archive/ and quarantine/ may be subfolders of the watch folder (a layout ERPs use):
    # the watcher skips them. Any other folder there would be taken for exports.
    beside_watch = ("export.watch", "export.archive", "export.quarantine")
    for key, p in roles:
        if watch is not None and key not in beside_watch and p != watch \
                and p.is_relative_to(watch):
            err(key, _("inside the watch folder export.watch ({path}): the connector would "
                       "take its files for new exports").format(path=watch))
        elif root is not None and key in ("export.watch", "export.archive", "export.quarantine",
                                          "state_dir", "dropbox.staging", "log.dir",
                                          "import.erp.path") \
                and p != root and p.is_relative_to(root):
            err(key, _("must be outside the synced Dropbox folder ({path})").format(path=root))


def _check_required_folders(cfg: Config, err: Any) -> None:
    if cfg.create_folders:
        return
    for key, folder in required_folders(cfg):
        if not folder.exists():
            err(key, _("the folder {path} does not exist: create it, correct the path, or set "
                       "create_folders: true to have it created at start").format(path=folder))
        elif not folder.is_dir():
            err(key, _("{path} is not a folder").format(path=folder))


def check_extract(cfg: Config, err: Any) -> None:
    """Every problem of the `extract:` section, with its key path."""
    from connector.extract.schedule import parse_schedule
    from formats import get_layout

    ex = cfg.extract
    if not ex.enabled:
        return

    def schedule(s: ExtractScheduleConfig | None, path: str) -> None:
        for problem in parse_schedule(s, path)[1] if s is not None else ():
            key, _sep, message = problem.partition(": ")
            err(key, message)

    if not (ex.url or ex.url_env) and (ex.jobs or ex.media.enabled):
        err("extract.url", _("set url or url_env (the SQLAlchemy URL of the ERP database)"))
    seen: set[str] = set()
    for i, job in enumerate(ex.jobs):
        path = f"extract.jobs[{i}]"
        try:
            layout = get_layout(job.layout)
        except KeyError:
            err(f"{path}.layout", _("unknown tracciato {name!r}; `connector layouts` lists "
                                    "them").format(name=job.layout))
            continue
        if layout.name in seen:
            err(f"{path}.layout", _("{name} is extracted by two jobs").format(name=layout.name))
        seen.add(layout.name)
        if not layout.header:
            err(f"{path}.layout", _("{name} is a legacy return file, not an export").format(
                name=layout.name))
        if (job.query is None) == (job.query_file is None):
            err(path, _("set exactly one of query or query_file"))
        elif job.query_file is not None and not job.query_file.is_file():
            err(f"{path}.query_file", _("no such file: {path}").format(path=job.query_file))
        schedule(job.schedule, f"{path}.schedule")
    schedule(ex.schedule, "extract.schedule")
    media = ex.media
    if media.enabled:
        if (media.query is None) == (media.query_file is None):
            err("extract.media", _("set exactly one of query or query_file"))
        elif media.query_file is not None and not media.query_file.is_file():
            err("extract.media.query_file", _("no such file: {path}").format(
                path=media.query_file))
        schedule(media.schedule, "extract.media.schedule")


_GEOCODE_NEEDS_KEY = frozenset({"google", "opencage", "mapbox", "here"})
_GEOCODE_NEEDS_URL = frozenset({"pelias"})


def _check_geocode(g: GeocodeConfig, err: Any) -> None:
    from urllib.parse import urlsplit

    from connector.geocode import texts

    if g.url is not None and g.provider == "here":
        err("geocode.url", _(texts.CFG_URL_FIXED).format(provider=g.provider))
    elif g.url is not None:
        parts = urlsplit(g.url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            err("geocode.url", _(texts.CFG_URL))
        elif (parts.scheme == "http" and g.provider in _GEOCODE_NEEDS_KEY
              and parts.hostname not in ("127.0.0.1", "localhost", "::1")):
            err("geocode.url", _(texts.CFG_URL_PLAIN_KEY))
    elif g.provider in _GEOCODE_NEEDS_URL:
        err("geocode.url", _(texts.CFG_URL_REQUIRED).format(provider=g.provider))
    if g.provider in _GEOCODE_NEEDS_KEY and not g.api_key_env:
        err("geocode.api_key_env", _(texts.CFG_KEY_REQUIRED).format(provider=g.provider))
    rate = g.requests_per_second
    if rate is not None and not 0 < rate <= 100:
        err("geocode.requests_per_second", _(texts.CFG_RATE))
    elif rate is not None and rate > 1 and g.provider == "nominatim" and g.url is None:
        err("geocode.requests_per_second", _(texts.CFG_NOMINATIM_RATE))
    if not 0 < g.timeout_seconds <= 60:
        err("geocode.timeout_seconds", _(texts.CFG_TIMEOUT))
    if not 1 <= g.attempts <= 10:
        err("geocode.attempts", _(texts.CFG_ATTEMPTS))
    if len(g.country) != 2 or not g.country.isalpha():
        err("geocode.country", _(texts.CFG_COUNTRY))
    for i, name in enumerate(g.layouts):
        if name not in GEOCODE_LAYOUTS:
            err(f"geocode.layouts[{i}]", _(texts.CFG_LAYOUT).format(
                name=name, known=", ".join(GEOCODE_LAYOUTS)))
    for key in ("retry_failed_minutes", "retry_not_found_days", "idle_seconds",
                "refresh_found_days"):
        if getattr(g, key) is not None and getattr(g, key) <= 0:
            err(f"geocode.{key}", _(texts.CFG_POSITIVE))
    if g.user_agent is not None and (not g.user_agent.strip() or not g.user_agent.isprintable()):
        err("geocode.user_agent", _(texts.CFG_USER_AGENT))


def parse_config(data: Any, base: Path, source: str | None = None) -> Config:
    """The configuration from YAML data, or ConfigError listing every problem once, each
    with its key path. Relative paths are resolved against `base`."""
    if data is None:
        data = {}
    errors: list[str] = []

    def err(path: str, message: str) -> None:
        line = f"{path or '<top>'}: {message}"
        if line not in errors:
            errors.append(line)

    if isinstance(data, dict):
        for key in _NOT_FROM_YAML & set(map(str, data)):
            err(key, _("unknown key"))
        data = {k: v for k, v in data.items() if k not in _NOT_FROM_YAML}
    try:
        cfg = _adapter().validate_python(data)
    except ValidationError as exc:
        for error in exc.errors():
            err(*_explain(error))
        raise ConfigError(errors, source=source) from None
    cfg = _resolved(cfg, base)
    if cfg.dropbox.mode == "folder":
        root = Path(os.path.expanduser(cfg.dropbox.root))
        if not root.is_absolute():
            cfg = dataclasses.replace(cfg, dropbox=dataclasses.replace(
                cfg.dropbox, root=str(base / root)))
    _semantic_checks(cfg, err)
    _check_required_folders(cfg, err)
    if errors:
        raise ConfigError(errors, source=source)
    return cfg


def default_config_path() -> Path:
    return Path(os.environ.get("CONNECTOR_CONFIG") or "connector.yaml")


def yaml_error(text: str, exc: yaml.YAMLError) -> str:
    """A YAML syntax error in plain words: where, the line as written, a caret under the
    column."""
    mark = getattr(exc, "problem_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    if mark is None:
        return _("not valid YAML: {problem}").format(problem=problem)
    lines = text.splitlines()
    shown = lines[mark.line] if 0 <= mark.line < len(lines) else ""
    hint = ""
    if "\t" in shown[:mark.column + 1] or "'\\t'" in problem:
        hint = " " + _("(a tab: YAML indents with spaces only)")
    head = _("line {line}, column {column}: not valid YAML: {problem}").format(
        line=mark.line + 1, column=mark.column + 1, problem=problem) + hint
    caret = "".join("\t" if c == "\t" else " " for c in shown[:mark.column]) + "^"
    return f"{head}\n      {shown}\n      {caret}"


def load_config(path: Path | str | None = None) -> Config:
    p = Path(path) if path is not None else default_config_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([_("file not found: {path}").format(path=p)], source=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([_("cannot read {path}: {reason}").format(
            path=p, reason=getattr(exc, "strerror", None) or exc)], source=str(p)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([yaml_error(text, exc)], source=str(p)) from None
    cfg = parse_config(data, p.resolve().parent, source=str(p))
    return dataclasses.replace(cfg, source_path=p.resolve())


def secret(env_name: str | None) -> str | None:
    """Read a secret from the environment. Never log what this returns."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None


# What a key is for, where its field above has no comment (docs/reference/configuration.md
# is generated from the comments and this table: `make docs`; tests/core/test_docs.py fails
# on a key described nowhere, or in both places). Keyed by the YAML path, which is the
# interface (CONFIG.md), so a field that moves keeps its text.
KEY_DOCS: dict[str, str] = {
    "company": "COD_DITTA, and the company folder under the Dropbox root",
    "version": "the configuration format's version; this connector reads 1",
    "state_dir": "the state store (SQLite, WAL), the instance lock and the run locks",
    "log.dir": "folder of the rotating connector.log",
    "log.level": "the lowest level logged",
    "log.format": "text: the file holds JSON lines, a terminal reads text; json: JSON lines "
                  "on a redirected console too; logfmt: key=value lines in the file and on "
                  "a redirected console",
    "log.max_bytes": "connector.log is rotated at this size",
    "log.backups": "rotated files kept (connector.log.1 ... .N)",
    "dropbox.mode": "folder: a locally synced Dropbox folder; api: the Dropbox HTTP API",
    "dropbox.app_key_env": "api mode: the environment variable holding the Dropbox app key",
    "dropbox.app_secret_env": "api mode: the variable holding the app secret; unset: login "
                              "uses PKCE",
    "dropbox.refresh_token_env": "api mode: the variable holding the refresh token; unset: "
                                 "the OS keyring, else token_file",
    "dropbox.token_file": "api mode: where `connector dropbox login` stores the refresh token "
                          "(mode 0600); null: <state_dir>/dropbox_token.json",
    "dropbox.chunk_mib": "api mode: upload-session chunk, a multiple of 4 (memory per upload is "
                         "about one chunk)",
    "dropbox.single_upload_limit_mib": "api mode: up to this size a file goes in one request "
                                       "(at most 150)",
    "dropbox.concurrency": "api mode: upload requests at once (lowered by itself on lock "
                           "contention)",
    "dropbox.ca_bundle": "api mode: a PEM file of CAs to trust instead of the system store",
    "dropbox.timeout_seconds": "api mode: the timeout of one Dropbox request",
    "export.enabled": "watch the export folder and publish what the ERP drops there",
    "export.watch": "where the ERP drops io_*.dat, media and reports",
    "export.settle_seconds": "a file is taken once its size and mtime are unchanged this long",
    "export.done_marker": "e.g. .done: take x.dat only once x.dat.done exists (the marker is "
                          "removed afterwards)",
    "export.rescan_seconds": "full rescan of the export folder: events are hints, the rescan "
                             "finds what they missed",
    "export.poll_interval_seconds": "with polling: true, how often the folder is listed",
    "export.archive": "sources go to archive/<yyyy-mm-dd>/ once published",
    "export.quarantine": "refused files, each with <name>.errors.txt; held-back rows under "
                         "held-back/",
    "export.archive_days": "archive days are kept this long (time the connector saw pass)",
    "export.quarantine_days": "quarantined files are kept this long, announced 7 days before "
                              "they go",
    "export.min_free_mb": "a burst is staged only while the staging volume keeps this much "
                          "free; the rest waits for the next burst",
    "export.length_policy": "text longer than documented: error = published as written with a "
                            "warning; truncate = cut to the documented length, never a key",
    "export.max_errors": "problems listed per file in a quarantine report (the rest counted)",
    "export.info_file": "write io_info.dat (release, company, extraction time, version) with "
                        "each burst that publishes a tracciato",
    "export.max_bad_rows.count": "at most this many bad rows are held back (0: never hold rows "
                                 "back, refuse the whole file)",
    "export.max_bad_rows.percent": "and at most this share of the file's rows; beyond either, "
                                   "the whole file is refused",
    "import.enabled": "pull what the agents entered from AppManager into the ERP",
    "import.source": "api: AppManager's web services; legacy: the AM_*.DAT files; both: a "
                     "changeover",
    "import.max_retry_seconds": "the longest wait between two retries of a dead letter",
    "import.appmanager.url": "the project URL (.../v1/progetti/<project code>); null: ask "
                             "the License Manager",
    "import.appmanager.auth_key_env": "the environment variable holding the AppManager authKey "
                                      "(the enabled sandbox's own key when unset)",
    "import.appmanager.poll_seconds": "how often the daemon pulls every stream",
    "import.appmanager.streams": "the streams pulled, in this order",
    "import.appmanager.page_size": "records asked for per request (1 to 1000)",
    "import.appmanager.connect_timeout": "seconds to connect",
    "import.appmanager.read_timeout": "seconds without a byte of the answer",
    "import.appmanager.attempts": "tries per request (connection errors, timeouts, 5xx, 429) "
                                  "before the stream waits for the next cycle",
    "import.appmanager.ca_bundle": "a private CA for AppManager's certificate; TLS is always "
                                   "verified",
    "import.appmanager.status_export": "orders only: AppManager's statusExport filter (2 where "
                                       "orders are validated in AppManager first); null: none",
    "import.appmanager.license_manager.url": "the License Manager's API, e.g. "
                                             "https://lm.giessedati.it/lmAPI/v1",
    "import.appmanager.license_manager.key_env": "the environment variable holding the License "
                                                 "Manager key",
    "import.legacy.enabled": "also read the legacy files while import.source is api",
    "import.legacy.scan_seconds": "how often the folder is listed (synced folders miss events)",
    "import.erp.sink": "where records go: files in a folder, SQL staging tables, or a command",
    "import.erp.path": "files sink: the ERP's import folder",
    "import.erp.format": "files sink: json, or tracciato (the legacy AM_* layouts)",
    "import.erp.sql.url": "SQL sink: the SQLAlchemy URL of the staging database, without a "
                          "password",
    "import.erp.sql.table_prefix": "SQL sink: prefix of the staging tables' names",
    "import.erp.command.timeout_seconds": "command sink: a run past this is killed (with its "
                                          "children) and the record retried later",
    "import.erp.command.workdir": "command sink: the program's working directory; records are "
                                  "written to <workdir>/command-inbox/ (null: the ledger's "
                                  "folder)",
    "sandbox.enabled": "start the bundled AppManager sandbox beside the daemon (trials only)",
    "sandbox.host": "the sandbox's address",
    "sandbox.port": "the sandbox's port",
    "sandbox.db": "the sandbox's queues (SQLite)",
    "sandbox.auth_key": "the authKey the sandbox accepts",
    "sandbox.project": "the project code in the sandbox's URL",
    "sandbox.seed": "fill an empty sandbox with the demo records",
    "status.heartbeat_timeout_seconds": "a loop silent this long is unhealthy (/healthz 503, no "
                                        "systemd watchdog ping)",
    "notifications.webhook": "a URL that gets a JSON POST per notice",
    "notifications.info_to": "addresses told when the connector starts, stops, is healthy again",
    "notifications.error_to": "addresses told of every error logged (rate-limited)",
    "notifications.min_interval_seconds": "at most one notice per kind of error this often",
    "notifications.smtp.host": "the mail server",
    "notifications.smtp.port": "the mail server's port",
    "notifications.smtp.starttls": "upgrade the connection with STARTTLS (certificate and name "
                                   "verified)",
    "notifications.smtp.username_env": "the environment variable holding the SMTP user name",
    "notifications.smtp.password_env": "the environment variable holding the SMTP password",
    "notifications.smtp.sender": "the From address",
    "service.name": "the systemd unit / Windows service name",
    "service.user": "Linux: the dedicated user the unit runs as (created by service install)",
    "service.watchdog_seconds": "systemd WatchdogSec",
    "service.stop_deadline_seconds": "how long the loops get to finish the job in hand on stop",
    "extract.enabled": "run the SQL extraction jobs (on their schedules in the daemon)",
    "extract.jobs[].enabled": "false: the job is skipped",
    "extract.media.enabled": "extract catalog media (images and io_catalogo.dat)",
    "extract.media.query": "SQL returning one row per catalog entry (COD_ART, TITOLO, L1..L4, "
                           "IMMAGINE or URL...)",
    "extract.media.query_file": "a .sql file instead of query, relative to the configuration "
                                "file",
    "extract.media.extensions": "the image file names tried as <COD_ART><extension> when a row "
                                "names no image",
    "extract.media.max_download_mb": "a downloaded image over this is refused",
    "extract.media.connect_timeout_seconds": "seconds to connect for a download",
    "extract.media.read_timeout_seconds": "seconds without a byte of a download",
    "extract.media.attempts": "tries per download (timeouts, connection errors, 429, 5xx)",
    "extract.media.content_types": "the content types a download may have",
    "extract.media.ca_bundle": "a private CA for the image server's certificate",
    "geocode.enabled": "send customers' and leads' addresses to the provider and fill "
                       "coordinates",
    "geocode.provider": "the geocoding service",
    "geocode.min_quality": "the vaguest match published (a vaguer one is kept, not published)",
    "geocode.layouts": "the tracciati whose rows are filled",
    "geocode.ca_bundle": "a private CA for a self-hosted server's certificate",
}
