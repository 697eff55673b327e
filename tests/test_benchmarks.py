"""Smoke test of the benchmark harness: smallest scale, one repetition (no timing assertions)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.e2e
def test_harness_runs_at_the_smallest_scale(tmp_path):
    done = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--scales", "small", "--repeat", "1", "--master", "local[2]",
         "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "out" / "benchmarks.json").read_text())
    assert [(r["scale"], r["engine"]) for r in results] == [("small", "embedded")]
    small = results[0]
    assert small["usage_events"] > 1000
    assert small["floor_seconds"] > 0 and small["build_seconds"] > 0
    assert small["build_peak_rss_mb"] > small["floor_peak_rss_mb"] * 0.5 > 0
    assert set(small["models"]) >= {"stg_usage_events", "fct_revenue", "churn_risk_view"}
    table = (tmp_path / "out" / "benchmarks.md").read_text()
    assert "| small | embedded | 150 |" in table


def test_peak_rss_counts_a_forked_child_sharing_the_jvm_memory_once():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import tree_total

    # 1 python -> 2 java -> 3 a chmod being spawned (still the JVM's memory), 4 another process.
    children = {1: [2], 2: [3, 4]}
    memory = {1: ((10, 11), 100), 2: ((20, 21), 1500), 3: ((20, 21), 1500), 4: ((30, 31), 5)}
    assert tree_total(1, children, memory) == 1605


def _benchmarks_module(name):
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    return __import__(name)


TINY = {
    "raw_accounts.csv": 'account_id,company_name,industry\nACC-1,"Acme, Inc\nEMEA",retail\nACC-2,Beta,\n,Ghost,x\n',
    "raw_subscriptions.csv": "subscription_id,account_id,product_name\nSUB-1,ACC-1,crm\nSUB-2,,crm\n",
    "raw_invoices.csv": "invoice_id,account_id,amount\nINV-1,ACC-2,\"1,234.00\"\n",
    "raw_usage_events.csv": "event_id,account_id,user_id,event_name\nE-1,ACC-1,U-1,login\nE-1,ACC-1,U-1,login\nE-2,ACC-2\n",
    "raw_support_tickets.csv": "ticket_id,account_id,priority\nT-1,ACC-2,high\n",
}


def test_replication_copies_every_file_ten_times_under_suffixed_ids(tmp_path):
    import csv

    replicate = _benchmarks_module("replicate")
    source = tmp_path / "base"
    source.mkdir()
    for name, text in TINY.items():
        (source / name).write_text(text)
    manifest = replicate.replicate(source, tmp_path / "x10", 10)
    target = tmp_path / "x10"
    assert not list(tmp_path.glob(".x10.partial-*"))  # renamed into place

    with open(target / "raw_accounts.csv", newline="") as handle:
        accounts = list(csv.reader(handle))
    assert accounts[0] == ["account_id", "company_name", "industry"]
    assert [row for row in accounts if row[0] == "account_id"] == [accounts[0]]  # one header
    assert len(accounts) - 1 == 3 * 10
    assert accounts[1:4] == [["ACC-1", "Acme, Inc\nEMEA", "retail"], ["ACC-2", "Beta", ""], ["", "Ghost", "x"]]
    assert accounts[10:13] == [["ACC-1-r3", "Acme, Inc\nEMEA", "retail"], ["ACC-2-r3", "Beta", ""], ["", "Ghost", "x"]]
    assert [row[0] for row in accounts[1:]].count("") == 10  # the missing id stays missing in every copy
    assert {row[0] for row in accounts[1:] if row[0]} == (
        {"ACC-1", "ACC-2"} | {f"ACC-{n}-r{k}" for n in (1, 2) for k in range(1, 10)})

    with open(target / "raw_usage_events.csv", newline="") as handle:
        events = list(csv.reader(handle))
    assert events[4:7] == [["E-1-r1", "ACC-1-r1", "U-1-r1", "login"]] * 2 + [["E-2-r1", "ACC-2-r1"]]  # dirt kept
    with open(target / "raw_subscriptions.csv", newline="") as handle:
        assert list(csv.reader(handle))[-1] == ["SUB-2-r9", "", "crm"]
    with open(target / "raw_invoices.csv", newline="") as handle:
        assert list(csv.reader(handle))[-1] == ["INV-1-r9", "ACC-2-r9", "1,234.00"]  # other columns as they were

    assert manifest["files"]["raw_accounts.csv"] == {"records_per_copy": 3, "records": 30}
    assert {name: info["records"] for name, info in manifest["files"].items()} == {
        "raw_accounts.csv": 30, "raw_subscriptions.csv": 20, "raw_invoices.csv": 10,
        "raw_usage_events.csv": 30, "raw_support_tickets.csv": 10,
    }
    assert json.loads((target / replicate.MANIFEST).read_text())["copies"] == 10


def test_an_interrupted_replication_leaves_no_target(tmp_path, monkeypatch):
    replicate = _benchmarks_module("replicate")
    source = tmp_path / "base"
    source.mkdir()
    for name, text in TINY.items():
        (source / name).write_text(text)

    def broken(source_file, target_file, copies):
        raise KeyboardInterrupt

    monkeypatch.setattr(replicate, "replicate_file", broken)
    with pytest.raises(KeyboardInterrupt):
        replicate.replicate(source, tmp_path / "x10", 10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]


def test_scale_is_an_alias_of_scales_and_xlarge_runs_only_when_asked():
    run = _benchmarks_module("run")
    args, names = run.parse_args([])
    assert names == ["small", "medium", "large"] and not args.stages
    assert run.parse_args(["--scale", "xlarge"])[1] == ["xlarge"]
    assert run.parse_args(["--scales", "small,xlarge", "--stages"])[0].stages
    assert run.SCALES["xlarge"] == 150_000 and run.REPLICATED["xlarge"] == ("large", 10)


def test_usage_stages_accumulate_in_order():
    stages = _benchmarks_module("usage_stages")
    measured = [("parse", 2.0, 3.0), ("dedupe", 4.0, 7.5), ("validation", 5.0, 9.0), ("write", 8.0, 13.0),
                ("fct_usage", 1.5, 2.5)]
    rows = stages.accumulate(measured)
    assert [r["stage"] for r in rows] == ["parse", "dedupe", "validation", "write", "fct_usage"]
    assert [r["cpu_seconds"] for r in rows] == [3.0, 7.5, 9.0, 13.0, 15.5]  # fct_usage starts from the write
    assert [r["cpu_increment_seconds"] for r in rows] == [3.0, 4.5, 1.5, 4.0, 2.5]
    assert [r["wall_increment_seconds"] for r in rows] == [2.0, 2.0, 1.0, 3.0, 1.5]
    with pytest.raises(ValueError, match="order"):
        stages.accumulate(list(reversed(measured)))


def test_the_stages_table_shows_the_largest_scale_measured():
    run = _benchmarks_module("run")
    stages = {"master": "local[2]", "stages": [
        {"stage": "parse", "wall_seconds": 1.0, "cpu_seconds": 2.0, "cpu_increment_seconds": 2.0}]}
    results = [{"scale": "large", "accounts": 15_000, "usage_stages": stages},
               {"scale": "small", "accounts": 150, "usage_stages": {**stages, "stages": []}},
               {"scale": "medium", "accounts": 1_500}]
    lines = run.stages_table(results)
    assert "## Usage path, per stage (large scale)" in lines
    assert lines[-1] == "| parse | 1.0 | 2.0 | 2.0 |"
    assert run.stages_table([{"scale": "small", "accounts": 150}]) == []


def test_xlarge_is_the_cached_large_dataset_replicated_once(tmp_path):
    run = _benchmarks_module("run")
    large = tmp_path / "accounts_15000"  # stands in for the generated large dataset
    large.mkdir()
    for name, text in TINY.items():
        (large / name).write_text(text)
    raw = run.scale_dataset(tmp_path, "xlarge")
    assert raw == tmp_path / "accounts_15000_x10"
    assert run.count_lines(raw / "raw_usage_events.csv") == 30
    stamp = (raw / "raw_usage_events.csv").stat().st_mtime_ns
    assert run.scale_dataset(tmp_path, "xlarge") == raw  # cached: not replicated again
    assert (raw / "raw_usage_events.csv").stat().st_mtime_ns == stamp
