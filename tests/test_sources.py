"""The raw exports: facts the runner reads without opening them, and how their records are read."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality

from novacrm_spark.models.staging.stg_accounts import stg_accounts
from novacrm_spark.sources import RAW_RECORD, SOURCES, read_raw, source_bytes


def test_source_bytes_is_the_file_size_or_the_sum_over_a_folder_and_zero_when_missing(spark, tmp_path):
    (tmp_path / "raw_accounts.csv").write_bytes(b"x" * 120)
    folder = tmp_path / "raw_usage_events"
    folder.mkdir()
    (folder / "2025-01-30.csv").write_bytes(b"y" * 1000)
    (folder / "2025-01-31.csv").write_bytes(b"z" * 500)

    assert source_bytes(spark, str(tmp_path), "accounts") == 120
    assert source_bytes(spark, str(tmp_path), "usage_events") == 1500
    assert source_bytes(spark, str(tmp_path), "invoices") == 0


# --- reading: RFC 4180 records, and records of the wrong width ----------------------------------

HEADER = ",".join(SOURCES["accounts"].columns)
TAIL = "software,40,growth,Ana,europe,2024-01-10,active"


def test_quoted_commas_quotes_and_line_breaks_stay_one_record_and_wrong_widths_keep_their_text(spark, tmp_path):
    lines = [
        HEADER,
        f'ACC-1,"Acme, Inc\nEMEA",{TAIL}',  # a quoted comma and a quoted line break
        f'ACC-2,"Say ""hi""",{TAIL}',  # doubled quotes
        f"ACC-3,Extra,{TAIL},EXTRA",  # one field too many
        "ACC-4,Short,software,40",  # too few
        f'ACC-5,"two\nlines, and ""quotes""",{TAIL},x',  # too many, with a quoted line break and comma
        "",  # a blank line is no record
        f"ACC-3,Extra,{TAIL}",  # the well-formed ACC-3: no conflict with the bad record above
    ]
    (tmp_path / "raw_accounts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = stg_accounts(read_raw(spark, str(tmp_path), "accounts"), loaded_at=dt.datetime(2025, 2, 1))

    assert_df_equality(
        result.accepted.select("account_id", "company_name", "status"),
        spark.createDataFrame(
            [("ACC-1", "Acme, Inc\nEMEA", "active"), ("ACC-2", 'Say "hi"', "active"), ("ACC-3", "Extra", "active")],
            "account_id string, company_name string, status string",
        ),
        ignore_nullable=True,
        ignore_row_order=True,
    )
    assert_df_equality(
        result.quarantined.select("account_id", "company_name", RAW_RECORD, "reason"),
        spark.createDataFrame(
            [
                (None, None, f"ACC-3,Extra,{TAIL},EXTRA", "wrong number of fields (10, expected 9)"),
                (None, None, "ACC-4,Short,software,40", "wrong number of fields (4, expected 9)"),
                (None, None, f'ACC-5,"two\nlines, and ""quotes""",{TAIL},x', "wrong number of fields (10, expected 9)"),
            ],
            f"account_id string, company_name string, {RAW_RECORD} string, reason string",
        ),
        ignore_nullable=True,
        ignore_row_order=True,
    )


def test_a_header_only_file_is_an_empty_source(spark, tmp_path):
    (tmp_path / "raw_accounts.csv").write_text(HEADER + "\n", encoding="utf-8")

    raw = read_raw(spark, str(tmp_path), "accounts")

    assert raw.schema == SOURCES["accounts"].read_schema
    assert raw.count() == 0
