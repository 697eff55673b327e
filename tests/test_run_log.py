"""How a run is told, without Spark: the START and END lines, the JSON events, and run_results.json's schema.

Results are built by hand here; tests/test_run_results.py checks them on a real
run and tests/test_e2e.py reads a whole run's JSON events from the CLI.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

from novacrm_spark.cli import main
from novacrm_spark.config import Settings
from novacrm_spark.errors import WarehouseError
from novacrm_spark.run.log import JsonLog, TextLog, run_log
from novacrm_spark.run.results import SCHEMA_VERSION, ModelResult, RunResult, invocation_args, iso
from novacrm_spark.run.results import run_results_payload

ROOT = Path(__file__).resolve().parents[1]
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
T0 = dt.datetime(2025, 2, 1, 6, 0, 0, tzinfo=dt.timezone.utc)
SETTINGS = Settings(engine="embedded", input_dir="data/raw", warehouse="/lake", as_of_date=dt.date(2025, 1, 31))
MODELS = [SimpleNamespace(layer="staging", name="stg_accounts"), SimpleNamespace(layer="staging", name="stg_invoices"),
          SimpleNamespace(layer="core", name="dim_account")]
CHECKS = [
    {"name": "unique(invoice_id)", "kind": "unique", "severity": "error", "status": "error", "failing_rows": 1,
     "detail": None, "samples": [{"invoice_id": "INV-7", "account_id": "ACC-0001"}]},
    *({"name": name, "kind": kind, "severity": "warn", "status": status, "failing_rows": int(status == "warn"),
       "detail": None, "samples": []} for name, kind, status in (("not_null(currency)", "not_null", "warn"),
                                                                   ("range(amount, 0..)", "range", "pass"),
                                                                   ("accepted_values(status)", "accepted_values", "pass"))),
]
QUARANTINE = {"rows": 3, "source_rows": 20, "staged_rows": 17, "collapsed_rows": 0, "fraction": 0.15,
              "by_reason": {"unknown account_id": 3}}


def results() -> list[ModelResult]:
    """stg_accounts passes, stg_invoices fails a check after quarantining 3 rows, dim_account is skipped."""
    accounts = ModelResult("stg_accounts", "staging", "pass", rows=150, seconds=1.25, checks=[{"status": "pass"}])
    invoices = ModelResult("stg_invoices", "staging", "error", rows=17, seconds=2.5, checks=CHECKS,
                           quarantine=QUARANTINE, message="stg_invoices: check unique(invoice_id) failed on 1 row(s)")
    accounts.stamp(T0, T0 + dt.timedelta(seconds=1.25))
    invoices.stamp(T0 + dt.timedelta(seconds=0.5), T0 + dt.timedelta(seconds=3))
    skipped = ModelResult("dim_account", "core", "skipped", message="an upstream model failed")
    skipped.stamp(None, T0 + dt.timedelta(seconds=3))
    return [accounts, invoices, skipped]


def run_result() -> RunResult:
    result = RunResult("20250201T060000-1a2b3c4d", dt.date(2025, 1, 31), "embedded", results(),
                       {"accounts": "data/raw/raw_accounts.csv"}, published=0)
    result.args = invocation_args(SETTINGS, "all", ["+dim_account"], ["marts"], incremental=True)
    result.stamp(T0 - dt.timedelta(seconds=10), T0 + dt.timedelta(seconds=4.5))
    return result


def tell(log) -> None:
    """A run with two models building side by side: stg_invoices starts before stg_accounts ends."""
    accounts, invoices, skipped = results()
    log.run_start("20250201T060000-1a2b3c4d", MODELS, "embedded", SETTINGS, incremental=False)
    log.model_start("staging", "stg_accounts", T0)
    log.model_start("staging", "stg_invoices", T0 + dt.timedelta(seconds=0.5))
    log.message("as_of_date not set: using 2025-01-31 (latest date in the data)")
    log.model_end(accounts)
    log.model_end(invoices, ["ERROR stg_invoices: check unique(invoice_id) failed on 1 row(s)"])
    log.model_end(skipped)
    log.run_end(run_result())


def test_text_log_prints_a_start_and_an_end_line_per_model_with_the_same_number():
    lines: list[str] = []
    tell(TextLog(lines.append))

    assert lines[0] == "Run 20250201T060000-1a2b3c4d: 3 model(s), engine embedded, input data/raw, warehouse /lake"
    assert lines[1:4] == [
        "[ 1/3] START staging.stg_accounts",
        "[ 2/3] START staging.stg_invoices",
        "as_of_date not set: using 2025-01-31 (latest date in the data)",
    ]
    assert lines[4] == "[ 1/3] END   staging.stg_accounts  PASS         150 rows     1.2s"
    assert lines[5].startswith("[ 2/3] END   staging.stg_invoices  ERROR         17 rows     2.5s  (file rows 20 = ")
    assert lines[6] == "      ERROR stg_invoices: check unique(invoice_id) failed on 1 row(s)"
    assert lines[7] == "[ 3/3] END   core.dim_account      SKIP   (upstream failed)"  # a skipped model never starts
    assert lines[8:] == [
        "Checks: 5 run, 1 failed, 1 warned",
        "Nothing published: a model failed, so every table keeps its previous version",
        "Done. PASS=1 WARN=0 ERROR=1 SKIP=1 TOTAL=3",
    ]


def test_json_log_prints_one_object_a_line_with_event_ts_and_run_id():
    lines: list[str] = []
    tell(JsonLog(lines.append))
    events = [json.loads(line) for line in lines]

    assert [e["event"] for e in events] == [
        "run_start", "model_start", "model_start", "message", "model_end", "model_end", "model_end", "run_end"]
    assert all(e["run_id"] == "20250201T060000-1a2b3c4d" and TS.fullmatch(e["ts"]) for e in events)
    assert all("\n" not in line for line in lines)
    assert events[0] == {
        "event": "run_start", "ts": events[0]["ts"], "run_id": "20250201T060000-1a2b3c4d",
        "selection": ["stg_accounts", "stg_invoices", "dim_account"], "engine": "embedded",
        "as_of_date": "2025-01-31", "input_dir": "data/raw", "warehouse": "/lake", "incremental": False,
    }
    assert events[2] == {"event": "model_start", "ts": "2025-02-01T06:00:00.500Z", "run_id": events[0]["run_id"],
                         "model": "stg_invoices", "layer": "staging", "index": 2, "total": 3}
    assert events[3]["message"] == "as_of_date not set: using 2025-01-31 (latest date in the data)"
    # model_end: its outcome, the number its model_start had, and run_results.json's finished_at as ts.
    assert events[5] == {
        "event": "model_end", "ts": "2025-02-01T06:00:03.000Z", "run_id": events[0]["run_id"],
        "model": "stg_invoices", "layer": "staging", "status": "error", "rows": 17, "seconds": 2.5,
        "checks": 4, "checks_failed": 1, "checks_warned": 1, "quarantined_rows": 3,
        "message": "stg_invoices: check unique(invoice_id) failed on 1 row(s)", "index": 2, "total": 3,
    }
    assert (events[4]["index"], events[4]["quarantined_rows"], events[4]["checks"]) == (1, None, 1)
    assert (events[6]["status"], events[6]["index"], events[6]["rows"]) == ("skipped", 3, None)
    assert events[7] == {
        "event": "run_end", "ts": "2025-02-01T06:00:04.500Z", "run_id": events[0]["run_id"], "ok": False,
        "as_of_date": "2025-01-31", "published_tables": 0, "elapsed_seconds": 14.5, "results_path": None,
        "summary": {"pass": 1, "warn": 0, "error": 1, "skipped": 1, "total": 3, "checks": 5, "checks_failed": 1,
                    "checks_warned": 1},
    }


def test_an_error_is_an_event_in_json_and_left_to_the_cli_in_text():
    lines: list[str] = []
    run_log("json", lines.append, "r1").error("cannot write to the warehouse /lake: no space left on device")
    run_log("text", lines.append, "r1").error("ignored: the CLI prints the error: line")

    assert [json.loads(line) for line in lines] == [{
        "event": "error", "ts": json.loads(lines[0])["ts"], "run_id": "r1",
        "message": "cannot write to the warehouse /lake: no space left on device",
    }]


def test_timestamps_are_utc_iso_to_the_millisecond():
    assert iso(dt.datetime(2025, 2, 1, 7, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == (
        "2025-02-01T06:00:00.123Z")
    assert iso(dt.datetime(2025, 2, 1, 6)) == "2025-02-01T06:00:00.000Z"  # naive: taken as UTC


def test_run_results_payload_carries_the_schema_version_timings_and_arguments():
    payload = json.loads(json.dumps(run_results_payload(run_result(), SETTINGS), default=str))

    assert payload["schema_version"] == SCHEMA_VERSION == "1"
    assert (payload["started_at"], payload["finished_at"], payload["elapsed_seconds"]) == (
        "2025-02-01T05:59:50.000Z", "2025-02-01T06:00:04.500Z", 14.5)
    assert payload["args"] == {
        "layer": "all", "select": ["+dim_account"], "exclude": ["marts"], "incremental": True,
        "allow_stale": False, "as_of_date": "2025-01-31", "engine": "embedded", "input_dir": "data/raw", "warehouse": "/lake",
        "master": "local[*]", "remote": None, "parallel_models": 3, "shuffle_partitions": 4,
        "max_quarantine_fraction": 0.05,
    }
    accounts, invoices, skipped = payload["models"]
    assert (accounts["started_at"], accounts["finished_at"]) == ("2025-02-01T06:00:00.000Z", "2025-02-01T06:00:01.250Z")
    assert (invoices["started_at"], invoices["finished_at"]) == ("2025-02-01T06:00:00.500Z", "2025-02-01T06:00:03.000Z")
    assert (skipped["started_at"], skipped["finished_at"]) == (None, None)
    assert payload["summary"]["total"] == 3 and payload["ok"] is False


def test_arguments_never_record_a_secret(monkeypatch):
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    settings = dataclasses.replace(SETTINGS, remote="sc://admin:hunter2@spark.example:15002/;token=hunter2",
                                   spark_conf={"spark.hadoop.fs.s3a.secret.key": "hunter2"})
    args = invocation_args(settings)

    assert args["remote"] == "sc://spark.example:15002"
    assert "hunter2" not in json.dumps(args)
    monkeypatch.setenv("SPARK_REMOTE", "sc://spark.example:15002/;token=hunter2")  # pyspark's own variable
    assert invocation_args(SETTINGS)["remote"] == "sc://spark.example:15002"


def test_the_docs_describe_every_field_of_run_results_and_of_every_event():
    page = (ROOT / "docs" / "run_results.md").read_text(encoding="utf-8")
    lines: list[str] = []
    tell(JsonLog(lines.append))
    run_log("json", lines.append).error("x")
    events = [json.loads(line) for line in lines]
    payload = run_results_payload(run_result(), SETTINGS)
    fields = {*payload, *payload["args"], *payload["summary"], *payload["models"][1], *payload["models"][1]["checks"][0],
              *payload["models"][1]["quarantine"], *(key for e in events for key in e), *(e["event"] for e in events)}
    missing = sorted(name for name in fields if f"`{name}`" not in page)
    assert missing == []


# --- the CLI: --log-format json without Spark -------------------------------------------------------


def fake_spark(monkeypatch, run_pipeline) -> None:
    import novacrm_spark.run.runner as runner
    import novacrm_spark.session as session

    monkeypatch.setattr(session, "build_spark_session", lambda settings, verbose: "no spark")
    monkeypatch.setattr(runner, "run_pipeline", run_pipeline)


def test_cli_json_passes_its_log_to_the_run_and_prints_an_error_event(tmp_path, monkeypatch):
    seen = {}

    def failing_run(spark, settings, **kwargs):
        seen.update(kwargs)
        kwargs["log"].message("a progress line, as an event")
        raise WarehouseError("cannot write to the warehouse: no space left on device")

    fake_spark(monkeypatch, failing_run)
    result = CliRunner().invoke(main, ["run", "--engine", "embedded", "--warehouse", str(tmp_path / "wh"),
                                       "--select", "stg_accounts+", "--exclude", "marts"],
                                env={"NOVACRM_LOG_FORMAT": "json"})

    assert result.exit_code == 2
    assert result.stderr == "error: cannot write to the warehouse: no space left on device\n"
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(e["event"], e.get("message")) for e in events] == [
        ("message", "a progress line, as an event"),
        ("error", "cannot write to the warehouse: no space left on device"),
    ]
    assert events[0]["run_id"] == events[1]["run_id"] == seen["run_id"]
    assert isinstance(seen["log"], JsonLog) and seen["started_at"].tzinfo is not None
    assert (seen["layer"], seen["select"], seen["exclude"]) == ("all", ("stg_accounts+",), ("marts",))


def test_cli_json_with_nothing_to_run_is_one_message_event(tmp_path):
    result = CliRunner().invoke(main, ["run", "--log-format", "json", "--layer", "staging", "--select", "marts",
                                       "--warehouse", str(tmp_path / "wh")])

    assert result.exit_code == 0, result.output
    [event] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (event["event"], event["run_id"]) == ("message", None)
    assert event["message"].startswith("Nothing to run")
