"""`novacrm serve`: a real Thrift JDBC server, queried with a real HiveServer2 client (beeline).

The server runs as a subprocess in its own process group, so a failing test
can always stop it and its JVM. Every wait is bounded.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyspark
import pytest
from click.testing import CliRunner
from deltalake import DeltaTable

from hostile_sql import HOSTILE, fill
from novacrm_spark.cli import main
from novacrm_spark.run.publish import publish_run
from novacrm_spark.serving.daemon import Signals, serve_until_stopped, wait
from novacrm_spark.serving.thrift import check_port_free, hive_conf, jdbc_url
from novacrm_spark.store import open_store

RISK_QUERY = "SELECT risk_level, count(*) AS n FROM marts.churn_risk_view GROUP BY risk_level ORDER BY risk_level"
START_TIMEOUT = 300  # Spark start on a busy 2-core machine
QUERY_TIMEOUT = 180
STOP_TIMEOUT = 60
BEELINE = Path(pyspark.__file__).parent / "bin" / "beeline"
PROMPT = re.compile(r"^\d+: jdbc:hive2://\S+> ")


# --- helpers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return probe.getsockname()[1]


def risk_counts(warehouse: Path) -> dict[str, int]:
    """The table's content, read with delta-rs: the answer the server must give."""
    table = DeltaTable(str(warehouse / "marts" / "churn_risk_view")).to_pyarrow_table(columns=["risk_level"])
    return dict(Counter(table.column("risk_level").to_pylist()))


USER, PASSWORD = "bi-reader", "Correct-Horse-Battery-7"  # beeline splits arguments on spaces


def run_beeline(port: int, *args: str, user: str = USER, password: str = PASSWORD) -> subprocess.CompletedProcess:
    env = {**os.environ, "SPARK_HOME": str(BEELINE.parent.parent)}
    command = [str(BEELINE), "-u", jdbc_url("localhost", port), "-n", user, "-p", password]
    command += ["--silent=true", "--outputformat=csv2", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=QUERY_TIMEOUT, stdin=subprocess.DEVNULL, env=env
    )


def beeline(port: int, query: str) -> list[dict[str, str]]:
    """Run ``query`` through beeline (HiveServer2 JDBC) and return its rows."""
    done = run_beeline(port, "-e", query)
    assert done.returncode == 0, f"beeline failed:\n{done.stdout}\n{done.stderr[-3000:]}"
    # beeline echoes its prompt in front of the first line it prints under -e
    lines = [PROMPT.sub("", line) for line in done.stdout.splitlines() if "\r" not in line]
    lines = [line for line in lines if line.strip()]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def table_versions(warehouse: Path) -> dict[str, int]:
    return {
        f"{layer.name}.{table.name}": DeltaTable(str(table)).version()
        for layer in warehouse.iterdir()
        if layer.name in ("staging", "core", "marts", "quarantine")
        for table in layer.iterdir()
    }


def as_counts(rows: list[dict[str, str]]) -> dict[str, int]:
    return {row["risk_level"]: int(row["n"]) for row in rows}


def wait_for_line(path: Path, text: str, process: subprocess.Popen, timeout: float) -> str:
    """Poll the server's log until ``text`` appears; fail (with the logs) if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text()
        if text in content:
            return content
        if process.poll() is not None:
            break
        time.sleep(0.5)
    err = path.with_suffix(".err").read_text()[-4000:]
    pytest.fail(f"server never printed {text!r} (exit code {process.poll()}):\n{path.read_text()}\n{err}")


def jvm_children(pid: int) -> list[int]:
    """The direct children of ``pid`` (the Spark driver JVM is one)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or "Z" in _state(pid):
            return True
        time.sleep(0.5)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return "Z"


# --- the server end to end -----------------------------------------------------------------


@pytest.fixture
def served_copy(built_warehouse, tmp_path):
    """A copy of the built warehouse: this test publishes a new version, the shared one stays as built."""
    copy = tmp_path / "warehouse"
    shutil.copytree(built_warehouse, copy)
    return copy


