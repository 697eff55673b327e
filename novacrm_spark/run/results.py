"""What a run reports: each model's result, the run's, the progress lines and run_results.json.

docs/run_results.md describes run_results.json field by field; :data:`SCHEMA_VERSION`
changes when a field is removed or changes meaning (not when one is added).

Example::

    >>> result = ModelResult("stg_accounts", "staging", "pass", rows=150, seconds=1.2)
    >>> model_line(result)
    'PASS         150 rows     1.2s'
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from novacrm_spark.config import Settings, remote_url
from novacrm_spark.paths import is_local, local_path

if TYPE_CHECKING:  # this module needs no pyspark: the CLI's JSON log imports it before Spark starts
    from novacrm_spark.quality.checks import CheckResult

Progress = Callable[[str], None]
STATUSES = ("pass", "warn", "error", "skipped")
SCHEMA_VERSION = "1"


@dataclass
class ModelResult:
    name: str
    layer: str
    status: str  # pass | warn | error | skipped
    rows: int | None = None
    seconds: float = 0.0
    started_at: str | None = None  # UTC, ISO 8601 (see :func:`iso`); None for a skipped model
    finished_at: str | None = None
    version: int | None = None
    published: bool = False
    inputs: list[str] = field(default_factory=list)
    quarantine: dict[str, Any] | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None

    @classmethod
    def of_checks(cls, name: str, layer: str, checks: list[CheckResult], rows: int, seconds: float) -> ModelResult:
        """Fails on a failed ``error`` check, warns on a ``warn`` one, passes otherwise."""
        failed = [c for c in checks if c.status == "error"]
        status = "error" if failed else ("warn" if any(c.status == "warn" for c in checks) else "pass")
        return cls(name, layer, status, rows=rows, seconds=round(seconds, 2), checks=[c.as_dict() for c in checks],
                   message="\n".join(c.describe() for c in failed) or None)

    @property
    def failed(self) -> bool:
        return self.status in ("error", "skipped")

    def stamp(self, started: dt.datetime | None, finished: dt.datetime) -> None:
        """When it started and finished building (wall clock); a model that never started keeps None."""
        if started is not None:
            self.started_at, self.finished_at = iso(started), iso(finished)


@dataclass
class RunResult:
    run_id: str
    as_of_date: dt.date | None
    engine: str
    models: list[ModelResult]
    inputs: dict[str, str] = field(default_factory=dict)
    published: int = 0
    results_path: str | None = None
    # Raw usage files: the watermark before and after this run, and the files read.
    watermark: dict[str, Any] | None = None
    # Wall clock, UTC ISO 8601: when the command began (before Spark starts) and when the run ended.
    started_at: str | None = None
    finished_at: str | None = None
    elapsed_seconds: float | None = None
    args: dict[str, Any] = field(default_factory=dict)  # see :func:`invocation_args`
    # The sources' freshness against the as-of date (FreshnessReport.as_dict()); None when not checked.
    freshness: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return all(m.status in ("pass", "warn") for m in self.models)

    def count(self, status: str) -> int:
        return sum(1 for m in self.models if m.status == status)

    def check_count(self, status: str | None = None) -> int:
        return sum(1 for m in self.models for c in m.checks if status is None or c["status"] == status)

    def counts(self) -> dict[str, int]:
        """Models by status, their total, and the checks run, failed and warned."""
        return {
            **{s: self.count(s) for s in STATUSES},
            "total": len(self.models),
            "checks": self.check_count(),
            "checks_failed": self.check_count("error"),
            "checks_warned": self.check_count("warn"),
        }

    def stamp(self, started: dt.datetime, finished: dt.datetime) -> None:
        self.started_at, self.finished_at = iso(started), iso(finished)
        self.elapsed_seconds = round((finished - started).total_seconds(), 2)

    def checks_line(self) -> str:
        return f"Checks: {self.check_count()} run, {self.check_count('error')} failed, {self.check_count('warn')} warned"

    def publish_line(self) -> str:
        if self.ok:
            return f"Published {self.published} table(s)"
        return "Nothing published: a model failed, so every table keeps its previous version"

    def summary(self) -> str:
        return (
            f"Done. PASS={self.count('pass')} WARN={self.count('warn')} ERROR={self.count('error')} "
            f"SKIP={self.count('skipped')} TOTAL={len(self.models)}"
        )


def start_timestamp() -> dt.datetime:
    """The run's single start timestamp (naive UTC): the only wall-clock value its tables hold.

    (Logs and run_results.json also say when each model started and finished: see :func:`utc_now`.)
    """
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    """``2025-02-01T06:00:00.123Z``: UTC to the millisecond (a naive ``moment`` is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def new_run_id(loaded_at: dt.datetime) -> str:
    """``20250201T060000-1a2b3c4d``: the start time, then a random suffix."""
    return f"{loaded_at:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def model_line(result: ModelResult) -> str:
    """``PASS      1,234 rows    2.0s`` and, for a staging model, where every row of its file went."""
    if result.status == "skipped":
        return "SKIP   (upstream failed)"
    text = f"{result.status.upper():<6} {result.rows:>9,} rows  {result.seconds:6.1f}s"
    q = result.quarantine
    if q:
        text += (f"  (file rows {q['source_rows']:,} = {q['staged_rows']:,} staged + {q['rows']:,} quarantined"
                 f" + {q['collapsed_rows']:,} identical copies collapsed")
        if q["rows"]:
            text += "; quarantined: " + ", ".join(f"{reason} {n}" for reason, n in q["by_reason"].items())
        text += ")"
    return text


def check_lines(checks: list[CheckResult]) -> list[str]:
    """One line per failed or warned check: ``ERROR <table>: check ... failed on n row(s) ...``."""
    return [f"{c.status.upper()} {c.describe()}" for c in checks if c.status != "pass"]


def write_run_results(result: RunResult, settings: Settings, warehouse: str) -> str | None:
    """Write ``<warehouse>/_runs/<run_id>/run_results.json`` (local warehouses only)."""
    if not is_local(warehouse):
        return None
    folder = os.path.join(local_path(warehouse), "_runs", result.run_id)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "run_results.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(run_results_payload(result, settings), handle, indent=2, default=str)
    return path


def invocation_args(settings: Settings, layer: str = "all", select: Iterable[str] = (), exclude: Iterable[str] = (),
                    incremental: bool = False, allow_stale: bool = False) -> dict[str, Any]:
    """The invocation's arguments as resolved (file < environment < flags), to rerun it or tell runs apart.

    Never a secret: ``spark_conf`` (it may hold storage keys) is left out, and of a
    Spark Connect URL only ``sc://host:port`` is kept (its user and parameters may hold a token).
    """
    as_of_date = settings.as_of_date.isoformat() if settings.as_of_date else None
    return {
        "layer": layer, "select": list(select), "exclude": list(exclude), "incremental": incremental,
        "allow_stale": allow_stale, "as_of_date": as_of_date, "engine": settings.engine,
        "input_dir": settings.input_dir, "warehouse": settings.warehouse, "master": settings.master, "remote": server_only(remote_url(settings)),
        "parallel_models": settings.parallel_models, "shuffle_partitions": settings.shuffle_partitions,
        "max_quarantine_fraction": settings.max_quarantine_fraction,
    }


def server_only(url: str | None) -> str | None:
    """``sc://user:token@host:15002/;token=x`` -> ``sc://host:15002`` (``local``, with no ``://``, stays)."""
    if url is None or "://" not in url:
        return url
    scheme, _, rest = url.partition("://")
    authority = rest.partition("/")[0].partition(";")[0]  # sc://host;token=x is no URL, but keep no token
    return f"{scheme}://{authority.rpartition('@')[2]}"


def run_results_payload(result: RunResult, settings: Settings) -> dict[str, Any]:
    """What run_results.json holds: the run, its invocation, inputs, a summary, and every model with its checks."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": result.run_id,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "elapsed_seconds": result.elapsed_seconds,
        "args": result.args,
        "as_of_date": result.as_of_date.isoformat() if result.as_of_date else None,
        "engine": result.engine,
        "input_dir": settings.input_dir,
        "inputs": result.inputs,
        "warehouse": settings.warehouse,
        "max_quarantine_fraction": settings.max_quarantine_fraction,
        "ok": result.ok,
        "published_tables": result.published,
        "watermark": result.watermark,
        "freshness": result.freshness,
        "summary": result.counts(),
        "models": [asdict(m) for m in result.models],
    }
