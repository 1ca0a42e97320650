"""The extraction jobs of a configuration: which tracciati, their SQL, their schedules.

`check_extract(cfg, err)` reports every problem of the `extract:` section with its key
path (the same style as connector.config), so check-config, the daemon and a manual
run all refuse a bad section the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from connector.config import Config, ExtractJobConfig, ExtractScheduleConfig
from connector.errors import ConfigError
from connector.extract.schedule import Schedule, parse_schedule
from formats import get_layout

MEDIA_ENTITY = "io_catalogo"  # the name that selects the catalog media job


@dataclass(frozen=True)
class Job:
    name: str  # the layout, e.g. io_art
    path: str  # its key path in the configuration, for messages
    cfg: ExtractJobConfig | None  # None for the media job
    schedule: Schedule | None


def load_sql(query: str | None, query_file: Path | None, path: str) -> str:
    if query is not None:
        return query
    assert query_file is not None
    try:
        return query_file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError([f"{path}.query_file: cannot read {query_file}: "
                           f"{exc.strerror or exc}"]) from None


def check_extract(cfg: Config, err: Callable[[str, str], None]) -> None:
    ex = cfg.extract
    if not ex.enabled:
        return
    if not (ex.url or ex.url_env) and (ex.jobs or ex.media.enabled):
        err("extract.url", "set url or url_env (the SQLAlchemy URL of the ERP database)")
    seen: set[str] = set()
    for i, job in enumerate(ex.jobs):
        path = f"extract.jobs[{i}]"
        try:
            layout = get_layout(job.layout)
        except KeyError:
            err(f"{path}.layout", f"unknown tracciato {job.layout!r}; `connector layouts` "
                "lists them")
            continue
        if layout.name in seen:
            err(f"{path}.layout", f"{layout.name} is extracted by two jobs")
        seen.add(layout.name)
        if not layout.header:
            err(f"{path}.layout", f"{layout.name} is a legacy return file, not an export")
        if (job.query is None) == (job.query_file is None):
            err(path, "set exactly one of query or query_file")
        elif job.query_file is not None and not job.query_file.is_file():
            err(f"{path}.query_file", f"no such file: {job.query_file}")
        _check_schedule(job.schedule, f"{path}.schedule", err)
    _check_schedule(ex.schedule, "extract.schedule", err)
    media = ex.media
    if media.enabled:
        if (media.query is None) == (media.query_file is None):
            err("extract.media", "set exactly one of query or query_file")
        elif media.query_file is not None and not media.query_file.is_file():
            err("extract.media.query_file", f"no such file: {media.query_file}")
        if media.max_pixels is not None and media.max_pixels < 16:
            err("extract.media.max_pixels", "must be at least 16")
        if media.max_download_mb <= 0:
            err("extract.media.max_download_mb", "must be > 0")
        if media.attempts < 1:
            err("extract.media.attempts", "must be >= 1")
        _check_schedule(media.schedule, "extract.media.schedule", err)
    if ex.fetch_rows < 1:
        err("extract.fetch_rows", "must be >= 1")
    if ex.tick_seconds <= 0:
        err("extract.tick_seconds", "must be > 0")


def _check_schedule(s: ExtractScheduleConfig | None, path: str,
                    err: Callable[[str, str], None]) -> None:
    if s is None:
        return
    _, problems = parse_schedule(s, path)
    for p in problems:
        key, _, message = p.partition(": ")
        err(key, message)


def validated(cfg: Config) -> None:
    errors: list[str] = []
    check_extract(cfg, lambda key, message: errors.append(f"{key}: {message}"))
    if errors:
        raise ConfigError(errors, source=str(cfg.source_path) if cfg.source_path else None)


def all_jobs(cfg: Config) -> list[Job]:
    """Every enabled job (tracciati, then the media job), schedules parsed."""
    ex = cfg.extract
    jobs: list[Job] = []
    for i, job in enumerate(ex.jobs):
        if not job.enabled:
            continue
        sched_cfg = job.schedule or ex.schedule
        sched = parse_schedule(sched_cfg, "")[0] if sched_cfg is not None else None
        jobs.append(Job(get_layout(job.layout).name, f"extract.jobs[{i}]", job, sched))
    if ex.media.enabled:
        sched_cfg = ex.media.schedule or ex.schedule
        sched = parse_schedule(sched_cfg, "")[0] if sched_cfg is not None else None
        jobs.append(Job(MEDIA_ENTITY, "extract.media", None, sched))
    return jobs


def select_jobs(cfg: Config, entities: list[str] | None) -> list[Job]:
    jobs = all_jobs(cfg)
    if not entities:
        return jobs
    by_name = {j.name: j for j in jobs}
    chosen: list[Job] = []
    unknown: list[str] = []
    for e in entities:
        name = e.strip().lower().removesuffix(".dat")
        if name in by_name:
            if by_name[name] not in chosen:
                chosen.append(by_name[name])
        else:
            unknown.append(e)
    if unknown:
        known = ", ".join(by_name) or "none"
        raise ConfigError([f"--entity {u}: no extraction job for it (configured: {known})"
                           for u in unknown])
    return chosen