def listening_addresses(pid: int) -> set[str]:
    """Local IPs of the TCP sockets ``pid`` listens on (its fds matched to /proc/net/tcp{,6})."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(hex_ip(fields[1].split(":")[0]))
    return found


def hex_ip(text: str) -> str:
    """/proc/net's little-endian hex address as text (IPv4-mapped IPv6 as its IPv4)."""
    import ipaddress

    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address)


def hostile_errors(port: int, statements: list[str], tmp_path: Path) -> str:
    """Send every statement in one beeline session (--force goes on after each error); its output."""
    script = tmp_path / "hostile.sql"
    script.write_text("".join(f"{statement};\n" for statement in statements))
    done = run_beeline(port, "--force=true", "-f", str(script))
    return done.stdout + done.stderr


@pytest.mark.skipif(not BEELINE.exists(), reason="pyspark ships no beeline")
def test_serve_answers_beeline_refreshes_on_new_versions_and_stops_cleanly(spark, served_copy, tmp_path):
    port = free_port()
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    log = tmp_path / "serve.log"
    command = [sys.executable, "-c", "from novacrm_spark.cli import main; main()", "serve"]
    command += ["--port", str(port), "--warehouse", str(served_copy), "--master", "local[2]", "--poll-seconds", "3600"]
    env = {**os.environ, "NOVACRM_SERVE_USER": USER, "NOVACRM_SERVE_PASSWORD": PASSWORD}
    with open(log, "w") as out, open(log.with_suffix(".err"), "w") as err:
        server = subprocess.Popen(command, cwd=workdir, stdout=out, stderr=err, start_new_session=True, env=env)
    try:
        started = wait_for_line(log, "JDBC URL: " + jdbc_url("localhost", port), server, START_TIMEOUT)
        assert "marts: " in started and "churn_risk_view" in started
        assert PASSWORD not in started

        before = risk_counts(served_copy)
        assert len(before) > 1, "the sample should hold several risk levels"
        assert as_counts(beeline(port, RISK_QUERY)) == before

        # Credentials: a wrong password or user name gets no session.
        for user, password in ((USER, "wrong"), ("someone", PASSWORD), (USER, "")):
            refused = run_beeline(port, "-e", "SELECT 1", user=user, password=password)
            assert "Error validating the login" in refused.stdout + refused.stderr

        # Read-only: every hostile statement gets an error reply; nothing changes or appears.
        outside = tmp_path / "outside"
        versions_before = table_versions(served_copy)
        output = hostile_errors(port, [fill(s, outside, served_copy) for s in HOSTILE], tmp_path)
        assert output.count("Error: ") == len(HOSTILE), output[-3000:]
        assert output.count("refused: ") >= len(HOSTILE) - 2  # MERGE/ALTER TABLE on a view: Spark refuses first
        assert table_versions(served_copy) == versions_before and not outside.exists()
        assert as_counts(beeline(port, RISK_QUERY)) == before  # still serving, same data

        # Every socket of the serving processes listens on the configured host only.
        for pid in [server.pid, *jvm_children(server.pid)]:
            assert listening_addresses(pid) <= {"127.0.0.1"}, pid

        # Publish a new version holding one risk level only, then ask for a refresh (SIGHUP):
        # the poll interval is an hour, so only the signal can explain the change.
        store = open_store(spark, str(served_copy), "embedded")
        kept = sorted(before)[0]
        one_level = store.read("marts", "churn_risk_view").where(f"risk_level = '{kept}'")
        # Published as a run publishes (the run manifest names it): readers serve only that.
        staged = store.stage(one_level, "marts", "churn_risk_view")
        [version] = publish_run(store, [(("marts", "churn_risk_view"), staged)], "test-run", [])
        server.send_signal(signal.SIGHUP)
        refreshed = f"refreshed marts.churn_risk_view: version {version - 1} -> {version}"
        wait_for_line(log, refreshed, server, QUERY_TIMEOUT)
        assert as_counts(beeline(port, RISK_QUERY)) == risk_counts(served_copy) == {kept: before[kept]}

        jvms = jvm_children(server.pid)
        assert jvms, "the Spark driver JVM should be a child of the server process"
        # Ctrl-C: PySpark sets its own SIGINT handler when it starts; serve takes it back.
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=STOP_TIMEOUT) == 0
        assert "SIGINT received" in log.read_text() and log.read_text().rstrip().endswith("Stopped.")
        assert "Traceback" not in log.with_suffix(".err").read_text()
        assert all(gone(pid, STOP_TIMEOUT) for pid in jvms), "a JVM outlived the server"
        check_port_free("localhost", port)  # the port is released
        assert os.listdir(workdir) == []  # no derby.log, metastore_db or spark-warehouse left behind
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)  # only this test's own process group
            server.wait(timeout=STOP_TIMEOUT)


