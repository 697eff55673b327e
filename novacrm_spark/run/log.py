"""How a run tells what it does: progress lines for people, or one JSON object per event.

:class:`TextLog` (the default) prints::

    Run 20250201T060000-1a2b3c4d: 16 model(s), engine embedded, input data/raw, warehouse warehouse
    [ 1/16] START staging.stg_accounts
    [ 2/16] START staging.stg_products
    [ 1/16] END   staging.stg_accounts   PASS         150 rows     1.2s  (file rows 150 = ...)

:class:`JsonLog` (``novacrm run --log-format json``) prints one JSON object a
line for schedulers and log collectors, with ``event``, ``ts`` (UTC) and
``run_id``: ``run_start``, ``model_start``, ``model_end``, ``run_end``,
``message`` (any other progress line) and ``error`` (docs/run_results.md has
every field).

Models are numbered as they start (a skipped one as it is skipped): a model's
END line carries its START line's number, also when models build side by side
and their lines interleave. Lines are written whole, one at a time, whichever
thread writes them.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any, Sequence

from novacrm_spark.config import Settings
from novacrm_spark.run.results import ModelResult, Progress, RunResult, iso, model_line, utc_now

FORMATS = ("text", "json")


class RunLog:
    """What every log is told; a subclass decides what it prints (through ``echo``)."""

    def __init__(self, echo: Progress = print, run_id: str | None = None) -> None:
        self.echo, self.run_id = echo, run_id
        self.numbers: dict[str, int] = {}
        self.total = self.width = 0
        self._lock = threading.Lock()

    def write(self, line: str) -> None:
        with self._lock:
            self.echo(line)

    def number(self, name: str) -> int:
        with self._lock:
            return self.numbers.setdefault(name, len(self.numbers) + 1)

    def tag(self, name: str) -> str:
        return f"[{self.number(name):>2}/{self.total}]"

    def run_start(self, run_id: str, models: Sequence[Any], engine: str, settings: Settings,
                  incremental: bool = False) -> None:
        """``models``: the selection in build order (each with a ``layer`` and a ``name``)."""
        self.run_id, self.total = run_id, len(models)
        self.width = max((len(f"{m.layer}.{m.name}") for m in models), default=0)

    def message(self, text: str) -> None:
        raise NotImplementedError

    def model_start(self, layer: str, name: str, at: dt.datetime) -> None:
        raise NotImplementedError

    def model_end(self, result: ModelResult, problems: Sequence[str] = ()) -> None:
        """``problems``: one line per failed or warned check."""
        raise NotImplementedError

    def run_end(self, result: RunResult) -> None:
        raise NotImplementedError

    def error(self, text: str) -> None:
        """The command failed (the CLI prints the ``error:`` line on stderr itself)."""


class TextLog(RunLog):
    def run_start(self, run_id: str, models: Sequence[Any], engine: str, settings: Settings,
                  incremental: bool = False) -> None:
        super().run_start(run_id, models, engine, settings, incremental)
        self.write(f"Run {run_id}: {len(models)} model(s), engine {engine}, "
                   f"input {settings.input_dir}, warehouse {settings.warehouse}")

    def message(self, text: str) -> None:
        self.write(text)

    def model_start(self, layer: str, name: str, at: dt.datetime) -> None:
        self.write(f"{self.tag(name)} START {layer}.{name}")

    def model_end(self, result: ModelResult, problems: Sequence[str] = ()) -> None:
        label = f"{result.layer}.{result.name}"
        self.write(f"{self.tag(result.name)} END   {label:<{self.width}}  {model_line(result)}")
        for line in problems:
            self.write(f"      {line}")

    def run_end(self, result: RunResult) -> None:
        self.write(result.checks_line())
        self.write(result.publish_line())
        if result.results_path:
            self.write(f"Run results: {result.results_path}")
        self.write(result.summary())


class JsonLog(RunLog):
    def emit(self, event: str, at: dt.datetime | str | None = None, **fields: Any) -> None:
        ts = at if isinstance(at, str) else iso(at or utc_now())
        self.write(json.dumps({"event": event, "ts": ts, "run_id": self.run_id, **fields}, default=str))

    def run_start(self, run_id: str, models: Sequence[Any], engine: str, settings: Settings,
                  incremental: bool = False) -> None:
        super().run_start(run_id, models, engine, settings, incremental)
        self.emit("run_start", selection=[m.name for m in models], engine=engine, as_of_date=settings.as_of_date,
                  input_dir=settings.input_dir, warehouse=settings.warehouse, incremental=incremental)

    def message(self, text: str) -> None:
        self.emit("message", message=text)

    def model_start(self, layer: str, name: str, at: dt.datetime) -> None:
        self.emit("model_start", at, model=name, layer=layer, index=self.number(name), total=self.total)

    def model_end(self, result: ModelResult, problems: Sequence[str] = ()) -> None:
        self.emit("model_end", result.finished_at, **model_end_fields(result), index=self.number(result.name),
                  total=self.total)

    def run_end(self, result: RunResult) -> None:
        self.emit("run_end", result.finished_at, ok=result.ok, as_of_date=result.as_of_date,
                  summary=result.counts(), published_tables=result.published,
                  elapsed_seconds=result.elapsed_seconds, results_path=result.results_path)

    def error(self, text: str) -> None:
        self.emit("error", message=text)


def model_end_fields(result: ModelResult) -> dict[str, Any]:
    """A model's outcome as the ``model_end`` event gives it (``quarantined_rows``: staging models only)."""
    statuses = [check["status"] for check in result.checks]
    return {
        "model": result.name, "layer": result.layer, "status": result.status, "rows": result.rows,
        "seconds": result.seconds, "checks": len(statuses), "checks_failed": statuses.count("error"),
        "checks_warned": statuses.count("warn"),
        "quarantined_rows": result.quarantine["rows"] if result.quarantine else None, "message": result.message,
    }


def run_log(log_format: str = "text", echo: Progress = print, run_id: str | None = None) -> RunLog:
    """The log for ``--log-format``: ``text`` or ``json``."""
    return {"text": TextLog, "json": JsonLog}[log_format](echo, run_id)
