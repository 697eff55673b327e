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