def test_serve_on_a_busy_port_fails_fast_with_a_clear_message(tmp_path):
    (tmp_path / "warehouse").mkdir()
    with socket.socket() as busy:
        busy.bind(("localhost", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port), "--no-auth", "--warehouse", str(tmp_path / "warehouse")])
    assert result.exit_code == 2
    assert f"cannot listen on localhost:{port}" in result.stderr and "--port" in result.stderr


def test_serve_without_credentials_or_with_no_auth_off_loopback_refuses_before_spark(tmp_path, monkeypatch):
    (tmp_path / "warehouse").mkdir()
    monkeypatch.delenv("NOVACRM_SERVE_PASSWORD", raising=False)
    args = ["serve", "--warehouse", str(tmp_path / "warehouse"), "--port", str(free_port())]
    missing = CliRunner().invoke(main, args)
    assert missing.exit_code == 2 and "serve needs credentials" in missing.stderr
    exposed = CliRunner().invoke(main, [*args, "--no-auth", "--host", "0.0.0.0"])
    assert exposed.exit_code == 2 and "--no-auth is allowed only on a loopback host" in exposed.stderr


def test_claim_takes_sigint_back_from_pyspark():
    previous = signal.getsignal(signal.SIGINT)
    signals = Signals.install()
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as SparkContext does on start
        signals.claim()
        os.kill(os.getpid(), signal.SIGINT)
    finally:
        signals.restore()
    assert signals.stop == "SIGINT"
    assert signal.getsignal(signal.SIGINT) == previous  # restore() puts back what was there first


def test_serve_on_a_missing_warehouse_fails_fast(tmp_path):
    result = CliRunner().invoke(main, ["serve", "--warehouse", str(tmp_path / "nope"), "--port", str(free_port())])
    assert result.exit_code == 2 and "does not exist" in result.stderr


# --- the pieces -------------------------------------------------------------------------------


def test_hive_scratch_folders_stay_under_the_scratch_dir(tmp_path):
    conf = hive_conf("localhost", 10001, str(tmp_path))
    assert conf["hive.server2.thrift.port"] == "10001" and conf["hive.server2.thrift.bind.host"] == "localhost"
    folders = [v for k, v in conf.items() if k.endswith(("dir", "location"))]
    assert len(folders) == 5 and all(v.startswith(str(tmp_path)) for v in folders)


def test_loop_refreshes_on_each_poll_and_at_once_on_sighup():
    signals = Signals()
    calls = []

    def refresh():
        calls.append(signals.refresh)
        if len(calls) == 1:
            signals.refresh = True  # as SIGHUP would, while the loop is busy
            return ["marts.t: version 0 -> 1"]
        signals.stop = "SIGTERM"
        return []

    logged = []
    assert serve_until_stopped(refresh, signals, poll_seconds=0, log=logged.append) == "SIGTERM"
    assert logged == ["refreshed marts.t: version 0 -> 1", "SIGHUP: refreshing now"]
    assert calls == [False, False]  # the flag is cleared before the refresh it asked for


def test_wait_returns_early_on_a_signal_flag():
    signals = Signals(stop="SIGINT")
    ticks = iter(range(1000))
    wait(signals, seconds=500, clock=lambda: next(ticks))
    assert next(ticks) == 1  # read the clock once, saw the flag, returned


def test_signal_handlers_set_flags_and_are_restored():
    previous = signal.getsignal(signal.SIGHUP)
    signals = Signals.install()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signals.restore()
    assert signals.refresh and signals.stop == "SIGTERM"
    assert signal.getsignal(signal.SIGHUP) == previous
