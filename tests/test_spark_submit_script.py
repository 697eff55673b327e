"""spark-submit.sh builds the right spark-submit command line; a fake spark-submit records it (no Spark starts)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from novacrm_spark.registry import LAYER_ORDER

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "spark-submit.sh"
# The fake prints each argument on a line of its own, after a marker, and succeeds.
FAKE_SUBMIT = """#!/usr/bin/env bash
echo "<<submit>>"
for arg in "$@"; do printf '%s\\n' "$arg"; done
exit "${FAKE_SUBMIT_EXIT:-0}"
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="spark-submit.sh needs bash")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the script beside links to the package and jobs: the script's build/ zip is written here."""
    home = tmp_path / "project"
    home.mkdir()
    shutil.copy2(SCRIPT, home / SCRIPT.name)
    for name in ("novacrm_spark", "jobs"):
        (home / name).symlink_to(ROOT / name, target_is_directory=True)
    (home / "conf").mkdir()
    (home / "conf" / "local.yaml").write_text("engine: embedded\n", encoding="utf-8")
    return home


@pytest.fixture
def fake_submit(tmp_path: Path) -> Path:
    fake = tmp_path / "bin" / "spark-submit"
    fake.parent.mkdir()
    fake.write_text(FAKE_SUBMIT, encoding="utf-8")
    fake.chmod(0o755)
    return fake


def submit(project: Path, fake_submit: Path, *args: str, cwd: Path | None = None, **env: str):
    """Run spark-submit.sh; return the completed process and one argument list per spark-submit call."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "DELTA_SPARK"))}
    environ.update(SPARK_SUBMIT=str(fake_submit), PYSPARK_PYTHON=sys.executable, **env)
    done = subprocess.run(
        ["bash", str(project / SCRIPT.name), *args],
        cwd=cwd or project, env=environ, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    calls = [chunk.strip("\n").split("\n") for chunk in done.stdout.split("<<submit>>\n")[1:]]
    calls = [[line for line in call if not line.startswith("== spark-submit ")] for call in calls]
    return done, calls


def spark_args(call: list[str], layer: str) -> tuple[list[str], list[str]]:
    """spark-submit's own options, and the job's arguments after jobs/<layer>.py."""
    at = call.index(f"jobs/{layer}.py")
    return call[:at], call[at + 1 :]


def option(args: list[str], name: str) -> str:
    assert args.count(name) == 1, f"{name} given {args.count(name)} times in {args}"
    return args[args.index(name) + 1]


def test_client_mode_ships_the_config_and_keeps_its_path(project, fake_submit):
    done, [call] = submit(project, fake_submit, "staging", "--config", "conf/local.yaml", "--as-of", "2025-01-31")
    assert done.returncode == 0, done.stderr
    spark, job = spark_args(call, "staging")
    assert option(spark, "--files") == str(project / "conf" / "local.yaml")
    assert "--deploy-mode" not in spark
    assert job == ["--config", "conf/local.yaml", "--as-of", "2025-01-31"]


def test_a_relative_config_is_taken_from_the_scripts_folder(project, fake_submit, tmp_path):
    done, [call] = submit(project, fake_submit, "staging", "--config", "conf/local.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert option(spark_args(call, "staging")[0], "--files") == str(project / "conf" / "local.yaml")


def test_cluster_mode_passes_the_shipped_copy_by_its_base_name(project, fake_submit):
    done, [call] = submit(
        project, fake_submit, "core", "--config", str(project / "conf" / "local.yaml"), SPARK_DEPLOY_MODE="cluster"
    )
    assert done.returncode == 0, done.stderr
    spark, job = spark_args(call, "core")
    assert option(spark, "--deploy-mode") == "cluster"
    assert option(spark, "--files") == str(project / "conf" / "local.yaml")
    assert job == ["--config", "local.yaml"]


def test_deploy_mode_in_spark_submit_args_counts_too(project, fake_submit):
    done, [call] = submit(
        project, fake_submit, "marts", "--config=conf/local.yaml", "--incremental",
        SPARK_SUBMIT_ARGS="--driver-memory 4g --deploy-mode cluster",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    spark, job = spark_args(call, "marts")
    assert option(spark, "--deploy-mode") == "cluster" and option(spark, "--driver-memory") == "4g"
    assert option(spark, "--files") == str(project / "conf" / "local.yaml")
    assert job == ["--config=local.yaml", "--incremental"]


def test_deploy_mode_in_spark_submit_args_wins_over_the_variable(project, fake_submit):
    done, [call] = submit(
        project, fake_submit, "staging", "--config", "conf/local.yaml",
        SPARK_DEPLOY_MODE="cluster", SPARK_SUBMIT_ARGS="--deploy-mode client",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert spark_args(call, "staging")[1] == ["--config", "conf/local.yaml"]


def test_files_of_spark_submit_args_join_the_config(project, fake_submit, tmp_path):
    extra = tmp_path / "log4j2.properties"
    extra.write_text("", encoding="utf-8")
    done, [call] = submit(
        project, fake_submit, "staging", "--config", "conf/local.yaml", SPARK_SUBMIT_ARGS=f"--files {extra}"
    )
    assert done.returncode == 0, done.stderr
    spark, _ = spark_args(call, "staging")
    assert option(spark, "--files") == f"{extra},{project / 'conf' / 'local.yaml'}"


def test_all_layers_get_the_same_arguments(project, fake_submit):
    done, calls = submit(project, fake_submit, "all", "--config", "conf/local.yaml", SPARK_DEPLOY_MODE="cluster")
    assert done.returncode == 0, done.stderr
    assert [c[c.index("--py-files") :].count("--files") for c in calls] == [1, 1, 1]
    jobs = [spark_args(call, layer) for call, layer in zip(calls, LAYER_ORDER, strict=True)]
    assert all(job == ["--config", "local.yaml"] for _, job in jobs)


def test_without_a_config_nothing_is_shipped(project, fake_submit):
    done, [call] = submit(project, fake_submit, "staging", "--as-of", "2025-01-31", SPARK_DEPLOY_MODE="cluster")
    assert done.returncode == 0, done.stderr
    spark, job = spark_args(call, "staging")
    assert "--files" not in spark
    assert job == ["--as-of", "2025-01-31"]


def test_a_missing_config_stops_before_spark_submit(project, fake_submit):
    done, calls = submit(project, fake_submit, "staging", "--config", "conf/nope.yaml")
    assert done.returncode == 2 and calls == []
    assert "config file 'conf/nope.yaml' not found" in done.stderr


def test_a_failing_layer_stops_the_rest(project, fake_submit):
    done, calls = submit(project, fake_submit, "all", FAKE_SUBMIT_EXIT="1")
    assert done.returncode == 1 and len(calls) == 1
    assert "error: layer staging failed; later layers were not run" in done.stderr


def test_each_layer_script_runs_its_own_layer():
    for layer in LAYER_ORDER:
        script = ROOT / "jobs" / f"{layer}.py"
        assert f'"--layer", "{layer}"' in script.read_text(encoding="utf-8"), f"{script} does not run its own layer"


def test_help_prints_the_whole_header_comment(project, fake_submit):
    done, _ = submit(project, fake_submit, "--help")
    assert done.returncode == 0
    header = []
    for line in SCRIPT.read_text(encoding="utf-8").splitlines()[1:]:
        if not line.startswith("#"):
            break
        header.append(line[2:] if line.startswith("# ") else line[1:])
    assert done.stdout.splitlines() == header
    assert "SPARK_DEPLOY_MODE" in done.stdout and "--files" in done.stdout
