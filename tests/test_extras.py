"""Optional dependencies: the CLI starts without them, and a command whose extra is missing says which to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_HINT = " (on a cluster, use the cluster's own Spark)"


def novacrm_without(modules: list[str], *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The CLI in a process where ``modules`` cannot be imported (as if their extra were not installed)."""
    blocked = "".join(f"sys.modules[{m!r}] = None; " for m in modules)
    code = f"import sys; {blocked}from novacrm_spark.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_cli_imports_no_optional_dependency_until_a_command_needs_it():
    code = "import sys, novacrm_spark.cli; print(sorted(m for m in ('pyspark', 'faker', 'plotly', 'grpc') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)

    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.parametrize(
    ("blocked", "args", "extra", "module"),
    [
        (["pyspark"], ["run"], "spark", "pyspark"),
        (["pyspark"], ["show", "marts.nrr_summary"], "spark", "pyspark"),
        (["faker"], ["generate", "--out", "never-written"], "generate", "faker"),
        (["plotly"], ["report"], "report", "plotly"),
        (["grpc"], ["show", "marts.nrr_summary", "--remote", "sc://127.0.0.1:1"], "connect", "grpc"),
    ],
)
def test_a_missing_extra_is_one_error_line_naming_it(tmp_path, blocked, args, extra, module):
    done = novacrm_without(blocked, *args)

    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == (
        f"error: this command needs the {extra} extra ({module} is not installed): "
        f"pip install 'novacrm-spark[{extra}]'{CLUSTER_HINT if extra == 'spark' else ''}\n"
    )
    assert not (ROOT / "never-written").exists()


def test_help_works_without_spark():
    done = novacrm_without(["pyspark", "faker", "plotly"], "--help")

    assert done.returncode == 0
    assert "run" in done.stdout and "generate" in done.stdout


def test_a_run_with_a_missing_product_catalog_stops_before_spark(tmp_path):
    config = tmp_path / "conf.yaml"
    config.write_text("products_file: my_products.yaml\n")

    done = novacrm_without([], "run", "--config", str(config), "--warehouse", str(tmp_path / "wh"))

    assert done.returncode == 2
    assert done.stderr == f"error: product catalog {tmp_path}/my_products.yaml does not exist\n"
    assert not (tmp_path / "wh").exists()
