"""Bad input files stop the run early, name the file and the problem, and write nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from novacrm_spark.cli import main
from novacrm_spark.errors import InputFileError
from novacrm_spark import source_checks
from novacrm_spark.source_checks import check_raw_file
from novacrm_spark.sources import SOURCES

ROOT = Path(__file__).resolve().parents[1]
GOOD = {
    "accounts": ["ACC-0001,Acme,software,40,growth,Ana,europe,2024-01-10,active"],
    "subscriptions": ["SUB-1,ACC-0001,novacrm_platform,growth,149,2024-01-10,,active"],
    "invoices": ["INV-1,ACC-0001,2024-02-10,149.00,USD,paid,novacrm_platform"],
    "usage_events": ["EVT-1,ACC-0001,U1,api_call,2024-02-11T10:00:00,{}"],
    "support_tickets": ["TCK-1,ACC-0001,2024-02-12T09:00:00,2024-02-12T10:00:00,p2,bug,resolved,4.5"],
}


def write_inputs(folder: Path, **overrides: bytes) -> Path:
    """The five raw files with one good row each; ``overrides`` replace a file's bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    for source, spec in SOURCES.items():
        content = overrides.get(source)
        if content is None:
            content = ("\n".join([",".join(spec.columns), *GOOD[source]]) + "\n").encode("utf-8")
        (folder / spec.file_name).write_bytes(content)
    return folder


def header(source: str) -> str:
    return ",".join(SOURCES[source].columns)


@pytest.fixture(params=["driver", "spark"])
def reader(request, monkeypatch):
    """Local files are checked by the driver; other paths through Spark: test both readers."""
    if request.param == "spark":
        monkeypatch.setattr(source_checks, "local_file", lambda path: None)
    return request.param


def problem(spark, folder: Path, source: str) -> str:
    with pytest.raises(InputFileError) as error:
        check_raw_file(spark, str(folder), source)
    return str(error.value)


def test_good_files_and_a_header_only_file_pass(spark, tmp_path, reader):
    folder = write_inputs(tmp_path, invoices=(header("invoices") + "\n").encode())
    for source in SOURCES:
        check_raw_file(spark, str(folder), source)  # zero rows is valid


def test_missing_file(spark, tmp_path, reader):
    folder = write_inputs(tmp_path)
    os.remove(folder / "raw_invoices.csv")

    message = problem(spark, folder, "invoices")
    assert message == f"{folder}/raw_invoices.csv: file not found (expected the invoices export here)"


def test_empty_file(spark, tmp_path, reader):
    folder = write_inputs(tmp_path, accounts=b"")

    message = problem(spark, folder, "accounts")
    assert message.startswith(f"{folder}/raw_accounts.csv: file is empty (expected a header row: account_id, ")


def test_missing_column(spark, tmp_path, reader):
    columns = [c for c in SOURCES["invoices"].columns if c != "currency"]
    folder = write_inputs(tmp_path, invoices=(",".join(columns) + "\nINV-1,ACC-0001,2024-02-10,1,paid,x\n").encode())

    message = problem(spark, folder, "invoices")
    assert message.startswith(f"{folder}/raw_invoices.csv: missing column(s) currency (expected header: invoice_id,")


def test_renamed_column(spark, tmp_path):
    renamed = header("support_tickets").replace("priority", "severity")
    folder = write_inputs(tmp_path, support_tickets=(renamed + "\n").encode())

    message = problem(spark, folder, "support_tickets")
    assert "missing column(s) priority; unexpected column(s) severity; was priority renamed to severity?" in message
    assert message.startswith(f"{folder}/raw_support_tickets.csv: ")


def test_json_instead_of_csv(spark, tmp_path):
    folder = write_inputs(tmp_path, accounts=b'[{"account_id": "ACC-0001", "company_name": "Acme"}]\n')

    message = problem(spark, folder, "accounts")
    assert message.startswith(f"{folder}/raw_accounts.csv: not a CSV file (it looks like JSON)")


def test_semicolon_separated_file(spark, tmp_path):
    folder = write_inputs(tmp_path, accounts=(header("accounts").replace(",", ";") + "\n").encode())

    assert "not a comma-separated CSV file?" in problem(spark, folder, "accounts")


