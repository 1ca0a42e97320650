"""The extraction jobs of a configuration: which tracciati, their SQL, their schedules.

The `extract:` section is checked where the rest of the configuration is
(connector.config.check_extract), so check-config, the daemon and a manual run all
refuse a bad section the same way; `validated(cfg)` runs that check on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from connector.config import Config, ExtractJobConfig, check_extract
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
