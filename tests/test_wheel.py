"""The wheel, installed with [spark] into a fresh virtual environment, runs all layers from any folder.

What a platform team does: build the wheel, install it outside the repository
(no conf/, no source tree), copy the exports and run. The contracts and the
product catalog must come from the wheel itself.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from deltalake import DeltaTable

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
CATALOG_PRODUCTS = {"novacrm_platform", "api_access", "advanced_analytics", "priority_support"}


def check(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, **kwargs)
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def test_the_wheel_runs_all_layers_outside_the_repository(tmp_path):
    dist, venv, work = tmp_path / "dist", tmp_path / "venv", tmp_path / "work"
    check([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(ROOT)])
    [wheel] = dist.glob("novacrm_spark-*.whl")
    check([sys.executable, "-m", "venv", str(venv)])
    check([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", f"{wheel}[spark]"])
    shutil.copytree(ROOT / "data" / "raw", work / "raw")

    done = check([str(venv / "bin" / "novacrm"), "run", "--input", "raw", "--warehouse", "wh",
                  "--as-of", "2025-01-31", "--master", "local[2]"], cwd=work)  # fmt: skip

    assert done.stdout.strip().splitlines()[-1].startswith("Done. PASS=")
    products = DeltaTable(str(work / "wh" / "core" / "dim_product")).to_pandas()
    assert set(products["product_name"]) == CATALOG_PRODUCTS
    # Spark came from the [spark] extra, into the new environment, not from this one.
    assert list((venv / "lib").glob("python3*/site-packages/pyspark/__init__.py"))