def test_binary_file(spark, tmp_path, reader):
    folder = write_inputs(tmp_path, usage_events=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")

    message = problem(spark, folder, "usage_events")
    assert message.startswith(f"{folder}/raw_usage_events.csv: not a UTF-8 CSV text file")


@pytest.fixture(params=["128MB", "2KB"], ids=["one-partition", "many-partitions"])
def split_size(spark, request):
    """Read files whole, or in 2 KB splits (so line numbers must add up across partitions)."""
    key = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(key)
    spark.conf.set(key, request.param)
    yield request.param
    spark.conf.set(key, before)


def test_non_utf8_bytes_deep_in_the_file_name_the_first_bad_line(spark, tmp_path, reader, split_size):
    rows = [f"ACC-{i:04d},Company {i},software,10,growth,Ana,europe,2024-01-10,active" for i in range(1, 400)]
    rows[199] = rows[199].replace("Company 200", "Soci\xe9t\xe9 200")  # line 201 (after the header)
    rows[299] = rows[299].replace("Company 300", "Caf\xe9 300")
    content = (header("accounts") + "\n").encode() + "\n".join(rows).encode("latin-1") + b"\n"
    folder = write_inputs(tmp_path, accounts=content)

    message = problem(spark, folder, "accounts")
    assert message == (
        f"{folder}/raw_accounts.csv: not valid UTF-8: 2 line(s) hold bytes that are not UTF-8, "
        "the first at line 201 (re-export the file as UTF-8)"
    )


def test_utf8_text_with_accents_is_fine(spark, tmp_path, reader):
    row = "ACC-0001,Société Générale,banking,10,growth,José,europe,2024-01-10,active"
    folder = write_inputs(tmp_path, accounts=(header("accounts") + "\n" + row + "\n").encode("utf-8"))

    check_raw_file(spark, str(folder), "accounts")


# --- through the CLI: exit 2, one line, nothing written ---------------------------------


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "test.yaml"
    path.write_text("master: local[2]\nshuffle_partitions: 2\nengine: embedded\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "source, content, expected",
    [
        ("subscriptions", None, "raw_subscriptions.csv: file not found"),
        ("accounts", b"", "raw_accounts.csv: file is empty"),
        ("invoices", b"invoice_id,account_id\n", "raw_invoices.csv: missing column(s) invoice_date"),
        ("usage_events", b"\xff\xfe\x00binary", "raw_usage_events.csv: not a UTF-8 CSV text file"),
    ],
)
def test_cli_reports_the_file_and_problem_and_writes_nothing(spark, tmp_path, config, source, content, expected):
    folder = write_inputs(tmp_path / "raw", **({source: content} if content is not None else {}))
    if content is None:
        os.remove(folder / SOURCES[source].file_name)
    warehouse = tmp_path / "warehouse"

    result = CliRunner().invoke(
        main, ["run", "--config", str(config), "--input", str(folder), "--warehouse", str(warehouse)]
    )

    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {folder}/{expected}")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert not warehouse.exists()


def test_cli_process_exits_2_without_a_traceback(tmp_path, config):
    columns = header("accounts").replace("plan_tier", "tier")
    folder = write_inputs(tmp_path / "raw", accounts=(columns + "\n").encode())
    warehouse = tmp_path / "warehouse"

    done = subprocess.run(
        [sys.executable, "-c", "from novacrm_spark.cli import main; main()", "run", "--config", str(config),
         "--input", str(folder), "--warehouse", str(warehouse), "--select", "stg_accounts"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=600,
    )

    assert done.returncode == 2
    assert f"error: {folder}/raw_accounts.csv: missing column(s) plan_tier; unexpected column(s) tier" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert not warehouse.exists()


@pytest.mark.parametrize(
    "path, expected",
    [
        ("data/raw/raw_accounts.csv", "data/raw/raw_accounts.csv"),
        ("/data/raw_accounts.csv", "/data/raw_accounts.csv"),
        ("file:///data/raw_accounts.csv", "/data/raw_accounts.csv"),
        ("file:/data/raw_accounts.csv", "/data/raw_accounts.csv"),
        ("s3a://bucket/raw_accounts.csv", None),
        ("dbfs:/raw/raw_accounts.csv", None),
    ],
)
def test_only_local_paths_are_checked_by_the_driver(path, expected):
    assert source_checks.local_file(path) == expected
