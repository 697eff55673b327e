"""One run at a time per warehouse (novacrm_spark/run/lock.py), with real processes holding the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from novacrm_spark.errors import WarehouseBusyError
from novacrm_spark.run.lock import Holder, lock_path, run_lock

HOLD = """
import sys, time
from novacrm_spark.run.lock import run_lock
with run_lock(sys.argv[1], "20250201T060000-holder01", "2025-02-01T06:00:00Z"):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """A separate process holding the run lock of ``tmp_path/wh`` (killed at the end)."""
    warehouse = tmp_path / "wh"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    yield warehouse, process
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)


def test_a_second_run_fails_before_spark_starts_naming_the_holder(holder):
    warehouse, process = holder
    # A master Spark cannot start: had the run got past the lock, it would fail differently.
    command = [sys.executable, "-m", "novacrm_spark.cli", "run", "--warehouse", str(warehouse), "--master", "nonsense"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: warehouse {warehouse} is in use by run 20250201T060000-holder01 (host {os.uname().nodename}, "
        f"pid {process.pid}, started 2025-02-01T06:00:00Z); wait for it to finish (one run at a time per warehouse)"
    ]
    assert process.poll() is None  # the holder is untouched


def test_a_lock_left_by_a_killed_run_is_taken_over(holder):
    warehouse, process = holder
    process.send_signal(signal.SIGKILL)  # dies holding it: the kernel releases the flock
    process.wait(timeout=30)
    with run_lock(str(warehouse), "20250202T060000-next0001", "2025-02-02T06:00:00Z") as stale:
        assert stale == Holder("20250201T060000-holder01", os.uname().nodename, process.pid, "2025-02-01T06:00:00Z")
        assert '"run_id": "20250202T060000-next0001"' in Path(lock_path(str(warehouse))).read_text()
        with pytest.raises(WarehouseBusyError, match="in use by run 20250202T060000-next0001"):
            with run_lock(str(warehouse), "third", "2025-02-02T06:00:01Z"):
                pass  # pragma: no cover - never entered
    assert Path(lock_path(str(warehouse))).read_text() == ""  # released cleanly: nothing stale for the next run
    with run_lock(str(warehouse), "after", "2025-02-02T07:00:00Z") as stale:
        assert stale is None


def test_object_store_warehouses_take_no_file_lock():
    assert lock_path("s3a://bucket/lake") is None
    with run_lock("s3a://bucket/lake", "r", "t") as stale:
        assert stale is None
    assert lock_path("file:///lake") == "/lake/_run.lock"


def test_a_relative_warehouse_folder_made_only_for_the_lock_is_removed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the quick start's `warehouse`, relative to the current folder
    with run_lock("lake/warehouse", "r1", "2025-02-02T06:00:00Z") as stale:
        assert stale is None and (tmp_path / "lake" / "warehouse" / "_run.lock").exists()
    assert list(tmp_path.iterdir()) == []  # nothing was written: both folders it made are gone
